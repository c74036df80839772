"""Turn YAML text into `Document`s with line maps, for gate tests.

A small stand-in for the project's YAML input reader (built elsewhere),
using ruamel's positions so findings can be checked against real lines.
"""

from __future__ import annotations

from typing import Any

from scanner.inputs.document import Document


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _walk(node: Any, path: tuple, out: dict) -> None:
    if isinstance(node, dict):
        for key in node:
            line = node.lc.key(key)[0] + 1
            out[(*path, str(key))] = line
            _walk(node[key], (*path, str(key)), out)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            out[(*path, index)] = node.lc.item(index)[0] + 1
            _walk(item, (*path, index), out)


def load_documents(text: str, path: str = "manifests/app.yaml") -> list[Document]:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    documents = []
    for index, node in enumerate(yaml.load_all(text)):
        if node is None:
            continue
        line_map: dict = {}
        _walk(node, (), line_map)
        start = min(line_map.values()) if line_map else 1
        documents.append(Document(obj=_plain(node), path=path, start_line=start, end_line=max(line_map.values(), default=start), index=index, line_map=line_map))
    return documents
