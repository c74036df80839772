"""Rego conditions on attestation predicates ("no CRITICAL vulnerabilities").

A condition is Rego text in package `cdgate.attestation` with a `deny` rule
(a partial set of messages) evaluated with `input` = the predicate. A
non-empty `deny` means the attestation does not satisfy the profile. The
signature gate gives it `data.cdgate.policy_bundle_digest` and
`data.cdgate.profile_digest` (`sha256:<hex>`), the ones in force, so a
gate-verdict condition can require the bundle the build gate ran. A
condition that does not compile or evaluate fails closed (PolicyError /
EngineError, exit 2), never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from scanner.engines.per_thread import PerThread, reraise_interrupts
from scanner.errors import EngineError, PolicyError

CONDITION_PACKAGE = "cdgate.attestation"
CONDITION_RULE = f"data.{CONDITION_PACKAGE}.deny"


def _short(exc: BaseException) -> str:
    """regorus errors carry a Rust backtrace; keep only the message a person reads."""
    text = str(exc).split("Stack backtrace:")[0].strip()
    return text or type(exc).__name__


@dataclass
class Condition:
    """One compiled condition; reuse it for every predicate of a run."""

    text: str
    origin: str  # where it came from, for messages ("gate.yaml attestations[0]")
    data: dict[str, Any] | None = None  # `data` the condition may read (the policy bundle digest in force)

    def __post_init__(self) -> None:
        if f"package {CONDITION_PACKAGE}" not in self.text:
            raise PolicyError(
                f"attestation condition must be in package {CONDITION_PACKAGE}",
                path=self.origin,
                hint="start it with `package cdgate.attestation` and define `deny contains msg if {...}`",
            )
        self._engines: PerThread[None, Any] = PerThread(
            partial(_build_engine, self.origin, self.text, self.data)  # holds no `self`: no reference cycle
        )
        try:
            self._engines.get(None)  # parse now: a broken condition is a profile error
        except Exception as exc:  # regorus raises RuntimeError subclasses with the parse error
            raise PolicyError(f"attestation condition does not compile: {_short(exc)}", path=self.origin) from None

    def deny(self, predicate: Any) -> list[str]:
        """Messages of `deny` for this predicate (empty: the condition holds)."""
        try:
            engine = self._engines.get(None)
            engine.set_input(predicate if predicate is not None else {})
            result = engine.eval_rule(CONDITION_RULE)
        except BaseException as exc:  # pyo3's PanicException is a BaseException
            reraise_interrupts(exc)
            raise EngineError(f"attestation condition failed to evaluate: {_short(exc)}", path=self.origin) from None
        if result is None:
            return []
        if isinstance(result, (set, list, tuple, frozenset)):
            return sorted(str(m if not isinstance(m, dict) else m.get("msg", m)) for m in result)
        raise EngineError(f"attestation condition's deny is {type(result).__name__}, not a set of messages", path=self.origin)


def _build_engine(origin: str, text: str, data: dict[str, Any] | None, _key: None) -> Any:
    import regorus

    engine = regorus.Engine()
    engine.add_policy(f"{origin}.rego", text)
    if data:
        engine.add_data(data)
    return engine
