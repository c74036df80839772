"""JSON files with a line for every key and array item.

The standard library's decoder gives no positions, and PyYAML reads JSON as
YAML 1.1 (where `\\/` escapes and some number forms differ), so this is a small
recursive-descent reader that uses the standard library's own string scanner
and number pattern, and records `line_map` as it goes. Duplicate keys are
refused, as in YAML files. Errors carry the line and column of the cause; the
message is the standard library's, so it reads like every other JSON tool's.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from scanner.inputs.document import Document, JsonPath
from scanner.inputs.problems import InputProblemError

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = {"true": True, "false": False, "null": None}
MAX_DEPTH = 200


class _Failed(Exception):
    """Internal: the reader stopped at `offset`."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.line_map: dict[JsonPath, int] = {}

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def skip(self, offset: int) -> int:
        return _WHITESPACE.match(self.text, offset).end()  # type: ignore[union-attr]

    def value(self, offset: int, path: JsonPath, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise _Failed(offset, f"nesting deeper than {MAX_DEPTH} levels")
        text = self.text
        char = text[offset : offset + 1]
        if char == "{":
            return self.object(offset + 1, path, depth)
        if char == "[":
            return self.array(offset + 1, path, depth)
        if char == '"':
            decoded: tuple[Any, int] = scanstring(text, offset + 1, True)
            return decoded
        for word, constant in _CONSTANTS.items():
            if text.startswith(word, offset):
                return constant, offset + len(word)
        match = _NUMBER.match(text, offset)
        if match and match.end() > offset:
            integer, fraction, exponent = match.groups()
            if fraction or exponent:
                return float(match.group(0)), match.end()
            return int(integer), match.end()
        raise _Failed(offset, "Expecting value")

    def object(self, offset: int, path: JsonPath, depth: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        offset = self.skip(offset)
        if self.text[offset : offset + 1] == "}":
            return result, offset + 1
        while True:
            if self.text[offset : offset + 1] != '"':
                raise _Failed(offset, "Expecting property name enclosed in double quotes")
            key_offset = offset
            key, offset = scanstring(self.text, offset + 1, True)
            if key in result:
                raise _Failed(key_offset, f"duplicate key {key!r}")
            offset = self.skip(offset)
            if self.text[offset : offset + 1] != ":":
                raise _Failed(offset, "Expecting ':' delimiter")
            child = path + (key,)
            self.line_map[child] = self.line_of(key_offset)
            result[key], offset = self.value(self.skip(offset + 1), child, depth + 1)
            offset = self.skip(offset)
            char = self.text[offset : offset + 1]
            if char == "}":
                return result, offset + 1
            if char != ",":
                raise _Failed(offset, "Expecting ',' delimiter")
            offset = self.skip(offset + 1)

    def array(self, offset: int, path: JsonPath, depth: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        offset = self.skip(offset)
        if self.text[offset : offset + 1] == "]":
            return result, offset + 1
        while True:
            child = path + (len(result),)
            self.line_map[child] = self.line_of(offset)
            item, offset = self.value(offset, child, depth + 1)
            result.append(item)
            offset = self.skip(offset)
            char = self.text[offset : offset + 1]
            if char == "]":
                return result, offset + 1
            if char != ",":
                raise _Failed(offset, "Expecting ',' delimiter")
            offset = self.skip(offset + 1)


def load_json_document(
    text: str, path: str, *, scope: str | None = None, origin: str = "json"
) -> list[Document]:
    """Parse one JSON file into (at most) one `Document` with its line map.

    A file holding only whitespace yields no documents. Raises
    `InputProblemError` (kind parse or duplicate-key) naming line and column.
    """
    reader = _Reader(text)
    start = reader.skip(0)
    if start >= len(text):
        return []
    try:
        obj, end = reader.value(start, (), 0)
        end = reader.skip(end)
        if end != len(text):
            raise _Failed(end, "Extra data")
    except json.JSONDecodeError as exc:  # raised by scanstring for bad strings
        raise _problem(reader, path, exc.pos, exc.msg) from None
    except _Failed as failed:
        raise _problem(reader, path, failed.offset, failed.message) from None
    start_line = reader.line_of(start)
    reader.line_map[()] = start_line
    return [
        Document(
            obj=obj,
            path=path,
            start_line=start_line,
            end_line=reader.line_of(max(start, end - 1)),
            index=0,
            line_map=reader.line_map,
            origin=origin,
            scope=scope,
        )
    ]


def _problem(reader: _Reader, path: str, offset: int, message: str) -> InputProblemError:
    line = reader.line_of(offset)
    column = offset - reader.line_starts[line - 1] + 1
    duplicate = message.startswith("duplicate key")
    return InputProblemError(
        f"{message}" if duplicate else f"malformed JSON: {message}",
        path=path,
        kind="duplicate-key" if duplicate else "parse",
        line=line,
        column=column,
        hint="remove one of the two keys" if duplicate else "fix the JSON syntax at this position",
    )
