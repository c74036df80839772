"""`--skip-dirs` and `--skip-files`: globs over repo-relative paths, as trivy has them.

A glob matches a path relative to the report root (`services/*/tests`) or
any one folder or file name (`testdata`, `*.generated.yaml`). A skipped
file is never read, so a broken file there cannot fail the run; a skipped
folder takes everything under it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class PathSkipper:
    """Decides, from repo-relative forward-slash paths, what the loader leaves out."""

    skip_dirs: tuple[str, ...] = ()
    skip_files: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.skip_dirs or self.skip_files)

    def skips_dir(self, shown: str) -> str | None:
        """The `--skip-dirs` glob that takes this directory (or one above it), if any."""
        path = PurePosixPath(shown)
        for folder in (path, *path.parents):
            if str(folder) in ("", "."):
                continue
            for pattern in self.skip_dirs:
                if _matches(folder, pattern):
                    return pattern
        return None

    def skips_file(self, shown: str) -> str | None:
        """The glob (`--skip-files`, or `--skip-dirs` for a folder above it) that takes this file."""
        path = PurePosixPath(shown)
        for pattern in self.skip_files:
            if _matches(path, pattern):
                return pattern
        return self.skips_dir(str(path.parent))


def _matches(path: PurePosixPath, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return fnmatch.fnmatchcase(str(path), pattern) or fnmatch.fnmatchcase(path.name, pattern)
