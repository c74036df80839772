"""Multi-document YAML with a line for every key and list item.

libyaml (PyYAML's C parser) turns the text into events fast and every event
carries its start mark. We build the Python objects straight from those
events, skipping PyYAML's own composer and constructor (which are pure Python
and three times slower), because that one pass also

- records `line_map[json_path] = line` for every mapping key and list item,
- counts nodes copied through aliases and stops a "billion laughs" file
  after `MAX_ALIAS_EXPANDED_NODES` (bounded time and memory),
- refuses recursive or undefined aliases and duplicate keys (Kubernetes' own
  decoder rejects duplicates; silently keeping the last one would let a
  policy see a different value than another tool does),
- keeps scalars as Kubernetes' decoder sees them: YAML 1.1 booleans and
  numbers become bool/int/float, but timestamps and binary stay strings so
  every value is JSON-compatible for the policy engines.

Keys are always strings: a scalar key is taken as written (`80:` is "80").
Merge keys (`<<: *base`) are applied as YAML 1.1 defines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events
from yaml.constructor import SafeConstructor as _SafeConstructor
from yaml.resolver import Resolver as _Resolver

from scanner.inputs.document import Document, JsonPath
from scanner.inputs.limits import MAX_ALIAS_EXPANDED_NODES
from scanner.inputs.problems import InputProblemError

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_MERGE_KEY = "<<"


class _MergeSlot:
    """Stands in for the key of a `<<` entry while its value is built."""

    def __repr__(self) -> str:
        return "<<"


_MERGE_SLOT = _MergeSlot()

#: Nesting deeper than this is refused (no manifest needs it).
MAX_DEPTH = 200

_SAFE_CONSTRUCTORS = _SafeConstructor.yaml_constructors
_IMPLICIT_RESOLVERS = _Resolver.yaml_implicit_resolvers


@dataclass
class _Container:
    """A mapping or sequence being built, with where it sits in the document."""

    value: Any  # dict or list
    path: JsonPath
    anchor: str | None
    nodes_at_start: int
    entries_at_start: int
    mark: Any = None  # where the mapping or sequence starts
    key: Any = None  # mapping: the key waiting for its value (None: expecting a key)
    key_line: int = 0
    key_mark: Any = None
    explicit: dict[str, int] = field(default_factory=dict)  # key -> line
    merges: list[Any] = field(default_factory=list)


@dataclass
class _Anchor:
    value: Any
    entries: list[tuple[tuple[Any, ...], int]]  # relative to the anchored node; keys may be _MERGE_SLOT
    size: int  # nodes below and including it


class _DocumentBuilder:
    """Builds one file's documents from libyaml events (see module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.expanded = 0
        self.nodes = 0

    def start_document(self) -> None:
        self.stack: list[_Container] = []
        self.entries: list[tuple[tuple[Any, ...], int]] = []  # keys may be _MERGE_SLOT until merged
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        self.root: Any = None
        self.root_mark: Any = None
        self.has_root = False
        self.merged = False  # a `<<` was seen: drop its scratch line entries at the end

    # -- where the next value goes ------------------------------------------------

    def child_path(self) -> JsonPath:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return top.path + (len(top.value),)
        return top.path + (top.key,)

    def expecting_key(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        return isinstance(top.value, dict) and top.key is None

    def record_item_line(self, path: JsonPath, line: int) -> None:
        """List items get the line they start on (mapping keys got theirs already)."""
        if self.stack and isinstance(self.stack[-1].value, list):
            self.entries.append((path, line))

    def attach(self, value: Any, mark: Any) -> None:
        if not self.stack:
            self.root, self.root_mark, self.has_root = value, mark, True
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        elif top.key is _MERGE_SLOT:
            top.merges.append(value)
            top.key = None
        else:
            top.value[top.key] = value
            top.key = None

    # -- events ---------------------------------------------------------------------

    def scalar(self, event: Any) -> None:
        mark = event.start_mark
        self.nodes += 1
        stack = self.stack
        if stack and stack[-1].key is None and type(stack[-1].value) is dict:
            self.set_key(event, mark)
            return
        try:
            value = _scalar_value(event)
        except ValueError as exc:
            raise self.problem(mark, "parse", str(exc), "quote the value or fix it") from None
        path = self.child_path()
        self.record_item_line(path, mark.line + 1)
        if event.anchor:
            self.anchors[event.anchor] = _Anchor(value, [], 1)
        self.attach(value, mark)

    def set_key(self, event: Any, mark: Any) -> None:
        top = self.stack[-1]
        line = mark.line + 1
        if event.value == _MERGE_KEY and (event.implicit[0] or event.tag == _MERGE):
            top.key = _MERGE_SLOT
            self.merged = True
            return
        key = event.value
        if key in top.explicit:
            raise self.problem(
                mark,
                "duplicate-key",
                f"duplicate key {key!r} (first defined on line {top.explicit[key]})",
                "remove one of the two keys; Kubernetes rejects duplicate keys",
            )
        top.explicit[key] = line
        top.key, top.key_line, top.key_mark = key, line, mark
        self.entries.append((top.path + (key,), line))

    def start_container(self, event: Any, value: Any) -> None:
        mark = event.start_mark
        self.nodes += 1
        if self.expecting_key():
            raise self.problem(mark, "parse", "complex (non-scalar) mapping key", "use a plain string key")
        if len(self.stack) >= MAX_DEPTH:
            raise self.problem(mark, "parse", f"YAML nesting deeper than {MAX_DEPTH} levels", "flatten the document")
        path = self.child_path()
        self.record_item_line(path, mark.line + 1)
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Container(value, path, event.anchor, self.nodes, len(self.entries), mark))
        if not path:
            self.root_mark = mark

    def end_container(self, event: Any) -> None:
        done = self.stack.pop()
        value = done.value
        if done.merges:
            value = self.apply_merges(done)
        if done.anchor:
            self.open_anchors.discard(done.anchor)
            depth = len(done.path)
            relative = [(p[depth:], line) for p, line in self.entries[done.entries_at_start :]]
            self.anchors[done.anchor] = _Anchor(value, relative, self.nodes - done.nodes_at_start + 1)
        self.attach(value, self.root_mark if not self.stack else None)

    def alias(self, event: Any) -> None:
        mark = event.start_mark
        name = event.anchor
        if name in self.open_anchors:
            raise self.problem(mark, "alias", f"recursive YAML alias *{name} (a node contains itself)",
                               "remove the recursive alias")
        anchor = self.anchors.get(name)
        if anchor is None:
            raise self.problem(mark, "parse", f"undefined YAML alias *{name}", "define the anchor &" + name + " before using it")
        if self.expecting_key():
            raise self.problem(mark, "parse", "alias used as a mapping key", "use a plain string key")
        self.expanded += anchor.size
        self.nodes += anchor.size  # so an anchor that holds aliases has their full size
        if self.expanded > MAX_ALIAS_EXPANDED_NODES:
            raise self.problem(
                mark,
                "alias",
                f"YAML aliases expand to more than {MAX_ALIAS_EXPANDED_NODES} nodes (an alias bomb?)",
                "remove the nested anchors and aliases; write the values out",
            )
        path = self.child_path()
        self.record_item_line(path, mark.line + 1)
        self.entries.extend((path + rel, line) for rel, line in anchor.entries)
        self.attach(_copy(anchor.value), mark)

    def apply_merges(self, done: _Container) -> dict[str, Any]:
        """`<<` merge keys: explicit keys win, earlier sources beat later ones."""
        sources: list[Any] = []
        for merged in done.merges:
            sources.extend(merged if isinstance(merged, list) else [merged])
        result: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, dict):
                raise self.problem(
                    done.mark, "parse", "merge key `<<` needs a mapping (or a list of mappings)",
                    "merge a mapping anchor",
                )
            result.update(source)
        result.update(done.value)
        # lines of merged keys: re-root entries recorded under `path + ("<<", ...)`
        depth = len(done.path)
        rerooted: list[tuple[tuple[Any, ...], int]] = []
        for entry_path, line in self.entries[done.entries_at_start :]:
            if len(entry_path) > depth and entry_path[depth] is _MERGE_SLOT:
                rest = entry_path[depth + 1 :]
                if rest and isinstance(rest[0], int):  # a list of merge sources
                    rest = rest[1:]
                if rest and rest[0] not in done.explicit:
                    rerooted.append((done.path + rest, line))
        self.entries.extend(rerooted)
        return result

    # -- bookkeeping ----------------------------------------------------------------

    def problem(self, mark: Any, kind: str, message: str, hint: str) -> InputProblemError:
        return InputProblemError(
            message, path=self.path, kind=kind, line=mark.line + 1, column=mark.column + 1, hint=hint
        )


