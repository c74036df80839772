"""The vulnerability gate's settings: `gates.vulnerability` in gate.yaml and `.trivyignore.yaml`.

Accepted vulnerabilities use the manifest gate's waiver model (rule, reason,
owner, expiry; expired acceptances stop applying and are reported). Trivy's
own `.trivyignore.yaml` is read as more waivers, so a team that already keeps
one does not write its acceptances twice; its `expired_at` is the expiry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from scanner.engines.base import RawResult
from scanner.errors import ConfigError
from scanner.profile import Profile, ResourceSelector, Waiver

GATE = "vulnerability"
TRIVYIGNORE_OWNER = ".trivyignore.yaml"
#: `.trivyignore.yaml` section -> how its ids read as cdgate rule ids.
_SECTIONS = {"vulnerabilities": "{id}", "misconfigurations": "{id}", "secrets": "secret:{id}"}


@dataclass(frozen=True)
class VulnerabilitySettings:
    ignore_unfixed: bool = False
    trivyignore: Path | None = None

    @classmethod
    def from_profile(cls, profile: Profile) -> VulnerabilitySettings:
        section = profile.gates.get(GATE) or {}
        ignore_file = section.get("trivyignore")
        return cls(
            ignore_unfixed=bool(section.get("ignore_unfixed", False)),
            trivyignore=(profile.base_dir / ignore_file) if ignore_file else None,
        )


def drop_unfixed(results: Sequence[RawResult]) -> list[RawResult]:
    """Results without the vulnerabilities that have no fixed version."""
    return [r for r in results if not (r.properties.get("scanner") == "vuln" and not r.properties.get("fixed_version"))]


def trivyignore_waivers(path: Path) -> list[Waiver]:
    """Every entry of a `.trivyignore.yaml` as a waiver; ConfigError with the line for a bad entry.

    `paths` and `purls` narrow an entry in Trivy; cdgate cannot apply them to
    its findings, so such an entry is refused rather than applied more widely
    than written.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from scanner.errors import yaml_error_details

    try:
        data: Any = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the trivyignore file: {exc.strerror}", path=str(path)) from None
    except YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise ConfigError(f"not valid YAML: {problem}", path=str(path), line=line, column=column) from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError("a .trivyignore.yaml is a mapping of vulnerabilities/misconfigurations/secrets lists", path=str(path), line=1)
    waivers: list[Waiver] = []
    for section, rule_format in _SECTIONS.items():
        entries = data.get(section) or []
        if not isinstance(entries, list):
            line = data.lc.key(section)[0] + 1 if hasattr(data, "lc") else None
            raise ConfigError(f"{section} must be a list of entries (- id: ...)", path=str(path), line=line)
        for index, entry in enumerate(entries):
            line = entries.lc.item(index)[0] + 1 if hasattr(entries, "lc") else None
            if not isinstance(entry, dict) or not entry.get("id"):
                raise ConfigError(f"each {section} entry needs an id", path=str(path), line=line)
            if entry.get("paths") or entry.get("purls"):
                raise ConfigError(
                    f"{entry['id']}: paths/purls are not supported by cdgate",
                    path=str(path),
                    line=line,
                    hint="accept it in gate.yaml waivers with a resource selector (kind Package, name <package>)",
                )
            expires = _expiry(entry.get("expired_at"), path, line)
            waivers.append(
                Waiver(
                    rule=rule_format.format(id=str(entry["id"]).removeprefix("AVD-")),
                    reason=str(entry.get("statement") or f"listed in {path.name}"),
                    owner=TRIVYIGNORE_OWNER,
                    expires=expires,
                    resource=ResourceSelector(),
                    line=line,
                    source=path,
                )
            )
    return waivers


def _expiry(value: Any, path: Path, line: int | None) -> dt.date:
    if value is None:
        return dt.date.max
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigError(f"expired_at is not a date: {value!r}", path=str(path), line=line) from None


def with_trivyignore(profile: Profile, settings: VulnerabilitySettings) -> Profile:
    """The profile with the trivyignore entries added after its own waivers."""
    if settings.trivyignore is None:
        return profile
    return replace(profile, waivers=(*profile.waivers, *trivyignore_waivers(settings.trivyignore)))
