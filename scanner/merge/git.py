"""Reading a git repository without touching its working tree.

Refs are resolved to commits, changed files come from `git diff` against the
merge base (what the pull request introduces), and trees are written to a
temporary directory from the objects themselves (`git cat-file --batch`, only
the files asked for; a path that could leave the directory is refused). Every
git call has a deadline; an export has a size bound, checked before content is read.
"""

from __future__ import annotations

import bisect
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from scanner.errors import CdgateError, ConfigError, InputError

GIT_TIMEOUT_S = 120.0
MAX_EXPORT_BYTES = 512 * 1024 * 1024
REGULAR_MODES = ("100644", "100755")


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

    def tree(self, commit: str) -> dict[str, TreeEntry]:
        """Every file of a commit's tree: path -> mode and object id (one `git ls-tree`)."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", commit)
        entries: dict[str, TreeEntry] = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, oid = meta.decode().split()
            entries[raw_path.decode("utf-8", errors="surrogateescape")] = TreeEntry(mode, kind, oid)
        return entries

    def export(self, tree: dict[str, TreeEntry], paths: Sequence[str], destination: Path) -> int:
        """Write the files of `tree` under `paths` (files or folders) below `destination`; return how many.

        Blobs are read in one `git cat-file --batch`; only the objects needed
        are read, so the cost follows the paths, not the repository. Regular
        files only: symlinks and submodules are not written (a chart that
        needs one then fails to render, which fails closed).
        """
        destination.mkdir(parents=True, exist_ok=True)
        ordered = sorted(tree)
        selected: set[str] = set()
        for root in set(paths):
            if root in tree:
                selected.add(root)
            index = bisect.bisect_left(ordered, root + "/")
            while index < len(ordered) and ordered[index].startswith(root + "/"):
                selected.add(ordered[index])
                index += 1
        wanted = [
            (path, tree[path]) for path in sorted(selected) if tree[path].kind == "blob" and tree[path].mode in REGULAR_MODES
        ]
        if not wanted:
            return 0
        request = b"".join(entry.oid.encode() + b"\n" for _, entry in wanted)
        sizes = self.git("cat-file", "--batch-check=%(objectsize)", input_bytes=request).split()
        total = sum(int(size) for size in sizes)
        if total > MAX_EXPORT_BYTES:  # checked before a byte of content is read
            raise InputError(
                f"the files to render hold {total // 2**20} MiB, more than {MAX_EXPORT_BYTES // 2**20} MiB",
                path=str(self.path),
                hint="keep large files out of the folders a change reaches",
            )
        data = self.git("cat-file", "--batch", input_bytes=request)
        offset = 0
        for path, entry in wanted:
            header_end = data.index(b"\n", offset)
            oid, kind, size = data[offset:header_end].decode().split(" ")
            if oid != entry.oid or kind != "blob":
                raise GitError(f"git cat-file returned {kind} {oid} for {path}", path=str(self.path))
            start = header_end + 1
            content = data[start : start + int(size)]
            offset = start + int(size) + 1
            target = destination / _safe_relative(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            if entry.mode == "100755":
                target.chmod(0o755)
        return len(wanted)


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # 100644, 100755, 120000 (symlink), 160000 (submodule)
    kind: str  # blob, tree, commit
    oid: str


def _safe_relative(path: str) -> Path:
    """A tree path as a relative filesystem path; refuses what could leave the export directory."""
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise InputError("unsafe path in the git tree", path=path, hint="git refuses such paths; the commit was crafted")
    return Path(*parts)
