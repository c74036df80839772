"""The manifest gate's Gatekeeper engine: constraints over the scanned documents.

Each resource document is reviewed as the admission request that applying
it would make (CREATE, or what the webhook's request says). `data.inventory`
holds the scanned documents of the kinds the profile syncs
(`gatekeeper.sync`, as Gatekeeper's sync config), per environment.
Violations become findings with rule id `gatekeeper:<Kind>/<name>`;
`deny` fails, `warn` and `dryrun` warn (see `constraint.py`); a constraint
that cannot be evaluated is an error (exit 2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from scanner.engines.base import AdmissionRequest, EvaluationRequest, Level, RawResult
from scanner.engines.gatekeeper.client import GatekeeperPolicies, ReviewError, Violation, load_policies
from scanner.engines.gatekeeper.locate import locate
from scanner.engines.gatekeeper.review import Review, build_inventory, group_version_kind, object_review
from scanner.errors import PolicyError
from scanner.inputs.document import Document, format_json_path
from scanner.profile import Profile

ENGINE = "gatekeeper"
_LEVELS = {"deny": Level.DENY, "warn": Level.WARN, "dryrun": Level.WARN}


@dataclass(frozen=True)
class SyncedKind:
    """One kind Gatekeeper's sync would cache: group ("" for core), version ("" for any), kind."""

    group: str
    version: str
    kind: str

    def covers(self, obj: Mapping[str, Any]) -> bool:
        gvk = group_version_kind(obj)
        return (
            gvk["group"] == self.group
            and (not self.version or gvk["version"] == self.version)
            and (self.kind in ("*", gvk["kind"]))
        )


class GatekeeperEngine:
    """Compiled constraints evaluated over documents; safe from any thread."""

    name = ENGINE

    def __init__(self, policies: GatekeeperPolicies, sync: Sequence[SyncedKind] = ()) -> None:
        self.policies = policies
        self.sync = tuple(sync)

    @property
    def policy_count(self) -> int:
        return sum(1 for c in self.policies.constraints if c.action)

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        resources = [d for d in request.documents if d.is_resource]
        by_scope: dict[str | None, list[Document]] = defaultdict(list)
        for doc in resources:
            by_scope[doc.scope].append(doc)
        results: list[RawResult] = []
        for docs in by_scope.values():
            inventory = build_inventory(d.obj for d in docs if any(s.covers(d.obj) for s in self.sync))
            for doc in docs:
                results.extend(self._evaluate_document(doc, inventory, request.admission))
                request.advance(1)
        return results

    def _evaluate_document(
        self, doc: Document, inventory: Mapping[str, Any], admission: AdmissionRequest | None
    ) -> list[RawResult]:
        review = _review(doc, admission)
        labels = admission.namespace_labels if admission is not None and admission.namespace else None
        outcome = self.policies.review(review, inventory, labels)
        results = [self._violation(v, doc) for v in outcome.violations]
        results.extend(self._error(e, doc) for e in outcome.errors)
        return results

    def _violation(self, violation: Violation, doc: Document) -> RawResult:
        constraint = violation.constraint
        path = locate(doc.obj, violation.message, violation.details)
        return RawResult(
            engine=ENGINE,
            policy=f"{constraint.kind}/{constraint.name}",
            message=violation.message or f"{constraint.kind}/{constraint.name} reported a violation without a message",
            level=_LEVELS[constraint.action],
            rule_id=constraint.rule_id,
            document=doc,
            json_path=format_json_path(path) if path else None,
            title=violation.template.title,
            policy_path=constraint.path,
            policy_line=constraint.line,
            properties={"enforcementAction": constraint.action, "template": violation.template.name,
                        "templateEngine": violation.engine},
        )

    def _error(self, error: ReviewError, doc: Document) -> RawResult:
        hint = f" ({error.hint})" if error.hint else ""
        return RawResult(
            engine=ENGINE,
            policy=f"{error.constraint.kind}/{error.constraint.name}",
            message=f"{error.message} on {doc.path}:{doc.start_line}{hint}",
            level=Level.ERROR,
            document=doc,
            policy_path=error.constraint.path,
            policy_line=error.constraint.line,
        )


def _review(doc: Document, admission: AdmissionRequest | None) -> Review:
    if admission is None:
        return object_review(doc.obj, operation="CREATE")
    return object_review(
        doc.obj,
        operation=admission.operation,
        old_object=admission.old_object,
        user_info=admission.user_info,
        namespace=admission.namespace,
        dry_run=admission.dry_run,
        uid=admission.uid,
    )


def compile_for_profile(profile: Profile, root: Path) -> GatekeeperEngine | None:
    """The engine factory: the profile's templates and constraints, or None when it lists none."""
    settings = profile.gatekeeper
    if not settings.policies:
        return None
    policies = load_policies(list(settings.policies), root, settings.external_data, settings.k8s_native_validation)
    if not policies.constraints:
        raise PolicyError(
            "gatekeeper.policies holds no constraints: nothing would be checked",
            path=str(profile.path) if profile.path else None,
            hint="add Constraint files (kind: <the template's kind>) to gatekeeper.policies",
        )
    engine = GatekeeperEngine(policies, [SyncedKind(g, v, k) for g, v, k in settings.sync])
    if engine.policy_count == 0:
        raise PolicyError(
            "gatekeeper.policies has constraints, but none acts at admission (each is scoped to other "
            "enforcement points): nothing would be checked",
            path=str(profile.path) if profile.path else None,
            hint="give at least one constraint enforcementAction deny, warn or dryrun, or a scopedEnforcementActions "
            "entry for validation.gatekeeper.sh",
        )
    return engine
