"""Build a Trivy vulnerability database from an advisories file cdgate reads.

Trivy cannot download its database without the network. An air-gapped team
(and cdgate's own tests) writes the advisories it cares about in a small YAML
file and builds a database Trivy reads offline:

```yaml
vulnerabilities:
  CVE-2024-0001:
    title: heap overflow in musl
    severity: HIGH                    # CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN
    cvss: {nvd: {V3Score: 9.8, V3Vector: "CVSS:3.1/AV:N/..."}}
advisories:
  - {source: alpine 3.19, package: musl, id: CVE-2024-0001, fixed: 1.2.4-r5}
  - {source: debian 12, package: openssl, id: CVE-2024-0002}          # no fix yet
  - {source: pip, package: requests, id: CVE-2024-0003, fixed: 2.32.0, vulnerable: ["<2.32.0"]}
```

Layout written (Trivy DB schema 2): bucket `vulnerability` (id -> details),
one bucket per advisory source (`alpine 3.19`, `debian 12`,
`pip::cdgate advisories`...) holding a bucket per package holding id ->
advisory, a `data-source` bucket naming each source, and `metadata.json`
beside `trivy.db` in `<cache-dir>/db/`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError
from scanner.vulndb import bbolt

SCHEMA_VERSION = 2
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
#: Language ecosystems: Trivy looks their advisories up by the `<ecosystem>::` bucket prefix.
LANGUAGE_ECOSYSTEMS = ("pip", "npm", "go", "maven", "nuget", "composer", "rubygems", "cargo", "pub", "hex", "swift", "conan")
#: OS families: the bucket is `<family> <release>` (Alpine and Debian use major.minor / major).
OS_FAMILIES = ("alpine", "debian", "ubuntu", "wolfi", "chainguard", "amazon", "rocky", "alma", "redhat")
SOURCE_SUFFIX = "cdgate advisories"


@dataclass(frozen=True)
class Vulnerability:
    """What every advisory for one id shares: title, severity, CVSS."""

    id: str
    severity: str
    title: str = ""
    description: str = ""
    cvss: dict[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"Title": self.title or self.id, "Severity": self.severity}
        if self.description:
            record["Description"] = self.description
        if self.cvss:
            record["CVSS"] = self.cvss
        if self.references:
            record["References"] = list(self.references)
        return record


@dataclass(frozen=True)
class Advisory:
    """One package in one source is affected by one vulnerability."""

    source: str  # `alpine 3.19`, `debian 12` or a language ecosystem (`pip`)
    package: str
    id: str
    fixed: str | None = None
    vulnerable: tuple[str, ...] = ()

    @property
    def is_language(self) -> bool:
        return self.source in LANGUAGE_ECOSYSTEMS

    @property
    def bucket(self) -> str:
        return f"{self.source}::{SOURCE_SUFFIX}" if self.is_language else self.source

    def as_json(self) -> dict[str, Any]:
        if self.is_language:
            record: dict[str, Any] = {"PatchedVersions": [self.fixed] if self.fixed else []}
            record["VulnerableVersions"] = list(self.vulnerable) or ([f"<{self.fixed}"] if self.fixed else [">=0"])
            return record
        return {"FixedVersion": self.fixed} if self.fixed else {}


def _check_source(source: str, path: Path, line: int | None) -> None:
    if source in LANGUAGE_ECOSYSTEMS:
        return
    family, _, release = source.partition(" ")
    if family not in OS_FAMILIES or not release:
        raise ConfigError(
            f"unknown advisory source {source!r}",
            path=str(path),
            line=line,
            hint=f"use '<os> <release>' with os one of {', '.join(OS_FAMILIES)}, or one of {', '.join(LANGUAGE_ECOSYSTEMS)}",
        )


def load_advisories(path: Path) -> tuple[list[Vulnerability], list[Advisory]]:
    """Read and check an advisories file; ConfigError with file and line on a mistake."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from scanner.errors import yaml_error_details

    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read advisories file: {exc.strerror}", path=str(path)) from None
    except YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise ConfigError(f"advisories file is not valid YAML: {problem}", path=str(path), line=line, column=column) from None
    if not isinstance(data, dict) or not isinstance(data.get("advisories"), list) or not data["advisories"]:
        raise ConfigError("advisories file needs a non-empty `advisories` list", path=str(path), line=1)
    known = data.get("vulnerabilities") or {}
    if not isinstance(known, dict):
        raise ConfigError("`vulnerabilities` must map each id to its title, severity and cvss", path=str(path), line=1)
    vulnerabilities: list[Vulnerability] = []
    for vulnerability_id, details in known.items():
        line = known.lc.key(vulnerability_id)[0] + 1 if hasattr(known, "lc") else None
        details = details or {}
        if not isinstance(details, dict):
            raise ConfigError(f"{vulnerability_id} must be a mapping (title, severity, cvss)", path=str(path), line=line)
        severity = str(details.get("severity", "UNKNOWN")).upper()
        if severity not in SEVERITIES:
            raise ConfigError(f"severity {severity!r} of {vulnerability_id} is not one of {', '.join(SEVERITIES)}", path=str(path), line=line)
        vulnerabilities.append(
            Vulnerability(
                id=str(vulnerability_id),
                severity=severity,
                title=str(details.get("title", "")),
                description=str(details.get("description", "")),
                cvss=json.loads(json.dumps(details.get("cvss") or {})),
                references=tuple(str(r) for r in details.get("references") or ()),
            )
        )
    advisories: list[Advisory] = []
    for index, entry in enumerate(data["advisories"]):
        line = data["advisories"].lc.item(index)[0] + 1
        if not isinstance(entry, dict) or not all(entry.get(k) for k in ("source", "package", "id")):
            raise ConfigError("each advisory needs source, package and id", path=str(path), line=line)
        _check_source(str(entry["source"]), path, line)
        if entry["id"] not in known:
            raise ConfigError(f"advisory names {entry['id']}, which `vulnerabilities` does not describe", path=str(path), line=line)
        advisories.append(
            Advisory(
                source=str(entry["source"]),
                package=str(entry["package"]),
                id=str(entry["id"]),
                fixed=str(entry["fixed"]) if entry.get("fixed") else None,
                vulnerable=tuple(str(v) for v in entry.get("vulnerable") or ()),
            )
        )
    return vulnerabilities, advisories


