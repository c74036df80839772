"""Profile policy applied to findings: rule overrides, disabled rules, waivers.

Every gate's findings go through `apply_profile`, in CI and in the webhook
alike, so the same gate.yaml gives the same answer everywhere.
`check_governance` refuses a profile whose waivers or overrides could pass
things quietly: a rule id that does not exist, a glob that matches no rule,
a waiver that outlives `max_days`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from scanner.catalog import Catalog
from scanner.paths import shown_path
from scanner.errors import ConfigError
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
    findings: Sequence[Finding],
    profile: Profile,
    catalog: Catalog,
    today: dt.date,
    root: Path,
    *,
    report_unused: bool = True,
) -> ProfileOutcome:
    """Drop disabled rules, apply severity overrides, attach waivers.

    `report_unused=False` when the findings cover only part of what the
    profile governs (the webhook's one object, the merge gate's units): a
    waiver that matched nothing there is not news (CDG-WVR-003 is left out).
    """
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
                finding = replace(finding, waiver=_applied(waiver, today, index))
                if not waiver.expired(today):
                    break
        kept.append(finding)
    waiver_findings, notices = _waiver_findings(profile, catalog, today, used, root, report_unused)
    return ProfileOutcome(kept, waiver_findings, notices)


def _applied(waiver: Waiver, today: dt.date, index: int) -> AppliedWaiver:
    return AppliedWaiver(
        rule=waiver.rule,
        reason=waiver.reason,
        owner=waiver.owner,
        expires=waiver.expires.isoformat(),
        expired=waiver.expired(today),
        index=index,
    )


# Ids of the catalogue's own shape; other engines' ids (kyverno:..., rego:...,
# CKV_...) are not in the catalogue and cannot be checked against it.
_CATALOGUE_ID = re.compile(r"^CDG-", re.IGNORECASE)
_GLOB_CHARS = re.compile(r"[*?\[]")


def rule_id_problem(rule: str, known: Sequence[str]) -> str | None:
    """Why `rule` (an id or glob in gate.yaml) can match no catalogue rule, or None.

    Exact ids are checked when they have the catalogue's shape (`CDG-...`);
    a glob is checked when its literal start (before the first `*?[`) can
    only name catalogue rules. Anything else may come from another engine.
    """
    glob = _GLOB_CHARS.search(rule)
    prefix = rule[: glob.start()] if glob else rule
    if not _CATALOGUE_ID.match(prefix) and not (glob is None and _CATALOGUE_ID.match(rule)):
        return None
    if glob is None:
        if rule in known:
            return None
        what = f"unknown rule id {rule!r}"
    else:
        if any(fnmatch.fnmatchcase(rule_id, rule) for rule_id in known):
            return None
        what = f"rule glob {rule!r} matches no rule in the catalogue"
    close = closest_rule_ids(rule, known)
    return what + (f"; did you mean {', '.join(close)}?" if close else "")


def closest_rule_ids(rule: str, known: Sequence[str], n: int = 3) -> list[str]:
    """Catalogue ids a person probably meant: look-alike digits (O for 0, l for 1) first, then difflib's."""
    head, _, number = rule.upper().rpartition("-")
    look_alike = f"{head}-{number.translate(str.maketrans('OIL', '011'))}" if head else rule.upper()
    first = [look_alike] if look_alike in known else []
    rest = difflib.get_close_matches(rule.upper(), list(known), n=n, cutoff=0.6)
    return list(dict.fromkeys(first + rest))[:n]


def check_governance(profile: Profile, catalog: Catalog, today: dt.date) -> None:
    """Raise ConfigError (exit 2) for overrides and waivers that could pass things quietly."""
    known = sorted(catalog.rules)
    where = str(profile.path) if profile.path else "gate.yaml"
    hint = "run `cdgate rules list` for the ids; ids from other engines look like kyverno:<policy>/<rule>"
    for key, line in profile.rule_lines.items():
        rule = key.split(".rules.", 1)[1] if ".rules." in key else key.removeprefix("rules.")
        problem = rule_id_problem(rule, known)
        if problem:
            raise ConfigError(f"{key.rsplit('.' + rule, 1)[0]}: {problem}", path=where, line=line, hint=hint)
    latest = today + dt.timedelta(days=profile.waiver_max_days)
    for waiver in profile.waivers:
        problem = rule_id_problem(waiver.rule, known)
        if problem:
            raise ConfigError(f"waiver: {problem}", path=where, line=waiver.line, hint=hint)
        if waiver.expires > latest:
            raise ConfigError(
                f"waiver for {waiver.rule} expires on {waiver.expires.isoformat()}, "
                f"{(waiver.expires - today).days} days from today; waivers may run at most "
                f"{profile.waiver_max_days} days",
                path=where,
                line=waiver.line,
                hint=f"set expires to {latest.isoformat()} or earlier, or raise waivers.max_days",
            )


def _waiver_findings(
    profile: Profile, catalog: Catalog, today: dt.date, used: set[int], root: Path, report_unused: bool
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
        elif report_unused and index not in used and _applies_to(waiver, profile.environment):
            rule_id = "CDG-WVR-003"
            message = (
                f"waiver for {waiver.rule} (owner {waiver.owner}) matched no finding; "
                "delete it if the finding is fixed, or correct its rule or resource"
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
        if rule_id != "CDG-WVR-003":
            notices.append(message)
        raw = RawResult(
            engine="cdgate",
            policy="waivers",
            message=message,
            level=Level.WARN,
            rule_id=rule_id,
            json_path=f"waivers[{index}]",
            location=SourceLocation(
                path=shown_path(waiver.source, root) if waiver.source else path, start_line=waiver.line, end_line=waiver.line
            ),
            properties={"waiver_used": index in used},
        )
        findings.append(finding_from_raw(raw, catalog, WAIVER_GATE))
    return findings, notices


def _applies_to(waiver: Waiver, environment: str | None) -> bool:
    """False for a waiver limited to other environments: matching nothing here is expected."""
    return not waiver.environments or environment is None or environment in waiver.environments


def _profile_path(profile: Profile, root: Path) -> str:
    if profile.path is None:
        return "gate.yaml"
    return shown_path(profile.path, root)


