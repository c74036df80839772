"""Reading a git repository without touching its working tree.

Refs are resolved to commits, changed files come from `git diff` against the
merge base (what the pull request introduces), and trees are written to a
temporary directory with `git archive` (only the paths asked for), extracted
with tarfile's `data` filter so a hostile tree cannot write outside it. Every
git call has a deadline; archives have a size bound.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from scanner.errors import CdgateError, ConfigError, InputError

GIT_TIMEOUT_S = 120.0
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024


class GitError(CdgateError):
    """A git command failed: bad ref, not a repository, git missing."""


@dataclass(frozen=True)
class Repository:
    """A git repository (any checkout of it) that refs are read from."""

    path: Path

    def git(self, *args: str, input_bytes: bytes | None = None) -> bytes:
        command = ["git", "-C", str(self.path), "-c", "core.quotePath=false", *args]
        try:
            completed = subprocess.run(
                command, input=input_bytes, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
            )
        except FileNotFoundError:
            raise ConfigError("git is not installed", hint="install git to run the merge gate") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT_S:.0f} s", path=str(self.path)) from None
        if completed.returncode != 0:
            detail = completed.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(
                f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(completed.returncode)}",
                path=str(self.path),
                hint="check --repo, --base and --head (fetch the base branch with enough history: fetch-depth 0)",
            )
        return completed.stdout

    def resolve(self, ref: str) -> str:
        """The commit a ref names (`--end-of-options` so a ref cannot be read as an option)."""
        if not ref or ref.startswith("-"):
            raise ConfigError(f"not a git ref: {ref!r}", hint="pass a branch, tag or commit")
        return self.git("rev-parse", "--verify", "--end-of-options", ref + "^{commit}").decode().strip()

    def merge_base(self, base: str, head: str) -> str:
        return self.git("merge-base", base, head).decode().strip()

    def changed_files(self, base: str, head: str) -> list[str]:
        """Paths added, changed, deleted or renamed (both names) between two commits."""
        out = self.git("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", base, head, "--")
        return sorted({p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p})

    def files(self, commit: str) -> list[str]:
        """Every file path in a commit's tree."""
        out = self.git("ls-tree", "-r", "-z", "--name-only", "--full-tree", commit)
        return [p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p]

    def export(self, commit: str, paths: Sequence[str], destination: Path) -> None:
        """Write `paths` (files or directories) of a commit's tree under `destination`."""
        destination.mkdir(parents=True, exist_ok=True)
        if not paths:
            return
        data = self.git("archive", "--format=tar", commit, "--", *sorted(set(paths)))
        if len(data) > MAX_ARCHIVE_BYTES:
            raise InputError(f"tree of {commit[:12]} is larger than {MAX_ARCHIVE_BYTES // 2**20} MiB", path=str(self.path))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            archive.extractall(destination, filter="data")
