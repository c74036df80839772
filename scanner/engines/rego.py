"""Rego policies evaluated in process with regorus, conftest-style.

A `RegoPolicySet` is compiled once per run: every policy file is parsed into
one regorus engine, the result rules are read from regorus' parse with
conftest's naming (`deny`, `deny_<name>`, `violation_<name>`, `warn_<name>`;
`rego_rules`), and a generated collector package gathers every selected
package's result sets and conftest `exception`s in a single query, so a
document costs one evaluation however many packages there are. Packages that
set `input_mode := "repo"` are evaluated once over all documents (per scope),
for cross-resource rules, and team packages under `rego.combine` once with
conftest's combined input. A configured policy path that yields no result
rule is a PolicyError (it would check nothing). Any regorus exception becomes
an ERROR result: an engine failure is never a pass.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from scanner.engines.base import EvaluationRequest, Level, RawResult, SourceLocation
from scanner.paths import shown_path
from scanner.errors import PolicyError
from scanner.engines.per_thread import PerThread, reraise_interrupts
from scanner.engines.rego_errors import parse_regorus_error
from scanner.engines.rego_portability import RULE_ID as PORTABILITY_RULE
from scanner.engines.rego_portability import PortabilityNote, portability_notes
from scanner.engines.rego_rules import EXCEPTION_RULE, PackageRules, exception_name, is_warning, rules_of_engine
from scanner.engines.rego_sources import add_policy, discover, load_data_files, read_policy
from scanner.inputs.document import Document
from scanner.merging import deep_merge
from scanner.profile import Profile

ENGINE = "rego"
RESULT_RULES = ("deny", "violation", "warn")
COLLECTOR_PACKAGE = "cdgate_internal.collect"
DEFAULT_NAMESPACES = ("main", "cdgate")
BUNDLED_REGO_DIR = Path(__file__).resolve().parent.parent.parent / "policies" / "rego"
TEST_FILE_SUFFIX = "_test.rego"



@dataclass(frozen=True)
class RegoPackage:
    """One selected policy package and the result rules it defines."""

    name: str
    path: str  # file that declares it (first one, for messages)
    rules: tuple[str, ...]
    repo_mode: bool = False
    exceptions: bool = False  # defines conftest `exception` rules
    combine: bool = False  # conftest --combine: input is [{"path", "contents"}] of every document


def load_sources(
    paths: Sequence[str | Path], data_paths: Sequence[str | Path] = (), root: Path | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Policy texts (tests left out) by display path, and the merged data."""
    found = discover(paths)
    policies = {shown_path(path, root): read_policy(path) for path in _policy_files(found.policies)}
    data_files = discover(data_paths, require_policies=False).data if data_paths else ()  # as conftest's -d
    return policies, load_data_files([*found.data, *data_files])


def _policy_files(paths: Sequence[Path]) -> list[Path]:
    """The policies among discovered files: `_test.rego` files are for `cdgate rego test`, not the gate."""
    return [path for path in paths if not path.name.endswith(TEST_FILE_SUFFIX)]


def _shown_policy_files(paths: Sequence[str | Path], root: Path | None) -> set[str]:
    """The display paths `load_sources(paths)` keys its policies by, without reading them again."""
    return {shown_path(path, root) for path in _policy_files(discover(paths).policies)}


def new_engine(policies: dict[str, str], data: dict[str, Any]) -> Any:
    """A regorus engine holding `policies` and `data`; syntax errors -> PolicyError."""
    import regorus

    engine = regorus.Engine()
    for path, text in policies.items():
        add_policy(engine, path, text)
    if data:
        engine.add_data(data)
    return engine


def _namespace_selected(package: str, namespaces: Sequence[str]) -> bool:
    return any(package == ns or package.startswith(ns + ".") for ns in namespaces)


