"""`cdgate kyverno`: run Kyverno CLI test suites and apply policies ad hoc.

`test` scores strictly (a row passes only when the engine produced exactly
that result for that policy, rule and resource); `apply` prints every rule
result for the given resources. Both are thin shells over
`scanner.engines.kyverno` and, for ValidatingPolicy and
ValidatingAdmissionPolicy, `scanner.engines.cel`.
"""

from __future__ import annotations

import sys

import click

from scanner.commands._common import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED, fail_closed


@click.group(name="kyverno")
def kyverno() -> None:
    """Run Kyverno policies and Kyverno CLI test suites."""


@kyverno.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--failures-only", is_flag=True, help="Print only the rows that did not pass.")
@click.option("--expect-failures/--no-expect-failures", default=True, show_default=True,
              help="Treat suites under a test-fail folder as suites that must fail.")
@fail_closed
def test(paths: tuple[str, ...], failures_only: bool, expect_failures: bool) -> None:
    """Run every kyverno-test.yaml under PATHS and print a strict total.

    Prints one line per suite, one per expected result (policy, rule,
    resource, expected and actual result) and the total. Exit 0 only when every row of every suite passes (suites under
    `test-fail/` must fail instead, as in Kyverno's own repository).
    """
    from scanner.engines.kyverno.testfile import find_test_files, must_fail, run_suite

    files = find_test_files(paths)
    if not files:
        click.echo("cdgate: error: no kyverno-test.yaml found", err=True)
        sys.exit(EXIT_ERROR)
    suites_ok = rows_ok = rows_total = 0
    for path in files:
        outcome = run_suite(path)
        expected_to_fail = expect_failures and must_fail(path)
        good = (not outcome.passed) if expected_to_fail else outcome.passed
        suites_ok += good
        passed, total = outcome.counts
        rows_ok += passed
        rows_total += total
        mark = "PASS" if good else "FAIL"
        note = " (expected to fail)" if expected_to_fail else ""
        click.echo(f"{mark} {path} rows {passed}/{total}{note}")
        if outcome.error:
            click.echo(f"    error: {outcome.error}")
        for row in outcome.rows:
            if not failures_only or (not row.passed and not expected_to_fail):
                state = "ok  " if row.passed else "FAIL"
                click.echo(
                    f"    {state} policy={row.policy} rule={row.rule} resource={row.kind}/{row.resource} "
                    f"expected={row.expected} got={row.actual}"
                )
    click.echo(f"Total: {suites_ok}/{len(files)} suites passed, {rows_ok}/{rows_total} rows passed (strict)")
    sys.exit(EXIT_PASSED if suites_ok == len(files) else EXIT_FAILED)


@kyverno.command("apply")
@click.argument("policies", nargs=-1, required=True, type=click.Path())
@click.option("--resource", "-r", "resources", multiple=True, required=True, type=click.Path(),
              help="A resource file (repeatable).")
@click.option("--operation", default="CREATE", show_default=True,
              type=click.Choice(["CREATE", "UPDATE", "DELETE", "CONNECT"]), help="The admission operation.")
@click.option("--all-results", is_flag=True, help="Also print pass and skip results.")
@fail_closed
def apply(policies: tuple[str, ...], resources: tuple[str, ...], operation: str, all_results: bool) -> None:
    """Apply POLICIES to the resources and print each rule's result.

    Exit 1 when a rule fails, 2 when a rule errors, else 0.
    """
    from pathlib import Path

    from scanner.engines.kyverno import load_policies
    from scanner.engines.kyverno.results import ERROR, FAIL, PASS, SKIP
    from scanner.engines.kyverno.testfile import _read_docs
    from scanner.engines.kyverno.yamlio import as_map

    from scanner.engines.cel.engine import load_cel_policies

    policy_set = load_policies(list(policies))
    cel_set = load_cel_policies([Path(p) for p in policies])
    counts = {PASS: 0, FAIL: 0, SKIP: 0, ERROR: 0, "warn": 0}
    for resource_path in resources:
        for obj in _read_docs(Path(resource_path)):
            if not isinstance(obj, dict) or not obj.get("kind"):
                continue
            meta = as_map(obj.get("metadata"))
            who = "/".join(p for p in (str(obj.get("kind")), meta.get("namespace"), meta.get("name")) if p)
            for policy, result in policy_set.results(obj, operation):
                status = result.status
                if status == FAIL and str(policy.annotations.get("policies.kyverno.io/scored", "")).lower() == "false":
                    status = "warn"
                counts[status] = counts.get(status, 0) + 1
                if all_results or status not in (PASS, SKIP):
                    click.echo(f"{status.upper():5} {policy.key}/{result.rule} {who}: {result.message}")
            for name, status, message in cel_set.results(obj, operation):  # ValidatingPolicy, VAP
                counts[status] = counts.get(status, 0) + 1
                if all_results or status not in (PASS, SKIP):
                    click.echo(f"{status.upper():5} {name} {who}: {message}")
    click.echo(
        f"pass: {counts[PASS]}, fail: {counts[FAIL]}, warn: {counts['warn']}, error: {counts[ERROR]}, skip: {counts[SKIP]}"
    )
    if counts[ERROR]:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAILED if counts[FAIL] else EXIT_PASSED)
