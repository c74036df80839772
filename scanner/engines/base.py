"""The engine seam: what every policy engine takes and returns.

Engines know what a policy said about a document; they do not know severities
from the profile, waivers, or exit codes. A `PolicyEngine` is compiled once
(from the profile, by a factory registered in `scanner.engines.registry`) and
then evaluated many times, from any thread: the merge gate evaluates base and
head side by side and the webhook evaluates from its worker threads. Every
evaluation returns `RawResult`s; gates turn them into `Finding`s through
`scanner.gates.results.finding_from_raw`, the one finding factory.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

from scanner.inputs.document import Document


class Level(str, enum.Enum):
    DENY = "deny"  # a violation
    WARN = "warn"  # advisory
    ERROR = "error"  # the engine could not evaluate this policy/document


@dataclass(frozen=True)
class SourceLocation:
    """A place in a file that is not a rendered document's field.

    Scanners (Trivy, Checkov) report a file and line of their own, a policy
    error points into the policy file, a waiver notice into gate.yaml. The
    resource identity is optional: it feeds the fingerprint when known.
    """

    path: str  # repo-relative, forward slashes
    start_line: int | None = None
    end_line: int | None = None
    column: int | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None


@dataclass
class RawResult:
    """One message from one policy (or scanner) about one document or place.

    `rule_id` is the catalogue id when the policy names one (Rego objects with
    `rule_id`, Kyverno `kyverno:<policy>/<rule>`), else None and the finding
    factory derives one from `engine` and `policy`. A result points either at
    a `document` (and `json_path`, the offending field) or at a `location` of
    its own; when both are given, `location` wins for the file and lines and
    the document still supplies the resource identity. `severity` is only set
    by engines whose policies carry their own (Kyverno annotations, CVSS).
    """

    engine: str
    policy: str  # file path, Rego package, or Kyverno policy name
    message: str
    level: Level = Level.DENY
    rule_id: str | None = None
    document: Document | None = None
    json_path: str | None = None
    location: SourceLocation | None = None
    severity: str | None = None
    title: str | None = None
    scope: str | None = None  # environment the result is about, when no document says
    policy_path: str | None = None  # file of the policy, for errors
    policy_line: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdmissionRequest:
    """What the API server says about a request, beyond the object itself.

    CI runs leave it unset: the document is what the pull request would apply
    (a CREATE). The webhook fills it from the AdmissionReview so policies can
    read the operation, the old object on UPDATE, the user and the namespace's
    labels.
    """

    operation: str = "CREATE"  # CREATE, UPDATE, DELETE or CONNECT
    old_object: Mapping[str, Any] | None = None
    user_info: Mapping[str, Any] = field(default_factory=dict)
    namespace: str | None = None
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    uid: str | None = None


ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class EvaluationRequest:
    """One evaluation: the documents, and everything that varies per call.

    The environment and the admission request are passed here rather than
    stored in the engine, so one compiled engine serves every environment and
    every thread without mutating shared state.
    """

    documents: Sequence[Document]
    environment: str | None = None
    admission: AdmissionRequest | None = None
    on_progress: ProgressCallback | None = None

    def advance(self, count: int) -> None:
        if self.on_progress is not None:
            self.on_progress(count)


class PolicyEngine(Protocol):
    """A compiled policy set of one language, safe to evaluate from any thread.

    `evaluate` never raises for a policy or document problem: an engine
    failure becomes a `Level.ERROR` result naming the policy and the document,
    so the run exits 2 instead of passing. `policy_count` says how many rules
    were collected, so a policy set that yields nothing to check is caught.
    """

    @property
    def name(self) -> str: ...

    @property
    def policy_count(self) -> int: ...

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]: ...
