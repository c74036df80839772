"""One admission decision through the same gates, waivers and rule ids as CI.

`Admitter` is made once per process: it makes the profile's gates with
`scanner.gates.registry.create_gates` (which compiles every policy engine and
loads the signature settings) and keeps them for its lifetime. `decide` turns
one `Review` into a `GateContext` with one `Document`, runs
`scanner.gates.pipeline.run_gates` and `fold_verdict` exactly as `cdgate
check` does, and only then applies what is the webhook's own: the operations
it evaluates, excluded namespaces and labels, enforce or audit mode per rule,
and the failure mode for findings cdgate could not evaluate.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from scanner.catalog import Catalog, load_catalog
from scanner.engines.base import AdmissionRequest
from scanner.findings import Finding, Outcome, Verdict, fails_gate
from scanner.gates.base import Gate, GateContext
from scanner.gates.pipeline import fold_verdict, run_gates
from scanner.gates.waivers import WAIVER_GATE
from scanner.inputs.document import Document
from scanner.profile import Profile
from scanner.webhook.review import Review
from scanner.webhook.settings import AUDIT, FAIL_ALLOW, WebhookSettings

#: The `path` of a document built from an admission request (no file to point at).
ADMISSION_PATH = "admission-request"
#: Denial messages list at most this many findings, then say how many more.
MAX_LISTED = 5

NamespaceLabels = Callable[[str], Mapping[str, str]]


def _no_labels(_namespace: str) -> Mapping[str, str]:
    return {}


@dataclass
class Decision:
    """The answer to one review and why."""

    allowed: bool
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    reason: str = "evaluated"  # evaluated | skipped | excluded | failure
    denied: list[Finding] = field(default_factory=list)  # enforce-mode failures
    audited: list[Finding] = field(default_factory=list)  # audit-mode failures (allowed, logged, counted)
    errors: list[Finding] = field(default_factory=list)  # what could not be evaluated
    findings: list[Finding] = field(default_factory=list)  # every finding about the object
    verdict: Verdict | None = None


def finding_line(finding: Finding, *, with_fix: bool = True) -> str:
    """One finding as a person reads it in a denial: rule, severity, field, message, and the fix and help link."""
    where = finding.location.json_path or finding.location.resource() or "(object)"
    text = f"[{finding.rule_id} {finding.severity.value}] {where}: {finding.message.rstrip('. ')}."
    if not with_fix:
        return text
    if finding.remediation:
        text += f" Fix: {finding.remediation.strip()}"
    if finding.help_uri:
        text += f" See {finding.help_uri}"
    return text


def summary(finding: Finding) -> dict[str, Any]:
    """A finding as a small mapping (audit annotations, logs, tests)."""
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "outcome": finding.outcome.value,
        "waived": finding.waived,
        "path": finding.location.json_path,
    }


class Admitter:
    """The gates of one profile and environment, compiled once, deciding reviews from any thread."""

    def __init__(
        self,
        profile: Profile,
        gates: Sequence[Gate],
        settings: WebhookSettings,
        *,
        catalog: Catalog | None = None,
        root: Path | None = None,
        namespace_labels: NamespaceLabels = _no_labels,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.profile = profile
        self.gates = list(gates)
        self.settings = settings
        self.catalog = catalog or load_catalog()
        self.root = root or profile.base_dir
        self.namespace_labels = namespace_labels
        self.today = today

    def warm_up(self) -> None:
        """Run the gates once on this thread over an object with no images, so its per-thread engines exist.

        Nothing reaches a registry (there is no image) and nothing is decided; the first real review on
        this thread then pays for no compilation.
        """
        warm = Document(obj={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cdgate-warm-up", "namespace": "cdgate-warm-up"},
                             "spec": {"containers": []}}, path=ADMISSION_PATH, origin="json")
        context = GateContext(documents=[warm], profile=self.profile, catalog=self.catalog, root=self.root, today=self.today(),
                              admission=AdmissionRequest(namespace="cdgate-warm-up"))
        run_gates(self.gates, context)

    def decide(self, review: Review) -> Decision:
        settings = self.settings
        if review.operation not in settings.operations:
            return Decision(True, reason="skipped", message=f"operation {review.operation} is not evaluated (webhook.operations)")
        subject = review.subject
        if subject is None:
            field_name = "oldObject" if review.operation == "DELETE" else "object"
            return Decision(False, reason="failure", message=f"cdgate cannot evaluate {review.resource or 'the request'}: request.{field_name} is missing")
        namespace = review.namespace or _metadata(subject).get("namespace")
        namespace_labels = dict(self.namespace_labels(namespace)) if namespace else {}
        object_labels = _metadata(subject).get("labels")
        labels = {**namespace_labels, **(object_labels if isinstance(object_labels, dict) else {})}
        excluded = settings.exclusion(namespace, labels)
        if excluded is not None:
            return Decision(True, reason="excluded", message=excluded)
        document = admission_document(subject, namespace, review.name)
        context = GateContext(
            documents=[document],
            profile=self.profile,
            catalog=self.catalog,
            root=self.root,
            today=self.today(),
            admission=AdmissionRequest(
                operation=review.operation,
                old_object=review.old_object,
                user_info=review.user_info,
                namespace=namespace,
                namespace_labels=namespace_labels,
                dry_run=review.dry_run,
                uid=review.uid,
            ),
        )
        verdict = fold_verdict(run_gates(self.gates, context), context, documents=1)
        return self._judge(verdict, review)

    def _judge(self, verdict: Verdict, review: Review) -> Decision:
        findings = [f for f in verdict.findings if f.gate != WAIVER_GATE]  # notices about gate.yaml itself
        decision = Decision(True, findings=findings, verdict=verdict)
        warnings: list[str] = []
        for finding in findings:
            if finding.outcome is Outcome.ERROR:
                decision.errors.append(finding)
            elif fails_gate(finding, verdict.fail_on):
                if self.settings.rule_mode(finding.rule_id) == AUDIT:
                    decision.audited.append(finding)
                    warnings.append(f"cdgate audit (not enforced): {finding_line(finding, with_fix=False)}")
                else:
                    decision.denied.append(finding)
            elif not finding.waived:
                warnings.append(f"cdgate: {finding_line(finding, with_fix=False)}")
        resource = review.resource or "the object"
        if decision.errors:
            decision.reason = "failure"
            decision.allowed = self.settings.failure_mode == FAIL_ALLOW
            head = f"cdgate could not evaluate {resource}"
            detail = "; ".join(f"[{f.rule_id}] {f.message}" for f in decision.errors[:MAX_LISTED])
            if decision.allowed:
                warnings.insert(0, f"{head}; allowed because webhook.failure_mode is allow: {detail}")
            else:
                decision.message = (
                    f"{head}, so it is denied (webhook.failure_mode: deny): {detail}. "
                    "Fix the cause or ask the cdgate owners; the request can be retried."
                )
        if decision.denied:
            decision.allowed = False
            denial = denial_message(resource, decision.denied, verdict)
            decision.message = f"{decision.message}\n{denial}" if decision.message else denial
        decision.warnings = warnings
        return decision


def denial_message(resource: str, denied: Sequence[Finding], verdict: Verdict) -> str:
    """What the person running kubectl reads: each rule, field and fix, and how to accept the risk instead."""
    env = f", environment {verdict.environment}" if verdict.environment else ""
    lines = [f"cdgate denied {resource} (profile {verdict.profile_name}{env}, fail_on {verdict.fail_on.value}): "
             f"{len(denied)} finding(s) fail the gate"]
    lines += [f"- {finding_line(f)}" for f in denied[:MAX_LISTED]]
    if len(denied) > MAX_LISTED:
        lines.append(f"- and {len(denied) - MAX_LISTED} more; run `cdgate check` on the manifest to see all")
    rules = ", ".join(sorted({f.rule_id for f in denied}))
    lines.append(f"Fix the fields above, or, to accept the risk, add a waiver for {rules} to gate.yaml (reason, owner, expires).")
    return "\n".join(lines)


def admission_document(obj: dict[str, Any], namespace: str | None, name: str | None) -> Document:
    """The object as a `Document`; metadata.namespace/name filled from the request when the object omits them."""
    meta = _metadata(obj)
    if (namespace and not meta.get("namespace")) or (name and not meta.get("name")):
        obj = copy.copy(obj)
        meta = dict(meta)
        if namespace and not meta.get("namespace"):
            meta["namespace"] = namespace
        if name and not meta.get("name"):
            meta["name"] = name
        obj["metadata"] = meta
    return Document(obj=obj, path=ADMISSION_PATH, origin="json")


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}