def database_buckets(vulnerabilities: list[Vulnerability], advisories: list[Advisory]) -> dict[bytes, Any]:
    """The bbolt buckets of a Trivy database holding these advisories."""

    def encoded(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    root: dict[bytes, Any] = {b"vulnerability": {v.id.encode(): encoded(v.as_json()) for v in vulnerabilities}}
    sources: dict[bytes, bytes] = {}
    for advisory in advisories:
        bucket = root.setdefault(advisory.bucket.encode(), {})
        bucket.setdefault(advisory.package.encode(), {})[advisory.id.encode()] = encoded(advisory.as_json())
        family = advisory.source.split(" ")[0]
        sources[advisory.bucket.encode()] = encoded({"ID": family, "Name": f"{advisory.bucket} ({SOURCE_SUFFIX})", "URL": ""})
    root[b"data-source"] = sources
    return root


def build_database(
    vulnerabilities: list[Vulnerability], advisories: list[Advisory], cache_dir: Path, now: dt.datetime | None = None
) -> Path:
    """Write `<cache_dir>/db/trivy.db` and `metadata.json`; return the db directory."""
    now = now or dt.datetime.now(dt.timezone.utc)
    directory = cache_dir / "db"
    directory.mkdir(parents=True, exist_ok=True)
    bbolt.write(directory / "trivy.db", database_buckets(vulnerabilities, advisories))
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    metadata = {
        "Version": SCHEMA_VERSION,
        "NextUpdate": (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "UpdatedAt": stamp,
        "DownloadedAt": stamp,
    }
    temporary = directory / "metadata.json.tmp"
    temporary.write_text(json.dumps(metadata), encoding="utf-8")
    os.replace(temporary, directory / "metadata.json")
    return directory
