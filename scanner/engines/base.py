"""The raw result every engine returns, before the catalogue and waivers.

Engines know what a policy said about a document; they do not know severities
from the profile, waivers, or exit codes. Gates turn `RawResult`s into
`Finding`s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from scanner.inputs.document import Document


class Level(str, enum.Enum):
    DENY = "deny"  # a violation
    WARN = "warn"  # advisory
    ERROR = "error"  # the engine could not evaluate this policy/document


@dataclass
class RawResult:
    """One message from one policy about one document (or about the policy).

    `rule_id` is the catalogue id when the policy names one (Rego objects with
    `rule_id`, Kyverno `kyverno:<policy>/<rule>`), else None and the gate
    derives one from `policy`. `json_path` names the offending field so the
    finding can point at its line. `severity` is only set by engines whose
    policies carry their own (Kyverno's `policies.kyverno.io/severity`).
    """

    engine: str
    policy: str  # file path, Rego package, or Kyverno policy name
    message: str
    level: Level = Level.DENY
    rule_id: str | None = None
    document: Document | None = None
    json_path: str | None = None
    severity: str | None = None
    title: str | None = None
    policy_path: str | None = None  # file of the policy, for errors
    policy_line: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)
