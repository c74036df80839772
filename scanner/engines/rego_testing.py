"""`opa test` for cdgate: run the `test_*` rules of `*_test.rego` files.

Every `.rego` file and every JSON/YAML data file under the given paths is
loaded into one regorus engine (compiled once, reused for every test); data
files are deep-merged into `data`, so `policies/rego/data/params.json`
(`{"cdgate_params": {...}}`) is visible as `data.cdgate_params`. Each rule
named `test_*` in a package that comes from a `*_test.rego` file is a test:
it passes when it evaluates to `true`, fails when it is false or undefined,
and errors when evaluation raises. Rules named `todo_test_*` are skipped, as
`opa test` does.

A policy that does not parse is a `PolicyError` naming the file and line:
a test run that could not load its policies has not passed.
"""

from __future__ import annotations

import enum
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from scanner.engines.rego_errors import parse_regorus_error
from scanner.engines.rego_sources import (
    PolicySources,
    add_policy,
    discover,
    load_data_files,
    policy_error_from_regorus,
    read_policy,
)
from scanner.errors import ConfigError, PolicyError

TEST_FILE_SUFFIX = "_test.rego"
TEST_PREFIX = "test_"
TODO_PREFIX = "todo_test_"


class PolicyTestStatus(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True)
class PolicyTestCase:
    """One `test_*` rule: its package (`data.x.y_test`), name and where it is."""

    package: str
    name: str
    file: str
    line: int | None = None

    @property
    def rule(self) -> str:
        return f"{self.package}.{self.name}"


@dataclass(frozen=True)
class PolicyTestResult:
    case: PolicyTestCase
    status: PolicyTestStatus
    duration_s: float
    message: str | None = None  # why it failed or errored
    output: tuple[str, ...] = ()  # what the test printed with print()


@dataclass
class PolicyTestRun:
    """Results of one `cdgate policy test` run, in discovery order."""

    results: list[PolicyTestResult] = field(default_factory=list)
    policy_files: list[str] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def count(self, status: PolicyTestStatus) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def passed(self) -> int:
        return self.count(PolicyTestStatus.PASS)

    @property
    def failed(self) -> int:
        return self.count(PolicyTestStatus.FAIL)

    @property
    def errors(self) -> int:
        return self.count(PolicyTestStatus.ERROR)

    @property
    def skipped(self) -> int:
        return self.count(PolicyTestStatus.SKIP)

    @property
    def ok(self) -> bool:
        """True when at least one test ran and none failed or errored."""
        return self.passed > 0 and self.failed == 0 and self.errors == 0


def _clean_error(exc: BaseException) -> str:
    """One readable line from a regorus runtime error, with its location."""
    report = parse_regorus_error(exc)
    if report.path and report.line:
        return f"{report.path}:{report.line}:{report.column}: {report.message}"
    return report.message


def find_test_rules(path: Path, text: str) -> tuple[str, list[tuple[str, int | None]]]:
    """The package of a test file and its `test_*`/`todo_test_*` rules with lines.

    Uses regorus' own parser (a scratch engine, so nothing leaks into the
    test engine), so rules are found exactly as the engine sees them.
    """
    import regorus

    scratch = regorus.Engine()
    try:
        package = scratch.add_policy(str(path), text)
        modules = json.loads(scratch.get_ast_as_json())
    except RuntimeError as exc:
        raise policy_error_from_regorus(exc, str(path)) from None
    names: dict[str, int | None] = {}
    for module in modules:
        for rule in module.get("ast", {}).get("rules", []):
            name, line = _rule_head(rule)
            if name and (name.startswith(TEST_PREFIX) or name.startswith(TODO_PREFIX)):
                names.setdefault(name, line)
    return package, list(names.items())


def _rule_head(rule: dict[str, Any]) -> tuple[str | None, int | None]:
    """Name and line of a rule from regorus' AST (`Spec.head.<kind>.refr.Var`).

    Functions (`Func` heads) are not tests, as in `opa test`.
    """
    spec = rule.get("Spec") if isinstance(rule, dict) else None
    if not isinstance(spec, dict):
        return None, None
    for kind, head in (spec.get("head") or {}).items():
        if kind == "Func":
            continue
        refr = head.get("refr") if isinstance(head, dict) else None
        var = refr.get("Var") if isinstance(refr, dict) else None
        if isinstance(var, dict) and isinstance(var.get("value"), str):
            return var["value"], (var.get("span") or {}).get("line")
    return None, None


