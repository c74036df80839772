"""How a file is named in messages and reports: relative to the root when it lies under it."""

from __future__ import annotations

from pathlib import Path


def shown_path(path: Path, root: Path | None) -> str:
    """`path` relative to `root` with forward slashes, or as given when it is elsewhere (or no root)."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()
