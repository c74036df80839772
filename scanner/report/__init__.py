"""Report writers: turn a `Verdict` into SARIF, JSON, JUnit, Markdown, HTML or a table.

Writers read the verdict and nothing else. Each format lives in its own
module and is imported only when asked for, so `cdgate --help` stays fast.

The CLI needs three calls:

- `render(verdict, fmt) -> str` for `-f FMT` on stdout,
- `write_report(verdict, fmt, path)` for `-o FILE` (atomic),
- `write_reports(verdict, output_dir, formats)` for `--output-dir DIR`,
  writing `cdgate.sarif`, `cdgate.json`, `cdgate.junit.xml`, `cdgate.md`,
  `cdgate.html` (and `cdgate.txt` for the table).

and, for the terminal, `print_verdict(verdict)` and
`progress(total, description)` from `scanner.report.console`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Iterable

from scanner.errors import ConfigError
from scanner.findings import Verdict
from scanner.report.atomic import ReportWriteError, atomic_write_text

FORMATS: tuple[str, ...] = ("table", "sarif", "json", "junit", "markdown", "html")

FILE_NAMES: dict[str, str] = {
    "table": "cdgate.txt",
    "sarif": "cdgate.sarif",
    "json": "cdgate.json",
    "junit": "cdgate.junit.xml",
    "markdown": "cdgate.md",
    "html": "cdgate.html",
}

# Formats written by `--output-dir` when none are named.
DEFAULT_FILE_FORMATS: tuple[str, ...] = ("sarif", "json", "junit", "markdown", "html")

_RENDERERS: dict[str, str] = {
    "table": "scanner.report.console:render_table",
    "sarif": "scanner.report.sarif:render_sarif",
    "json": "scanner.report.json_report:render_json",
    "junit": "scanner.report.junit:render_junit",
    "markdown": "scanner.report.markdown:render_markdown",
    "html": "scanner.report.html:render_html",
}


def render(verdict: Verdict, fmt: str) -> str:
    """The report in format `fmt` (one of `FORMATS`) as text."""
    module_name, function = _RENDERERS[check_format(fmt)].split(":")
    module = importlib.import_module(module_name)
    return str(getattr(module, function)(verdict))


def write_report(verdict: Verdict, fmt: str, path: Path | str) -> None:
    """Render and write one report atomically: the old file survives any failure.

    Rendering happens before anything touches the disk, so a rendering bug
    cannot leave a half-written report either.
    """
    text = render(verdict, fmt)
    atomic_write_text(Path(path), text)


def write_reports(
    verdict: Verdict, output_dir: Path | str, formats: Iterable[str] = DEFAULT_FILE_FORMATS
) -> dict[str, Path]:
    """Write one file per format into `output_dir`; return format -> path written."""
    wanted = [check_format(f) for f in formats]
    directory = Path(output_dir)
    written: dict[str, Path] = {}
    for fmt in dict.fromkeys(wanted):
        path = directory / FILE_NAMES[fmt]
        write_report(verdict, fmt, path)
        written[fmt] = path
    return written


def check_format(fmt: str) -> str:
    """Return `fmt` normalised, or raise ConfigError listing the known formats."""
    name = str(fmt).strip().lower()
    aliases = {"md": "markdown", "xml": "junit", "console": "table", "text": "table"}
    name = aliases.get(name, name)
    if name not in FORMATS:
        raise ConfigError(
            f"unknown report format {fmt!r}",
            hint=f"use one of: {', '.join(FORMATS)}",
        )
    return name


__all__ = [
    "DEFAULT_FILE_FORMATS",
    "FILE_NAMES",
    "FORMATS",
    "ReportWriteError",
    "check_format",
    "render",
    "write_report",
    "write_reports",
]
