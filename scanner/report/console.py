"""The console view: a table of findings and a verdict panel, and a progress bar.

Colour only when the output is a terminal (rich decides; `NO_COLOR` is
honoured), so logs and files get plain text. Text from manifests is passed
to rich as `Text`, never as markup, so a message like `[red]` prints as is.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, TextIO

from scanner.findings import Finding, Outcome, Severity, Verdict
from scanner.report._common import (
    SEVERITIES,
    STATUS_HEADLINE,
    gate_state,
    printable,
    is_failing,
    ordered,
    resource_label,
    state_of,
    where,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

DEFAULT_MAX_ROWS = 200
PROGRESS_THRESHOLD = 50  # items; shorter runs finish before a bar is worth drawing
PLAIN_WIDTH = 140

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
STATUS_STYLE = {"passed": "bold green", "failed": "bold red", "error": "bold magenta"}
STATE_STYLE = {
    "error": "bold magenta",
    "fail": "bold red",
    "expired-waiver": "bold red",
    "warn": "yellow",
    "below-threshold": "dim",
    "waived": "dim",
}


def render_table(verdict: Verdict, *, width: int = PLAIN_WIDTH, max_rows: int | None = DEFAULT_MAX_ROWS) -> str:
    """The console view as plain text (no colour codes), e.g. for `-o report.txt`."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, no_color=True, color_system=None)
    print_verdict(verdict, console=console, max_rows=max_rows)
    return buffer.getvalue()


def print_verdict(
    verdict: Verdict, *, console: Console | None = None, max_rows: int | None = DEFAULT_MAX_ROWS
) -> None:
    """Print the findings table and the verdict panel (stdout unless `console` is given)."""
    from rich.console import Console

    if console is None:
        # Logs and pipes default to 80 columns in rich, which folds every path;
        # CI logs are wide, so use a wide plain layout unless COLUMNS says otherwise.
        wide = not _is_tty(sys.stdout) and "COLUMNS" not in os.environ
        console = Console(width=PLAIN_WIDTH if wide else None)
    for renderable in _renderables(verdict, max_rows):
        console.print(renderable)


def _renderables(verdict: Verdict, max_rows: int | None) -> list[RenderableType]:
    from rich.table import Table
    from rich.text import Text

    items: list[RenderableType] = []
    findings = ordered([f for f in verdict.findings if not f.waived])
    if findings:
        table = Table(title="cdgate findings", show_lines=False, expand=True, title_justify="left")
        table.add_column("Severity", no_wrap=True)
        table.add_column("State", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Resource", overflow="fold", ratio=2, min_width=8)
        table.add_column("Location", overflow="fold", ratio=3, min_width=10)
        table.add_column("Message", overflow="fold", ratio=4, min_width=12)
        shown = findings if max_rows is None else findings[:max_rows]
        for f in shown:
            table.add_row(*_row(f, verdict))
        items.append(table)
        if max_rows is not None and len(findings) > max_rows:
            items.append(Text(f"…and {len(findings) - max_rows} more findings (use -f json for all of them)"))
    items.append(_summary_panel(verdict))
    return items


def _row(finding: Finding, verdict: Verdict) -> list:
    from rich.text import Text

    state = state_of(finding, verdict)
    message = finding.message
    if finding.location.json_path:
        message += f" [{finding.location.json_path}]"
    return [
        Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
        Text(state, style=STATE_STYLE.get(state, "")),
        Text(printable(finding.rule_id)),
        Text(printable(resource_label(finding))),
        Text(printable(where(finding))),
        Text(printable(message)),
    ]


def _summary_panel(verdict: Verdict) -> RenderableType:
    from rich.panel import Panel
    from rich.text import Text

    status = verdict.status
    text = Text()
    text.append(f"{status.upper()}", style=STATUS_STYLE[status])
    text.append(f": {STATUS_HEADLINE[status]} (exit code {verdict.exit_code})\n")
    text.append(
        f"profile {verdict.profile_name} · environment {verdict.environment or 'all'} · "
        f"fails on {verdict.fail_on.value} and above\n"
    )
    counts = verdict.counts()
    text.append("active: ")
    for i, s in enumerate(SEVERITIES):
        if i:
            text.append(" · ")
        text.append(f"{counts[s.value]} {s.value}", style=SEVERITY_STYLE[s] if counts[s.value] else "dim")
    failing = len(verdict.failing())
    waived = sum(1 for f in verdict.findings if f.waived)
    warnings = sum(1 for f in verdict.findings if f.outcome is Outcome.WARN and not f.waived)
    text.append(f"\nfailing {failing} · warnings {warnings} · waived {waived} · errors {len(verdict.errors)}")
    for g in verdict.gates:
        line = gate_state(g, verdict)
        style = {"skipped": "dim", "passed": "green", "failed": "red", "error": "magenta"}[line]
        if g.skipped is not None:
            line += f" ({g.skipped})"
        gate_failing = sum(1 for f in g.findings if is_failing(f, verdict))
        text.append(f"\ngate {g.name}: ")
        text.append(line, style=style)
        text.append(f" ({g.documents} documents, {len(g.findings)} findings, {gate_failing} failing)")
    for notice in verdict.notices:
        text.append("\nnotice: ", style="yellow")
        text.append(printable(notice))
    return Panel(text, title="cdgate verdict", border_style=STATUS_STYLE[status].split()[-1], expand=False)


@contextmanager
def progress(
    total: int,
    description: str,
    *,
    threshold: int = PROGRESS_THRESHOLD,
    stream: TextIO | None = None,
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long runs; yields `advance(n=1)`.

    The bar appears only when the stream is a terminal and `total` is over
    `threshold`; otherwise `advance` does nothing, so callers never branch:

        with progress(len(documents), "Evaluating") as advance:
            for doc in documents:
                ...
                advance(1)
    """
    out = stream if stream is not None else sys.stderr
    if total <= threshold or not _is_tty(out):
        yield _no_advance
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=out),
        transient=True,
    )
    with bar:
        task = bar.add_task(_plain(description), total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def _no_advance(n: int = 1) -> None:
    return None


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(text)
