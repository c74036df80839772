"""Point fields of rendered Helm output back at lines of the template file.

Rendered output has its own line numbers, but a person fixes the template, so
every JSON path of a rendered document is mapped to a template line by a
best-effort search over the template's text (templates are not valid YAML, so
this reads them as indented lines, not as a tree):

1. The template is split at `---` lines into segments; a rendered document
   takes the segment with the same ordinal when the counts agree, else the
   one whose literal `kind:` matches.
2. Each key of the path is looked for among the direct children of the line
   matched for its parent: key lines (`name:` or `- name:`) inside the
   parent's indented block, at the shallowest indentation found there.
   List indices pick the n-th `-` item of the block (the last one when a
   `range` loop made more items than the template writes out).
3. When a key is not written literally in the template, the field came from
   values: the path maps to the first `{{ toYaml ... }}`, `include`, `tpl`
   or `.Values` line inside the parent's block, else to the parent's line.

So `securityContext.privileged` lands on the template's `privileged:` line
when it is written there, and on the `{{- toYaml .Values.securityContext }}`
line when it comes from values. Template directives on their own line
(`{{- if ... }}`, `{{- end }}`) never end a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.inputs.document import JsonPath

_KEY_LINE = re.compile(
    r"""^(?P<indent>[ ]*)(?P<dash>(?:-[ ]+)*)(?P<key>"[^"{}]*"|'[^'{}]*'|[^\s:#{}"'\-][^:#{}]*?|-[^\s:#{}][^:#{}]*?)[ ]*:(?:[ ]|$)"""
)
_DASH_LINE = re.compile(r"^(?P<indent>[ ]*)-(?:[ ]|$)")
_VALUES_HINT = re.compile(r"\{\{.*(toYaml|toJson|include|tpl|\.Values|template)")
_KIND_LINE = re.compile(r"^kind:[ ]*['\"]?(?P<kind>[A-Za-z0-9]+)")
_SEPARATOR = re.compile(r"^---(?:[ ]|$)")


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based
    indent: int  # column of the first content character
    key: str | None  # mapping key on this line, if any
    key_indent: int  # column of the key
    dash_indent: int | None  # column of the leading `-` of a list item
    directive: bool  # a line holding only `{{ ... }}`
    values_hint: bool  # a directive that splices values in (toYaml, include...)
    text: str  # the line without surrounding whitespace


@dataclass(frozen=True)
class _Segment:
    first: int  # index into lines
    end: int  # exclusive index
    kind: str | None
    start_line: int
    end_line: int


@dataclass(frozen=True)
class _Match:
    """Where a path landed: a line, and whether children can be searched below it."""

    index: int  # index into lines (-1: the segment itself)
    base: int  # children are indented deeper than this
    line: int
    item: bool = False
    exact: bool = True


