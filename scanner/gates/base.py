"""The gate seam: what every gate takes and returns.

A gate is made once per run by a factory registered in
`scanner.gates.registry` (making it compiles whatever it needs, so a broken
policy stops the run before inputs are read), then `run` over one
`GateContext`. It returns raw results; the pipeline turns them into findings
through the one finding factory and the catalogue in the context, applies the
profile and builds the verdict. A gate that waits on the network says so with
`concurrent = True` and the pipeline runs it beside the gates that compute.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

from scanner.catalog import Catalog
from scanner.engines.base import AdmissionRequest, ProgressCallback, RawResult
from scanner.inputs.document import Document
from scanner.profile import Profile

#: (total, label) -> a context manager yielding `advance(n)`, for a progress bar.
ProgressFactory = Callable[[int, str], AbstractContextManager[ProgressCallback]]


@dataclass(frozen=True)
class GateContext:
    """Everything one gate run may read: the same for every gate of a run."""

    documents: Sequence[Document]
    profile: Profile  # already for the environment (`Profile.for_environment`)
    catalog: Catalog
    root: Path
    today: dt.date
    targets: tuple[str, ...] = ()
    admission: AdmissionRequest | None = None  # set by the webhook
    progress: ProgressFactory | None = None
    # False when the documents are a slice of what the profile governs (one admitted object, the
    # units a pull request reaches): a waiver that matched nothing here may match elsewhere.
    whole_scope: bool = True

    @property
    def environment(self) -> str | None:
        return self.profile.environment


@dataclass
class GateRun:
    """What one gate found: raw results, how many things it checked, or why it did not run."""

    raw: list[RawResult] = field(default_factory=list)
    checked: int = 0
    skipped: str | None = None


class Gate(Protocol):
    """One gate. `run` reports engine and registry trouble as ERROR results, never raises for them."""

    @property
    def name(self) -> str: ...

    @property
    def concurrent(self) -> bool:
        """True when the gate mostly waits (registries, scanners): run it beside the others."""
        ...

    def run(self, context: GateContext) -> GateRun: ...


class GateFactory(Protocol):
    def __call__(self, profile: Profile, root: Path) -> Gate: ...


def resource_documents(documents: Sequence[Document]) -> list[Document]:
    """The documents that are Kubernetes resources (what policies evaluate)."""
    return [d for d in documents if d.is_resource]
