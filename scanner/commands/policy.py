"""`cdgate policy test`: run Rego policy unit tests the way `opa test` does.

Exit codes follow the rest of cdgate: 0 every test passed, 1 a test failed,
2 a policy could not be loaded or a test raised (an error is never a pass).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from scanner.engines.rego_testing import PolicyTestRun

from scanner.commands._common import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED, fail_closed

DEFAULT_POLICY_DIR = Path("policies") / "rego"
BUNDLED_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies" / "rego"

_STATUS_STYLE = {"pass": ("PASS", "green"), "fail": ("FAIL", "red"), "error": ("ERROR", "red"), "skip": ("SKIP", "yellow")}


@click.group("policy")
def policy() -> None:
    """Work with Rego policies."""


def default_paths() -> tuple[str, ...]:
    """`policies/rego` under the working directory, else cdgate's bundled policies."""
    if DEFAULT_POLICY_DIR.is_dir():
        return (str(DEFAULT_POLICY_DIR),)
    return (str(BUNDLED_POLICY_DIR),)


@policy.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-r", "--run", "name_filter", metavar="REGEX", help="Only run tests whose data.<package>.<name> matches REGEX.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures, errors and the summary.")
@fail_closed
def test(paths: tuple[str, ...], name_filter: str | None, fmt: str, quiet: bool) -> None:
    """Run the test_* rules of *_test.rego files under PATH... (default policies/rego).

    Every .rego file and JSON/YAML data file under the paths is loaded;
    data files are merged into `data`. A test passes when it evaluates to
    true, and fails when it is false or undefined.
    """
    from scanner.engines.rego_testing import PolicyTestStatus, run_policy_tests

    run = run_policy_tests(paths or default_paths(), name_filter=name_filter)
    if fmt == "json":
        _print_json(run)
    else:
        for result in run.results:
            if quiet and result.status in (PolicyTestStatus.PASS, PolicyTestStatus.SKIP):
                continue
            label, colour = _STATUS_STYLE[result.status.value]
            line = f"{click.style(label, fg=colour, bold=True)} {result.case.rule} ({result.duration_s * 1000:.1f} ms)"
            click.echo(line)
            if result.status in (PolicyTestStatus.FAIL, PolicyTestStatus.ERROR):
                where = f"{result.case.file}:{result.case.line}" if result.case.line else result.case.file
                click.echo(f"    {where}: {result.message}")
                for printed in result.output:
                    click.echo(f"    print: {printed}")
        click.echo("-" * 60)
        click.echo(_summary(run))
    if not run.results:
        click.echo("cdgate: error: no test_* rules found in *_test.rego files", err=True)
        sys.exit(EXIT_ERROR)
    if run.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAILED if run.failed else EXIT_PASSED)


def _summary(run: PolicyTestRun) -> str:
    parts = [f"{run.passed} passed", f"{run.failed} failed"]
    if run.errors:
        parts.append(f"{run.errors} errors")
    if run.skipped:
        parts.append(f"{run.skipped} skipped")
    return ", ".join(parts) + f" in {run.duration_s:.2f}s"


def _print_json(run: PolicyTestRun) -> None:
    payload = {
        "summary": {
            "passed": run.passed,
            "failed": run.failed,
            "errors": run.errors,
            "skipped": run.skipped,
            "duration_s": round(run.duration_s, 6),
        },
        "tests": [
            {
                "package": r.case.package,
                "name": r.case.name,
                "file": r.case.file,
                "line": r.case.line,
                "status": r.status.value,
                "duration_s": round(r.duration_s, 6),
                "message": r.message,
                "output": list(r.output),
            }
            for r in run.results
        ],
    }
    click.echo(json.dumps(payload, indent=2))