def load_yaml_documents(
    text: str,
    path: str,
    *,
    origin: str = "manifest",
    scope: str | None = None,
    rendered_from: str | None = None,
) -> list[Document]:
    """Parse every document of a YAML stream into `Document`s with line maps.

    Empty documents (`---` with nothing after it) are dropped; `index` counts
    the documents that remain. Raises `InputProblemError` (kind parse, alias
    or duplicate-key) with the line and column of the cause.
    """
    dispatch = {
        events.ScalarEvent: 0,
        events.MappingStartEvent: 1,
        events.SequenceStartEvent: 2,
        events.MappingEndEvent: 3,
        events.SequenceEndEvent: 3,
        events.AliasEvent: 4,
        events.DocumentStartEvent: 5,
        events.DocumentEndEvent: 6,
    }
    builder = _DocumentBuilder(path)
    documents: list[Document] = []
    parser = yaml.CSafeLoader(text)
    try:
        while parser.check_event():
            event = parser.get_event()
            action = dispatch.get(type(event))
            if action == 0:
                builder.scalar(event)
            elif action == 1:
                builder.start_container(event, {})
            elif action == 2:
                builder.start_container(event, [])
            elif action == 3:
                builder.end_container(event)
            elif action == 4:
                builder.alias(event)
            elif action == 5:
                builder.start_document()
            elif action == 6:
                _finish_document(builder, event, documents, origin, scope, rendered_from)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "malformed YAML"
        context = f" {exc.context}" if exc.context else ""
        if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
            context += f" that starts at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        last_line = text.count("\n") + (0 if text.endswith("\n") else 1)
        if line is not None and line > max(last_line, 1):  # the parser ran off the end of the file:
            if exc.context_mark is not None:  # point at the construct left open
                line, column = exc.context_mark.line + 1, exc.context_mark.column + 1
            else:
                line = max(last_line, 1)
                column = len(text.rstrip("\n").rsplit("\n", 1)[-1]) + 1
        raise InputProblemError(
            f"malformed YAML: {problem}{context}",
            path=path,
            kind="parse",
            line=line,
            column=column,
            hint="fix the YAML syntax at this position (check indentation, quotes and colons)",
        ) from None
    except yaml.YAMLError as exc:  # reader errors: control characters and the like
        position = getattr(exc, "position", None)
        line, column = _line_column(text, position) if position is not None else (None, None)
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        raise InputProblemError(
            f"malformed YAML: {reason}",
            path=path,
            kind="parse",
            line=line,
            column=column,
            hint="remove the unprintable character at this position",
        ) from None
    finally:
        parser.dispose()
    return documents


