"""Supply-chain errors: a failed verification is not the same as a broken tool.

`VerificationFailed` means cdgate looked and the evidence did not hold (exit 1,
a FAIL finding). `RegistryError` and `KeyError_` mean cdgate could not look at
all (exit 2, an ERROR finding): both subclass `CdgateError` so they fail closed.
"""

from __future__ import annotations

from scanner.errors import CdgateError, InputError


class VerificationFailed(Exception):
    """A signature, digest or attestation did not verify."""


class MalformedEvidence(VerificationFailed):
    """A bundle, envelope or signature cdgate cannot even parse.

    Among an image's signatures it is one more piece of evidence that does not
    hold (a subclass of `VerificationFailed`); given on the command line it is
    input cdgate cannot read, so `verify-blob` exits 2 for it, not 1.
    """


class RegistryError(CdgateError):
    """A registry or OCI layout could not be read or written."""


class KeyFileError(InputError):
    """A key file could not be read, decrypted or parsed."""
