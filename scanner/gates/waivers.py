"""Profile policy applied to findings: rule overrides, disabled rules, waivers.

Every gate's findings go through `apply_profile`, in CI and in the webhook
alike, so the same gate.yaml gives the same answer everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from scanner.catalog import Catalog
from scanner.engines.base import Level, RawResult, SourceLocation
from scanner.findings import AppliedWaiver, Finding, Outcome
from scanner.gates.results import finding_from_raw
from scanner.profile import Profile, Waiver

WAIVER_GATE = "profile"


@dataclass
class ProfileOutcome:
    findings: list[Finding]
    waiver_findings: list[Finding]  # about the waivers themselves (expired, expiring)
    notices: list[str]


def apply_profile(
    findings: Sequence[Finding], profile: Profile, catalog: Catalog, today: dt.date, root: Path
) -> ProfileOutcome:
    """Drop disabled rules, apply severity overrides, attach waivers."""
    kept: list[Finding] = []
    used: set[int] = set()
    for finding in findings:
        if finding.outcome is Outcome.ERROR:
            kept.append(finding)  # errors cannot be disabled or waived: fail closed
            continue
        override = profile.rule_override(finding.rule_id)
        if override.disabled:
            continue
        if override.severity is not None:
            finding = replace(finding, severity=override.severity)
        for index, waiver in enumerate(profile.waivers):
            if waiver.matches(finding, profile.environment):
                used.add(index)
                finding = replace(finding, waiver=_applied(waiver, today))
                if not waiver.expired(today):
                    break
        kept.append(finding)
    waiver_findings, notices = _waiver_findings(profile, catalog, today, used, root)
    return ProfileOutcome(kept, waiver_findings, notices)


def _applied(waiver: Waiver, today: dt.date) -> AppliedWaiver:
    return AppliedWaiver(
        rule=waiver.rule,
        reason=waiver.reason,
        owner=waiver.owner,
        expires=waiver.expires.isoformat(),
        expired=waiver.expired(today),
    )


def _waiver_findings(
    profile: Profile, catalog: Catalog, today: dt.date, used: set[int], root: Path
) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    notices: list[str] = []
    path = _profile_path(profile, root)
    for index, waiver in enumerate(profile.waivers):
        if waiver.expired(today):
            rule_id = "CDG-WVR-001"
            message = (
                f"waiver for {waiver.rule} (owner {waiver.owner}) expired on {waiver.expires.isoformat()} "
                "and no longer applies; renew it or fix the findings it covered"
            )
        elif waiver.expiring_soon(today):
            rule_id = "CDG-WVR-002"
            days = (waiver.expires - today).days
            message = (
                f"waiver for {waiver.rule} (owner {waiver.owner}) expires in {days} day(s) "
                f"on {waiver.expires.isoformat()}"
            )
        else:
            continue
        notices.append(message)
        raw = RawResult(
            engine="cdgate",
            policy="waivers",
            message=message,
            level=Level.WARN,
            rule_id=rule_id,
            json_path=f"waivers[{index}]",
            location=SourceLocation(
                path=_shown(waiver.source, root) if waiver.source else path, start_line=waiver.line, end_line=waiver.line
            ),
            properties={"waiver_used": index in used},
        )
        findings.append(finding_from_raw(raw, catalog, WAIVER_GATE))
    return findings, notices


def _profile_path(profile: Profile, root: Path) -> str:
    if profile.path is None:
        return "gate.yaml"
    return _shown(profile.path, root)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