class PolicyTestRunner:
    """Loads policies and data once, then runs any number of tests on one engine."""

    def __init__(self, sources: PolicySources) -> None:
        import regorus

        self.sources = sources
        self.engine = regorus.Engine()
        self.engine.set_gather_prints(True)
        self.cases: list[PolicyTestCase] = []
        for path in sources.policies:
            self._load_policy(path)
        try:
            self.engine.add_data(load_data_files(sources.data))
        except RuntimeError as exc:
            raise PolicyError(f"data could not be loaded: {_clean_error(exc)}") from None

    def _load_policy(self, path: Path) -> None:
        text = read_policy(path)
        package = add_policy(self.engine, str(path), text)
        if path.name.endswith(TEST_FILE_SUFFIX):
            _, rules = find_test_rules(path, text)
            self.cases += [PolicyTestCase(package, name, str(path), line) for name, line in rules]

    def run_case(self, case: PolicyTestCase) -> PolicyTestResult:
        if case.name.startswith(TODO_PREFIX):
            return PolicyTestResult(case, PolicyTestStatus.SKIP, 0.0)
        started = time.perf_counter()
        try:
            value = json.loads(self.engine.eval_rule_as_json(case.rule))
        except (RuntimeError, ValueError) as exc:
            return PolicyTestResult(
                case, PolicyTestStatus.ERROR, time.perf_counter() - started, _clean_error(exc), self._prints()
            )
        elapsed = time.perf_counter() - started
        if value is True:
            return PolicyTestResult(case, PolicyTestStatus.PASS, elapsed, None, self._prints())
        reason = "undefined" if value == "<undefined>" else f"evaluated to {json.dumps(value)[:200]}"
        return PolicyTestResult(case, PolicyTestStatus.FAIL, elapsed, reason, self._prints())

    def _run_cases(self, cases: list[PolicyTestCase]) -> list[PolicyTestResult]:
        """Each case in a killable worker: a test that crashes regorus or runs away is an ERROR."""
        from scanner.engines.rego_isolation import Budget, Killed, can_isolate, map_isolated

        if not can_isolate():
            return [self.run_case(case) for case in cases]

        def killed(case: PolicyTestCase, how: Killed) -> PolicyTestResult:
            message = f"evaluation {how.reason} (a rule or function that calls itself, or a huge comprehension?)"
            return PolicyTestResult(case, PolicyTestStatus.ERROR, 0.0, message)

        return map_isolated(cases, self.run_case, killed, Budget(run_deadline_s=3600.0))

    def _prints(self) -> tuple[str, ...]:
        try:
            return tuple(self.engine.take_prints())
        except RuntimeError:
            return ()

    def run(self, name_filter: str | None = None) -> PolicyTestRun:
        """Run every test (or those whose `data.pkg.test_name` matches `name_filter`)."""
        try:
            pattern = re.compile(name_filter) if name_filter else None
        except re.error as exc:
            raise ConfigError(f"--run is not a valid regular expression: {exc}") from None
        run = PolicyTestRun(
            policy_files=[str(p) for p in self.sources.policies],
            data_files=[str(p) for p in self.sources.data],
        )
        started = time.perf_counter()
        cases = [case for case in self.cases if not (pattern and not pattern.search(case.rule))]
        run.results.extend(self._run_cases(cases))
        run.duration_s = time.perf_counter() - started
        return run


def run_policy_tests(paths: Iterable[Path | str], name_filter: str | None = None) -> PolicyTestRun:
    """Discover, load and run every policy test under `paths`.

    Raises PolicyError when a policy or data file cannot be loaded, or when
    there are no `.rego` files at all (nothing tested is not a pass).
    """
    paths = list(paths)
    sources = discover(paths)
    if not sources.policies:
        shown = ", ".join(str(p) for p in paths) or "."
        raise PolicyError(f"no .rego files found under {shown}", hint="pass the directory that holds your policies")
    return PolicyTestRunner(sources).run(name_filter)
