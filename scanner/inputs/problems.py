"""What the loader reports instead of documents: problems, skips and the result.

A file that cannot be turned into documents never disappears silently: it
becomes an `InputProblem` (the gate turns blocking ones into exit-2 findings)
or a `skipped` entry saying why it was deliberately left out. Parsers raise
`InputProblemError` so one bad file stops only itself, never the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.errors import InputError, format_location
from scanner.inputs.document import Document


@dataclass
class InputProblem:
    """A file or render cdgate could not turn into documents.

    `line`/`column` are 1-based and point at the cause when the parser or
    Helm knows it. Blocking problems make the run exit 2 (fail closed);
    non-blocking ones (an empty file) are reported and nothing more.
    """

    path: str
    line: int | None
    column: int | None
    message: str
    hint: str
    kind: str
    blocking: bool = True

    def where(self) -> str:
        """`path:line:column` as far as known."""
        return format_location(self.path, self.line, self.column)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message} ({self.hint})"


@dataclass
class LoadResult:
    """Documents loaded from all targets, and what could not be loaded."""

    documents: list[Document] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    notices: list[str] = field(default_factory=list)  # said to the user, never a finding
    withheld: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): not read for safety

    @property
    def blocking_problems(self) -> list[InputProblem]:
        return [p for p in self.problems if p.blocking]

    def extend(self, other: LoadResult) -> None:
        self.documents.extend(other.documents)
        self.problems.extend(other.problems)
        self.skipped.extend(other.skipped)
        self.notices.extend(other.notices)
        self.withheld.extend(other.withheld)


class InputProblemError(InputError):
    """Raised by a parser or renderer; the loader turns it into an `InputProblem`."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        kind: str,
        hint: str,
        line: int | None = None,
        column: int | None = None,
        blocking: bool = True,
    ) -> None:
        super().__init__(message=message, path=path, line=line, column=column, hint=hint)
        self.kind = kind
        self.blocking = blocking

    def to_problem(self) -> InputProblem:
        return InputProblem(
            path=self.path or "",
            line=self.line,
            column=self.column,
            message=self.message,
            hint=self.hint or "",
            kind=self.kind,
            blocking=self.blocking,
        )
