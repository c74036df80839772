"""The rule catalogue: one YAML file per rule under `rules/`.

The catalogue gives every rule id a title, severity, remediation, help URI and
compliance tags, so findings read the same whichever engine produced them.
Entries are validated against `CATALOG_SCHEMA` when loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import jsonschema

from scanner.errors import ConfigError, yaml_error_details
from scanner.findings import Severity

BUNDLED_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

CATALOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "severity", "description", "remediation", "help_uri", "engine"],
    "properties": {
        "id": {"type": "string", "pattern": "^CDG-[A-Z0-9]+-[0-9]{3}$"},
        "title": {"type": "string", "minLength": 5},
        "severity": {"enum": [s.value for s in Severity]},
        "description": {"type": "string", "minLength": 10},
        "remediation": {"type": "string", "minLength": 10},
        "help_uri": {"type": "string", "pattern": "^https://"},
        "engine": {"enum": ["rego", "kyverno", "signature", "cdgate", "checkov", "trivy"]},
        "policy": {"type": "string"},
        "compliance": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pss": {"enum": ["baseline", "restricted"]},
                "cis": {"type": "array", "items": {"type": "string"}},
                "nsa": {"type": "array", "items": {"type": "string"}},
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class Rule:
    """One catalogue entry."""

    id: str
    title: str
    severity: Severity
    description: str
    remediation: str
    help_uri: str
    engine: str
    policy: str | None = None
    compliance: dict[str, Any] = field(default_factory=dict)
    extra_tags: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags for SARIF and reports: `security`, `pss:restricted`, `cis:5.2.1`..."""
        tags = ["security", *self.extra_tags]
        if pss := self.compliance.get("pss"):
            tags.append(f"pss:{pss}")
        tags += [f"cis:{c}" for c in self.compliance.get("cis", [])]
        tags += [f"nsa:{n}" for n in self.compliance.get("nsa", [])]
        return tuple(tags)


@dataclass
class Catalog:
    """All rules by id."""

    rules: dict[str, Rule]

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def __contains__(self, rule_id: str) -> bool:
        return rule_id in self.rules

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self.rules.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self.rules)


def load_catalog(directory: Path | str = BUNDLED_RULES_DIR) -> Catalog:
    """Load and validate every `*.yaml` entry in `directory`."""
    import yaml

    validator = jsonschema.Draft202012Validator(CATALOG_SCHEMA)
    rules: dict[str, Rule] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            problem, line, column = yaml_error_details(exc)
            raise ConfigError(
                f"rule catalogue entry is not valid YAML: {problem}", path=str(path), line=line, column=column
            ) from None
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        if errors:
            err = errors[0]
            where = "/".join(str(p) for p in err.path) or "(top level)"
            raise ConfigError(f"invalid catalogue entry at {where}: {err.message}", path=str(path))
        if data["id"] in rules:
            raise ConfigError(f"duplicate rule id {data['id']}", path=str(path))
        if path.stem != data["id"]:
            raise ConfigError(f"file name must be {data['id']}.yaml", path=str(path))
        rules[data["id"]] = Rule(
            id=data["id"],
            title=data["title"],
            severity=Severity.parse(data["severity"]),
            description=data["description"],
            remediation=data["remediation"],
            help_uri=data["help_uri"],
            engine=data["engine"],
            policy=data.get("policy"),
            compliance=data.get("compliance", {}),
            extra_tags=tuple(data.get("tags", [])),
        )
    return Catalog(rules)
