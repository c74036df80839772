"""Policy engines by name, compiled from the profile.

Each entry names a factory `compile_for_profile(profile, root)` that returns a
compiled `PolicyEngine`, or None when the profile gives that engine nothing to
evaluate. Factories are imported only when called, so `cdgate --help` never
loads regorus or a Kyverno policy. Adding an engine is one module with such a
factory plus one line here.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable, Sequence, cast

from scanner.engines.base import PolicyEngine
from scanner.errors import PolicyError
from scanner.profile import Profile

EngineFactory = Callable[[Profile, Path], "PolicyEngine | None"]

#: name -> "module:function"; evaluation order is this order.
ENGINE_FACTORIES: dict[str, str] = {
    "rego": "scanner.engines.rego:compile_for_profile",
    "opa-server": "scanner.engines.opa_server:compile_for_profile",
    "kyverno": "scanner.engines.kyverno:compile_for_profile",
    "gatekeeper": "scanner.engines.gatekeeper.engine:compile_for_profile",
    "cel": "scanner.engines.cel.engine:compile_for_profile",
}


#: name -> whether the profile gives that engine anything to do: a cheap look at the
#: profile, so an engine it does not use is never imported (the Gatekeeper and
#: Kyverno packages alone take about 130 ms to import). The factory decides the rest.
ENGINE_CONFIGURED: dict[str, Callable[[Profile], bool]] = {
    "rego": lambda p: p.rego.engine != "opa-server" and (p.rego.bundled or bool(p.rego.policies)),
    "opa-server": lambda p: p.rego.engine == "opa-server",
    "kyverno": lambda p: p.kyverno.bundled or bool(p.kyverno.policies),
    "gatekeeper": lambda p: bool(p.gatekeeper.policies),
    "cel": lambda p: bool(p.cel.policies),
}


def engine_factory(name: str) -> EngineFactory:
    """The factory registered under `name`; KeyError for an unknown engine."""
    module_name, _, attribute = ENGINE_FACTORIES[name].partition(":")
    module = importlib.import_module(module_name)
    return cast(EngineFactory, getattr(module, attribute))


def compile_engines(profile: Profile, root: Path, names: Sequence[str] | None = None) -> list[PolicyEngine]:
    """Every engine the profile configures, compiled once, in registry order.

    Raises `PolicyError`/`ConfigError` for a policy that cannot be compiled,
    and for an engine the profile configures that collected no rule: a broken
    or empty policy set stops the run (exit 2) before any input is read.
    """
    engines: list[PolicyEngine] = []
    for name in names if names is not None else ENGINE_FACTORIES:
        configured = ENGINE_CONFIGURED.get(name)
        if configured is not None and not configured(profile):
            continue
        engine = engine_factory(name)(profile, root)
        if engine is None:
            continue
        if engine.policy_count == 0:
            raise PolicyError(
                f"the {name} policies in gate.yaml hold no rule to evaluate: nothing would be checked",
                path=str(profile.path) if profile.path else None,
                hint=f"point the {name} section of gate.yaml at files that define rules, or remove it",
            )
        engines.append(engine)
    return engines
