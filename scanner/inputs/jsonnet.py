"""Jsonnet apps (`*.jsonnet`, as Argo CD's directory source renders them) into documents.

A `.jsonnet` file evaluates to one resource, an array of resources, or a
`kind: List`; each becomes a document that points at the `.jsonnet` file.
Jsonnet keeps no source positions in its output, so lines are found by
looking for each field's key in the source, after the line of its parent
(`JsonnetLines`): exact for the usual one-object-per-file layout, the
enclosing field's line otherwise. Evaluation runs in a child process
(`jsonnet_worker`) with a deadline and a memory bound, since Jsonnet can loop;
imports are read only from inside the scanned root and within the file size
cap. An evaluation error or a bound hit is a blocking `render` problem (at
the line Jsonnet names), never a skip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scanner.inputs.document import Document, JsonPath
from scanner.inputs.helm_sandbox import WORKER_MEMORY_BYTES, limit_worker_memory, worker_environment
from scanner.inputs.limits import read_text_capped
from scanner.inputs.lists import expand_lists
from scanner.inputs.problems import InputProblemError, LoadResult

JSONNET_TIMEOUT_S = 30.0
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
# "RUNTIME ERROR: msg\n\tdir/file.jsonnet:3:5-10\t..." / "STATIC ERROR: file.jsonnet:2:1: msg"
_ERROR_POSITION = re.compile(r"(?P<file>[^\s:()]+\.(?:jsonnet|libsonnet)):\(?(?P<line>\d+):(?P<column>\d+)")


@dataclass(frozen=True)
class JsonnetRender:
    """One `.jsonnet` file to evaluate, and the real root its imports must stay in."""

    path: Path
    root: Path
    scope: str | None = None


def render_jsonnet(request: JsonnetRender, show: Callable[[Path], str], max_bytes: int) -> LoadResult:
    """Evaluate the file and load its resources (a problem, never an exception)."""
    shown = show(request.path)
    source = read_text_capped(request.path, shown, max_bytes)
    result = LoadResult()
    answer = _evaluate_in_child(request, source, shown, max_bytes)
    if "error" in answer:
        result.problems.append(_render_problem(request.path, shown, answer["error"], show))
        return result
    output = answer["output"]
    value = json.loads(output)
    objects = value if isinstance(value, list) else [value]
    lines = JsonnetLines(source)
    documents = []
    for index, obj in enumerate(objects):
        start = lines.document_start(obj)
        document = Document(obj, shown, start, lines.last_line, index, origin="jsonnet", scope=request.scope,
                            rendered_from=shown)
        document.line_map = lines.map_paths(obj, start)
        documents.append(document)
    result.documents.extend(expand_lists(documents))
    return result


def _evaluate_in_child(request: JsonnetRender, source: str, shown: str, max_bytes: int) -> dict[str, str]:
    """Run `jsonnet_worker` with a deadline and a memory bound; its answer, or an error saying which bound."""
    import subprocess
    import sys

    payload = {"path": str(request.path.resolve()), "source": source, "root": str(request.root), "max_bytes": max_bytes}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scanner.inputs.jsonnet_worker"],
            input=json.dumps(payload).encode(),
            capture_output=True,
            timeout=JSONNET_TIMEOUT_S,
            env=worker_environment(),
            preexec_fn=limit_worker_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"evaluation did not finish within {JSONNET_TIMEOUT_S:.0f} s"}
    if len(done.stdout) > MAX_OUTPUT_BYTES:
        return {"error": f"output larger than {MAX_OUTPUT_BYTES} bytes"}
    try:
        answer = json.loads(done.stdout or b"{}")
    except ValueError:
        answer = {}
    if not isinstance(answer, dict) or not ({"output", "error"} & answer.keys()):
        reason = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"error": f"the Jsonnet evaluator stopped ({reason[0]}; memory is bounded to "
                         f"{WORKER_MEMORY_BYTES >> 20} MiB)"}
    return {k: str(v) for k, v in answer.items()}


class JsonnetLines:
    """Field -> line in a Jsonnet source, by finding each key below its parent's line."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.last_line = max(1, len(self.lines))

    def document_start(self, obj: Any) -> int:
        """Line of the `kind:` field naming this object's kind, else 1."""
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if isinstance(kind, str):
            pattern = re.compile(rf"""\bkind['"]?\s*:+\s*['"]{re.escape(kind)}['"]""")
            for number, line in enumerate(self.lines, start=1):
                if pattern.search(line):
                    return number
        return 1

    def map_paths(self, obj: Any, start: int) -> dict[JsonPath, int]:
        line_map: dict[JsonPath, int] = {(): start}
        self._walk(obj, (), start, line_map)
        return line_map

    def _walk(self, value: Any, path: JsonPath, line: int, line_map: dict[JsonPath, int]) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                child_line = self._key_line(str(key), line)
                line_map[(*path, key)] = child_line
                self._walk(child, (*path, key), child_line, line_map)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                line_map[(*path, index)] = line
                self._walk(child, (*path, index), line, line_map)

    def _key_line(self, key: str, after: int) -> int:
        pattern = re.compile(rf"""(?:^|[\s{{,])(['"]?){re.escape(key)}\1\s*:+""")
        for number in range(after, len(self.lines) + 1):
            if pattern.search(self.lines[number - 1]):
                return number
        return after


def _render_problem(path: Path, shown: str, message: str, show: Callable[[Path], str]) -> Any:
    where, line, column = shown, None, None
    match = _ERROR_POSITION.search(message)
    if match:
        named = Path(match.group("file"))
        where = show(named) if named.is_absolute() else shown
        line, column = int(match.group("line")), int(match.group("column"))
    first = message.strip().splitlines()[0] if message.strip() else "evaluation failed"
    return InputProblemError(
        f"Jsonnet could not render {shown}: {first}",
        path=where,
        line=line,
        column=column,
        kind="render",
        hint="fix the Jsonnet at that line (try `jsonnet FILE`); top-level arguments and external "
        "variables are not supplied by cdgate",
    ).to_problem()
