"""Write a report so that readers see the old file or the new one, never half.

CI uploads `cdgate.sarif` right after cdgate exits; a crash, a full disk or a
killed job must not leave a truncated file that code scanning rejects, nor
clobber the previous good report. So every report goes to a temporary file in
the same directory, is flushed and fsynced, and then replaces the target with
`os.replace` (atomic on POSIX within one filesystem).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from scanner.errors import CdgateError


class ReportWriteError(CdgateError):
    """A report could not be written (exit code 2: an unwritten report is never a pass)."""


_DEFAULT_MODE = 0o644


def atomic_write_text(path: Path | str, text: str, *, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically; on any failure the old file is untouched.

    The temporary file is removed on failure. The new file keeps the mode of
    the file it replaces, or gets 0644, so a report is as readable as before.
    Raises `ReportWriteError` naming the file and what to do.
    """
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Byte version of `atomic_write_text`."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ReportWriteError(
            "cannot write report: the path is a directory",
            path=str(target),
            hint="pass a file name with -o, or use --output-dir for a folder",
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot create the report directory: {exc.strerror or exc}",
            path=str(directory),
            hint="check the path and its permissions",
        ) from None

    mode = _mode_for(target)
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
        tmp_name = None
        _fsync_directory(directory)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot write report: {exc.strerror or exc}",
            path=str(target),
            hint="check free space and permissions; the previous report was left unchanged",
        ) from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return _DEFAULT_MODE


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; best effort (some filesystems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
