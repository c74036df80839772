"""Errors that stop cdgate from evaluating (exit code 2).

Every error carries where it happened (file, line, column) and what the user
should do, so the CLI can print one clear line instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


def format_location(path: str | None, line: int | None = None, column: int | None = None) -> str:
    """`path:line:column` as far as it is known, or '' when nothing is."""
    if not path:
        return ""
    parts = [path]
    if line is not None:
        parts.append(str(line))
        if column is not None:
            parts.append(str(column))
    return ":".join(parts)


def yaml_error_details(exc: BaseException) -> tuple[str, int | None, int | None]:
    """The problem and its 1-based line and column, from a PyYAML or ruamel.yaml error."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    if mark is None:
        return problem, None, None
    return problem, mark.line + 1, mark.column + 1


@dataclass
class CdgateError(Exception):
    """cdgate could not evaluate: bad input, bad config or an engine failure."""

    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def where(self) -> str:
        """`file:line:column` as far as it is known, or '' when nothing is."""
        return format_location(self.path, self.line, self.column)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(CdgateError):
    """A file could not be read or parsed."""


class ConfigError(CdgateError):
    """gate.yaml or a command-line option is invalid."""


class PolicyError(CdgateError):
    """A policy could not be loaded or compiled."""


class EngineError(CdgateError):
    """A policy engine failed while evaluating."""
