"""Run `python -m scanner` on a hostile input under a wall-clock and memory bound.

Each hostile case runs the real CLI in a subprocess: `RLIMIT_AS` caps its
address space (set in the child before exec), a wall-clock deadline kills
its whole process group, and the resident peak reported by `wait4` (cdgate
and the workers it reaped) must stay under the same bound. Exceeding any of
them fails the test; the bounds are generous on purpose, the point is that
they exist. `assert_contained` then
checks what a hostile input must never produce: an unexpected exit code, a
Python traceback, a Go stack, or a planted secret in stdout, stderr or any
report written.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]
WALL_CLOCK_S = 60.0
MEMORY_BYTES = 1 << 30  # 1 GiB of address space
# Planted in fixtures (files outside the root, environment variables); must never be printed.
SECRET = "s3cr3t-CANARY-7f3a9c"


@dataclass
class Run:
    """What one bounded run produced."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    reports: dict[str, str]
    peak_bytes: int = 0  # resident peak of cdgate and the workers it waited for

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _limit_child(memory_bytes: int) -> None:
    """Runs in the child before exec: cap its address space, start a process group."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def run_bounded(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    report_dir: Path | None = None,
    wall_clock_s: float = WALL_CLOCK_S,
    memory_bytes: int = MEMORY_BYTES,
) -> Run:
    """Run `python -m scanner ARGS`; fail the test when a bound is exceeded.

    `check` runs with `--root .` (the working directory, the fixture's repository)
    unless the case names a root: the cases place files outside that folder, and
    their messages name paths relative to it.
    """
    import pytest

    if args and args[0] == "check" and "--root" not in args:
        args = (*args, "--root", ".")

    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("CDGATE_DEBUG", None)
    if env is None or "GITHUB_STEP_SUMMARY" not in env:
        full_env.pop("GITHUB_STEP_SUMMARY", None)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: _limit_child(memory_bytes),
    )
    streams = {"stdout": b"", "stderr": b""}
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, streams, "stdout"), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, streams, "stderr"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    status, usage = _wait(process.pid, started + wall_clock_s)
    if status is None:
        os.killpg(process.pid, signal.SIGKILL)
        os.wait4(process.pid, 0)
        pytest.fail(f"cdgate {' '.join(args)} ran longer than {wall_clock_s:.0f} s and was killed")
    for reader in readers:
        reader.join(timeout=10)
    process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss * 1024  # kilobytes on Linux: the largest of cdgate and the children it waited for
    if peak > memory_bytes:
        pytest.fail(f"cdgate {' '.join(args)} used {peak >> 20} MiB resident, over the {memory_bytes >> 20} MiB bound")
    seconds = time.monotonic() - started
    reports: dict[str, str] = {}
    if report_dir is not None and report_dir.is_dir():
        for path in sorted(report_dir.iterdir()):
            if path.is_file():
                reports[path.name] = path.read_text(encoding="utf-8", errors="replace")
    return Run(
        tuple(args),
        process.returncode,
        streams["stdout"].decode("utf-8", "replace"),
        streams["stderr"].decode("utf-8", "replace"),
        seconds,
        reports,
        peak,
    )


def _drain(stream: IO[bytes] | None, into: dict[str, bytes], name: str) -> None:
    if stream is not None:
        into[name] = stream.read()
        stream.close()


def _wait(pid: int, deadline: float) -> tuple[int | None, resource.struct_rusage | None]:
    """The child's wait status and resource usage, or (None, None) past `deadline`."""
    while time.monotonic() < deadline:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited == pid:
            return status, usage
        time.sleep(0.02)
    return None, None


def assert_contained(run: Run, expected_exit: int, *, secrets: tuple[str, ...] = (SECRET,)) -> None:
    """The promises every hostile run keeps, whatever the input."""
    where = f"cdgate {' '.join(run.args)}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"
    assert run.returncode >= 0, f"killed by signal {-run.returncode}: {where}"
    assert run.returncode == expected_exit, f"exit {run.returncode}, expected {expected_exit}: {where}"
    assert "Traceback" not in run.output, where
    assert "goroutine " not in run.output, f"Go stack printed: {where}"
    assert "internal error" not in run.output, where
    for secret in secrets:
        assert secret not in run.output, f"secret printed: {where}"
        for name, text in run.reports.items():
            assert secret not in text, f"secret in report {name}"
