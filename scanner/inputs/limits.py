"""Bounds on what the loader will read, and reading files within them.

A gate reads files written by anyone who can open a pull request, so every
read is bounded: files over the size cap are refused before they are read,
special files (FIFOs, devices) are never opened, text must be UTF-8, and YAML
aliases may expand only so far (see `yamlpos`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scanner.inputs.problems import InputProblemError

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
#: Nodes a file may add by expanding aliases ("billion laughs" stops here).
MAX_ALIAS_EXPANDED_NODES = 100_000
#: Wall-clock bound on one `kubectl kustomize` run.
KUSTOMIZE_TIMEOUT_S = 60.0


def read_text_capped(path: Path, shown_path: str, max_bytes: int) -> str:
    """Read `path` as UTF-8 text, refusing files over `max_bytes` unread.

    Raises `InputProblemError` (kind size, encoding or io) naming `shown_path`,
    with the line and column of the first byte that is not UTF-8.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _io_problem(shown_path, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputProblemError(
            "not a regular file",
            path=shown_path,
            kind="io",
            hint="point cdgate at YAML or JSON files; pipes and devices are not read",
        )
    if info.st_size > max_bytes:
        raise _size_problem(shown_path, info.st_size, max_bytes)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        raise _io_problem(shown_path, exc) from None
    if len(data) > max_bytes:
        raise _size_problem(shown_path, len(data), max_bytes)
    return decode_utf8(data, shown_path)


def decode_utf8(data: bytes, shown_path: str) -> str:
    """Decode UTF-8 (a leading BOM is dropped); name the first bad byte's line and column."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = exc.start - line_start + 1
        raise InputProblemError(
            f"file is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            path=shown_path,
            kind="encoding",
            line=line,
            column=column,
            hint="save the file as UTF-8 (Kubernetes manifests must be UTF-8)",
        ) from None


def _size_problem(shown_path: str, size: int, max_bytes: int) -> InputProblemError:
    return InputProblemError(
        f"file is {size} bytes, over the {max_bytes}-byte limit; it was not read",
        path=shown_path,
        kind="size",
        hint="split the file, or raise the limit (inputs.max_file_bytes in gate.yaml) if it is really a manifest",
    )


def _io_problem(shown_path: str, exc: OSError) -> InputProblemError:
    return InputProblemError(
        f"cannot read file: {exc.strerror or exc}",
        path=shown_path,
        kind="io",
        hint="check that the file exists and is readable",
    )