def _find_packages(
    collected: Sequence[PackageRules], namespaces: Sequence[str], combine_files: frozenset[str] = frozenset()
) -> list[RegoPackage]:
    """Selected packages with conftest result rules.

    A package declared in one of `combine_files` is evaluated conftest
    `--combine` style (unless it declares `input_mode := "repo"`).
    """
    return [
        RegoPackage(
            pkg.name,
            pkg.path,
            tuple(pkg.rules),
            pkg.repo_mode,
            exceptions=pkg.has_exceptions,
            combine=not pkg.repo_mode and bool(pkg.files & combine_files),
        )
        for pkg in collected
        if pkg.rules and _namespace_selected(pkg.name, namespaces)
    ]


def _collector_source(packages: Sequence[RegoPackage], package: str = COLLECTOR_PACKAGE) -> str:
    """Generated Rego that gathers every package's result sets (and exceptions) in one value."""
    lines = [f"package {package}", "import rego.v1", ""]
    entries = []
    for i, pkg in enumerate(packages):
        fields = [f'"{rule}": [x | some x in data.{pkg.name}.{rule}]' for rule in pkg.rules]
        if pkg.exceptions:
            fields.append(f'"{EXCEPTION_RULE}": [x | some r in data.{pkg.name}.{EXCEPTION_RULE}; some x in r]')
        lines.append(f"p{i} := {{{', '.join(fields)}}}")
        entries.append(f'"{pkg.name}": p{i}')
    lines.append(f"results := {{{', '.join(entries)}}}")
    return "\n".join(lines) + "\n"