def _finish_document(
    builder: _DocumentBuilder,
    end_event: Any,
    documents: list[Document],
    origin: str,
    scope: str | None,
    rendered_from: str | None,
) -> None:
    if not builder.has_root or builder.root is None:
        return  # an empty document
    start = builder.root_mark.line + 1
    entries = builder.entries
    if builder.merged:
        entries = [(p, line) for p, line in entries if not any(part is _MERGE_SLOT for part in p)]
    line_map: dict[JsonPath, int] = dict(entries)
    line_map[()] = start
    end_mark = end_event.start_mark
    end = end_mark.line if end_mark.column == 0 and end_mark.line > start - 1 else end_mark.line + 1
    documents.append(
        Document(
            obj=builder.root,
            path=builder.path,
            start_line=start,
            end_line=max(start, end),
            index=len(documents),
            line_map=line_map,
            origin=origin,
            rendered_from=rendered_from,
            scope=scope,
        )
    )


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


#: Plain scalars repeat a lot (`true`, `TCP`, `100m`); their values are immutable.
_PLAIN_CACHE: dict[str, Any] = {}
_PLAIN_CACHE_LIMIT = 50_000
_MISSING = object()


def _scalar_value(event: Any) -> Any:
    """The value of a scalar as Kubernetes' YAML 1.1 decoder would see it."""
    tag = event.tag
    value = event.value
    if tag is None or tag == "!":
        if not event.implicit[0]:  # quoted, or `!` forces a string
            return value
        cached = _PLAIN_CACHE.get(value, _MISSING)
        if cached is not _MISSING:
            return cached
        result = _construct(_resolve_plain(value), event)
        if len(_PLAIN_CACHE) >= _PLAIN_CACHE_LIMIT:
            _PLAIN_CACHE.clear()
        _PLAIN_CACHE[value] = result
        return result
    return _construct(tag, event)


def _construct(tag: str | None, event: Any) -> Any:
    value = event.value
    if tag in (_INT, _FLOAT, _BOOL, _NULL):
        try:
            result = _SAFE_CONSTRUCTORS[tag](_CONSTRUCTOR, event)
        except (ValueError, TypeError):
            raise ValueError(f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}") from None
        if isinstance(result, float) and (result != result or result in (float("inf"), float("-inf"))):
            return value  # .inf/.nan have no JSON form: keep the text
        return result
    # strings, timestamps, binary and unknown tags stay as written (JSON-compatible)
    return value


def _resolve_plain(value: str) -> str | None:
    for tag, pattern in _IMPLICIT_RESOLVERS.get(value[:1], ()):
        if pattern.match(value):
            return str(tag)
    return None


class _ScalarConstructor:
    """Just enough of a constructor for SafeConstructor's scalar functions."""

    def construct_scalar(self, node: Any) -> str:
        return str(node.value)

    def __getattr__(self, name: str) -> Any:  # inf_value, nan_value, bool_values...
        return getattr(_SafeConstructor, name)


_CONSTRUCTOR = _ScalarConstructor()


def _copy(value: Any) -> Any:
    """Deep copy of plain YAML data (each alias gets its own objects)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
