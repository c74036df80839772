"""`{{ }}` variables: JMESPath over the rule's context, substituted in place.

A string that is exactly one variable takes the variable's value (any JSON
type); variables inside longer strings are spliced in as text (JSON for
non-strings). Substitution repeats so a variable can build another
(`{{ x509_decode('{{request.object.data.cert}}') }}`). In preconditions an
unresolvable variable becomes `""`, as in Kyverno; elsewhere it is an error.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from typing import Any, Callable

import jmespath
from jmespath import exceptions as jexc
from jmespath.visitor import TreeInterpreter

from scanner.engines.kyverno.budget import Budget
from scanner.engines.kyverno.jmes_functions import FUNCTIONS, JMESPATH_ERRORS

MAX_EXPRESSION = 4096
MAX_PASSES = 16
MAX_VALUE_CHARS = 1_000_000

VARIABLE = re.compile(r"(?<!\\)\{\{((?:\{[^{}]*\}|[^{}])*)\}\}")
_OPTIONS = jmespath.Options(custom_functions=FUNCTIONS)


class _Interpreter(TreeInterpreter):
    """JMESPath as Kyverno evaluates it: `a.b.f(@)` on a missing `b` is null.

    Kyverno's JMESPath stops a subexpression at null instead of passing the
    null on to a function (which would raise a type error), so
    `containers[].resources.keys(@)` skips containers without resources.
    """

    budget: Budget | None = None

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        # Every AST node visited charges the evaluation budget, so one slow
        # expression over a large resource is stopped like any other step.
        if self.budget is not None:
            self.budget.charge()
        return super().visit(node, *args, **kwargs)

    def visit_subexpression(self, node: Any, value: Any) -> Any:
        result = value
        for child in node["children"]:
            result = self.visit(child, result)
            if result is None:
                return None
        return result


_LOCAL = threading.local()


def _interpreter(budget: Budget | None) -> _Interpreter:
    """One interpreter per thread (the webhook may evaluate concurrently)."""
    interpreter = getattr(_LOCAL, "interpreter", None)
    if interpreter is None:
        interpreter = _LOCAL.interpreter = _Interpreter(_OPTIONS)
    interpreter.budget = budget
    return interpreter


class VariableError(Exception):
    """A variable could not be resolved (bad JMESPath, missing key, bad call)."""


@functools.lru_cache(maxsize=4096)
def compile_expression(expr: str) -> Any:
    """Parse a JMESPath expression once (raises VariableError if invalid)."""
    if len(expr) > MAX_EXPRESSION:
        raise VariableError(f"JMESPath expression longer than {MAX_EXPRESSION} characters")
    try:
        return jmespath.compile(expr)
    except jexc.JMESPathError as exc:
        raise VariableError(f"invalid JMESPath {expr!r}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def query(expr: str, data: Any, budget: Budget | None = None) -> Any:
    """Evaluate `expr` on `data`; a missing path is null, as in Kyverno."""
    expr = expr.strip()
    if not expr:
        raise VariableError("empty variable")
    compiled = compile_expression(expr)
    try:
        result = _interpreter(budget).visit(compiled.parsed, data)
    except JMESPATH_ERRORS as exc:
        raise VariableError(f"JMESPath query {expr!r} failed: {_first_line(exc)}") from exc
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise VariableError(f"JMESPath query {expr!r} failed: {exc}") from exc
    except RecursionError as exc:
        raise VariableError(f"JMESPath query {expr!r} nests too deeply") from exc
    return result


def to_text(value: Any) -> str:
    """A value spliced into a longer string, as Kyverno prints it."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


Resolver = Callable[[str], Any]


def substitute(value: Any, data: Any, *, lenient: bool = False, budget: Budget | None = None) -> Any:
    """Substitute every `{{ }}` in a JSON-like structure (returns a new one)."""

    def resolve(expr: str) -> Any:
        try:
            return query(expr, data, budget)
        except VariableError:
            if lenient:
                return ""
            raise

    return _walk(value, resolve)


def _walk(value: Any, resolve: Resolver) -> Any:
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return substitute_string(value, resolve)
    if isinstance(value, dict):
        out = None
        for k, v in value.items():
            new = _walk(v, resolve)
            if new is not v:
                if out is None:
                    out = dict(value)
                out[k] = new
        return value if out is None else out
    if isinstance(value, list):
        items = [_walk(v, resolve) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


def substitute_string(text: str, resolve: Resolver) -> Any:
    current: Any = text
    for _ in range(MAX_PASSES):
        if not isinstance(current, str):
            return current
        matches = list(VARIABLE.finditer(current))
        if not matches:
            break
        if len(matches) == 1 and matches[0].group(0) == current:
            current = resolve(matches[0].group(1))
            continue
        out = []
        last = 0
        for m in matches:
            out.append(current[last : m.start()])
            out.append(to_text(resolve(m.group(1))))
            last = m.end()
        out.append(current[last:])
        current = "".join(out)
        if len(current) > MAX_VALUE_CHARS:
            raise VariableError(f"substituted value longer than {MAX_VALUE_CHARS} characters")
    else:
        raise VariableError(f"variables nest more than {MAX_PASSES} levels")
    if isinstance(current, str) and "\\{{" in current:
        current = current.replace("\\{{", "{{")
    return current


def variables_in(value: Any) -> list[str]:
    """Every variable expression in a structure (for load-time checks)."""
    found: list[str] = []

    def visit(v: Any) -> None:
        if isinstance(v, str):
            if "{{" in v:
                found.extend(m.group(1).strip() for m in VARIABLE.finditer(v))
        elif isinstance(v, dict):
            for item in v.values():
                visit(item)
        elif isinstance(v, list):
            for item in v:
                visit(item)

    visit(value)
    return found


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """`request.operation` = value, creating maps on the way (CLI values files).

    Maps along the path are copied before they change, so a value never
    writes into the resource or into a context shared with other rules.
    """
    parts = _split_dotted(dotted)
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value


def _split_dotted(dotted: str) -> list[str]:
    parts: list[str] = []
    buf = ""
    quoted = False
    for ch in dotted:
        if ch == '"':
            quoted = not quoted
            continue
        if ch == "." and not quoted:
            parts.append(buf)
            buf = ""
            continue
        buf += ch
    parts.append(buf)
    return parts
