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


def merge_equivalents(findings: Sequence[Finding], controls: dict[str, Control] | None = None) -> list[Finding]:
    """The findings with each group of equivalent ones merged; order kept.

    The preferred rule's findings all stay (two privileged containers of one
    Pod are two mistakes) and each lists every engine that saw the control on
    that resource; the other engines' findings there are dropped. Errors are
    never merged.
    """
    table = load_controls() if controls is None else controls
    groups: dict[tuple[str, tuple[str, str | None, str | None, str | None]], list[int]] = {}
    for index, finding in enumerate(findings):
        control = table.get(finding.rule_id)
        if control is not None and finding.outcome is not Outcome.ERROR:
            groups.setdefault((control.id, _place(finding)), []).append(index)
    merged: dict[int, Finding] = {}
    dropped: set[int] = set()
    for (control_id, _where), members in groups.items():
        control = table[findings[members[0]].rule_id]
        first = min(members, key=lambda i: (control.rules.index(findings[i].rule_id), i))
        engine = findings[first].engine
        kept = [i for i in members if findings[i].engine == engine and findings[i].rule_id == findings[first].rule_id]
        folded = [i for i in members if findings[i].engine != engine]
        if not folded:
            continue
        others = [findings[i] for i in folded]
        also = ", ".join(f"{f.engine} {f.rule_id}" for f in others)
        for index in kept:
            finding = findings[index]
            group = [finding, *others]
            merged[index] = replace(
                finding,
                severity=max(group, key=lambda f: f.severity.rank).severity,
                message=f"{finding.message} (also reported by {also})",
                properties={
                    **finding.properties,
                    "control": control_id,
                    "engines": sorted({f.engine for f in group}),
                    "rule_ids": [f.rule_id for f in group],
                },
            )
        dropped.update(folded)
    return [merged.get(i, f) for i, f in enumerate(findings) if i not in dropped]
