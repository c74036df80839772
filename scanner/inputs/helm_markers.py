"""Exact template lines for rendered Helm fields: render once more with line markers.

`template_lines` guesses from the template's text, so a field written in
both branches of an `if`/`else`, or a list item inside a `range` or a
disabled block, can land on the branch that did not render. Here every
template line that holds YAML (not a `{{ ... }}` directive, not inside a
multi-line action) gets a trailing comment `#cdgate:<tag>:L<n>` (the tag
names the file, so a `define` rendered into another template is ignored); the chart is
rendered from a temporary copy, and each rendered field's line carries the
number of the template line that produced it. Rendering is deterministic
in structure, so the marked render's documents pair with the real render's
by template and position; only lines are taken from it, never values.
Fields spliced in from values or helpers (`toYaml`, `include`) carry no
marker and keep the heuristic line (the splicing line).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from scanner.inputs.document import Document, JsonPath
from scanner.inputs.problems import InputProblemError
from scanner.inputs.yamlpos import load_yaml_documents

MARK = "#cdgate:"
_ACTION = re.compile(r"\{\{|\}\}")
_TEMPLATE_SUFFIXES = (".yaml", ".yml")
_VALUES_HINT = re.compile(r"\{\{.*(\.Values|toYaml|toJson|include|tpl|template)")


def file_tag(text: str) -> str:
    """A tag for one template's markers, so lines of a `define` rendered into another template are ignored."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def _marker(tag: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{MARK}{tag}:L") + r"(\d+)")


def instrument(text: str) -> str:
    """The template with `#cdgate:<tag>:L<n>` after every plain YAML line."""
    tag = file_tag(text)
    out: list[str] = []
    depth = 0
    for number, line in enumerate(text.split("\n"), start=1):
        starts_inside = depth > 0
        for token in _ACTION.findall(line):
            depth = depth + 1 if token == "{{" else max(0, depth - 1)
        stripped = line.strip()
        plain = stripped and not stripped.startswith("#") and not _directive_only(stripped)
        if plain and not starts_inside and depth == 0 and not stripped.startswith("---"):
            line = f"{line} {MARK}{tag}:L{number}"
        out.append(line)
    return "\n".join(out)


def _directive_only(stripped: str) -> bool:
    return stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1


def render_marked(chart_dir: Path, render: Callable[[Path], dict[str, str]]) -> dict[str, str] | None:
    """`render` run on a marked copy of the chart; None when the marked copy does not render."""
    with tempfile.TemporaryDirectory(prefix="cdgate-marked-") as temp:
        copy = Path(temp) / chart_dir.name
        try:
            shutil.copytree(chart_dir, copy, symlinks=True)
            for template in _templates(copy):
                template.write_text(instrument(template.read_text(encoding="utf-8")), encoding="utf-8")
            return render(copy)
        except Exception:  # noqa: BLE001 - lines only: the real render's problems are reported there
            return None


def _templates(chart: Path) -> list[Path]:
    found: list[Path] = []
    for templates in [chart / "templates", *sorted((chart / "charts").glob("*/templates"))]:
        if templates.is_dir() and not templates.is_symlink():
            found.extend(
                p for p in sorted(templates.rglob("*"))
                if p.suffix in _TEMPLATE_SUFFIXES and not p.name.startswith("_") and p.is_file() and not p.is_symlink()
            )
    for sub in sorted((chart / "charts").glob("*/charts")):
        found.extend(t for t in _templates(sub.parent) if t not in found)
    return found


def apply_marked_lines(documents: list[Document], marked_text: str, shown: str, template_text: str) -> list[set[JsonPath]]:
    """Move each field of `documents` to the line of `template_text` its marked twin names.

    Returns, per document, the paths whose value comes from values or a helper
    (no template line wrote them, or their line reads `.Values`, `toYaml`,
    `include`, `tpl`); empty sets when the marked render could not be used.
    """
    marker = _marker(file_tag(template_text))
    spliced: list[set[JsonPath]] = [set() for _ in documents]
    try:
        twins = load_yaml_documents(marked_text, shown, origin="helm")
    except InputProblemError:
        return spliced
    if len(twins) != len(documents):
        return spliced
    lines = marked_text.split("\n")
    template_lines = template_text.split("\n")
    for document, twin, unmarked in zip(documents, twins, spliced):
        if document.kind != twin.kind:
            continue
        for path in list(document.line_map):
            rendered = twin.line_map.get(path)
            if rendered is None or not 0 < rendered <= len(lines):
                continue
            found = marker.search(lines[rendered - 1])
            if found:
                document.line_map[path] = int(found.group(1))
            if path and (not found or _reads_values(template_lines, int(found.group(1)))):
                unmarked.add(path)
        start = _marker_line(lines, twin.start_line, marker)
        if start is not None:
            document.start_line = start
    return spliced


def _reads_values(template_lines: list[str], line: int) -> bool:
    return 0 < line <= len(template_lines) and bool(_VALUES_HINT.search(template_lines[line - 1]))


def _marker_line(lines: list[str], rendered: int, marker: re.Pattern[str]) -> int | None:
    if not 0 < rendered <= len(lines):
        return None
    found = marker.search(lines[rendered - 1])
    return int(found.group(1)) if found else None


def marked_for(marked: dict[str, Any] | None, template_name: str) -> str | None:
    value = marked.get(template_name) if marked else None
    return value if isinstance(value, str) else None
