"""Where a verdict goes: report files, the terminal, GitHub's job summary.

`check`, `merge-gate`, `scan`, `sbom` and `build-gate` all judge and report
the same way, so the choices live here once: `--output-dir` writes every
format, `-o` writes the `-f` one, otherwise the `-f` format goes to the
terminal; with `GITHUB_STEP_SUMMARY` set the Markdown summary is appended
there. Every file is written atomically (`scanner.report.write_report`).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from scanner.errors import ConfigError
from scanner.findings import Verdict


def deliver(
    verdict: Verdict,
    fmt: str,
    output: Path | None,
    output_dir: Path | None,
    *,
    quiet: bool = False,
    show_all: bool = False,
) -> None:
    """Write or print the reports the options ask for (`show_all`: every finding in the table, not a few per rule)."""
    from scanner.report import DEFAULT_FILE_FORMATS, render, write_report, write_reports
    from scanner.report.console import DEFAULT_PER_RULE

    if output_dir is not None:
        written = write_reports(verdict, output_dir, DEFAULT_FILE_FORMATS)
        if not quiet:
            for kind, path in written.items():
                click.echo(f"cdgate: wrote {kind} report to {path}", err=True)
    if output is not None:
        write_report(verdict, fmt, output)
        if not quiet:
            click.echo(f"cdgate: wrote {fmt} report to {output}", err=True)
    elif not quiet:
        if fmt == "table":
            from scanner.report.console import print_verdict

            print_verdict(verdict, per_rule=None if show_all else DEFAULT_PER_RULE)
        else:
            click.echo(render(verdict, fmt), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        append_step_summary(summary, render(verdict, "markdown"))


def append_step_summary(path: str, markdown: str) -> None:
    """Append the Markdown report to GitHub's job summary; a failure is exit 2 with the place named."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError as exc:
        raise ConfigError(
            f"cannot append the job summary: {exc.strerror or exc}",
            path=path,
            hint="GITHUB_STEP_SUMMARY must name a writable file; unset it outside GitHub Actions",
        ) from None
