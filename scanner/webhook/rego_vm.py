"""Rego for one object at a time on regorus's compiled VM, the interpreter as fallback.

The webhook evaluates the same policies as CI, one object per request, and
the tree-walking interpreter is most of a review's time. regorus also
compiles the same modules into a program for its VM (`Program`/`Rvm`),
which answers the document collector about three times faster. A VM is bound
to its thread like an engine, so each thread compiles its own (tens of
milliseconds, once). Whenever the VM cannot compile the policies, or fails
on one object, that object goes through the interpreter exactly as in CI,
so the answer never depends on which path ran; `test_ci_parity` compares the
two over the example repository.

Cross-resource packages are not carried over: the webhook leaves them to CI
(see `scanner.webhook.gates`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from scanner.engines.per_thread import PerThread, reraise_interrupts
from scanner.engines.rego import COLLECTOR_PACKAGE, RegoPolicySet
from scanner.engines.base import RawResult
from scanner.inputs.document import Document
from scanner.merging import deep_merge
from scanner.webhook.jsonlog import logger


@dataclass
class _Evaluators:
    """This thread's VM (None when the policies do not compile for it) and the environment, for the interpreter."""

    vm: Any | None
    environment: str | None


class VmRegoPolicySet(RegoPolicySet):
    """A `RegoPolicySet` over document packages only, evaluated on the VM where it can be."""

    def __init__(self, compiled: RegoPolicySet) -> None:
        super().__init__(compiled.sources, compiled.document_packages, [], compiled.base_data, compiled.environment)
        # Keep the compiled set, and with it the engine it parsed with on this thread, for as long as this
        # one lives: left to the cycle collector it could be dropped on another thread, which regorus forbids.
        self._compiled = compiled
        self._vms: PerThread[str | None, Any | None] = PerThread(self._build_vm)
        self._vm_problem_logged = threading.Event()
        self.vm_fallbacks = 0  # objects the interpreter had to answer
        self._package_names = {p.name for p in self.document_packages}

    def engine_for(self, environment: str | None) -> Any:
        # The interpreter's engine is built only when an object needs it (see _evaluate_document).
        return _Evaluators(self._vms.get(environment), environment)

    def _build_vm(self, environment: str | None) -> Any | None:
        import regorus  # type: ignore[import-untyped]

        data = json.dumps(deep_merge(self.base_data, {"cdgate_context": {"environment": environment}}), default=str)
        try:
            program = regorus.Program.compile_from_modules(data, list(self.sources.items()), [self._query])
            vm = regorus.Rvm()
            vm.load_program(program)
            vm.set_data_json(data)
        except BaseException as exc:  # a construct the VM does not compile: the interpreter answers
            reraise_interrupts(exc)
            if not self._vm_problem_logged.is_set():
                self._vm_problem_logged.set()
                logger().warning("Rego VM unavailable; using the interpreter", extra={"fields": {"error": str(exc)[:500]}})
            return None
        return vm

    @property
    def _query(self) -> str:
        return f"data.{COLLECTOR_PACKAGE}.results"

    def _evaluate_document(self, engine: Any, doc: Document) -> list[RawResult]:
        evaluators: _Evaluators = engine
        if evaluators.vm is not None:
            try:
                evaluators.vm.set_input_json(json.dumps(doc.obj, default=str))
                collected = json.loads(evaluators.vm.execute())
            except BaseException as exc:
                reraise_interrupts(exc)
            else:
                # Every package must answer; anything less goes to the interpreter rather than passing by omission.
                if isinstance(collected, dict) and set(collected) == self._package_names:
                    return self._to_results(collected, self.document_packages, lambda _item: doc)
        self.vm_fallbacks += 1
        return super()._evaluate_document(super().engine_for(evaluators.environment), doc)
