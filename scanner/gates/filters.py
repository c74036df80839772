"""What `check --severity / --rule / --skip-rule` leave in the verdict.

Semantics follow trivy and conftest where they overlap: a filtered-out
finding is neither shown nor counted, so it cannot fail the gate (trivy's
`--severity` with `--exit-code`). Errors are never filtered: cdgate fails
closed whatever the view. The verdict says what was hidden in a notice, so
a report never looks complete when it is not.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

from scanner.errors import ConfigError
from scanner.findings import Finding, Outcome, Severity, Verdict


@dataclass(frozen=True)
class FindingFilter:
    """Which findings a run reports: severities, rule globs to keep, rule globs to drop."""

    severities: frozenset[Severity] | None = None
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.severities is not None or bool(self.rules) or bool(self.skip_rules)

    def keeps(self, finding: Finding) -> bool:
        if finding.outcome is Outcome.ERROR:
            return True
        if self.severities is not None and finding.severity not in self.severities:
            return False
        if self.rules and not any(fnmatch.fnmatchcase(finding.rule_id, p) for p in self.rules):
            return False
        return not any(fnmatch.fnmatchcase(finding.rule_id, p) for p in self.skip_rules)

    def describe(self) -> str:
        parts = []
        if self.severities is not None:
            parts.append("severity " + ",".join(s.value for s in Severity if s in self.severities))
        if self.rules:
            parts.append("rule " + ",".join(self.rules))
        if self.skip_rules:
            parts.append("skip-rule " + ",".join(self.skip_rules))
        return "; ".join(parts)


def parse_severity_list(text: str, option: str = "--severity") -> frozenset[Severity]:
    """`high,CRITICAL` -> {HIGH, CRITICAL}; a ConfigError names the bad word once."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not words:
        raise ConfigError(f"{option} is empty", hint="give a comma list such as high,critical")
    severities = set()
    for word in words:
        try:
            severities.add(Severity(word.lower()))
        except ValueError:
            names = ",".join(s.value for s in Severity)
            raise ConfigError(f"{option}: unknown severity {word!r}", hint=f"use a comma list of {names}") from None
    return frozenset(severities)


def filter_verdict(verdict: Verdict, view: FindingFilter) -> Verdict:
    """The verdict with only the findings `view` keeps, and a notice saying what it hid."""
    if not view.active:
        return verdict
    hidden = 0
    gates = []
    for gate in verdict.gates:
        kept = [f for f in gate.findings if view.keeps(f)]
        hidden += len(gate.findings) - len(kept)
        gates.append(replace(gate, findings=kept))
    notice = f"filtered ({view.describe()}): {hidden} finding(s) not reported and not counted"
    return replace(verdict, gates=gates, notices=[*verdict.notices, notice])
