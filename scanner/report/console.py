"""The console view: findings grouped by rule, a summary by rule, the verdict panel, a progress bar.

Colour only when the output is a terminal (rich decides; `NO_COLOR` is
honoured), so logs and files get plain text. Text from manifests is passed
to rich as `Text`, never as markup, so a message like `[red]` prints as is.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, TextIO

from scanner.findings import Finding, Outcome, Severity, Verdict
from scanner.report._common import (
    SEVERITIES,
    STATES,
    STATUS_HEADLINE,
    gate_state,
    printable,
    is_failing,
    one_line,
    ordered,
    resource_label,
    state_counts,
    state_of,
    where,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

#: Findings listed per rule before "…and N more" (`--show all` lists every one).
DEFAULT_PER_RULE = 5
PROGRESS_THRESHOLD = 50  # items; shorter runs finish before a bar is worth drawing
PLAIN_WIDTH = 140
INDENT = 4

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
    "waived": "dim",
}


@dataclass(frozen=True)
class RuleGroup:
    """The findings of one rule at one severity and state: a heading and its blocks."""

    rule_id: str
    severity: Severity
    state: str
    title: str | None
    findings: tuple[Finding, ...]


def render_table(verdict: Verdict, *, width: int = PLAIN_WIDTH, per_rule: int | None = DEFAULT_PER_RULE) -> str:
    """The console view as plain text (no colour codes), e.g. for `-o report.txt`."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, no_color=True, color_system=None)
    print_verdict(verdict, console=console, per_rule=per_rule)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def print_verdict(
    verdict: Verdict, *, console: Console | None = None, per_rule: int | None = DEFAULT_PER_RULE
) -> None:
    """Print the findings grouped by rule, a summary by rule and the verdict panel.

    Each finding is a block (resource, `file:line`, message) under its rule's
    heading (severity, state, rule id, count), so nothing needs a column and
    every field stays readable at any width. `per_rule=None` lists every
    finding (`--show all`); otherwise each rule shows its first `per_rule`.
    """
    from rich.console import Console

    if console is None:
        # Logs and pipes default to 80 columns in rich; CI logs are wide, so
        # use a wider layout unless COLUMNS says otherwise.
        wide = not _is_tty(sys.stdout) and "COLUMNS" not in os.environ
        console = Console(width=PLAIN_WIDTH if wide else None)
    from rich.text import Text

    for renderable in _renderables(verdict, per_rule, console):
        # Text items are wrapped to the width already (`_indented`); wrapping
        # them again would cost as much as the first time for nothing.
        console.print(renderable, no_wrap=isinstance(renderable, Text), crop=False)


def group_by_rule(verdict: Verdict) -> list[RuleGroup]:
    """Unwaived findings grouped by (rule, severity, state), in the one finding order."""
    groups: dict[tuple[str, Severity, str], list[Finding]] = {}
    for finding in ordered([f for f in verdict.findings if not f.waived]):
        key = (finding.rule_id, finding.severity, state_of(finding, verdict))
        groups.setdefault(key, []).append(finding)
    return [
        RuleGroup(rule, severity, state, next((f.title for f in found if f.title), None), tuple(found))
        for (rule, severity, state), found in groups.items()
    ]


def _renderables(verdict: Verdict, per_rule: int | None, console: Console) -> list[RenderableType]:
    from rich.text import Text

    items: list[RenderableType] = []
    groups = group_by_rule(verdict)
    if groups:
        total = sum(len(g.findings) for g in groups)
        items.append(Text(f"cdgate findings ({total}, grouped by rule)", style="bold"))
        for group in groups:
            items.extend(_group_blocks(group, per_rule, console))
        items.append(Text(""))
        items.append(_indented(_rule_summary(groups), 0, console))
        items.append(Text(""))
    items.append(_summary_panel(verdict))
    return items


def _group_blocks(group: RuleGroup, per_rule: int | None, console: Console) -> list[RenderableType]:
    from rich.text import Text

    room = console.width - INDENT
    count = len(group.findings)
    heading = Text()
    heading.append(group.severity.value.upper(), style=SEVERITY_STYLE[group.severity])
    heading.append(" ")
    heading.append(group.state, style=STATE_STYLE.get(group.state, ""))
    heading.append(" ")
    heading.append(printable(group.rule_id), style="bold")
    heading.append(f" ({count} finding{'s' if count != 1 else ''})")
    if group.title:
        heading.append(f" {printable(one_line(group.title))}", style="italic")
    blocks: list[Text] = [Text(""), _indented(heading, 0, console)]
    shown = group.findings if per_rule is None else group.findings[:per_rule]
    for finding in shown:
        head = Text("• ")
        head.append(soft_break(printable(resource_label(finding)), room - 2), style="bold")
        body = Text()
        body.append(soft_break(printable(where(finding)), room), style="cyan")
        body.append("\n")
        body.append(soft_break(printable(one_line(finding.message)), room))
        if finding.location.json_path:
            body.append(soft_break(printable(f" ({finding.location.json_path})"), room), style="dim")
        blocks += [_indented(head, 2, console), _indented(body, INDENT, console)]
    hidden = count - len(shown)
    if hidden:
        more = Text(f"…and {hidden} more {group.rule_id} finding(s) (--show all lists every finding)", style="dim")
        blocks.append(_indented(more, INDENT, console))
    return [Text("\n").join(blocks)]


def _indented(text: Text, indent: int, console: Console) -> Text:
    """`text` wrapped to the console's width less `indent`, every line indented, no trailing spaces."""
    from rich.text import Text

    lines = text.wrap(console, max(console.width - indent, 10), overflow="fold")
    out = Text()
    for i, line in enumerate(lines):
        line.rstrip()
        if i:
            out.append("\n")
        out.append(" " * indent)
        out.append_text(line)
    return out


def soft_break(text: str, room: int) -> str:
    """`text` with every word longer than `room` split after a `/`, `.` or `[`.

    rich wraps at spaces only and folds a longer word at the edge
    (`Resour` / `ce`); a path or JSON path split at its own separators
    stays readable.
    """
    if room < 8:
        return text
    return " ".join(_split_word(word, room) if len(word) > room else word for word in text.split(" "))


def _split_word(word: str, room: int) -> str:
    lines: list[str] = []
    rest = word
    while len(rest) > room:
        cut = max(rest.rfind(sep, 0, room) for sep in "/.[:-")
        cut = cut + 1 if cut > 0 else room
        lines.append(rest[:cut])
        rest = rest[cut:]
    lines.append(rest)
    return "\n".join(lines)


def _rule_summary(groups: list[RuleGroup]) -> Text:
    from rich.text import Text

    text = Text("Findings by rule\n", style="bold")
    for i, group in enumerate(groups):
        if i:
            text.append("\n")
        text.append(f"{len(group.findings):>5} ")
        text.append(group.severity.value, style=SEVERITY_STYLE[group.severity])
        text.append(" ")
        text.append(group.state, style=STATE_STYLE.get(group.state, ""))
        text.append(f" {printable(group.rule_id)}")
    return text


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
    states = state_counts(verdict)
    shown = [state for state in STATES if state != "unchanged" or states[state]]  # unchanged: merge gate only
    text.append("\n" + " · ".join(f"{states[state]} {state}" for state in shown))
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
