"""The Helm rendering worker: `python -m scanner.inputs.helm_worker`.

Runs in its own process (see `helm_sandbox`), because Helm is Go in the same
address space: a template that recurses through `tpl` ends in a Go fatal
error that no Python code can catch, and `range until 100000000` allocates
without bound. Requests arrive one JSON line at a time on stdin; each answer
is one JSON line on the protocol descriptor (the original stdout). Anything
Go or Helm prints goes to stderr, which the parent keeps out of sight.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def render(request: dict[str, Any]) -> dict[str, Any]:
    """One chart: `{"rendered": {template: text}}` or `{"error": helm's message}`."""
    import helm_python

    try:
        chart = helm_python.Chart.load(request["chart_dir"])
        rendered = chart.render(
            request["values"],
            name=request["release_name"],
            namespace=request["namespace"],
            is_install=True,
        )
    except helm_python.HelmError as exc:
        return {"error": str(exc)}
    return {"rendered": rendered}


def dependencies(request: dict[str, Any]) -> dict[str, Any]:
    """Helm's view of a chart's dependencies: `{"dependencies": [{name, version, repository, status}]}`."""
    import helm_python

    try:
        return {"dependencies": helm_python.dependency_list(request["chart_dir"]) or []}
    except helm_python.HelmError as exc:
        return {"error": str(exc)}


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints from Go or Python must not corrupt the answers
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        answer = dependencies(request) if request.get("op") == "dependencies" else render(request)
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
