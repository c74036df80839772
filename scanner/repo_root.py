"""Which directory report paths are relative to, when `--root` does not say.

GitHub code scanning places an alert by its path from the repository root,
so a run from `repo/deploy/` must still write `deploy/services/...`. The
root is the git work tree holding every target (found by its `.git` entry,
a directory or, in worktrees and submodules, a file), else the directory the
targets share. Nothing runs `git`: a `.git` entry is all it takes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence


def scanned_directory(targets: Sequence[str | Path]) -> Path:
    """The deepest directory holding every target (a file target counts as its folder)."""
    folders = []
    for target in targets:
        absolute = Path(os.path.normpath(Path(target).absolute()))
        folders.append(absolute if absolute.is_dir() else absolute.parent)
    if not folders:
        return Path.cwd()
    return Path(os.path.commonpath([str(f) for f in folders]))


def git_work_tree(start: Path) -> Path | None:
    """The nearest directory at or above `start` that has a `.git` entry, if any."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_root(targets: Sequence[str | Path]) -> Path:
    """The git work tree holding the targets, else the directory they share."""
    scanned = scanned_directory(targets)
    return git_work_tree(scanned) or scanned
