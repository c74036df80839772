"""A content-keyed cache of evaluated units, kept across merge-gate runs.

An entry holds the findings the cacheable gates produced for one unit (a
service rendered for one environment). Its key is a sha256 over the rendered
documents (objects, files, line maps), the policy bundle digest, the profile
digest, the environment, cdgate's version and the rule catalogue, so any
change to what was evaluated, or how, is a miss. Entries are checked when
read: an entry that does not parse, was written by another format, names
another key or whose content digest does not match is ignored (and
overwritten), never trusted. Results with errors are never stored, so a
failure is evaluated again next time. Writes are atomic; reads are bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from scanner.findings import AppliedWaiver, Finding, Location, Outcome, Severity
from scanner.inputs.document import Document

CACHE_FORMAT = "cdgate-merge-cache/1"
MAX_ENTRY_BYTES = 32 * 1024 * 1024


def unit_key(documents: Sequence[Document], context: dict[str, str | None]) -> str:
    """The content key of one unit: its rendered documents under one policy bundle and profile."""
    digest = hashlib.sha256(CACHE_FORMAT.encode() + b"\n")
    digest.update(_canonical(context))
    for doc in documents:
        digest.update(
            _canonical(
                {
                    "obj": doc.obj,
                    "path": doc.path,
                    "lines": [doc.start_line, doc.end_line, doc.index],
                    "origin": doc.origin,
                    "rendered_from": doc.rendered_from,
                    "scope": doc.scope,
                    "line_map": sorted([list(map(str, k)), v] for k, v in doc.line_map.items()),
                }
            )
        )
    return digest.hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr).encode() + b"\n"


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    data = asdict(finding)
    data["severity"] = finding.severity.value
    data["outcome"] = finding.outcome.value
    data["tags"] = list(finding.tags)
    return data


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """Rebuild a finding; raises (KeyError, TypeError, ValueError) on anything malformed."""
    waiver = data.get("waiver")
    return Finding(
        rule_id=str(data["rule_id"]),
        severity=Severity(data["severity"]),
        message=str(data["message"]),
        location=Location(**data["location"]),
        engine=str(data["engine"]),
        gate=str(data["gate"]),
        outcome=Outcome(data["outcome"]),
        title=data.get("title"),
        help_uri=data.get("help_uri"),
        remediation=data.get("remediation"),
        tags=tuple(data.get("tags") or ()),
        scope=data.get("scope"),
        waiver=AppliedWaiver(**waiver) if waiver else None,
        properties=dict(data.get("properties") or {}),
    )


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    ignored: list[str] = field(default_factory=list)  # entries refused, and why


class ResultCache:
    """Findings per unit key in a directory (`--cache-dir`); see the module docstring."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.stats = CacheStats()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Finding] | None:
        path = self._path(key)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            self.stats.misses += 1
            return None
        findings = self._parse(raw, key)
        if findings is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return findings

    def _parse(self, raw: bytes, key: str) -> list[Finding] | None:
        def refuse(why: str) -> None:
            self.stats.ignored.append(f"{key[:12]}: {why}")

        if len(raw) > MAX_ENTRY_BYTES:
            refuse("entry too large")
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            refuse("not JSON")
            return None
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            refuse("foreign format")
            return None
        if entry.get("key") != key:
            refuse("written for another key")
            return None
        items = entry.get("findings")
        if not isinstance(items, list) or entry.get("digest") != _content_digest(items):
            refuse("content digest does not match")
            return None
        try:
            return [finding_from_dict(item) for item in items]
        except (KeyError, TypeError, ValueError, AttributeError):
            refuse("malformed finding")
            return None

    def put(self, key: str, findings: Sequence[Finding]) -> bool:
        """Store findings for a key; False (nothing written) when they hold errors or cannot be stored."""
        if any(f.outcome is Outcome.ERROR for f in findings):
            return False
        items = [finding_to_dict(f) for f in findings]
        try:
            body = json.dumps(
                {"format": CACHE_FORMAT, "key": key, "digest": _content_digest(items), "findings": items},
                sort_keys=True,
            ).encode()
        except (TypeError, ValueError):
            return False
        if len(body) > MAX_ENTRY_BYTES:  # `get` would refuse it on every later run
            return False
        path = self._path(key)
        temp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(temp, path)
        except OSError:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            return False
        self.stats.stored += 1
        return True


def _content_digest(items: list[Any]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
