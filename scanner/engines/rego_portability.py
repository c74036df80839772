"""Rego that regorus and real OPA evaluate differently, found by reading the policy.

cdgate evaluates with regorus; a team that runs the same policy in conftest
or Gatekeeper gets real OPA. OPA evaluates a reference passed to a function
(or to `in`) before the `not` around it, so when the reference is missing the
negated expression is undefined and the rule body fails, while regorus
treats the missing value as "not" and the body succeeds: the rule fires in
cdgate and never in OPA. The two forms are `not f(x.y[k])` and
`not x.y[k] in S`. The check reads one line at a time and knows nothing of
types, so it looks only where a missing value is likely: a builtin (type
checks, string and regex tests, `count`) or `in` applied to a reference
that starts at `input` or indexes with brackets. A plain variable
(`not f(v)`), `object.get(...)` arguments and calls of the policy's own
functions are not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULE_ID = "CDG-REGO-001"

_REF = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]]+\])+"
_NOT_CALL = re.compile(r"^\s*not\s+(?P<func>[A-Za-z_][\w.]*)\((?P<args>.*)\)\s*(?:#.*)?$")
_NOT_IN = re.compile(rf"^\s*not\s+(?P<ref>{_REF})\s+in\s")
_REF_ARG = re.compile(rf"(?<![\w.])(?P<ref>{_REF})")
_SAFE_CALLS = re.compile(r"object\.get\([^()]*\)")
_BUILTINS = re.compile(
    r"^(is_\w+|startswith|endswith|contains|regex\.match|glob\.match|count|lower|upper|trim_space|"
    r"net\.cidr_contains|semver\.compare|time\.parse_rfc3339_ns|to_number|strings\.\w+)$"
)


def _likely_missing(reference: str) -> bool:
    return reference.startswith("input.") or "[" in reference


@dataclass(frozen=True)
class PortabilityNote:
    """One line of a policy that regorus and OPA may decide differently."""

    path: str
    line: int
    reference: str
    construct: str  # "not f(ref)" | "not ref in S"

    @property
    def message(self) -> str:
        return (
            f"`{self.construct}` with {self.reference}: when {self.reference} is missing, regorus (cdgate) "
            "treats the negation as true and the rule fires, real OPA (conftest, Gatekeeper) treats it as "
            "undefined and the rule does not; bind the value first (`v := ...`) or use object.get with a default "
            "(ignore this note if the reference is always defined)"
        )


def portability_notes(path: str, text: str) -> list[PortabilityNote]:
    """Every `not f(ref)` / `not ref in S` line of one policy file."""
    notes: list[PortabilityNote] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0] if '"' not in line and "`" not in line else line
        membership = _NOT_IN.match(code)
        if membership and _likely_missing(membership.group("ref")):
            notes.append(PortabilityNote(path, number, membership.group("ref"), "not ref in S"))
            continue
        call = _NOT_CALL.match(code)
        if call is None or not _BUILTINS.match(call.group("func")):
            continue
        arguments = _SAFE_CALLS.sub("_", call.group("args"))
        references = [m.group("ref") for m in _REF_ARG.finditer(_strip_strings(arguments))]
        reference = next((r for r in references if _likely_missing(r)), None)
        if reference:
            notes.append(PortabilityNote(path, number, reference, f"not {call.group('func')}(ref)"))
    return notes


def _strip_strings(code: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', code)
