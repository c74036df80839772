"""Refuse Rego builtins that reach the network or the runtime, at compile time.

regorus leaves `http.send`, `opa.runtime` and `net.lookup_ip_addr`
undefined, so a rule that calls them silently never fires: a team policy
would pass everything without a word. In real OPA they would fetch URLs a
pull request names or read the runner's environment; `time.now_ns` makes a
decision depend on the day it runs (waiver expiry uses `--today` for that).
Either way the policy cannot be trusted to decide, so each call is a `PolicyError` naming the file
and line. Calls are found in regorus' parsed AST (`get_ast_as_json`), not by
searching the text, so comments and strings do not count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from scanner.errors import PolicyError

#: Builtins that read the network or the host they run on, and why each is refused.
FORBIDDEN_BUILTINS: dict[str, str] = {
    "http.send": "sends HTTP requests",
    "opa.runtime": "reads the runtime's environment and configuration",
    "net.lookup_ip_addr": "resolves names over the network",
    "time.now_ns": "reads the clock, so the same change could pass today and fail tomorrow",
}


@dataclass(frozen=True)
class ForbiddenCall:
    """One call to a refused builtin."""

    path: str
    line: int
    name: str

    def reason(self) -> str:
        return FORBIDDEN_BUILTINS[self.name]


def forbidden_calls(engine: Any, skip_paths: tuple[str, ...] = ()) -> list[ForbiddenCall]:
    """Every call to a refused builtin in the policies parsed into `engine`."""
    modules = json.loads(engine.get_ast_as_json())
    calls: list[ForbiddenCall] = []
    for module in modules:
        path = str(module.get("source", {}).get("file", "?"))
        if path in skip_paths:
            continue
        for call in _calls(module.get("ast")):
            name = _dotted_name(call.get("fcn"))
            if name in FORBIDDEN_BUILTINS:
                line = call.get("span", {}).get("line")
                calls.append(ForbiddenCall(path, line if isinstance(line, int) else 0, name))
    return calls


def refuse_forbidden_calls(engine: Any, skip_paths: tuple[str, ...] = ()) -> None:
    """Raise a `PolicyError` at the first refused builtin (and count the others)."""
    calls = forbidden_calls(engine, skip_paths)
    if not calls:
        return
    first = calls[0]
    more = f" (and {len(calls) - 1} more such call(s))" if len(calls) > 1 else ""
    raise PolicyError(
        f"policy calls {first.name}, which {first.reason()}; cdgate does not allow it in a gate{more}",
        path=first.path,
        line=first.line or None,
        hint="pass what the policy needs as data (rego.data or rego.params in gate.yaml) instead",
    )


def _calls(node: Any) -> Iterator[dict[str, Any]]:
    """Every `Call` node under `node`, iteratively (policies may nest deeply)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            call = current.get("Call")
            if isinstance(call, dict):
                yield call
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _dotted_name(node: Any) -> str | None:
    """`http.send` from the `RefDot`/`Var` chain naming a called function."""
    fields: list[str] = []
    while isinstance(node, dict):
        if "RefDot" in node:
            ref = node["RefDot"]
            field = ref.get("field")
            if not (isinstance(field, list) and len(field) == 2 and isinstance(field[1], str)):
                return None
            fields.append(field[1])
            node = ref.get("refr")
        elif "Var" in node:
            value = node["Var"].get("value")
            return ".".join([str(value), *reversed(fields)])
        else:
            return None
    return None
