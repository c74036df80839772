"""Gates by name: the pipeline runs every one the profile enables.

Each entry names a factory `create(profile, root) -> Gate`. Adding a gate is
one module with such a factory plus one line here (and, when the gate reads a
`gates.<name>` section of gate.yaml, its schema in `scanner.profile_schema`).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import cast

from scanner.gates.base import Gate, GateFactory
from scanner.profile import Profile

#: name -> "module:factory"; results are reported in this order.
GATE_FACTORIES: dict[str, str] = {
    "manifest": "scanner.gates.manifest:create",
    "signature": "scanner.gates.signature:create",
}


def gate_factory(name: str) -> GateFactory:
    module_name, _, attribute = GATE_FACTORIES[name].partition(":")
    return cast(GateFactory, getattr(importlib.import_module(module_name), attribute))


def create_gates(profile: Profile, root: Path) -> list[Gate]:
    """Every gate the profile enables, made (and its policies compiled) in registry order."""
    return [gate_factory(name)(profile, root) for name in GATE_FACTORIES if profile.gate_enabled(name)]
