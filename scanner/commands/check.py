"""`cdgate check`: run the gate on CD repo paths, print the verdict, write reports."""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import click

from scanner.commands._common import fail_closed

from scanner.report import DEFAULT_FILE_FORMATS, FORMATS


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("--env", "environment", metavar="ENV", help="Environment to render and check (values, overlays, stricter rules).")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), help="gate.yaml to use (default: gate.yaml in the single PATH, else the built-in profile).")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Format printed on stdout, or written to -o.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the -f report to this file (atomically) instead of stdout.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Also write every report (SARIF, JSON, JUnit, Markdown, HTML) into this folder.")
@click.option("--set", "set_values", multiple=True, metavar="KEY=VALUE", help="Helm value override (highest precedence); repeatable.")
@click.option("--values", "values_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Extra Helm values file; repeatable.")
@click.option("--mode", type=click.Choice(["auto", "manifests", "helm", "kustomize"]), default="auto", show_default=True, help="Override what PATH is detected as.")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Repository root that report paths are relative to (default: the current directory).")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "info"]), help="Override the profile's fail_on severity.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge waiver expiry as of this date (default: today); to see what fails next week, or for reproducible runs.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line.")
@fail_closed
def check(
    paths: tuple[str, ...],
    environment: str | None,
    profile_path: Path | None,
    fmt: str,
    output: Path | None,
    output_dir: Path | None,
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
    evaluate (bad input, bad config, engine error).
    """
    from dataclasses import replace

    from scanner.findings import Severity
    from scanner.gates.pipeline import CheckRequest, run_check
    from scanner.profile import find_profile, load_profile
    from scanner.report import render, write_report, write_reports
    from scanner.report.console import progress

    profile_file = profile_path or find_profile(list(paths))
    profile = load_profile(profile_file)
    if fail_on:
        profile = replace(profile, fail_on=Severity.parse(fail_on))
        profile = replace(profile, environments={k: replace(v, fail_on=None) for k, v in profile.environments.items()})
    stderr_tty = sys.stderr.isatty()

    def on_stage(name: str) -> None:
        if stderr_tty and not quiet:
            click.echo(f"cdgate: {name}…", err=True)

    verdict = run_check(
        CheckRequest(
            targets=paths,
            profile=profile,
            environment=environment,
            root=(root or Path.cwd()).resolve(),
            set_values=set_values,
            values_files=values_files,
            mode=mode,
            on_stage=on_stage,
            progress=None if quiet else progress,
            **({"today": today.date()} if today else {}),
        )
    )

    if output_dir is not None:
        written = write_reports(verdict, output_dir, DEFAULT_FILE_FORMATS)
        if not quiet:
            for kind, path in written.items():
                click.echo(f"cdgate: wrote {kind} report to {path}", err=True)
    if output is not None:
        write_report(verdict, fmt, output)
    elif not quiet:
        if fmt == "table":
            from scanner.report.console import print_verdict

            print_verdict(verdict)
        else:
            click.echo(render(verdict, fmt), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append_step_summary(summary, render(verdict, "markdown"))
    if quiet or output is not None or fmt != "table":
        counts = ", ".join(f"{n} {s}" for s, n in verdict.counts().items() if n)
        where = f" ({profile_file})" if profile_file else ""
        click.echo(
            f"cdgate: {verdict.status.upper()}: {len(verdict.failing())} failing finding(s)"
            f"{'; ' + counts if counts else ''}; profile {verdict.profile_name}{where}",
            err=True,
        )
    sys.exit(verdict.exit_code)


def _append_step_summary(path: str, markdown: str) -> None:
    """Append the Markdown report to GitHub's job summary; a failure is exit 2 with the place named."""
    from scanner.errors import ConfigError

    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError as exc:
        raise ConfigError(
            f"cannot append the job summary: {exc.strerror or exc}",
            path=path,
            hint="GITHUB_STEP_SUMMARY must name a writable file; unset it outside GitHub Actions",
        ) from None
