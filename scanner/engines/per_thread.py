"""One object per thread and key, for objects bound to the thread that made them.

regorus engines panic (pyo3's `PanicException`, a `BaseException`) when used
from a thread other than their creator's. Compiled policies therefore keep
their checked sources and build an engine per thread on first use, which
costs milliseconds; evaluation never shares or mutates an engine across threads.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PerThread(Generic[K, V]):
    """`get(key)` returns this thread's object for `key`, calling `build(key)` the first time."""

    def __init__(self, build: Callable[[K], V]) -> None:
        self._build = build
        self._local = threading.local()

    def get(self, key: K) -> V:
        cache: dict[K, V] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        if key not in cache:
            cache[key] = self._build(key)
        return cache[key]


def reraise_interrupts(exc: BaseException) -> None:
    """Ctrl-C and interpreter exit pass through; any other failure (a pyo3 panic too) is the caller's to report."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc
