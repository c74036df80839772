"""A stable identity for rendered resources, and the Helm resources Argo CD never deploys.

Charts name some resources with `randAlphaNum`, `uuidv4` or `now` (podinfo's
test Pods, job names with a suffix), so each render gives them a new name,
and a fingerprint made from the name would open a new code-scanning alert on
every run. The chart is rendered twice: where the two renders name the same
document differently, the part that changed is replaced by `*`
(`podinfo-grpc-test-*`) in the identity findings use (`Document.identity_name`),
cut back to a `-`/`.` boundary so a shared first random letter cannot leak
into it. Two renders in the same second agree on the clock, so a name whose
template line reads it (`now`, `date`, `unixEpoch`) has its digits masked.
Everything else about the document is the first render's.

Helm test hooks (`helm.sh/hook: test`) run only on `helm test`; Argo CD does
not apply them, so they are not evaluated unless the profile asks
(`inputs.include_test_hooks`).
"""

from __future__ import annotations

import re
from typing import Any

from scanner.inputs.document import Document

HOOK_ANNOTATION = "helm.sh/hook"
TEST_HOOKS = {"test", "test-success", "test-failure"}
_BOUNDARY = re.compile(r"[-._]")
_CLOCK = re.compile(r"\{\{[^}]*\b(now|date|dateInZone|unixEpoch|date_in_zone|htmlDate)\b[^}]*\}\}")
_DIGITS = re.compile(r"[0-9]+")


def mask_varying_names(first: list[Document], second: list[Document]) -> None:
    """Give documents of `first` whose name differs in `second` a masked `identity_name`."""
    if len(first) != len(second):
        return
    for one, other in zip(first, second):
        if one.kind != other.kind or one.name is None or other.name is None or one.name == other.name:
            continue
        one.identity_name = masked_name(one.name, other.name)


def mask_clock_names(documents: list[Document], template_lines: list[str]) -> None:
    """Mask the digits of names whose template line reads the clock.

    Two renders in the same second agree on `now | date ...`, so the
    two-render comparison cannot see it; the template line can.
    """
    for document in documents:
        line = document.line_map.get(("metadata", "name"))
        if document.name is None or line is None or not 0 < line <= len(template_lines):
            continue
        if _CLOCK.search(template_lines[line - 1]):
            document.identity_name = _DIGITS.sub("*", document.identity_name or document.name)


def masked_name(one: str, other: str) -> str:
    """`web-test-ab12c` / `web-test-x9y8z` -> `web-test-*` (prefix and suffix cut at a boundary)."""
    prefix = _common_prefix(one, other)
    suffix = _common_prefix(one[len(prefix):][::-1], other[len(prefix):][::-1])[::-1]
    prefix = _cut_after_last_boundary(prefix)
    suffix = _cut_before_first_boundary(suffix)
    return f"{prefix}*{suffix}"


def is_test_hook(document: Document) -> bool:
    """True for a resource annotated `helm.sh/hook: test` (or test-success / test-failure)."""
    annotations: Any = document.metadata.get("annotations")
    if not isinstance(annotations, dict):
        return False
    hooks = str(annotations.get(HOOK_ANNOTATION) or "")
    return any(hook.strip() in TEST_HOOKS for hook in hooks.split(","))


def _common_prefix(one: str, other: str) -> str:
    length = 0
    for a, b in zip(one, other):
        if a != b:
            break
        length += 1
    return one[:length]


def _cut_after_last_boundary(prefix: str) -> str:
    matches = list(_BOUNDARY.finditer(prefix))
    return prefix[: matches[-1].end()] if matches else ""


def _cut_before_first_boundary(suffix: str) -> str:
    match = _BOUNDARY.search(suffix)
    return suffix[match.start():] if match else ""
