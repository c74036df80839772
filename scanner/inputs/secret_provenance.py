"""Which Secret values a chart generates at render time instead of carrying them in Git.

CDG-K8S-070 is about credentials committed to the repository. A chart that
makes its own TLS certificate (`genCA`, `genSignedCert`) or password
(`randAlphaNum`) renders a Secret whose values exist nowhere in the
repository: nothing is committed. A rendered value is *committed* when it,
or its base64 form, occurs in the chart's files or in the values given to it
(values files and `--set`); otherwise it was generated while rendering. A
value assembled from several values (`printf "%s:%s"`) is not found and
counts as generated. When the repository text is too large to search, every
value counts as committed, so the rule still fires.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any, Iterable

from scanner.inputs.document import Document, JsonPath

SECRET_FIELDS = ("data", "stringData")
MAX_CORPUS_BYTES = 32 * 1024 * 1024
MIN_SEARCHED_LENGTH = 4  # shorter values ("1", "no") occur everywhere: counted as committed


def chart_text(chart_dir: Path, extra: Iterable[str] = ()) -> str | None:
    """Every text file under the chart, plus `extra` (values), or None when over the bound."""
    parts = list(extra)
    total = sum(len(p) for p in parts)
    for folder, subdirs, files in os.walk(chart_dir):
        subdirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            try:
                size = path.stat().st_size
                if total + size > MAX_CORPUS_BYTES:
                    return None
                parts.append(path.read_bytes().decode("utf-8", errors="ignore"))
            except OSError:
                continue
            total += size
    return "\n".join(parts)


def mark_generated_secret_values(documents: Iterable[Document], corpus: str | None) -> None:
    """Set `generated_values` on rendered Secrets: the value paths not found in `corpus`."""
    if corpus is None:
        return
    for document in documents:
        if document.kind != "Secret" or not isinstance(document.obj, dict):
            continue
        generated: set[JsonPath] = set()
        for field in SECRET_FIELDS:
            entries = document.obj.get(field)
            if not isinstance(entries, dict):
                continue
            for key, value in entries.items():
                if not _committed(field, value, corpus):
                    generated.add((field, key))
        document.generated_values = frozenset(generated)


def _committed(field: str, value: Any, corpus: str) -> bool:
    if not isinstance(value, str) or not value:
        return True
    candidates = {value}
    if field == "data":
        try:
            candidates.add(base64.b64decode(value, validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            pass
    searched = [c for c in candidates if len(c.strip()) >= MIN_SEARCHED_LENGTH]
    if len(searched) < len(candidates):
        return True
    return any(c in corpus or c.strip() in corpus for c in searched)
