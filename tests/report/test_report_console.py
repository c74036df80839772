"""Console: plain table when not a terminal, colour on a terminal, a progress bar on a real pty."""

from __future__ import annotations

import io
import os
import select

from report_verdicts import clean_verdict, many_findings, mixed_verdict
from rich.console import Console

from scanner.findings import GateResult, Severity, Verdict
from scanner.report.console import print_verdict, progress, render_table


def test_plain_table_lists_findings_and_verdict_without_colour_codes():
    text = render_table(mixed_verdict(), width=200)
    assert "\x1b[" not in text
    assert "CDG-K8S-001" in text and "Deployment/shop/api" in text
    assert "services/service-b/templates/deployment.yaml:21" in text
    assert "FAILED" in text and "exit code 1" in text
    assert "gate signature: skipped (no registry configured)" in text
    assert "waiver for CDG-K8S-003" in text  # notice


def test_waived_findings_are_not_in_the_table_but_counted():
    text = render_table(mixed_verdict(), width=200)
    assert "CDG-K8S-003" not in text.split("cdgate verdict")[0]
    assert "1 waived" in text


def test_rich_markup_in_messages_is_printed_literally():
    text = render_table(mixed_verdict(), width=300)
    assert "[red]x[/red]" in text


def test_error_and_clean_verdicts():
    assert "ERROR" in render_table(mixed_verdict(with_error=True)) and "exit code 2" in render_table(
        mixed_verdict(with_error=True)
    )
    clean = render_table(clean_verdict())
    assert "PASSED" in clean and "cdgate findings" not in clean


def test_findings_per_rule_are_capped():
    verdict = Verdict(gates=[GateResult("m", many_findings({Severity.HIGH: 30}), 30)], fail_on=Severity.HIGH)
    text = render_table(verdict, per_rule=10, width=200)
    assert text.count("high finding") == 10
    assert "…and 20 more CDG-K8S-003 finding(s)" in text


def test_terminal_output_is_coloured():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=160)
    print_verdict(mixed_verdict(), console=console)
    assert "\x1b[" in buffer.getvalue()


def test_progress_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    calls = 0
    with progress(1000, "Evaluating", stream=stream) as advance:
        for _ in range(1000):
            advance(1)
            calls += 1
    assert calls == 1000 and stream.getvalue() == ""


def _drain(fd: int) -> bytes:
    chunks = []
    while select.select([fd], [], [], 0.05)[0]:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def test_progress_draws_a_bar_on_a_real_terminal_only_for_long_runs():
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert tty.isatty()
            with progress(5, "Short run", stream=tty, threshold=50) as advance:
                advance(5)
            tty.flush()
            assert b"Short run" not in _drain(master)

            with progress(200, "Evaluating documents", stream=tty, threshold=50) as advance:
                for _ in range(200):
                    advance(1)
            tty.flush()
            out = _drain(master)
        assert b"Evaluating documents" in out
    finally:
        os.close(master)
        os.close(slave)
