"""`cdgate check`: run the gate on CD repo paths, print the verdict, write reports."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import click

from scanner.commands._common import fail_closed
from scanner.report import FORMATS

# `-o FILE` without `-f`: the report format its extension names.
FORMAT_BY_EXTENSION: dict[str, str] = {
    ".sarif": "sarif",
    ".json": "json",
    ".xml": "junit",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}
SHOW_CHOICES = ("grouped", "all")


def _format_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Format names case-insensitively, with the short aliases (md, xml, text)."""
    if value is None:
        return None
    from scanner.errors import ConfigError
    from scanner.report import check_format

    try:
        return check_format(value)
    except ConfigError as exc:
        raise click.BadParameter(f"{exc.message}; {exc.hint}", ctx=ctx, param=param) from None


def report_format(fmt: str | None, output: Path | None) -> str:
    """`-f` when given; else the format `-o`'s extension names; else the table."""
    if fmt is not None:
        return fmt
    if output is not None:
        return FORMAT_BY_EXTENSION.get(output.suffix.lower(), "table")
    return "table"


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("--env", "environment", metavar="ENV", help="Environment to render and check (values, overlays, stricter rules).")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), help="gate.yaml to use (default: gate.yaml in the single PATH, else the built-in profile).")
@click.option("-f", "--format", "fmt", metavar="FORMAT", callback=_format_option, help=f"Report format, any case: {', '.join(FORMATS)} (also md, xml). Default: from -o's extension (.sarif .json .xml .md .html), else table.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file (atomically) instead of stdout.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Also write every report (SARIF, JSON, JUnit, Markdown, HTML) into this folder.")
@click.option("--show", type=click.Choice(SHOW_CHOICES, case_sensitive=False), default="grouped", show_default=True, help="Table: the first findings of each rule, or all of them.")
@click.option("--severity", "severity_list", metavar="SEV[,SEV]", help="Report only these severities (comma list, e.g. high,critical); the others are not counted either.")
@click.option("--rule", "rules", multiple=True, metavar="GLOB", help="Report only rules matching this glob; repeatable.")
@click.option("--skip-rule", "skip_rules", multiple=True, metavar="GLOB", help="Do not report rules matching this glob; repeatable.")
@click.option("--skip-dirs", "skip_dirs", multiple=True, metavar="GLOB", help="Do not read folders matching this glob (path from the root, or a folder name); repeatable, or comma list.")
@click.option("--skip-files", "skip_files", multiple=True, metavar="GLOB", help="Do not read files matching this glob; repeatable, or comma list.")
@click.option("-p", "--policy", "policies", multiple=True, type=click.Path(exists=True, path_type=Path), help="Extra Rego policy file or folder (conftest conventions); repeatable.")
@click.option("-n", "--namespace", "namespaces", multiple=True, metavar="PKG", help="Rego packages to evaluate (prefix match), instead of the profile's; repeatable.")
@click.option("-d", "--data", "data_paths", multiple=True, type=click.Path(exists=True, path_type=Path), help="Extra Rego data file or folder; repeatable.")
@click.option("--exit-zero", is_flag=True, help="Display only: exit 0 even when a gate fails; still exit 2 when cdgate could not evaluate.")
@click.option("--set", "set_values", multiple=True, metavar="KEY=VALUE", help="Helm value override (highest precedence); repeatable.")
@click.option("--values", "values_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Extra Helm values file; repeatable.")
@click.option("--mode", type=click.Choice(["auto", "manifests", "helm", "kustomize"]), default="auto", show_default=True, help="Override what PATH is detected as.")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Directory report paths are relative to (default: the git repository holding PATH, else the scanned folder).")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "info"], case_sensitive=False), help="Override the profile's fail_on severity.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge waiver expiry as of this date (default: today); to see what fails next week, or for reproducible runs.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line (on stderr).")
@fail_closed
def check(
    paths: tuple[str, ...],
    environment: str | None,
    profile_path: Path | None,
    fmt: str | None,
    output: Path | None,
    output_dir: Path | None,
    show: str,
    severity_list: str | None,
    rules: tuple[str, ...],
    skip_rules: tuple[str, ...],
    skip_dirs: tuple[str, ...],
    skip_files: tuple[str, ...],
    policies: tuple[Path, ...],
    namespaces: tuple[str, ...],
    data_paths: tuple[Path, ...],
    exit_zero: bool,
    set_values: tuple[str, ...],
    values_files: tuple[Path, ...],
    mode: str,
    root: Path | None,
    fail_on: str | None,
    today: datetime.datetime | None,
    quiet: bool,
) -> None:
    """Run the gate on PATH... (a CD repo, charts, overlays or manifest files).

    Exit codes: 0 every gate passed, 1 a gate failed, 2 cdgate could not
    evaluate (bad input, bad config, engine error). With --exit-zero, 1
    becomes 0; 2 stays.
    """
    from dataclasses import replace

    from scanner.findings import Severity
    from scanner.gates.filters import FindingFilter, filter_verdict, parse_severity_list
    from scanner.gates.pipeline import CheckRequest, run_check
    from scanner.inputs.skipping import PathSkipper
    from scanner.profile import find_profile, load_profile
    from scanner.repo_root import default_root
    from scanner.commands._output import deliver
    from scanner.report._common import verdict_line
    from scanner.report.console import progress

    fmt = report_format(fmt, output)
    view = FindingFilter(
        severities=parse_severity_list(severity_list) if severity_list is not None else None,
        rules=_globs(rules),
        skip_rules=_globs(skip_rules),
    )
    profile_file = profile_path or find_profile(list(paths))
    profile = load_profile(profile_file)
    if fail_on:
        profile = profile.with_fail_on(Severity.parse(fail_on))
    if policies or namespaces or data_paths:
        rego = profile.rego
        profile = replace(
            profile,
            rego=replace(
                rego,
                policies=rego.policies + tuple(p.resolve() for p in policies),
                data=rego.data + _data_files(data_paths),
                namespaces=tuple(namespaces) or rego.namespaces,
            ),
        )
    stderr_tty = sys.stderr.isatty()

    def on_stage(name: str) -> None:
        if stderr_tty and not quiet:
            click.echo(f"cdgate: {name}…", err=True)

    verdict = run_check(
        CheckRequest(
            targets=paths,
            profile=profile,
            environment=environment,
            root=(root or default_root(paths)).resolve(),
            set_values=set_values,
            values_files=values_files,
            mode=mode,
            on_stage=on_stage,
            progress=None if quiet else progress,
            skip=PathSkipper(_globs(skip_dirs), _globs(skip_files)),
            today=today.date() if today else datetime.date.today(),
        )
    )
    verdict = filter_verdict(verdict, view)

    deliver(verdict, fmt, output, output_dir, quiet=quiet, show_all=show.lower() == "all")
    if quiet or output is not None or fmt != "table":
        where = f" ({profile_file})" if profile_file else ""
        click.echo(f"cdgate: {verdict_line(verdict)}; profile {verdict.profile_name}{where}", err=True)
    code = verdict.exit_code
    if exit_zero and code == 1:
        code = 0
    sys.exit(code)


def _globs(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated options and comma lists alike: `--skip-dirs a,b --skip-dirs c`."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _data_files(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """`--data` files as given, and the data files (JSON/YAML) under `--data` folders, as conftest reads them."""
    from scanner.engines.rego_sources import DATA_SUFFIXES

    from scanner.errors import ConfigError

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p.resolve() for p in path.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:  # policies would run without the data they were given for
                raise ConfigError(f"--data folder holds no data file ({', '.join(DATA_SUFFIXES)})", path=str(path),
                                  hint="point --data at the JSON/YAML data files or the folder that holds them")
            files += found
        else:
            files.append(path.resolve())
    return tuple(files)
