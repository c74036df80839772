"""`cdgate merge-gate`: judge a CD-repo pull request by the findings it introduces."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import click

from scanner.commands._common import fail_closed
from scanner.report import FORMATS


@click.command("merge-gate")
@click.option("--base", required=True, metavar="REF", help="The pull request's base (target branch or commit).")
@click.option("--head", default="HEAD", show_default=True, metavar="REF", help="The pull request's head.")
@click.option("--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."), show_default=True, help="A git checkout of the CD repo (its working tree is not touched).")
@click.option("--env", "environments", multiple=True, metavar="ENV", help="Environment to evaluate; repeatable (default: every folder under environments/).")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), help="A trusted gate.yaml from outside the repository.")
@click.option("--profile-from", type=click.Choice(["head", "base"]), default="head", show_default=True, help="Judge with the gate.yaml and policies of head, or of base (so a pull request cannot relax what judges it).")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Format printed on stdout, or written to -o.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the -f report to this file (atomically) instead of stdout.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Also write every report (SARIF, JSON, JUnit, Markdown, HTML) into this folder.")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "info"]), help="Override the profile's fail_on severity.")
@click.option("--all", "block_unchanged", is_flag=True, help="Block on findings that were already there at base too, not only new ones.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Keep evaluated services here across runs (content-keyed; fit for actions/cache).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge waiver expiry as of this date (default: today).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line.")
@fail_closed
def merge_gate(
    base: str,
    head: str,
    repo: Path,
    environments: tuple[str, ...],
    profile_path: Path | None,
    profile_from: str,
    fmt: str,
    output: Path | None,
    output_dir: Path | None,
    fail_on: str | None,
    block_unchanged: bool,
    cache_dir: Path | None,
    today: datetime.datetime | None,
    quiet: bool,
) -> None:
    """Run every gate on what a pull request changes (--base..--head) and block on new findings.

    Only the services and environments the change reaches are rendered, at
    base and at head; each finding is new, unchanged or absent (SARIF
    baselineState). Exit codes: 0 passed, 1 a new finding fails the gate,
    2 cdgate could not evaluate.
    """
    from scanner.findings import Severity
    from scanner.merge.run import MergeRequest, run_merge_gate
    from scanner.commands._output import deliver

    def on_stage(name: str) -> None:
        if sys.stderr.isatty() and not quiet:
            click.echo(f"cdgate: {name}…", err=True)

    verdict = run_merge_gate(
        MergeRequest(
            repo=repo.resolve(),
            base=base,
            head=head,
            environments=environments,
            profile_path=profile_path.resolve() if profile_path else None,
            profile_from=profile_from,
            fail_on=Severity.parse(fail_on) if fail_on else None,
            block_unchanged=block_unchanged,
            cache_dir=cache_dir.resolve() if cache_dir else None,
            today=today.date() if today else datetime.date.today(),
            on_stage=on_stage,
        )
    )
    deliver(verdict, fmt, output, output_dir, quiet=quiet)
    new = sum(1 for f in verdict.findings if f.properties.get("cdgate/baselineState") == "new")
    click.echo(
        f"cdgate: merge gate {verdict.status.upper()}: {len(verdict.failing())} blocking finding(s); "
        f"{new} new, {len(verdict.findings) - new} unchanged, {len(verdict.absent)} fixed; "
        f"{len(verdict.changed_files)} changed file(s), {len(verdict.units)} unit(s)"
        + (f"; cache {verdict.cache_hits} hit(s), {verdict.cache_misses} miss(es)" if cache_dir else ""),
        err=True,
    )
    sys.exit(verdict.exit_code)
