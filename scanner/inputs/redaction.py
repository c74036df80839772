"""Keep generator secrets out of Kustomize's error messages.

`kubectl kustomize` quotes the offending literal when a `secretGenerator`
or `configMapGenerator` entry is malformed (`invalid literal source
s3cr3t, expected key=value`), and cdgate would copy that line into every
report. Before an error is shown, the phrases Kustomize uses to quote a
literal are masked, and so is every literal, and every line of every env
file, named by a generator in the kustomizations under the rendered tree.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import yaml

from scanner.inputs.kustomize import KUSTOMIZATION_FILES

MASK = "<redacted>"
_GENERATORS = ("secretGenerator", "configMapGenerator")
_QUOTING_PHRASES = (
    re.compile(r"(literal sources? )\[[^\]]*\]"),
    re.compile(r"(invalid literal source ).*?(?=, expected|$)"),
)
_MIN_SECRET_LENGTH = 3  # masking "a" everywhere would make messages unreadable
_MAX_KUSTOMIZATION_BYTES = 1024 * 1024


def redact_kustomize_message(message: str, directory: Path) -> str:
    """`message` with generator literals under `directory` (and the quoting phrases) masked."""
    for phrase in _QUOTING_PHRASES:
        message = phrase.sub(lambda m: m.group(1) + MASK, message)
    secrets = sorted(_generator_secrets(directory), key=len, reverse=True)
    for secret in secrets:
        message = message.replace(secret, MASK)
    return message


def _generator_secrets(directory: Path) -> Iterator[str]:
    for kustomization in _kustomizations(directory):
        try:
            if kustomization.stat().st_size > _MAX_KUSTOMIZATION_BYTES:
                continue
            document = yaml.safe_load(kustomization.read_text(encoding="utf-8", errors="replace"))
        except (OSError, yaml.YAMLError, RecursionError):
            continue
        for generator in _generator_entries(document):
            for literal in generator.get("literals") or []:
                yield from _pieces(str(literal))
            for env in generator.get("envs") or []:
                yield from _env_lines(kustomization.parent, str(env))


def _generator_entries(document: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(document, dict):
        return
    for key in _GENERATORS:
        entries = document.get(key)
        if isinstance(entries, list):
            yield from (e for e in entries if isinstance(e, dict))


def _pieces(literal: str) -> Iterator[str]:
    """The literal, and its value when it is `key=value`."""
    for piece in (literal, literal.partition("=")[2]):
        if len(piece.strip()) >= _MIN_SECRET_LENGTH:
            yield piece.strip()


def _env_lines(base: Path, name: str) -> Iterator[str]:
    path = base / name
    try:
        if not path.is_file() or path.stat().st_size > _MAX_KUSTOMIZATION_BYTES:
            return
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        yield from _pieces(line)


def _kustomizations(directory: Path) -> Iterator[Path]:
    """Kustomization files of the app `directory` belongs to (its overlays and base), no symlinked folders."""
    app = directory.parent.parent if directory.parent.name == "overlays" else directory
    for folder, subdirs, files in os.walk(app, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d != "node_modules")
        for name in files:
            if name in KUSTOMIZATION_FILES:
                yield Path(folder) / name
