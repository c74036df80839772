"""Unwrap `kind: List` (and `*List`) documents into one document per item.

`kubectl apply` creates every item of a `v1/List` (`PodList`,
`DeploymentList`...), and flattens lists nested in lists, so a gate that
evaluated only the wrapper, or only its first level, would let a privileged
Pod through by nesting it. Each item becomes its own document in the same
file, with its own line range and a line map re-rooted at the item; lists
are unwrapped at any depth. The work is linear in the size of the line map:
each wrapper's map is split among its items in one pass.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scanner.inputs.document import Document, JsonPath


def is_list_wrapper(document: Document) -> bool:
    return _is_list_object(document.obj)


def _is_list_object(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("kind"), str)
        and obj["kind"].endswith("List")
        and isinstance(obj.get("apiVersion"), str)
        and isinstance(obj.get("items"), list)
    )


def expand_lists(documents: list[Document]) -> list[Document]:
    """Replace list wrappers (at any depth) by their items; other documents pass through.

    `index` is renumbered so it stays the position within the file.
    """
    if not any(is_list_wrapper(d) for d in documents):
        return documents
    expanded: list[Document] = []
    pending = list(reversed(documents))  # a stack, so items keep their file order
    while pending:
        document = pending.pop()
        if not is_list_wrapper(document):
            expanded.append(replace(document, index=len(expanded)))
            continue
        pending.extend(reversed(_items_of(document)))
    return expanded


def _items_of(document: Document) -> list[Document]:
    """One document per item of a list wrapper, each with its share of the line map."""
    items = document.obj["items"]
    maps: list[dict[JsonPath, int]] = [{} for _ in items]
    for path, line in document.line_map.items():
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int) and 0 <= path[1] < len(items):
            maps[path[1]][path[2:]] = line
    starts = [maps[i].get((), document.start_line) for i in range(len(items))]
    result = []
    for i, item in enumerate(items):
        end = starts[i + 1] - 1 if i + 1 < len(items) else document.end_line
        maps[i][()] = starts[i]
        result.append(replace(document, obj=item, start_line=starts[i], end_line=max(starts[i], end), line_map=maps[i]))
    return result