class TemplateLines:
    """One template file read as indented lines, for mapping rendered paths."""

    def __init__(self, text: str) -> None:
        self.lines: list[_Line] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            self.lines.append(_parse_line(number, raw, stripped))
        self.segments = self._split_segments(text)

    def _split_segments(self, text: str) -> list[_Segment]:
        boundaries: list[int] = []  # 1-based line numbers of `---`
        for number, raw in enumerate(text.splitlines(), start=1):
            if _SEPARATOR.match(raw):
                boundaries.append(number)
        ranges: list[tuple[int, int]] = []
        previous = 0
        for boundary in boundaries + [10**9]:
            ranges.append((previous, boundary))
            previous = boundary
        segments = []
        for low, high in ranges:
            indices = [i for i, line in enumerate(self.lines) if low < line.number < high]
            content = [i for i in indices if not self.lines[i].directive]
            if not content:
                continue
            kind = None
            for i in content:
                match = _KIND_LINE.match(self.lines[i].text)
                if self.lines[i].indent == 0 and match:
                    kind = match.group("kind")
                    break
            segments.append(
                _Segment(
                    first=indices[0],
                    end=indices[-1] + 1,
                    kind=kind,
                    start_line=self.lines[content[0]].number,
                    end_line=self.lines[indices[-1]].number,
                )
            )
        return segments

    def choose_segment(self, ordinal: int, count: int, kind: str | None) -> _Segment | None:
        """The template segment a rendered document (ordinal of count) came from."""
        if not self.segments:
            return None
        if len(self.segments) == count and ordinal < count:
            return self.segments[ordinal]
        same_kind = [s for s in self.segments if s.kind and s.kind == kind]
        if same_kind:
            return same_kind[min(ordinal, len(same_kind) - 1)] if len(same_kind) > 1 else same_kind[0]
        return self.segments[min(ordinal, len(self.segments) - 1)]

    def map_paths(self, segment: _Segment, paths: list[JsonPath]) -> dict[JsonPath, int]:
        """Template line for every rendered path (see the module docstring)."""
        root = _Match(index=segment.first - 1, base=-1, line=segment.start_line)
        memo: dict[JsonPath, _Match] = {(): root}
        result: dict[JsonPath, int] = {(): segment.start_line}
        for path in sorted(paths, key=len):
            match = self._resolve(path, memo, segment)
            result[path] = match.line
        return result

    def _resolve(self, path: JsonPath, memo: dict[JsonPath, _Match], segment: _Segment) -> _Match:
        found = memo.get(path)
        if found is not None:
            return found
        parent = self._resolve(path[:-1], memo, segment)
        if not parent.exact:
            match = parent
        else:
            block = self._block(parent, segment)
            step = path[-1]
            child = self._child_item(block, step, parent) if isinstance(step, int) else self._child_key(block, step)
            match = child if child is not None else self._fallback(block, parent)
        memo[path] = match
        return match

    def _block(self, parent: _Match, segment: _Segment) -> list[int]:
        """Indices of the lines inside `parent`'s indented block."""
        start = parent.index + 1
        if parent.item:
            start = parent.index  # the key on the `- key:` line is a child of the item
        block = []
        for i in range(max(start, segment.first), segment.end):
            line = self.lines[i]
            if line.directive:
                block.append(i)
                continue
            if i != parent.index and parent.base >= 0:
                if parent.item:
                    if line.indent <= parent.base:
                        break
                elif line.indent < parent.base or (
                    line.indent == parent.base and line.dash_indent != parent.base
                ):
                    break
            block.append(i)
        return block

    def _child_key(self, block: list[int], key: str) -> _Match | None:
        keyed = [i for i in block if self.lines[i].key is not None]
        if not keyed:
            return None
        direct = min(self.lines[i].key_indent for i in keyed)
        for i in keyed:
            line = self.lines[i]
            if line.key == key and line.key_indent == direct:
                return _Match(index=i, base=line.key_indent, line=line.number)
        return None

    def _child_item(self, block: list[int], position: int, parent: _Match) -> _Match | None:
        dashed = [i for i in block if self.lines[i].dash_indent is not None and i != parent.index]
        if not dashed:
            return None
        level = min(indent for i in dashed if (indent := self.lines[i].dash_indent) is not None)
        items = [i for i in dashed if self.lines[i].dash_indent == level]
        chosen = items[min(position, len(items) - 1)]
        return _Match(index=chosen, base=level, line=self.lines[chosen].number, item=True)

    def _fallback(self, block: list[int], parent: _Match) -> _Match:
        for i in block:
            line = self.lines[i]
            if line.values_hint and i != parent.index:
                return _Match(index=i, base=line.indent, line=line.number, exact=False)
        return _Match(index=parent.index, base=parent.base, line=parent.line, exact=False)


def _parse_line(number: int, raw: str, stripped: str) -> _Line:
    indent = len(raw) - len(raw.lstrip(" "))
    directive = stripped.startswith("{{") and stripped.endswith("}}")
    values_hint = bool(_VALUES_HINT.search(stripped))
    dash = _DASH_LINE.match(raw)
    dash_indent = len(dash.group("indent")) if dash else None
    key = None
    key_indent = indent
    if not directive:
        match = _KEY_LINE.match(raw)
        if match:
            key = match.group("key").strip()
            if key[:1] in "\"'":
                key = key[1:-1]
            key_indent = len(match.group("indent")) + len(match.group("dash"))
    return _Line(number, indent, key, key_indent, dash_indent, directive, values_hint, stripped)
