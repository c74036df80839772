"""CEL expressions compiled once and evaluated under a cost budget.

`compile_expression` type-checks an expression in the environment of its
policy kind (the variables that kind exposes, the Kubernetes libraries, and
for Kyverno its data libraries) and raises `CelCompileError` naming the
expression and the line and column of the problem. `Program.evaluate`
returns a Python value or raises `CelEvaluationError`; it never hangs:
before running, the expression's worst case (its comprehension nesting
over the largest list in the data) is checked against the budget, the way
Kubernetes rejects an expression whose estimated cost exceeds its limit.
The estimate counts each token once per iteration of every comprehension
around it, over the largest list or map in the data or in the expression's
own list literals (lists that functions like `split` build are not bounded).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import Any

from scanner.engines.cel.library import LIBRARY_VARIABLES

# Kubernetes' per-expression runtime cost limit (PerCallLimit).
DEFAULT_COST_LIMIT = 1_000_000

KUBERNETES_VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject", "variables", "authorizer")
KYVERNO_VARIABLES = KUBERNETES_VARIABLES + LIBRARY_VARIABLES
GATEKEEPER_VARIABLES = KUBERNETES_VARIABLES + ("anyObject",)

_POSITION = re.compile(r"<input>:(\d+):(\d+): ([^\n]*)")
_MACROS = re.compile(r"\.\s*(all|exists|exists_one|map|filter|transformList|transformMap|all_of)\s*\(")


class CelCompileError(Exception):
    """An expression that does not parse or type-check."""

    def __init__(self, expression: str, message: str, line: int | None = None, column: int | None = None) -> None:
        self.expression = expression
        self.problem = message
        self.line = line
        self.column = column
        where = f" at {line}:{column}" if line is not None else ""
        super().__init__(f"CEL expression {_short(expression)!r}{where}: {message}")


class CelEvaluationError(Exception):
    """An expression that failed while running: a missing key, a type error, a budget overrun."""


class CelBudgetError(CelEvaluationError):
    """The expression's worst-case cost on this data exceeds its budget."""


def _short(expression: str, limit: int = 120) -> str:
    flat = " ".join(expression.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


_ENV_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def environment(variables: tuple[str, ...]) -> Any:
    """A cel-expr-python `Env` declaring `variables` (all dynamically typed) and the libraries."""
    from cel_expr_python import cel  # type: ignore[import-untyped]
    from cel_expr_python.ext import (  # type: ignore[import-untyped]
        ext_bindings, ext_encoders, ext_math, ext_optional, ext_strings,
    )

    from scanner.engines.cel.library import declarations

    with _ENV_LOCK:
        return cel.NewEnv(
            variables={name: cel.Type.DYN for name in variables},
            extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional(), ext_math.ExtMath(),
                        ext_encoders.ExtEncoders(), ext_bindings.ExtBindings(), cel.CelExtension("cdgate.kubernetes", declarations())],
        )


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|''|[^\sA-Za-z0-9_]")


def tokens_by_depth(expression: str) -> tuple[int, ...]:
    """How many tokens sit at each comprehension nesting depth (index 0: outside any macro).

    String literals count as one token and are never read as macros.
    """
    stripped = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", expression)
    counts: list[int] = [0]
    depth = 0
    stack: list[bool] = []
    index = 0
    while index < len(stripped):
        match = _MACROS.match(stripped, index)
        if match:
            stack.append(True)
            depth += 1
            if len(counts) <= depth:
                counts.append(0)
            counts[depth] += 1
            index = match.end()
            continue
        token = _TOKEN.match(stripped, index)
        if token is None:
            index += 1
            continue
        text = token.group(0)
        if text in "([{":
            stack.append(False)
        elif text in ")]}" and stack and stack.pop():
            depth -= 1
        counts[depth] += 1
        index = token.end()
    return tuple(counts)


def largest_literal_list(expression: str) -> int:
    """Elements in the longest list literal of `expression` (a comprehension may iterate it)."""
    stripped = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", expression)
    largest = 0
    stack: list[list[int]] = []  # per open bracket: [is_list, element count]
    for char in stripped:
        if char in "([{":
            stack.append([1 if char == "[" else 0, 1])
        elif char in ")]}" and stack:
            is_list, count = stack.pop()
            if is_list:
                largest = max(largest, count)
        elif char == "," and stack:
            stack[-1][1] += 1
    return largest


def largest_collection(value: Any, limit: int = 1_000_000) -> int:
    """The size of the largest list or map anywhere in `value` (walks at most `limit` nodes)."""
    largest = 0
    stack = [value]
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            largest = max(largest, len(node))
            stack.extend(item for item in node.values() if isinstance(item, (dict, list)))
        elif isinstance(node, list):
            largest = max(largest, len(node))
            stack.extend(item for item in node if isinstance(item, (dict, list)))
    return largest if seen < limit else limit


