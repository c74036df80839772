"""Image verifications shared across admission requests: by digest, with a TTL, coalesced.

`cdgate check` verifies each (repository, digest) once per run. The webhook
answers thousands of requests for the same few images, so it keeps each
verification for `ttl_s` (a registry error only for `failure_ttl_s`, so a
registry that comes back is asked again soon), and when several requests
need the same digest at once, one of them asks the registry and the others
wait for its answer. Requests that need no lookup never touch this lock for
longer than a dictionary read, so a slow registry stalls only the requests
that need it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Hashable

from scanner.gates.signature import ImageVerdict, SignatureChecker, SignatureSettings
from scanner.webhook.settings import SignatureCacheSettings

HIT, MISS, COALESCED = "hit", "miss", "coalesced"

#: Called with (event, verdict) after every lookup: event is hit, miss or coalesced.
CacheListener = Callable[[str, ImageVerdict], None]


class SignatureCache:
    """Verdicts by key with expiry; at most one computation per key at a time."""

    def __init__(
        self,
        settings: SignatureCacheSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: CacheListener | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._listener = listener
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[ImageVerdict, float]] = {}
        self._pending: dict[Hashable, Future[ImageVerdict]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(self, key: Hashable, compute: Callable[[], ImageVerdict]) -> ImageVerdict:
        """The cached verdict for `key`, or `compute()`'s, computed once however many threads ask."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > self._clock():
                self._tell(HIT, entry[0])
                return entry[0]
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not owner:
            verdict = pending.result()  # the owner's registry calls carry their own deadline
            self._tell(COALESCED, verdict)
            return verdict
        try:
            verdict = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        ttl = self.settings.failure_ttl_s if verdict.error is not None else self.settings.ttl_s
        with self._lock:
            del self._pending[key]
            if ttl > 0:
                self._entries[key] = (verdict, self._clock() + ttl)
                self._evict()
        pending.set_result(verdict)
        self._tell(MISS, verdict)
        return verdict

    def _evict(self) -> None:
        """Drop expired entries, then the oldest, down to `max_entries` (lock held)."""
        if len(self._entries) <= self.settings.max_entries:
            return
        now = self._clock()
        for key in [k for k, (_, expires) in self._entries.items() if expires <= now]:
            del self._entries[key]
        while len(self._entries) > self.settings.max_entries:
            del self._entries[next(iter(self._entries))]

    def _tell(self, event: str, verdict: ImageVerdict) -> None:
        if self._listener is not None:
            self._listener(event, verdict)


class CachingSignatureChecker(SignatureChecker):
    """The signature gate's checker, with verifications read from and kept in a shared cache."""

    def __init__(self, settings: SignatureSettings, cache: SignatureCache) -> None:
        super().__init__(settings)
        self.cache = cache

    def verify(self, reference: Any, digest: str) -> ImageVerdict:
        return self.cache.get_or_compute((reference.repository_name, digest), lambda: self._verify(reference, digest))


def caching_checker_factory(cache: SignatureCache) -> Callable[[SignatureSettings], SignatureChecker]:
    """A `checker_factory` for `SignatureGate` that shares `cache` between runs."""
    return lambda settings: CachingSignatureChecker(settings, cache)
