"""New, unchanged or absent: each head finding against the findings at base.

Findings are matched by fingerprint (resource identity, rule, JSON path,
environment; never lines, so a finding whose line moved is unchanged). The
signature gate runs at head only: its findings are matched by the image
reference at that place instead, so a finding about an image the change did
not introduce is unchanged, and one about a new image is new.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

from scanner.findings import Finding, Outcome
from scanner.inputs.document import Document

BASELINE_PROPERTY = "cdgate/baselineState"
NEW, UNCHANGED, ABSENT = "new", "unchanged", "absent"
#: Gates evaluated at head only, whose findings are about an image at a place.
IMAGE_GATES = ("signature",)

Identity = tuple[str | None, ...]


def identity(finding: Finding) -> Identity:
    if finding.gate in IMAGE_GATES:
        loc = finding.location
        image = finding.properties.get("image")
        return ("image", loc.kind, loc.namespace, loc.name, loc.json_path, finding.scope, str(image))
    return ("finding", finding.fingerprint)


def image_use_identities(documents: Iterable[Document]) -> set[Identity]:
    """Identities of every image use, as the signature gate's findings at that place would have."""
    from scanner.supplychain.workload_images import image_uses

    found: set[Identity] = set()
    for document in documents:
        for use in image_uses(document):
            found.add(("image", document.kind, document.namespace, document.name, use.json_path, document.scope, use.image))
    return found


def baseline_state(finding: Finding) -> str | None:
    state = finding.properties.get(BASELINE_PROPERTY)
    return state if isinstance(state, str) else None


def classify(head: Sequence[Finding], base: Sequence[Finding], base_images: set[Identity]) -> list[Finding]:
    """Mark every head finding new or unchanged (in place); return base findings now absent, marked so."""
    base_ids = {identity(f) for f in base} | base_images
    head_ids = set()
    for finding in head:
        key = identity(finding)
        head_ids.add(key)
        finding.properties[BASELINE_PROPERTY] = UNCHANGED if key in base_ids else NEW
    absent = []
    for finding in base:
        if finding.outcome is Outcome.ERROR or identity(finding) in head_ids:
            continue
        gone = replace(finding, properties={**finding.properties, BASELINE_PROPERTY: ABSENT})
        absent.append(gone)
    return absent


