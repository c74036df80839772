"""Render charts in a separate worker process with a deadline and a memory limit.

A chart is code written by whoever opens the pull request. Rendered in
process, `tpl` recursion killed cdgate with a Go fatal error (exit 134, 4 GB
resident, 30 KB of Go stack on stderr) and `repeat 2000000000` grew without
bound. Here one worker (`helm_worker`) per run renders every chart, under a
memory limit, with a deadline per chart, a cap on the answer's size,
and an environment stripped of the runner's secrets; when it dies or
overruns, it is killed, the chart becomes a render problem naming the
template when Go's output names one, and the next chart gets a fresh worker.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scanner.inputs.problems import InputProblemError

#: Seconds one chart may take to render (Helm itself takes milliseconds).
RENDER_DEADLINE_S = 30.0
#: Memory the worker may write (Python, the Go runtime and the chart), below the 1 GiB the whole run may use.
WORKER_MEMORY_BYTES = 768 * 1024 * 1024
#: Largest rendered answer accepted for one chart.
MAX_RENDERED_BYTES = 64 * 1024 * 1024
#: Most templates rendered one by one to find the one that crashed.
MAX_TEMPLATE_PROBES = 8
#: Environment variables the worker keeps; everything else (tokens, passwords) stays behind.
_KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")


class HelmRenderFailed(Exception):
    """Helm refused the chart (its own error message, for the caller to place)."""


@dataclass(frozen=True)
class RenderRequest:
    chart_dir: Path
    values: dict[str, Any]
    release_name: str
    namespace: str


def render_in_worker(request: RenderRequest, shown_chart: str) -> dict[str, str]:
    """`{template name: rendered text}`; `HelmRenderFailed` or `InputProblemError` otherwise."""
    with _LOCK:
        return _worker().render(request, shown_chart)


def dependencies_in_worker(chart_dir: Path, shown_chart: str) -> list[dict[str, Any]]:
    """Helm's dependency list of a chart, read in the worker (Helm's Go never runs in cdgate's process)."""
    with _LOCK:
        return _worker().dependencies(chart_dir, shown_chart)


