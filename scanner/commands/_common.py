"""What every command shares: turning CdgateError into exit code 2."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, TypeVar

import click

from scanner.errors import CdgateError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def fail_closed(func: F) -> F:
    """Print a CdgateError as one line on stderr and exit 2; never a traceback.

    Unexpected exceptions also exit 2 (an error is never a pass), with a
    message asking for a bug report; `CDGATE_DEBUG=1` shows the traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import os

        try:
            return func(*args, **kwargs)
        except CdgateError as exc:
            from scanner.report._common import printable

            click.echo(f"cdgate: error: {printable(str(exc))}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed on anything
            if os.environ.get("CDGATE_DEBUG"):
                raise
            click.echo(
                f"cdgate: internal error: {type(exc).__name__}: {exc} "
                "(this is a bug in cdgate; rerun with CDGATE_DEBUG=1 for a traceback)",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]
