"""The shared signature cache: TTLs, short-lived failures, coalesced lookups, bounded size."""

from __future__ import annotations

import threading

import pytest

from scanner.gates.signature import ImageVerdict
from scanner.webhook.settings import SignatureCacheSettings
from scanner.webhook.sigcache import SignatureCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(ttl=300.0, failure_ttl=10.0, max_entries=100):
    clock, events = Clock(), []
    cache = SignatureCache(SignatureCacheSettings(ttl, failure_ttl, max_entries), clock=clock,
                           listener=lambda event, verdict: events.append(event))
    return cache, clock, events


def test_verified_result_is_kept_for_the_ttl_then_asked_again():
    cache, clock, events = make()
    calls = []

    def verify():
        calls.append(1)
        return ImageVerdict("sha256:1", signed_by=["release"])

    assert cache.get_or_compute(("r", "sha256:1"), verify).signed_by == ["release"]
    clock.now += 299
    cache.get_or_compute(("r", "sha256:1"), verify)
    clock.now += 2
    cache.get_or_compute(("r", "sha256:1"), verify)
    assert len(calls) == 2
    assert events == ["miss", "hit", "miss"]


def test_registry_errors_are_kept_only_for_the_failure_ttl():
    cache, clock, events = make(failure_ttl=10)
    outcomes = iter([ImageVerdict("sha256:2", error="registry down"), ImageVerdict("sha256:2")])
    assert cache.get_or_compute("k", lambda: next(outcomes)).error == "registry down"
    clock.now += 5
    assert cache.get_or_compute("k", lambda: next(outcomes)).error == "registry down"
    clock.now += 6
    assert cache.get_or_compute("k", lambda: next(outcomes)).error is None
    assert events == ["miss", "hit", "miss"]


def test_concurrent_lookups_of_one_digest_make_one_registry_call():
    cache, _clock, events = make()
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_verify():
        calls.append(threading.current_thread().name)
        started.set()
        assert release.wait(30)
        return ImageVerdict("sha256:3", signed_by=["release"])

    results: list[ImageVerdict] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow_verify))) for _ in range(6)]
    threads[0].start()
    assert started.wait(30)
    for thread in threads[1:]:
        thread.start()
    waiting = cache._pending["k"]  # the owner's lookup is in progress while the others arrive
    assert not waiting.done()
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 1
    assert len(results) == 6 and all(r is results[0] for r in results)
    # Each waiter either joined the lookup in flight or, arriving after it ended, read the cache.
    assert events.count("miss") == 1 and set(events) <= {"miss", "coalesced", "hit"} and len(events) == 6


def test_a_failing_lookup_is_not_cached_and_its_waiters_see_the_error():
    cache, _clock, _events = make()

    def broken():
        raise RuntimeError("condition policy crashed")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", broken)
    assert cache.get_or_compute("k", lambda: ImageVerdict("sha256:4")).digest == "sha256:4"


def test_size_is_bounded_expired_first_then_oldest():
    cache, clock, _events = make(max_entries=2)
    cache.get_or_compute("a", lambda: ImageVerdict("a"))
    clock.now += 1
    cache.get_or_compute("b", lambda: ImageVerdict("b"))
    cache.get_or_compute("c", lambda: ImageVerdict("c"))
    assert len(cache) == 2
    fresh = []
    cache.get_or_compute("a", lambda: fresh.append(1) or ImageVerdict("a"))
    assert fresh == [1]  # "a" was the oldest and was dropped