class _Worker:
    def __init__(self) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scanner.inputs.helm_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=worker_environment(),
            preexec_fn=limit_worker_memory,
        )
        self.buffer = bytearray()

    def alive(self) -> bool:
        return self.process.poll() is None

    def render(self, request: RenderRequest, shown_chart: str) -> dict[str, str]:
        line = json.dumps(
            {
                "chart_dir": str(request.chart_dir),
                "values": request.values,
                "release_name": request.release_name,
                "namespace": request.namespace,
            },
            default=str,
        )
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()
            answer = self._answer(time.monotonic() + RENDER_DEADLINE_S)
        except (_Stopped, OSError) as exc:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            reason = exc.reason if isinstance(exc, _Stopped) else self._exit_reason()
            problem = self._problem(shown_chart, request, reason)
            self.stop()
            raise problem from None
        if "error" in answer:
            raise HelmRenderFailed(str(answer["error"]))
        rendered = answer.get("rendered")
        return {str(k): str(v) for k, v in rendered.items()} if isinstance(rendered, dict) else {}

    def dependencies(self, chart_dir: Path, shown_chart: str) -> list[dict[str, Any]]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"op": "dependencies", "chart_dir": str(chart_dir)}).encode() + b"\n")
            self.process.stdin.flush()
            answer = self._answer(time.monotonic() + RENDER_DEADLINE_S)
        except (_Stopped, OSError) as exc:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            reason = exc.reason if isinstance(exc, _Stopped) else self._exit_reason()
            self.stop()
            raise InputProblemError(
                f"Helm could not read the dependencies of chart {shown_chart}: {reason}; the chart was not checked",
                path=f"{shown_chart}/Chart.yaml",
                kind="render",
                hint="check Chart.yaml's dependencies: list",
            ) from None
        if "error" in answer:
            raise HelmRenderFailed(str(answer["error"]))
        listed = answer.get("dependencies")
        return [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []

    def _answer(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Stopped(f"did not finish rendering within {RENDER_DEADLINE_S:.0f} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.process.wait()
                raise _Stopped(self._exit_reason())
            self.buffer += chunk
            if len(self.buffer) > MAX_RENDERED_BYTES:
                raise _Stopped(f"rendered more than {MAX_RENDERED_BYTES} bytes")
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        value = json.loads(line)
        return value if isinstance(value, dict) else {}

    def _exit_reason(self) -> str:
        code = self.process.poll()
        self.stderr.seek(0)
        head = self.stderr.read(4096).decode("utf-8", "replace")
        if "stack overflow" in head or "stack exceeds" in head:
            return "Helm ran out of stack: a template calls itself (tpl or include recursion)"
        if "out of memory" in head or "cannot allocate" in head:
            return ("Helm ran out of memory: a template recurses (tpl, include) "
                    "or builds something huge (range, until, repeat)")
        if code is not None and code < 0:
            return f"Helm crashed ({signal.Signals(-code).name}), most likely out of memory"
        return f"Helm stopped unexpectedly (exit status {code})"

    def _problem(self, shown_chart: str, request: RenderRequest, reason: str) -> InputProblemError:
        template = _runaway_template(request)
        path = f"{shown_chart}/{template}" if template else f"{shown_chart}/Chart.yaml"
        named = f" (template {template})" if template else ""
        return InputProblemError(
            f"Helm could not render chart {shown_chart}{named}: {reason}; the chart was not checked",
            path=path,
            kind="render",
            hint="look for a template that calls itself or loops over a huge range; cdgate bounds "
            f"rendering to {RENDER_DEADLINE_S:.0f} s and {WORKER_MEMORY_BYTES >> 20} MiB",
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self.stderr.close()


def _runaway_template(request: RenderRequest) -> str | None:
    """The chart's template that crashes or overruns alone, as `templates/x.yaml`, if one does.

    With one template it is that one. With several, each is rendered alone
    (helpers `_*.tpl` kept) from a copy of the chart, in a fresh worker, up
    to `MAX_TEMPLATE_PROBES` of them.
    """
    chart_dir = request.chart_dir
    templates_dir = chart_dir / "templates"
    try:
        templates = sorted(
            p for p in templates_dir.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith("_")
        )
    except OSError:
        return None
    if len(templates) == 1:
        return f"templates/{templates[0].name}"
    for template in templates[:MAX_TEMPLATE_PROBES]:
        with tempfile.TemporaryDirectory(prefix="cdgate-helm-probe-") as scratch:
            copy = Path(scratch) / chart_dir.name
            shutil.copytree(chart_dir, copy, symlinks=True, ignore=_keep_only(template.name))
            probe = _Worker()
            try:
                probe.render(RenderRequest(copy, request.values, request.release_name, request.namespace), "probe")
            except InputProblemError:
                return f"templates/{template.name}"
            except HelmRenderFailed:
                pass
            finally:
                probe.stop()
    return None


def _keep_only(name: str) -> Any:
    def ignore(folder: str, entries: list[str]) -> list[str]:
        if Path(folder).name != "templates":
            return []
        return [e for e in entries if e != name and not e.startswith("_") and Path(folder, e).is_file()]

    return ignore


class _Stopped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_LOCK = threading.Lock()
_CURRENT: list[_Worker] = []


def _worker() -> _Worker:
    if _CURRENT and _CURRENT[0].alive():
        return _CURRENT[0]
    if _CURRENT:
        _CURRENT.pop().stop()
    _CURRENT.append(_Worker())
    return _CURRENT[0]


def worker_environment() -> dict[str, str]:
    """The runner's environment without its secrets, for a worker that runs untrusted input (Helm, Jsonnet)."""
    import scanner

    environment = {k: v for k, v in os.environ.items() if k in _KEPT_ENVIRONMENT}
    environment["MALLOC_ARENA_MAX"] = "1"  # glibc reserves 64 MB of address space per thread otherwise
    environment["PYTHONPATH"] = str(Path(scanner.__file__).resolve().parent.parent)
    return environment


def limit_worker_memory() -> None:
    """Cap the memory the worker writes to (`RLIMIT_DATA`), not its address space.

    Go reserves over a gigabyte of address space it never touches (PROT_NONE
    arenas), so an `RLIMIT_AS` cap small enough to matter makes ordinary
    charts fail at random; `RLIMIT_DATA` counts only the private memory that
    is really mapped writable, which is what a runaway template consumes.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = WORKER_MEMORY_BYTES
    for cap in (soft, hard):
        if cap != resource.RLIM_INFINITY:
            limit = min(limit, cap)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
