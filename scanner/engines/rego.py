"""Rego policies evaluated in process with regorus, conftest-style.

A `RegoPolicySet` is compiled once per run: every policy file is parsed into
one regorus engine and a generated collector package gathers the `deny`,
`violation` and `warn` sets of every selected package in a single query, so a
document costs one evaluation however many packages there are. Packages that
set `input_mode := "repo"` are evaluated once over all documents (per scope),
for cross-resource rules. Any regorus exception becomes an ERROR result: an
engine failure is never a pass.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from scanner.engines.base import EvaluationRequest, Level, RawResult
from scanner.engines.per_thread import PerThread, reraise_interrupts
from scanner.engines.rego_errors import parse_regorus_error
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

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_RULE_HEAD = re.compile(r"^(deny|violation|warn)\b(?=\s*(?:contains|if|\[|:=|=|\{|$))", re.MULTILINE)
_INPUT_MODE = re.compile(r"^input_mode\s*:?=\s*\"repo\"", re.MULTILINE)


@dataclass(frozen=True)
class RegoPackage:
    """One selected policy package and the result rules it defines."""

    name: str
    path: str  # file that declares it (first one, for messages)
    rules: tuple[str, ...]
    repo_mode: bool = False


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def load_sources(
    paths: Sequence[str | Path], data_paths: Sequence[str | Path] = (), root: Path | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Policy texts (tests left out) by display path, and the merged data."""
    found = discover(paths)
    policies = {
        _display(path, root): read_policy(path)
        for path in found.policies
        if not path.name.endswith(TEST_FILE_SUFFIX)
    }
    return policies, load_data_files([*found.data, *map(Path, data_paths)])


def new_engine(policies: dict[str, str], data: dict[str, Any]):
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


def _find_packages(policies: dict[str, str], namespaces: Sequence[str]) -> list[RegoPackage]:
    by_name: dict[str, tuple[str, set[str], bool]] = {}
    for path, text in policies.items():
        match = _PACKAGE.search(text)
        if not match or not _namespace_selected(match.group(1), namespaces):
            continue
        name = match.group(1)
        first_path, rules, repo_mode = by_name.get(name, (path, set(), False))
        rules |= set(_RULE_HEAD.findall(text))
        by_name[name] = (first_path, rules, repo_mode or bool(_INPUT_MODE.search(text)))
    return [
        RegoPackage(name, path, tuple(r for r in RESULT_RULES if r in rules), repo_mode)
        for name, (path, rules, repo_mode) in sorted(by_name.items())
        if rules
    ]


def _collector_source(packages: Sequence[RegoPackage]) -> str:
    """Generated Rego that gathers every package's result sets in one value."""
    lines = [f"package {COLLECTOR_PACKAGE}", "import rego.v1", ""]
    entries = []
    for i, pkg in enumerate(packages):
        fields = ", ".join(f'"{rule}": [x | some x in data.{pkg.name}.{rule}]' for rule in pkg.rules)
        lines.append(f"p{i} := {{{fields}}}")
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
        self._engines: PerThread[str | None, Any] = PerThread(self._build_engine)

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
    ) -> RegoPolicySet:
        """Parse every policy once (a syntax error is a PolicyError naming file and line)."""
        policies, data = load_sources(paths, data_paths, root)
        if params:
            data = deep_merge(data, {"cdgate_params": params})
        packages = _find_packages(policies, namespaces)
        doc_pkgs = [p for p in packages if not p.repo_mode]
        repo_pkgs = [p for p in packages if p.repo_mode]
        policies["<cdgate collector: documents>"] = _collector_source(doc_pkgs)
        repo_collector = _collector_source(repo_pkgs).replace(
            f"package {COLLECTOR_PACKAGE}", f"package {COLLECTOR_PACKAGE}_repo"
        )
        policies["<cdgate collector: repo>"] = repo_collector
        policy_set = cls(policies, doc_pkgs, repo_pkgs, data, environment)
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

    def _build_engine(self, environment: str | None) -> Any:
        data = deep_merge(self.base_data, {"cdgate_context": {"environment": environment}})
        return new_engine(self.sources, data)

    # -- evaluation -------------------------------------------------------

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        """Evaluate every resource document; results in document order.

        Safe from any thread. `request.on_progress(n)` is told as documents
        finish, for a progress bar.
        """
        from scanner.engines.rego_isolation import can_isolate

        if can_isolate():
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
    ) -> None:
        """Evaluate, announcing each step (`("doc", document)` or `("repo", scope)`) before it runs."""
        resources = [d for d in request.documents if d.is_resource]
        by_scope: dict[str | None, list[Document]] = defaultdict(list)
        for doc in resources:
            by_scope[doc.scope].append(doc)
        for scope, docs in by_scope.items():
            engine = self.engine_for(request.environment or self.environment or scope)
            if self.document_packages:
                for start in range(0, len(docs), PROGRESS_CHUNK):
                    for doc in docs[start : start + PROGRESS_CHUNK]:
                        starting(("doc", doc))
                        emit(("doc", doc), self._evaluate_document(engine, doc))
                    request.advance(len(docs[start : start + PROGRESS_CHUNK]))
            else:
                request.advance(len(docs))
            if self.repo_packages:
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
        payload = {
            "documents": [
                {"index": i, "path": d.path, "contents": d.obj} for i, d in enumerate(docs)
            ]
        }

        def locate(item: Any) -> Document | None:
            index = item.get("document") if isinstance(item, dict) else None
            if isinstance(index, int) and 0 <= index < len(docs):
                return docs[index]
            return None

        results: list[RawResult] = []
        try:
            engine.set_input_json(json.dumps(payload, default=str))
        except BaseException as exc:
            reraise_interrupts(exc)
            return [self._error(pkg, exc, None) for pkg in self.repo_packages]
        for i, pkg in enumerate(self.repo_packages):
            try:
                value = json.loads(engine.eval_rule_as_json(f"data.{COLLECTOR_PACKAGE}_repo.p{i}"))
            except BaseException as exc:
                reraise_interrupts(exc)
                results.append(self._error(pkg, exc, None))
                continue
            results.extend(self._to_results({pkg.name: value}, [pkg], locate))
        return results

    def _to_results(self, value: Any, packages: Sequence[RegoPackage], locate) -> list[RawResult]:
        results: list[RawResult] = []
        if not isinstance(value, dict):
            return results
        for pkg in packages:
            sets = value.get(pkg.name) or {}
            for rule in pkg.rules:
                for item in sets.get(rule) or []:
                    results.append(self._result(pkg, rule, item, locate(item)))
        return results

    def _result(self, pkg: RegoPackage, rule: str, item: Any, doc: Document | None) -> RawResult:
        level = Level.WARN if rule == "warn" else Level.DENY
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


PROGRESS_CHUNK = 50  # documents per progress step


def compile_for_profile(profile: Profile, root: Path) -> RegoPolicySet | None:
    """The engine factory: bundled and team Rego from the profile, or None when there is none."""
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
    )
