"""Evaluate one Jsonnet file in a child process (`python -m scanner.inputs.jsonnet_worker`).

Jsonnet is a full language: a file from a pull request can loop or allocate
without end. The loader runs this worker with a deadline and a memory bound
and reads one JSON answer from its stdout: `{"output": text}` or
`{"error": message}`. Imports are read only inside the scanned root and
within the file size cap.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MAX_STACK = 500  # jsonnet's own recursion bound


def evaluate(path: str, source: str, root: str, max_bytes: int) -> dict[str, str]:
    import _jsonnet  # type: ignore[import-untyped]  # no stubs published

    real_root = Path(root)

    def import_callback(directory: str, relative: str) -> tuple[str, bytes]:
        wanted = (Path(directory) / relative).resolve()
        if wanted != real_root and real_root not in wanted.parents:
            raise RuntimeError(f"import {relative!r} leaves the scanned root")
        if wanted.stat().st_size > max_bytes:
            raise RuntimeError(f"import {relative!r} is larger than {max_bytes} bytes")
        return str(wanted), wanted.read_bytes()

    try:
        return {"output": _jsonnet.evaluate_snippet(path, source, max_stack=MAX_STACK, import_callback=import_callback)}
    except (RuntimeError, OSError) as exc:
        return {"error": str(exc)}


def main() -> None:
    request = json.load(sys.stdin)
    json.dump(evaluate(request["path"], request["source"], request["root"], request["max_bytes"]), sys.stdout)


if __name__ == "__main__":
    main()
