"""Run Rego evaluation in a forked worker that can be killed.

regorus has no evaluation limits: a policy that calls itself (`f(x) :=
f(x)`) overflows the stack and takes the whole process down with SIGSEGV,
and a comprehension over `numbers.range(1, 2e9)` allocates until the machine
gives out. A team policy is written by whoever opens the pull request, so
evaluation runs in a child process forked from the evaluating thread (it
inherits the compiled engines, so nothing is compiled twice) with an
address-space limit, a deadline per document and one per run. The child
streams each document's results back; when it dies or runs out of time the
parent kills it and the document it was on becomes an ERROR result, so the
run exits 2 instead of crashing or hanging.

Only POSIX `fork` is used; where it is missing, evaluation runs in process.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

#: Seconds one document may take, and one whole evaluation.
DOCUMENT_DEADLINE_S = 10.0
RUN_DEADLINE_S = 50.0
#: Address space the worker may add to what it inherits.
MEMORY_BUDGET_BYTES = 768 * 1024 * 1024

_HEADER = struct.Struct("!I")


@dataclass(frozen=True)
class Budget:
    """The bounds of one isolated evaluation."""

    document_deadline_s: float = DOCUMENT_DEADLINE_S
    run_deadline_s: float = RUN_DEADLINE_S
    memory_bytes: int = MEMORY_BUDGET_BYTES


@dataclass(frozen=True)
class Killed:
    """Why the worker stopped before it finished, and on which step."""

    step: Any  # what the worker said it was working on (None before the first step)
    reason: str


class Channel:
    """The worker's side: tell the parent which step starts, and send results."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def starting(self, step: Any) -> None:
        self._send(("step", step))

    def results(self, payload: Any) -> None:
        self._send(("results", payload))

    def _send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]


def can_isolate() -> bool:
    return hasattr(os, "fork")


def run_isolated(
    work: Callable[[Channel], None],
    on_results: Callable[[Any], None],
    budget: Budget = Budget(),
) -> Killed | None:
    """Run `work` in a forked worker; feed what it sends to `on_results`.

    Returns None when the worker finished, else how it was stopped. A step's
    deadline restarts each time the worker announces a new step.
    """
    return supervise(start_worker(work, budget), on_results, budget)


@dataclass(frozen=True)
class Worker:
    """A forked worker and the pipe it answers on."""

    pid: int
    fd: int


def start_worker(work: Callable[[Channel], None], budget: Budget = Budget()) -> Worker:
    """Fork a worker running `work` (call from the thread whose engines it should inherit)."""
    read_fd, write_fd = os.pipe()
    _install_quiet_hook()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        os.close(read_fd)
        _worker(work, write_fd, budget.memory_bytes)
    os.close(write_fd)
    return Worker(pid, read_fd)


def supervise(worker: Worker, on_results: Callable[[Any], None], budget: Budget = Budget()) -> Killed | None:
    """Feed what `worker` sends to `on_results` until it ends; None when it finished, else why it stopped.

    Safe to call from any thread: it only reads the pipe and waits for the child.
    """
    try:
        return _supervise(worker.pid, worker.fd, on_results, budget)
    finally:
        os.close(worker.fd)
        _reap(worker.pid)


def _install_quiet_hook() -> None:
    """Install, once, an unraisable hook that keeps quiet about regorus engines dropped on a foreign thread.

    In a fresh child Python frees the other threads' state, engines included;
    pyo3 refuses to drop an engine on a thread other than its creator's and
    reports it as an unraisable error. That is expected (the engine is leaked
    until the process exits), so it is not printed; anything else goes to the
    hook that was there before. Installed once rather than swapped around each
    fork, so threads forking at once cannot leave the wrong hook behind.
    """
    current = sys.unraisablehook
    if getattr(current, "_cdgate_quiet", False):
        return

    def quiet(unraisable: Any) -> None:
        if "unsendable" in str(getattr(unraisable, "exc_value", "")):
            return
        current(unraisable)

    quiet._cdgate_quiet = True  # type: ignore[attr-defined]
    sys.unraisablehook = quiet


def _worker(work: Callable[[Channel], None], fd: int, memory_bytes: int) -> None:
    status = 0
    try:
        _silence_stderr()  # a Rust panic or abort message is not for the user's terminal
        import faulthandler

        faulthandler.disable()  # a crash here is reported by the parent, not dumped on a shared stream
        _limit_memory(memory_bytes)
        work(Channel(fd))
    except BaseException:  # noqa: BLE001 - the parent reports the missing end
        status = 70
    finally:
        os._exit(status)


def _supervise(pid: int, fd: int, on_results: Callable[[Any], None], budget: Budget) -> Killed | None:
    run_end = time.monotonic() + budget.run_deadline_s
    step_end = time.monotonic() + budget.document_deadline_s
    step: Any = None
    for message in _messages(fd, lambda: min(run_end, step_end)):
        if isinstance(message, Killed):
            os.kill(pid, signal.SIGKILL)
            limit = budget.run_deadline_s if run_end <= step_end else budget.document_deadline_s
            reason = message.reason if message.reason != "timeout" else f"did not finish within {limit:.0f} s"
            return Killed(step, reason)
        kind, payload = message
        if kind == "step":
            step, step_end = payload, time.monotonic() + budget.document_deadline_s
        else:
            on_results(payload)
    status = _reap(pid)
    if status is None or (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        return None
    return Killed(step, _describe_exit(status))


def _messages(fd: int, deadline: Callable[[], float]) -> Iterator[Any]:
    """Messages from the worker until it closes the pipe; a `Killed` on timeout."""
    buffer = bytearray()
    while True:
        remaining = deadline() - time.monotonic()
        if remaining <= 0:
            yield Killed(None, "timeout")
            return
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buffer)
            if len(buffer) < _HEADER.size + size:
                break
            yield pickle.loads(bytes(buffer[_HEADER.size : _HEADER.size + size]))
            del buffer[: _HEADER.size + size]


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        if number in (signal.SIGSEGV, signal.SIGBUS):
            return f"crashed ({name}): most likely unbounded recursion"
        if number == signal.SIGABRT:
            return f"aborted ({name}): most likely out of memory or unbounded recursion"
        return f"was killed ({name})"
    return f"failed (exit status {os.WEXITSTATUS(status)}), most likely out of memory"


def _reap(pid: int) -> int | None:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return status


def _silence_stderr() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _limit_memory(extra_bytes: int) -> None:
    """Cap the address space at what the worker has now plus `extra_bytes`."""
    current = _address_space_bytes()
    if current is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra_bytes
    for cap in (soft, hard):
        if cap != resource.RLIM_INFINITY:
            limit = min(limit, cap)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def map_isolated(
    items: list[Any],
    func: Callable[[Any], Any],
    on_killed: Callable[[Any, Killed], Any],
    budget: Budget = Budget(),
) -> list[Any]:
    """`[func(item) for item in items]` in killable workers.

    An item whose call crashes or overruns the step deadline becomes
    `on_killed(item, killed)`, and a fresh worker carries on with the rest.
    """
    results: dict[int, Any] = {}
    start = 0
    while start < len(items):
        first = start

        def work(channel: Channel) -> None:
            for index in range(first, len(items)):
                channel.starting(index)
                channel.results((index, func(items[index])))

        def collect(payload: tuple[int, Any]) -> None:
            results[payload[0]] = payload[1]

        killed = run_isolated(work, collect, budget)
        if killed is None:
            break
        failed = killed.step if isinstance(killed.step, int) else first
        results[failed] = on_killed(items[failed], killed)
        start = failed + 1
    return [results[i] for i in sorted(results)]
