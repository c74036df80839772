"""Promotion order: an image enters an environment only from the one before it.

With `promotion: [dev, staging, prod]` in gate.yaml, an image reference that a
change introduces into `prod` (one `prod` did not run at base) must already
be deployed in `staging` at base, and one entering `staging` must be in `dev`.
Images are compared by repository and digest (or tag, for unpinned ones:
the signature gate reports those separately). The first environment of the
order takes images from builds, so it is not checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from scanner.engines.base import Level, RawResult
from scanner.inputs.document import Document

RULE_NOT_PROMOTED = "CDG-PRM-001"
ENGINE = "promotion"
GATE = "promotion"


@dataclass(frozen=True)
class ImageIdentity:
    repository: str
    version: str  # sha256:... or the tag

    def __str__(self) -> str:
        separator = "@" if self.version.startswith("sha256:") else ":"
        return f"{self.repository}{separator}{self.version}"


def identity_of(image: str) -> ImageIdentity | None:
    """Repository and digest (else tag) of an image reference; None when it does not parse."""
    from scanner.supplychain.reference import parse_reference

    try:
        reference = parse_reference(image)
    except ValueError:
        return None
    return ImageIdentity(reference.repository_name, reference.digest or reference.tag or "latest")


def deployed_images(documents: Iterable[Document]) -> set[ImageIdentity]:
    from scanner.supplychain.workload_images import image_uses

    found = set()
    for document in documents:
        for use in image_uses(document):
            identity = identity_of(use.image)
            if identity is not None:
                found.add(identity)
    return found


def previous_environment(order: Sequence[str], environment: str | None) -> str | None:
    """The environment images must come from, or None when `environment` is first or not in the order."""
    if environment is None or environment not in order:
        return None
    index = order.index(environment)
    return order[index - 1] if index > 0 else None


def check_promotion(
    environment: str,
    previous: str,
    head_documents: Sequence[Document],
    base_documents: Sequence[Document],
    base_previous_documents: Sequence[Document],
    base_label: str,
) -> list[RawResult]:
    """One result per image use that enters `environment` without being deployed in `previous` at base."""
    from scanner.supplychain.workload_images import image_uses

    already_here = deployed_images(base_documents)
    upstream = deployed_images(base_previous_documents)
    results: list[RawResult] = []
    for document in head_documents:
        for use in image_uses(document):
            identity = identity_of(use.image)
            if identity is None or identity in already_here or identity in upstream:
                continue
            results.append(
                RawResult(
                    engine=ENGINE,
                    policy=GATE,
                    message=(
                        f"image {identity} enters {environment} but is not deployed in {previous} at {base_label}; "
                        f"promote it to {previous} first"
                    ),
                    level=Level.DENY,
                    rule_id=RULE_NOT_PROMOTED,
                    document=document,
                    json_path=use.json_path,
                    scope=environment,
                    properties={"image": use.image, "from": previous, "to": environment},
                )
            )
    return results
