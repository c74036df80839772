"""Rego decisions from a remote OPA server (`rego.engine: opa-server`), mapped as the local engine maps them.

The server holds the policies (and their data); cdgate sends each resource
document as `input` to the Data API under every selected namespace
(`rego.namespaces`, `main` and `cdgate` by default), finds the packages in
the answer that define `deny`, `violation` or `warn`, and turns their
entries into results with the same function as the regorus engine
(`scanner.engines.rego.result_from_item`). Packages that set
`input_mode := "repo"` get one query over all documents, as locally.

Any failure (down, slow, an HTTP error, a body that is not JSON, no package
to check) is an ERROR result: exit 2, never a pass. After the first transport
failure the remaining documents are not sent (each would wait for the same
deadline); one error says how many were left unchecked.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator, Sequence

from scanner.engines.base import EvaluationRequest, Level, RawResult
from scanner.engines.opa_client import OpaDataClient, OpaServerError, check_url
from scanner.engines.rego import ENGINE, RESULT_RULES, RegoPackage, result_from_item
from scanner.errors import ConfigError
from scanner.inputs.document import Document
from scanner.profile import Profile

REPO_MODE = "repo"


def _packages(value: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(package name, its document) for every object under `value` that holds a result set."""
    if not isinstance(value, dict):
        return
    if any(isinstance(value.get(rule), list) for rule in RESULT_RULES):
        yield prefix, value
    for key, child in value.items():
        if isinstance(child, dict):
            yield from _packages(child, f"{prefix}.{key}")


class OpaServerPolicySet:
    """The `rego` engine backed by an OPA server; safe from any thread."""

    name = ENGINE

    def __init__(self, client: OpaDataClient, namespaces: Sequence[str]) -> None:
        self.client = client
        self.namespaces = tuple(namespaces)

    @property
    def policy_count(self) -> int:
        return len(self.namespaces)  # the server's rules are known only when it answers

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        resources = [d for d in request.documents if d.is_resource]
        by_scope: dict[str | None, list[Document]] = defaultdict(list)
        for doc in resources:
            by_scope[doc.scope].append(doc)
        results: list[RawResult] = []
        checked_any_package = False
        repo_mode_seen = False
        sent = 0
        for docs in by_scope.values():
            for doc in docs:
                try:
                    found, repo = self._evaluate_document(doc)
                except OpaServerError as exc:
                    results.append(self._error(exc, doc, len(resources) - sent - 1))
                    request.advance(len(resources) - sent)
                    return results
                sent += 1
                checked_any_package = checked_any_package or found is not None or repo
                repo_mode_seen = repo_mode_seen or repo
                results.extend(found or [])
                request.advance(1)
            if repo_mode_seen:
                try:
                    results.extend(self._evaluate_repo(docs))
                except OpaServerError as exc:
                    results.append(self._error(exc, None, 0))
                    return results
        if resources and not checked_any_package:
            results.append(
                RawResult(
                    ENGINE,
                    self.client.url,
                    f"OPA server {self.client.url} has no package with deny, violation or warn under "
                    f"{', '.join('data.' + n for n in self.namespaces)}: nothing was checked",
                    Level.ERROR,
                    policy_path=self.client.url,
                )
            )
        return results

    def _evaluate_document(self, doc: Document) -> tuple[list[RawResult] | None, bool]:
        """This document's results (None when no package answered) and whether a repo-mode package exists."""
        results: list[RawResult] | None = None
        repo = False
        for namespace in self.namespaces:
            value = self.client.decision(namespace, doc.obj)
            for name, package in _packages(value, namespace):
                if package.get("input_mode") == REPO_MODE:
                    repo = True
                    continue
                results = results if results is not None else []
                pkg = RegoPackage(name, self.client.url, tuple(r for r in RESULT_RULES if r in package))
                for rule in pkg.rules:
                    results.extend(result_from_item(pkg, rule, item, doc) for item in package.get(rule) or [])
        return results, repo

    def _evaluate_repo(self, docs: Sequence[Document]) -> list[RawResult]:
        payload = {"documents": [{"index": i, "path": d.path, "contents": d.obj} for i, d in enumerate(docs)]}
        results: list[RawResult] = []
        for namespace in self.namespaces:
            value = self.client.decision(namespace, payload)
            for name, package in _packages(value, namespace):
                if package.get("input_mode") != REPO_MODE:
                    continue
                pkg = RegoPackage(name, self.client.url, tuple(r for r in RESULT_RULES if r in package), True)
                for rule in pkg.rules:
                    for item in package.get(rule) or []:
                        index = item.get("document") if isinstance(item, dict) else None
                        doc = docs[index] if isinstance(index, int) and 0 <= index < len(docs) else None
                        results.append(result_from_item(pkg, rule, item, doc))
        return results

    def _error(self, exc: OpaServerError, doc: Document | None, left: int) -> RawResult:
        where = f" on {doc.path}:{doc.start_line}" if doc is not None else ""
        unchecked = f"; {left} more document(s) were not sent" if left else ""
        return RawResult(
            ENGINE,
            self.client.url,
            f"{exc.message}{where}{unchecked} ({exc.hint})",
            Level.ERROR,
            document=doc,
            policy_path=self.client.url,
        )


def compile_for_profile(profile: Profile, root: Path) -> OpaServerPolicySet | None:
    """The engine factory for `rego.engine: opa-server`; ConfigError for a URL or token that cannot be used."""
    settings = profile.rego
    if settings.engine != "opa-server":
        return None
    where = str(profile.path) if profile.path else None
    ignored = [name for name, value in (("policies", settings.policies), ("data", settings.data), ("params", settings.params)) if value]
    if ignored:
        raise ConfigError(
            f"rego.{', rego.'.join(ignored)} cannot be used with rego.engine opa-server: the server evaluates its own policies and data",
            path=where,
            hint="load them into the OPA server, or remove them from gate.yaml (environments.*.rego.params too)",
        )
    if not settings.url:
        raise ConfigError("rego.engine is opa-server but rego.url is not set", path=where, hint="set rego.url to the OPA server")
    try:
        url = check_url(settings.url)
    except ValueError as exc:
        raise ConfigError(f"rego.url: {exc}", path=where) from None
    token = None
    if settings.token_env:
        token = os.environ.get(settings.token_env)
        if not token:
            raise ConfigError(
                f"rego.token_env names {settings.token_env}, which is not set",
                path=where,
                hint=f"export {settings.token_env} with the OPA server's bearer token",
            )
    if settings.ca_file is not None and not settings.ca_file.is_file():
        raise ConfigError(f"rego.ca_file {settings.ca_file} does not exist", path=where)
    client = OpaDataClient(url, token, settings.timeout_s, settings.retries, settings.ca_file)
    return OpaServerPolicySet(client, settings.namespaces)
