"""Rule context: values from test files and `context` entries (`variable`, `configMap`).

Entries load in order, each able to read the ones before it. A name the
test values already set is not loaded again (that is how `kyverno test`
stands in for cluster lookups). `globalReference` reads the test file's
`globalContextEntries`; other sources that need a live cluster (`apiCall`,
`imageRegistry`) are errors offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scanner.engines.kyverno.budget import Budget
from scanner.engines.kyverno.variables import VariableError, query, set_path, substitute

if TYPE_CHECKING:
    from scanner.engines.cel.external import ExternalData
    from scanner.engines.kyverno.evaluate import EvalInputs


class RuleFailure(Exception):
    """Stops a rule with an error status and a message."""


def apply_values(data: dict[str, Any], values: dict[str, Any]) -> None:
    for name, value in values.items():
        set_path(data, name, value)


def load_context(entries: list[dict[str, Any]], data: dict[str, Any], inputs: EvalInputs,
                  provided: set[str], budget: Budget) -> None:
    for entry in entries:
        name = str(entry.get("name") or "")
        if name in provided:
            continue
        try:
            if "variable" in entry:
                data_value = _variable_entry(entry["variable"] or {}, data, budget)
            elif "configMap" in entry:
                data_value = _config_map_entry(entry["configMap"] or {}, data, inputs, budget)
            elif "globalReference" in entry and inputs.cel_data is not None:
                data_value = _global_reference(entry["globalReference"] or {}, data, inputs.cel_data, budget)
            else:
                source = next((k for k in ("apiCall", "imageRegistry", "globalReference") if k in entry), "unknown")
                raise RuleFailure(f"context entry {name!r}: {source} cannot be resolved offline; give its value in the test values")
        except VariableError as exc:
            raise RuleFailure(f"failed to load context entry {name!r}: {exc}") from None
        set_path(data, name, data_value)


def _variable_entry(spec: dict[str, Any], data: dict[str, Any], budget: Budget) -> Any:
    default = spec.get("default")
    jmes = spec.get("jmesPath")
    try:
        if spec.get("value") is not None:
            value = substitute(spec["value"], data, budget=budget)
            if jmes:
                value = query(str(substitute(jmes, data, budget=budget)), value, budget)
        elif jmes:
            value = query(str(substitute(jmes, data, budget=budget)), data, budget)
        else:
            raise VariableError("a variable context entry needs value or jmesPath")
    except VariableError:
        if default is not None:
            return substitute(default, data, budget=budget)
        raise
    if value is None and default is not None:
        return substitute(default, data, budget=budget)
    return value


def _global_reference(spec: dict[str, Any], data: dict[str, Any], given: ExternalData, budget: Budget) -> Any:
    """A `globalReference` entry from the test file's `globalContextEntries`, with its jmesPath."""
    from scanner.engines.cel.values import CelValueError

    name = str(substitute(spec.get("name"), data, budget=budget))
    try:
        value = given.global_entry(name, "")
    except CelValueError as exc:
        raise RuleFailure(str(exc)) from None
    jmes = spec.get("jmesPath")
    return query(str(substitute(jmes, data, budget=budget)), value, budget) if jmes else value


def _config_map_entry(spec: dict[str, Any], data: dict[str, Any], inputs: EvalInputs, budget: Budget) -> Any:
    name = substitute(spec.get("name"), data, budget=budget)
    namespace = substitute(spec.get("namespace") or "default", data, budget=budget)
    found = inputs.config_maps.get((str(namespace), str(name)))
    if found is None:
        raise RuleFailure(f"failed to get configmap {namespace}/{name}: not found")
    return found


