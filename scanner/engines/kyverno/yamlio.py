"""YAML loading as Kubernetes sees it: timestamps and dates stay strings.

PyYAML would turn `2024-01-01` into a `date`, which Kubernetes (and Kyverno)
keep as a string; a loader without the timestamp resolver keeps them as
text. The C loader is used when available for speed.
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KubeLoader(_Base):  # type: ignore[misc,valid-type]
    """SafeLoader without the timestamp resolver."""


KubeLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> Iterator[Any]:
    """Every document in `text`, skipping empty ones."""
    for doc in yaml.load_all(text, Loader=KubeLoader):
        if doc is not None:
            yield doc


def load_one(text: str) -> Any:
    return yaml.load(text, Loader=KubeLoader)


def as_map(value: object) -> dict[str, Any]:
    """`value` when it is a map, else an empty one (malformed input never crashes)."""
    return value if isinstance(value, dict) else {}
