"""The digest of the policy bundle a profile puts in force.

The build gate records it in its gate-verdict attestation and the merge gate
compares it, so both must compute it the same way: this module is the one
place. The bundle is every file whose content can change a verdict: the Rego
policies and data the profile loads (bundled and the team's), the Kyverno
policies, the rule catalogue (severities) and the scanner severity tables.
Each file enters as `label NUL sha256(content)`, sorted by label; labels are
`bundled/<path in the cdgate package>` or the path relative to the profile's
directory, so the digest does not depend on where the checkout lives.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from scanner.profile import Profile

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_REGO = PACKAGE_ROOT / "policies" / "rego"
BUNDLED_KYVERNO = PACKAGE_ROOT / "policies" / "kyverno"
RULES = PACKAGE_ROOT / "rules"
_EMPTY_PROFILE_DIGEST = hashlib.sha256(b"").hexdigest()


def _label(path: Path, profile: Profile) -> str:
    resolved = path.resolve()
    for base, prefix in ((PACKAGE_ROOT, "bundled/"), (profile.base_dir.resolve(), "")):
        try:
            return prefix + resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return resolved.as_posix()


def _files_under(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return [
        p for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix in suffixes and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]


def policy_bundle_files(profile: Profile) -> list[Path]:
    """Every file of the policy bundle the profile puts in force, in a stable order."""
    rego_paths = ([BUNDLED_REGO] if profile.rego.bundled else []) + list(profile.rego.policies) + list(profile.rego.data)
    kyverno_paths = ([BUNDLED_KYVERNO] if profile.kyverno.bundled else []) + list(profile.kyverno.policies)
    files: set[Path] = set()
    for path in rego_paths:
        files.update(_files_under(path, (".rego", ".json", ".yaml", ".yml")))
    for path in kyverno_paths:
        files.update(_files_under(path, (".yaml", ".yml")))
    files.update(_files_under(RULES, (".yaml",)))
    return sorted(files, key=lambda p: _label(p, profile))


def policy_bundle_digest(profile: Profile) -> str:
    """`sha256:<hex>` over the labels and contents of `policy_bundle_files(profile)`."""
    digest = hashlib.sha256()
    for path in policy_bundle_files(profile):
        digest.update(_label(path, profile).encode() + b"\0" + hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return "sha256:" + digest.hexdigest()


def profile_digest(profile: Profile) -> str:
    """`sha256:<hex>` of the gate.yaml in force; the built-in default reads as an empty gate.yaml."""
    return "sha256:" + (profile.digest or _EMPTY_PROFILE_DIGEST)
