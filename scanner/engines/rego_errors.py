"""Read regorus' error text: `--> file:line:col ... error: message`.

regorus raises RuntimeError with a rustc-style report followed by a native
backtrace. cdgate shows users only the location and the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WHERE = re.compile(r"-->\s*(?P<path>[^\n]+?):(?P<line>\d+):(?P<col>\d+)")
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class RegoErrorReport:
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None


def parse_regorus_error(exc: BaseException) -> RegoErrorReport:
    """Location and one-line message of a regorus exception."""
    text = str(exc)
    head = text.split("Stack backtrace:", 1)[0]
    where = _WHERE.search(head)
    message = _MESSAGE.search(head)
    msg = message.group("msg").strip() if message else head.strip().splitlines()[0] if head.strip() else type(exc).__name__
    if not where:
        return RegoErrorReport(msg)
    return RegoErrorReport(msg, where.group("path").strip(), int(where.group("line")), int(where.group("col")))
