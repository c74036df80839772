"""One finding per mistake: merge findings of different engines about the same control.

Trivy (KSV/DS ids), Checkov (CKV ids) and cdgate's bundled Rego rules often
flag the same field of the same resource. The table in
`rules/scanners/equivalent-controls.yaml` says which rule ids check the same
control; findings with such ids about the same place (file, kind, namespace,
name) become one finding that keeps the first rule of the table's order (the
catalogued cdgate rule when there is one), the highest severity of the group,
and lists every engine and rule id that saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from scanner.findings import Finding, Outcome

CONTROLS_TABLE = Path(__file__).resolve().parent.parent.parent / "rules" / "scanners" / "equivalent-controls.yaml"


@dataclass(frozen=True)
class Control:
    """Rule ids, in preference order, that check one control."""

    id: str
    field: str
    rules: tuple[str, ...]


def load_controls(path: Path = CONTROLS_TABLE) -> dict[str, Control]:
    """Rule id -> its control, from the table."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    by_rule: dict[str, Control] = {}
    for entry in data.get("controls") or []:
        control = Control(str(entry["id"]), str(entry.get("field", "")), tuple(str(r) for r in entry["rules"]))
        for rule in control.rules:
            by_rule[rule] = control
    return by_rule


def _place(finding: Finding) -> tuple[str, str | None, str | None, str | None]:
    location = finding.location
    return (location.path, location.kind, location.namespace, location.name)


def _overlaps(one: Finding, other: Finding) -> bool:
    a, b = one.location, other.location
    if a.start_line is None or b.start_line is None:
        return False
    return a.start_line <= (b.end_line or b.start_line) and b.start_line <= (a.end_line or a.start_line)


def merge_equivalents(findings: Sequence[Finding], controls: dict[str, Control] | None = None) -> list[Finding]:
    """The findings with each group of equivalent ones merged; order kept.

    In a group (one control, one resource) the engine of the preferred rule
    keeps all its findings (two privileged containers of one Pod are two
    mistakes). Every other engine's finding is dropped and listed on each of
    those findings whose lines overlap its lines (on the preferred rule's
    findings when none does). Errors are never merged.
    """
    table = load_controls() if controls is None else controls
    groups: dict[tuple[str, tuple[str, str | None, str | None, str | None]], list[int]] = {}
    for index, finding in enumerate(findings):
        control = table.get(finding.rule_id)
        if control is not None and finding.outcome is not Outcome.ERROR:
            groups.setdefault((control.id, _place(finding)), []).append(index)
    attached: dict[int, list[Finding]] = {}
    dropped: set[int] = set()
    controls_of: dict[int, str] = {}
    for (control_id, _where), members in groups.items():
        control = table[findings[members[0]].rule_id]
        first = min(members, key=lambda i: (control.rules.index(findings[i].rule_id), i))
        engine = findings[first].engine
        primary = [i for i in members if findings[i].engine == engine]
        preferred = [i for i in primary if findings[i].rule_id == findings[first].rule_id]
        for index in members:
            if findings[index].engine == engine:
                continue
            other = findings[index]
            targets = [i for i in primary if _overlaps(findings[i], other)] or preferred
            for target in targets:
                attached.setdefault(target, []).append(other)
                controls_of[target] = control_id
            dropped.add(index)
    merged: dict[int, Finding] = {}
    for index, others in attached.items():
        finding = findings[index]
        group = [finding, *others]
        also = ", ".join(dict.fromkeys(f"{f.engine} {f.rule_id}" for f in others))
        merged[index] = replace(
            finding,
            severity=max(group, key=lambda f: f.severity.rank).severity,
            message=f"{finding.message} (also reported by {also})",
            properties={
                **finding.properties,
                "control": controls_of[index],
                "engines": sorted({f.engine for f in group}),
                "rule_ids": list(dict.fromkeys(f.rule_id for f in group)),
            },
        )
    return [merged.get(i, f) for i, f in enumerate(findings) if i not in dropped]
