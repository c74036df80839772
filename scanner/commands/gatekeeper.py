"""`cdgate gatekeeper`: gator-style `verify` (suite.yaml) and `test` (policies over objects).

Both are thin shells over `scanner.engines.gatekeeper`. `verify` scores
strictly and exits 0 only when every assertion of every suite holds; `test`
exits 1 when a deny constraint is violated and 2 when something could not be
evaluated.
"""

from __future__ import annotations

import sys

import click

from scanner.commands._common import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED, fail_closed


@click.group(name="gatekeeper")
def gatekeeper() -> None:
    """Run Gatekeeper ConstraintTemplates and Constraints, and gator suites."""


@gatekeeper.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-v", "--verbose", is_flag=True, help="Print every case, not only the failing ones.")
@click.option("--enable-k8s-native-validation/--disable-k8s-native-validation", "k8s_native_validation", default=True,
              show_default=True, help="Templates carrying K8sNativeValidation (CEL) run it, as gator does; "
              "disabled, they run their Rego.")
@fail_closed
def verify(paths: tuple[str, ...], verbose: bool, k8s_native_validation: bool) -> None:
    """Run every suite.yaml under PATHS as `gator verify` does, strictly.

    Prints one line per suite (with the engines its templates ran), the
    failing tests and cases with the reason, and a total. Exit 0 only when
    every assertion of every suite holds, 2 when a suite file cannot be
    read, else 1.
    """
    from scanner.engines.gatekeeper.verify import find_suites, run_suite

    suites = find_suites(list(paths))
    if not suites:
        click.echo("cdgate: error: no suite.yaml found (pass suite files or directories holding them)", err=True)
        sys.exit(EXIT_ERROR)
    suites_ok = cases_ok = cases_total = unreadable = 0
    for path in suites:
        outcome = run_suite(path, k8s_native_validation)
        unreadable += bool(outcome.error)
        passed, total = outcome.counts()
        suites_ok += outcome.passed
        cases_ok += passed
        cases_total += total
        state = "SKIP" if outcome.skipped else "PASS" if outcome.passed else "FAIL"
        engines = sorted({t.engine for t in outcome.tests if t.engine})
        click.echo(f"{state} {path} cases {passed}/{total}" + (f" [{', '.join(engines)}]" if engines else ""))
        if outcome.error:
            click.echo(f"    error: {outcome.error}")
        for test in outcome.tests:
            if test.error:
                click.echo(f"    test {test.name}: error: {test.error}")
            for case in test.cases:
                if case.passed and not verbose:
                    continue
                mark = "skip" if case.skipped else "ok  " if case.passed else "FAIL"
                click.echo(f"    {mark} {test.name} / {case.name}" + (f": error: {case.error}" if case.error else ""))
                for assertion in case.assertions:
                    if not assertion.passed:
                        click.echo(f"        {assertion.text}: {assertion.detail}")
    click.echo(f"Total: {suites_ok}/{len(suites)} suites passed, {cases_ok}/{cases_total} cases passed (strict)")
    if unreadable:
        click.echo(f"cdgate: error: {unreadable} suite(s) could not be read (see the errors above)", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_PASSED if suites_ok == len(suites) else EXIT_FAILED)


@gatekeeper.command("test")
@click.option("-f", "--filename", "filenames", multiple=True, required=True, type=click.Path(),
              help="A file or directory of templates, constraints and objects (repeatable).")
@click.option("--operation", default="CREATE", show_default=True,
              type=click.Choice(["CREATE", "UPDATE", "DELETE", "CONNECT"]), help="The admission operation.")
@click.option("--enable-k8s-native-validation/--disable-k8s-native-validation", "k8s_native_validation", default=True,
              show_default=True, help="Templates carrying K8sNativeValidation (CEL) run it; disabled, their Rego.")
@fail_closed
def test(filenames: tuple[str, ...], operation: str, k8s_native_validation: bool) -> None:
    """Review every object in the files against their templates and constraints, like `gator test`.

    Prints one line per violation (`Kind/namespace/name: [constraint] message`).
    Exit 1 when a deny constraint is violated, 2 when a constraint could
    not be evaluated or no object was reviewed, else 0.
    """
    from pathlib import Path

    from scanner.engines.gatekeeper.client import PolicyDocuments, collect, compile_policies
    from scanner.engines.gatekeeper.constraint import is_constraint
    from scanner.engines.gatekeeper.files import read_documents, yaml_files
    from scanner.engines.gatekeeper.review import build_inventory, object_review
    from scanner.engines.gatekeeper.template import is_template

    from scanner.inputs.document import Document

    found = PolicyDocuments()
    objects: list[Document] = []
    for path in yaml_files([Path(f) for f in filenames]):
        docs = read_documents(path)
        collect(docs, found)
        objects.extend(d for d in docs if d.is_resource and not is_template(d.obj) and not is_constraint(d.obj))
    policies = compile_policies(found, k8s_native_validation=k8s_native_validation)
    if not policies.constraints:
        click.echo("cdgate: error: no constraints found (pass the constraint files with -f)", err=True)
        sys.exit(EXIT_ERROR)
    if not objects:
        click.echo("cdgate: error: no objects to review (pass resource files with -f)", err=True)
        sys.exit(EXIT_ERROR)
    inventory = build_inventory(d.obj for d in objects)
    denied = errors = warned = 0
    for doc in objects:
        outcome = policies.review(object_review(doc.obj, operation=operation), inventory)
        who = "/".join(p for p in (doc.kind, doc.namespace, doc.name) if p)
        for violation in outcome.violations:
            action = violation.constraint.action or "none"
            denied += action == "deny"
            warned += action != "deny"
            click.echo(f"{doc.path}:{doc.start_line}: {who}: [{violation.constraint.name}] ({action}) {violation.message}")
        for error in outcome.errors:
            errors += 1
            click.echo(f"{doc.path}:{doc.start_line}: {who}: error: {error.message} ({error.hint})")
    click.echo(f"objects: {len(objects)}, constraints: {len(policies.constraints)}, deny: {denied}, other: {warned}, errors: {errors}")
    if errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAILED if denied else EXIT_PASSED)