@dataclass(frozen=True)
class Program:
    """One compiled expression with what its cost estimate needs."""

    source: str
    compiled: Any
    depth_tokens: tuple[int, ...]  # tokens per comprehension depth
    literal_list: int = 0  # elements of the longest list literal

    @property
    def depth(self) -> int:
        return len(self.depth_tokens) - 1

    def estimated_cost(self, largest: int) -> int:
        """Worst case: each token runs once per iteration of every comprehension around it."""
        return sum(count * (largest + 1) ** depth for depth, count in enumerate(self.depth_tokens))

    def evaluate(self, activation: Any, largest: int, cost_limit: int = DEFAULT_COST_LIMIT) -> Any:
        """The expression's value as plain Python data; raises CelEvaluationError."""
        largest = max(largest, self.literal_list)
        cost = self.estimated_cost(largest)
        if cost > cost_limit:
            raise CelBudgetError(
                f"estimated cost {cost:,} exceeds the budget of {cost_limit:,} "
                f"({self.depth} nested comprehensions over lists of up to {largest} items)"
            )
        try:
            result = self.compiled.eval(activation)
            kind = result.type().name()
            if kind == "ERROR":
                raise CelEvaluationError(_clean(str(result.plain_value())))
            return result.plain_value()
        except CelEvaluationError:
            raise
        except Exception as exc:  # noqa: BLE001 - any runtime fault of the library is an evaluation error
            raise CelEvaluationError(_clean(str(exc))) from None


def _clean(message: str) -> str:
    text = re.sub(r"^[A-Z_]+: ", "", message.strip())
    return text.replace(" [INVALID_ARGUMENT]", "").replace(" [UNKNOWN]", "")


_OR_VALUE = re.compile(r"\.\s*orValue\s*\(")


def _receiver_start(text: str, end: int) -> int:
    """Where the postfix chain (names, `.field`, `[index]`, `(args)`) that ends at `end` starts."""
    index = end
    while index > 0:
        char = text[index - 1]
        if char in ")]":
            opener = "(" if char == ")" else "["
            depth = 0
            while index > 0:
                index -= 1
                if text[index] == char:
                    depth += 1
                elif text[index] == opener:
                    depth -= 1
                    if depth == 0:
                        break
            continue
        if char.isalnum() or char in "_.":
            index -= 1
            continue
        break
    return index


def cel_go_compatible(expression: str) -> str:
    """`x.orValue(d)` where `x` is plain data (not optional) becomes `optional.of(x).orValue(d)`.

    cel-go, which Kubernetes and Kyverno use, passes a value that is not
    optional through `orValue` unchanged, and policies rely on it
    (`container.volumeMounts.orValue([])`); cel-cpp reports no overload.
    Receivers that may really be optional (a `?.`/`[?]` chain, an
    `optional.*` call, a `variables.` entry) are left alone; the library's own
    functions never return optionals. String literals are never touched.
    """
    if "orValue" not in expression:
        return expression
    literals = list(re.finditer(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", expression))

    def in_literal(position: int) -> bool:
        return any(m.start() <= position < m.end() for m in literals)

    out = expression
    for match in reversed(list(_OR_VALUE.finditer(expression))):
        if in_literal(match.start()):
            continue
        start = _receiver_start(expression, match.start())
        receiver = expression[start:match.start()]
        if start > 0 and expression[start - 1] == "?":
            continue  # `a.?b.orValue(...)`: the chain is optional
        if (not receiver or "?" in receiver or "optional." in receiver or receiver.startswith("variables.")
                or not (receiver[0].isalpha() or receiver[0] == "_")):
            continue
        out = out[:start] + f"optional.of({receiver})" + out[match.start():]
    return out


def compile_expression(expression: str, variables: tuple[str, ...] = KUBERNETES_VARIABLES) -> Program:
    """Parse and type-check `expression`; raises CelCompileError with line and column."""
    if not isinstance(expression, str) or not expression.strip():
        raise CelCompileError(str(expression), "the expression is empty")
    env = environment(variables)
    compatible = cel_go_compatible(expression)
    try:
        compiled = env.compile(compatible)
    except Exception as exc:  # noqa: BLE001 - cel-cpp raises RuntimeError with the checker's text
        text = str(exc)
        if compatible != expression:  # report positions in the text the user wrote
            try:
                env.compile(expression)
            except Exception as original:  # noqa: BLE001
                text = str(original)
        match = _POSITION.search(text)
        if match:
            raise CelCompileError(expression, match.group(3).strip(), int(match.group(1)), int(match.group(2))) from None
        raise CelCompileError(expression, _clean(text)) from None
    return Program(expression, compiled, tokens_by_depth(expression), largest_literal_list(expression))


def activation(data: dict[str, Any], variables: tuple[str, ...] = KUBERNETES_VARIABLES) -> Any:
    """A cel-expr-python activation over `data` (plain JSON-like values)."""
    return environment(variables).Activation(data)
