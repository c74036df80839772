"""The policy bundle digest: which policies were in force, as one sha256.

The build gate records it in its gate-verdict attestation
(`predicate.policyBundle.digest.sha256`) and the merge gate compares it with
the bundle in force at the pull request, so an image whose build ran other
policies (or no gate at all) cannot merge. Both sides must compute it the same
way, so it lives here: sha256 over every policy file the profile selects
(bundled and team Rego, Rego data, bundled and team Kyverno, and the team's
Gatekeeper and CEL policies, params and data: `Profile.policy_paths`), sorted by a
stable label, each entry hashed as label, size and bytes.

Labels do not depend on where cdgate or the repository is checked out:
bundled files are `cdgate:<path under policies/>`, the team's files are
relative to the directory of `gate.yaml`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ConfigError
from scanner.profile import Profile

#: The files a policy directory contributes (policies, their data and Kyverno YAML).
POLICY_SUFFIXES = (".rego", ".yaml", ".yml", ".json")
BUNDLED_POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle: its stable label and where it is read from."""

    label: str
    path: Path


def policy_bundle_files(profile: Profile) -> list[BundleFile]:
    """Every policy and data file the profile selects, sorted by label, without duplicates."""
    selected: list[tuple[Path, bool]] = []
    if profile.rego.bundled:
        selected.append((BUNDLED_POLICIES_DIR / "rego", True))
    if profile.kyverno.bundled:
        selected.append((BUNDLED_POLICIES_DIR / "kyverno", True))
    selected.extend((p, False) for p in profile.policy_paths())
    files: dict[str, Path] = {}
    for root, bundled in selected:
        for path in _policy_files(root):
            files[_label(path, bundled, profile.base_dir)] = path
    return [BundleFile(label, files[label]) for label in sorted(files)]


def policy_bundle_digest(profile: Profile) -> str:
    """`sha256:<hex>` over the profile's policy files (see the module docstring)."""
    digest = hashlib.sha256(b"cdgate-policy-bundle/1\n")
    for item in policy_bundle_files(profile):
        try:
            data = item.path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read policy file: {exc.strerror}", path=str(item.path)) from None
        label = item.label.encode()
        digest.update(b"%d:%s\n%d:" % (len(label), label, len(data)))
        digest.update(data)
    return "sha256:" + digest.hexdigest()


def _policy_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ConfigError("policy path does not exist", path=str(root), hint="fix the path in gate.yaml")
    found: list[Path] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.extend(Path(directory) / n for n in names if n.endswith(POLICY_SUFFIXES) and not n.startswith("."))
    return sorted(found)


def _label(path: Path, bundled: bool, profile_dir: Path) -> str:
    if bundled:
        return "cdgate:" + path.relative_to(BUNDLED_POLICIES_DIR).as_posix()
    try:
        return path.resolve().relative_to(profile_dir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


_EMPTY_PROFILE_DIGEST = hashlib.sha256(b"").hexdigest()


def profile_digest(profile: Profile) -> str:
    """`sha256:<hex>` of the gate.yaml in force; the built-in default reads as an empty gate.yaml."""
    return "sha256:" + (profile.digest or _EMPTY_PROFILE_DIGEST)
