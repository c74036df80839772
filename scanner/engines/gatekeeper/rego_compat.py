"""Rego v0 forms that OPA and regorus read differently, rewritten line for line so regorus gives OPA's answer.

Gatekeeper templates are parsed by OPA. regorus (0.13) differs on four forms
the library's templates use; the rewrites keep every line where it was, so
error lines still point into the template file:

1. A rule with several bodies, `head { a } { b }`, where a later body opens
   on a line `} {` at the rule's indentation. OPA reads it as two rules with
   the same head; regorus rejects it ("else cannot be used with set rules")
   or misreads it. The line `} {` becomes `} head {`.
2. A body line that starts with `(` after a line ending in a name, as in
   `input.parameters.x` followed by `(a - b) >= 1`. OPA sees two
   expressions (a call needs the `(` right after the name); regorus reads
   one call. A `;` at the end of the first line separates them, as in OPA.
3. `not f(x.y)` where an argument is a reference: OPA evaluates the
   reference outside the negation, so a missing `x.y` makes the body fail;
   regorus says `not` is true. References with a `[_]` wildcard are left
   alone (binding them first would change what `not` ranges over). The line becomes
   `__cdgate_ref_L_0 := x.y; not f(__cdgate_ref_L_0)`, which OPA and regorus
   read alike.
4. `sprintf("... %v", [a])` with fewer arguments than verbs: OPA (Go's fmt)
   prints `%!v(MISSING)` for each missing one; regorus raises. A literal
   format whose literal argument array is short gets those verbs spelled
   `%%!v(MISSING)`, which prints what OPA prints.
"""

from __future__ import annotations

import re

_RULE_OPEN = re.compile(r"^(?P<head>[A-Za-z_][^#]*?)\s*\{\s*$")
_EXTRA_BODY = re.compile(r"^\}\s*\{\s*$")
_ENDS_WITH_TERM = re.compile(r"[\w\]\)\"]\s*$")
_NOT_A_HEAD = re.compile(r"^(package|import|else)\b")
_NOT_CALL = re.compile(r"^(?P<indent>\s+)not\s+(?P<func>[A-Za-z_][\w.]*)\((?P<args>.*)\)\s*$")
_REFERENCE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]]*\])+$")


def _split_arguments(text: str) -> list[str] | None:
    """Top-level comma-separated arguments, or None when brackets or quotes do not balance."""
    parts, depth, current, quoted = [], 0, "", False
    for char in text:
        if char == '"' and not current.endswith("\\"):
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth -= 1
            if depth < 0:
                return None
        if char == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth or quoted:
        return None
    parts.append(current)
    return [p.strip() for p in parts]


def _hoist_negated_call(line: str, number: int) -> str:
    match = _NOT_CALL.match(line)
    if not match:
        return line
    args = _split_arguments(match.group("args"))
    if not args:
        return line
    bindings, new_args = [], []
    for k, arg in enumerate(args):
        if _REFERENCE.match(arg) and "[_]" not in arg:  # a wildcard would change what `not` ranges over
            name = f"__cdgate_ref_{number}_{k}"
            bindings.append(f"{name} := {arg}")
            new_args.append(name)
        else:
            new_args.append(arg)
    if not bindings:
        return line
    return f"{match.group('indent')}{'; '.join(bindings)}; not {match.group('func')}({', '.join(new_args)})"


_SPRINTF = re.compile(r'sprintf\(\s*"(?P<format>(?:[^"\\]|\\.)*)"\s*,\s*\[(?P<args>[^\n]*)\]\s*\)')
_VERB = re.compile(r"%(?:%|[-+# 0]*\d*(?:\.\d+)?[a-zA-Z])")


def _fill_missing_arguments(line: str) -> str:
    def fix(match: re.Match[str]) -> str:
        args = _split_arguments(match.group("args"))
        if args is None:
            return match.group(0)
        count = len([a for a in args if a])
        verbs = [v for v in _VERB.finditer(match.group("format")) if v.group(0) != "%%"]
        if len(verbs) <= count:
            return match.group(0)
        fmt = match.group("format")
        for verb in reversed(verbs[count:]):
            fmt = fmt[: verb.start()] + f"%%!{verb.group(0)[-1]}(MISSING)" + fmt[verb.end():]
        return match.group(0).replace(f'"{match.group("format")}"', f'"{fmt}"', 1)

    return _SPRINTF.sub(fix, line)


def regorus_compatible(text: str) -> str:
    """`text` with the four forms above rewritten; every other line is left as it is."""
    lines = text.split("\n")
    head: str | None = None
    for i, line in enumerate(lines):
        opened = _RULE_OPEN.match(line)
        if opened and not _NOT_A_HEAD.match(line):
            head = opened.group("head")
        elif _EXTRA_BODY.match(line) and head is not None:
            lines[i] = f"}} {head} {{"
        elif line and not line[0].isspace() and line[0] != "}" and not line.startswith("#"):
            head = None  # a new top-level statement that does not open a body
        lines[i] = _fill_missing_arguments(_hoist_negated_call(lines[i], i + 1))
        stripped = line.lstrip()
        if stripped.startswith("(") and i > 0:
            previous = i - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            before = lines[previous] if previous >= 0 else ""
            if (
                previous >= 0
                and "#" not in before
                and _ENDS_WITH_TERM.search(before)
                and not before.rstrip().endswith(("{", "(", "[", ",", "|"))
            ):
                lines[previous] = before.rstrip() + ";"
    return "\n".join(lines)
