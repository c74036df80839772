"""Unwrap `kind: List` (and `*List`) documents into one document per item.

`kubectl apply` creates every item of a `v1/List` (`PodList`,
`DeploymentList`...), so a gate that evaluated only the wrapper would let a
privileged Pod through by nesting it in a list. Each item becomes its own
document in the same file, with its own line range and a line map re-rooted
at the item.
"""

from __future__ import annotations

from dataclasses import replace

from scanner.inputs.document import Document


def is_list_wrapper(document: Document) -> bool:
    obj = document.obj
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("kind"), str)
        and obj["kind"].endswith("List")
        and isinstance(obj.get("apiVersion"), str)
        and isinstance(obj.get("items"), list)
    )


def expand_lists(documents: list[Document]) -> list[Document]:
    """Replace list wrappers by their items; other documents pass through.

    `index` is renumbered so it stays the position within the file.
    """
    if not any(is_list_wrapper(d) for d in documents):
        return documents
    expanded: list[Document] = []
    for document in documents:
        if not is_list_wrapper(document):
            expanded.append(replace(document, index=len(expanded)))
            continue
        items = document.obj["items"]
        starts = [document.line_map.get(("items", i), document.start_line) for i in range(len(items))]
        for i, item in enumerate(items):
            prefix = ("items", i)
            line_map = {p[2:]: line for p, line in document.line_map.items() if p[:2] == prefix}
            start = starts[i]
            end = starts[i + 1] - 1 if i + 1 < len(items) else document.end_line
            line_map[()] = start
            expanded.append(
                replace(
                    document,
                    obj=item,
                    start_line=start,
                    end_line=max(start, end),
                    index=len(expanded),
                    line_map=line_map,
                )
            )
    return expanded
