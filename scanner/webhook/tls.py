"""Serving certificate reloaded when its files change.

cert-manager and similar tools renew the certificate by replacing the files
in the mounted Secret. An `ssl.SSLContext` hands its certificate to each new
connection when the connection is made, so loading the new pair into the
same context that uvicorn serves with changes what new handshakes present,
without a restart and without dropping open connections. A half-written pair
(the key not yet matching the certificate) is refused by OpenSSL; the old
pair stays until the next check.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

FileStamp = tuple[int, int, int] | None


def _stamp(path: Path) -> FileStamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass
class ReloadResult:
    changed: bool
    error: str | None = None


class CertificateReloader:
    """Watches a certificate and key file and loads them into `context` when either changes."""

    def __init__(self, context: ssl.SSLContext, cert_file: Path, key_file: Path) -> None:
        self.context = context
        self.cert_file = Path(cert_file)
        self.key_file = Path(key_file)
        self._stamps = (_stamp(self.cert_file), _stamp(self.key_file))
        self.reloads = 0

    def check(self) -> ReloadResult:
        """Reload if the files changed since the last successful load (or failed attempt)."""
        stamps = (_stamp(self.cert_file), _stamp(self.key_file))
        if stamps == self._stamps:
            return ReloadResult(False)
        try:
            self.context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            # Keep the pair that works; try again once the files change again or the next check runs.
            return ReloadResult(False, f"cannot load {self.cert_file} / {self.key_file}: {exc}; still serving the previous certificate")
        self._stamps = stamps
        self.reloads += 1
        return ReloadResult(True)