class RegoPolicySet:
    """Compiled policies, ready to evaluate many documents from any thread.

    regorus engines are bound to the thread that made them (another thread
    gets pyo3's `PanicException`), so the set keeps the checked sources and
    builds one engine per thread and environment on first use (about 10 ms
    for the bundled policies). Each engine's data (parameters and
    `data.cdgate_context.environment`) is fixed when it is built, so no
    evaluation mutates state another one can see.
    """

    name = ENGINE

    def __init__(
        self,
        sources: dict[str, str],
        document_packages: list[RegoPackage],
        repo_packages: list[RegoPackage],
        base_data: dict[str, Any],
        environment: str | None = None,
    ) -> None:
        self.sources = sources
        self.document_packages = document_packages
        self.repo_packages = repo_packages
        self.base_data = base_data
        self.environment = environment
        self.portability: list[PortabilityNote] = []  # team policy lines OPA would decide differently
        # The builder holds the sources, not `self`: no reference cycle, so the set
        # (and this thread's engines) is freed when its last user drops it, never
        # later by the cycle collector on some other thread.
        self._engines: PerThread[str | None, Any] = PerThread(partial(_build_engine, sources, base_data))

    @classmethod
    def compile(
        cls,
        paths: Sequence[str | Path],
        *,
        data_paths: Sequence[str | Path] = (),
        namespaces: Sequence[str] = DEFAULT_NAMESPACES,
        params: dict[str, Any] | None = None,
        environment: str | None = None,
        root: Path | None = None,
        combine: Sequence[str | Path] = (),
    ) -> RegoPolicySet:
        """Parse every policy once (a syntax error is a PolicyError naming file and line)."""
        policies, data = load_sources(paths, data_paths, root)
        if params:
            data = deep_merge(data, {"cdgate_params": params})
        # syntax errors as PolicyError naming file and line; the rules are read from this same parse
        collected = rules_of_engine(new_engine(policies, {}))
        combine_files = frozenset(_shown_policy_files(combine, root)) if combine else frozenset()
        packages = _find_packages(collected, namespaces, combine_files)
        team = [p for p in paths if Path(p).resolve() != BUNDLED_REGO_DIR]
        team_files = {path: _shown_policy_files([path], root) for path in team}
        # a team's path that collects nothing checks nothing; the bundled set may be narrowed away by --namespace
        _require_rules(team_files, collected, namespaces, root)
        if not packages:
            raise PolicyError(
                f"no Rego rule to evaluate: no package under {', '.join(namespaces)} defines deny, violation or warn",
                hint="check rego.namespaces (or --namespace) against the packages of your policies",
            )
        doc_pkgs = [p for p in packages if not p.repo_mode and not p.combine]
        repo_pkgs = [p for p in packages if p.repo_mode or p.combine]
        policies["<cdgate collector: documents>"] = _collector_source(doc_pkgs)
        policies["<cdgate collector: repo>"] = _collector_source(repo_pkgs, f"{COLLECTOR_PACKAGE}_repo")
        policy_set = cls(policies, doc_pkgs, repo_pkgs, data, environment)
        for shown in sorted(set().union(*team_files.values())):
            policy_set.portability.extend(portability_notes(shown, policies[shown]))
        from scanner.engines.rego_builtins import refuse_forbidden_calls

        # parse now, on this thread: errors (and network/runtime builtins) surface at compile time
        refuse_forbidden_calls(policy_set.engine_for(environment))
        return policy_set

    @property
    def packages(self) -> list[RegoPackage]:
        return self.document_packages + self.repo_packages

    @property
    def policy_count(self) -> int:
        return sum(len(p.rules) for p in self.packages)

    def engine_for(self, environment: str | None) -> Any:
        """This thread's engine for `environment`, built on first use."""
        return self._engines.get(environment)


    # -- evaluation -------------------------------------------------------

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        """Evaluate every resource document; results in document order.

        Safe from any thread. `request.on_progress(n)` is told as documents
        finish, for a progress bar. In CI (no admission request) the policies
        may come from the pull request itself, so they run in a forked worker
        with a deadline and a memory cap (`rego_bounded`); the webhook
        evaluates the cluster's deployed policies in process, since a fork per
        admission request would cost more than the whole evaluation.
        """
        results = self._evaluate_policies(request)
        if any(d.is_resource for d in request.documents):
            results.extend(_portability_result(note) for note in self.portability)
        return results

    def _evaluate_policies(self, request: EvaluationRequest) -> list[RawResult]:
        from scanner.engines.rego_isolation import can_isolate

        if request.admission is None and can_isolate():
            from scanner.engines.rego_bounded import evaluate_bounded

            return evaluate_bounded(self, request)
        results: list[RawResult] = []
        self.evaluate_steps(request, lambda _step: None, lambda _step, found: results.extend(found))
        return results

    def evaluate_steps(
        self,
        request: EvaluationRequest,
        starting: Callable[[tuple[str, Any]], None],
        emit: Callable[[tuple[str, Any], list[RawResult]], None],
        *,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        """Evaluate, announcing each step (`("doc", document)` or `("repo", scope)`) before it runs.

        `shard=(k, n)`: the document packages run on every n-th resource from
        the k-th, and the repo packages (which need every document) on shard 0
        only, so n workers together evaluate everything exactly once.
        """
        index, count = shard
        resources = [d for d in request.documents if d.is_resource]
        mine = {id(d) for i, d in enumerate(resources) if i % count == index}
        by_scope: dict[str | None, list[Document]] = defaultdict(list)
        for doc in resources:
            by_scope[doc.scope].append(doc)
        for scope, docs in by_scope.items():
            engine = self.engine_for(request.environment or self.environment or scope)
            if self.document_packages:
                for start in range(0, len(docs), PROGRESS_CHUNK):
                    chunk = [d for d in docs[start : start + PROGRESS_CHUNK] if id(d) in mine]
                    for doc in chunk:
                        starting(("doc", doc))
                        emit(("doc", doc), self._evaluate_document(engine, doc))
                    request.advance(len(chunk))
            else:
                request.advance(sum(1 for d in docs if id(d) in mine))
            if self.repo_packages and index == 0:
                starting(("repo", scope))
                emit(("repo", scope), self._evaluate_repo(engine, docs))

    def evaluate_package(self, environment: str | None, doc: Document, index: int) -> list[RawResult]:
        """One document package (by position) on one document, to find which one crashed."""
        engine = self.engine_for(environment)
        pkg = self.document_packages[index]
        engine.set_input_json(json.dumps(doc.obj, default=str))
        value = json.loads(engine.eval_rule_as_json(f"data.{COLLECTOR_PACKAGE}.p{index}"))
        return self._to_results({pkg.name: value}, [pkg], lambda _item: doc)

    def _evaluate_document(self, engine: Any, doc: Document) -> list[RawResult]:
        try:
            engine.set_input_json(json.dumps(doc.obj, default=str))
            collected = json.loads(engine.eval_rule_as_json(f"data.{COLLECTOR_PACKAGE}.results"))
        except BaseException as exc:  # pyo3's PanicException is a BaseException
            reraise_interrupts(exc)
            # one package failed: find which, keep the others
            return self._evaluate_packages_one_by_one(engine, doc)
        return self._to_results(collected, self.document_packages, lambda _item: doc)

    def _evaluate_packages_one_by_one(self, engine: Any, doc: Document) -> list[RawResult]:
        results: list[RawResult] = []
        try:
            engine.set_input_json(json.dumps(doc.obj, default=str))
        except BaseException as exc:
            reraise_interrupts(exc)
            return [self._error(pkg, exc, doc) for pkg in self.document_packages]
        for i, pkg in enumerate(self.document_packages):
            try:
                value = json.loads(engine.eval_rule_as_json(f"data.{COLLECTOR_PACKAGE}.p{i}"))
            except BaseException as exc:
                reraise_interrupts(exc)
                results.append(self._error(pkg, exc, doc))
                continue
            results.extend(self._to_results({pkg.name: value}, [pkg], lambda _item: doc))
        return results

    def _evaluate_repo(self, engine: Any, docs: Sequence[Document]) -> list[RawResult]:
        """Repo-mode packages see `{"documents": [...]}`; conftest `--combine` ones `[{"path", "contents"}]`."""
        payloads = {
            False: {"documents": [{"index": i, "path": d.path, "contents": d.obj} for i, d in enumerate(docs)]},
            True: [{"path": d.path, "contents": d.obj} for d in docs],
        }

        def locate(item: Any) -> Document | None:
            index = item.get("document") if isinstance(item, dict) else None
            if isinstance(index, int) and 0 <= index < len(docs):
                return docs[index]
            return None

        results: list[RawResult] = []
        for combine, payload in payloads.items():
            selected = [(i, pkg) for i, pkg in enumerate(self.repo_packages) if pkg.combine is combine]
            if not selected:
                continue
            try:
                engine.set_input_json(json.dumps(payload, default=str))
            except BaseException as exc:
                reraise_interrupts(exc)
                results.extend(self._error(pkg, exc, None) for _, pkg in selected)
                continue
            for i, pkg in selected:
                try:
                    value = json.loads(engine.eval_rule_as_json(f"data.{COLLECTOR_PACKAGE}_repo.p{i}"))
                except BaseException as exc:
                    reraise_interrupts(exc)
                    results.append(self._error(pkg, exc, None))
                    continue
                results.extend(self._to_results({pkg.name: value}, [pkg], locate))
        return results

    def _to_results(
        self, value: Any, packages: Sequence[RegoPackage], locate: Callable[[Any], Document | None]
    ) -> list[RawResult]:
        results: list[RawResult] = []
        if not isinstance(value, dict):
            return results
        for pkg in packages:
            sets = value.get(pkg.name) or {}
            excepted = set(map(str, sets.get(EXCEPTION_RULE) or []))
            for rule in pkg.rules:
                for item in sets.get(rule) or []:
                    result = self._result(pkg, rule, item, locate(item))
                    if exception_name(rule) in excepted:
                        result = _excepted(result, rule)
                    results.append(result)
        return results

    def _result(self, pkg: RegoPackage, rule: str, item: Any, doc: Document | None) -> RawResult:
        return result_from_item(pkg, rule, item, doc)

    def _error(self, pkg: RegoPackage, exc: BaseException, doc: Document | None) -> RawResult:
        report = parse_regorus_error(exc)
        where = f"{report.path}:{report.line}" if report.path and report.line else pkg.path
        target = f" on {doc.path}:{doc.start_line}" if doc else ""
        return RawResult(
            ENGINE,
            pkg.name,
            f"Rego evaluation failed in {pkg.name} ({where}){target}: {report.message}",
            Level.ERROR,
            document=doc,
            policy_path=report.path or pkg.path,
            policy_line=report.line,
        )


def result_from_item(pkg: RegoPackage, rule: str, item: Any, doc: Document | None) -> RawResult:
    """One entry of a deny/violation/warn set as a RawResult (shared with the remote OPA engine)."""
    level = Level.WARN if is_warning(rule) else Level.DENY
    if not isinstance(item, dict):
        return RawResult(ENGINE, pkg.name, str(item), level, document=doc, policy_path=pkg.path)
    message = item.get("msg") or item.get("message") or json.dumps(item, sort_keys=True)
    path = item.get("path")
    json_path = None
    if isinstance(path, (list, str)) and path:
        from scanner.inputs.document import format_json_path, parse_json_path

        json_path = format_json_path(parse_json_path(path))
    rule_id = item.get("rule_id") or item.get("id")
    return RawResult(
        ENGINE,
        pkg.name,
        str(message),
        level,
        rule_id=str(rule_id) if rule_id else None,
        document=doc,
        json_path=json_path,
        severity=item.get("severity"),
        title=item.get("title"),
        policy_path=pkg.path,
    )


PROGRESS_CHUNK = 50  # documents per progress step


def _build_engine(sources: dict[str, str], base_data: dict[str, Any], environment: str | None) -> Any:
    """A regorus engine with the checked sources and this environment's data fixed at build time."""
    data = deep_merge(base_data, {"cdgate_context": {"environment": environment}})
    return new_engine(sources, data)


def _portability_result(note: PortabilityNote) -> RawResult:
    """A team policy line regorus and real OPA decide differently, as a note at that line."""
    return RawResult(
        ENGINE,
        "portability",
        note.message,
        Level.WARN,
        rule_id=PORTABILITY_RULE,
        location=SourceLocation(path=note.path, start_line=note.line, end_line=note.line),
        properties={"reference": note.reference, "construct": note.construct},
    )


def _excepted(result: RawResult, rule: str) -> RawResult:
    """A result a conftest `exception` rule suppresses: kept visible as an info note, never a failure."""
    return replace(
        result,
        level=Level.WARN,
        severity="info",
        message=f"excepted by conftest exception {exception_name(rule)!r} ({result.policy}.{EXCEPTION_RULE}): {result.message}",
        properties={**result.properties, "conftest_exception": exception_name(rule), "rule": rule},
    )


def _require_rules(
    files_by_path: Mapping[str | Path, set[str]], collected: Sequence[PackageRules], namespaces: Sequence[str],
    root: Path | None,
) -> None:
    """Every configured policy path must contribute a result rule: a set that collects nothing checks nothing."""
    evaluated = [p for p in collected if p.rules and _namespace_selected(p.name, namespaces)]
    for path, files in files_by_path.items():
        if any(pkg.files & files for pkg in evaluated):
            continue
        shown = shown_path(Path(path), root)
        reason = (
            "it holds no .rego policy"
            if not files
            else "no deny/violation/warn rule (conftest naming: deny, deny_<name>, violation_<name>, "
            f"warn_<name>) in a package under {', '.join(namespaces)}"
        )
        raise PolicyError(
            f"no rule to evaluate in {shown}: {reason}",
            path=shown,
            hint="name result rules as conftest does, or add the package's namespace to rego.namespaces in gate.yaml",
        )


def compile_for_profile(profile: Profile, root: Path) -> RegoPolicySet | None:
    """The engine factory: bundled and team Rego from the profile, or None when there is none."""
    if profile.rego.engine != "regorus":
        return None  # an OPA server decides instead (scanner.engines.opa_server)
    paths: list[Path] = []
    if profile.rego.bundled:
        paths.append(BUNDLED_REGO_DIR)
    paths.extend(profile.rego.policies)
    if not paths:
        return None
    return RegoPolicySet.compile(
        paths,
        data_paths=profile.rego.data,
        namespaces=profile.rego.namespaces,
        params=profile.rego.params,
        environment=profile.environment,
        root=root,
        combine=profile.rego.policies if profile.rego.combine else (),
    )
