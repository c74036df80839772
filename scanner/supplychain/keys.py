"""cosign's key files: encrypted private keys and PEM public keys.

A cosign private key is a PEM block (`ENCRYPTED SIGSTORE PRIVATE KEY`, or the
older `ENCRYPTED COSIGN PRIVATE KEY`) whose body is JSON:

    {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1}, "salt": b64},
     "cipher": {"name": "nacl/secretbox", "nonce": b64},
     "ciphertext": b64}

The secretbox key is scrypt(password, salt) (32 bytes); the plaintext is a
PKCS#8 DER private key. Reading is defensive: a crafted file must not make
scrypt allocate gigabytes, so parameters are bounded before any work is done.
Passwords and key bytes are never logged and never appear in error messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

PrivateKey: TypeAlias = "ec.EllipticCurvePrivateKey"
PublicKey: TypeAlias = "ec.EllipticCurvePublicKey"

from scanner.supplychain.encoding import b64decode, b64encode
from scanner.supplychain.errors import KeyFileError

SIGSTORE_PRIVATE_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_PRIVATE_LABEL = "ENCRYPTED COSIGN PRIVATE KEY"
PRIVATE_LABELS = (SIGSTORE_PRIVATE_LABEL, COSIGN_PRIVATE_LABEL)
PUBLIC_LABEL = "PUBLIC KEY"

# What `generate-key-pair` writes (cosign's current defaults).
DEFAULT_SCRYPT = {"N": 65536, "r": 8, "p": 1}

# What a key file may ask for when read: scrypt needs 128*N*r bytes of memory.
MAX_SCRYPT_N = 1 << 17
MAX_SCRYPT_R = 16
MAX_SCRYPT_P = 16
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
MAX_KEY_FILE_BYTES = 64 * 1024

_PEM_RE = re.compile(
    r"-----BEGIN (?P<label>[A-Z ]+)-----\s*(?P<body>[A-Za-z0-9+/=\s]*?)\s*-----END (?P=label)-----",
    re.S,
)


@dataclass(frozen=True)
class PemBlock:
    label: str
    der: bytes


def parse_pem(data: bytes, *, path: str | None = None) -> list[PemBlock]:
    """Every PEM block in `data`, in order (the body base64-decoded)."""
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError("key file is too large to be a key", path=path)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError("key file is not PEM text", path=path, hint="expected a cosign.key or cosign.pub") from None
    blocks = []
    for match in _PEM_RE.finditer(text):
        try:
            der = base64.b64decode("".join(match.group("body").split()), validate=True)
        except ValueError:
            raise KeyFileError(f"PEM block {match.group('label')!r} is not valid base64", path=path) from None
        blocks.append(PemBlock(match.group("label"), der))
    return blocks


def encode_pem(label: str, der: bytes) -> bytes:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)).encode()


# --- private keys -----------------------------------------------------------------


def generate_private_key() -> PrivateKey:
    """A new ECDSA P-256 key, the kind `cosign generate-key-pair` makes."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=32, maxmem=maxmem)


def encrypt_private_key(private_key: PrivateKey, password: bytes, *, scrypt_params: dict[str, int] | None = None) -> bytes:
    """PEM `ENCRYPTED SIGSTORE PRIVATE KEY` holding `private_key` as PKCS#8."""
    import nacl.secret
    from cryptography.hazmat.primitives import serialization

    params = dict(scrypt_params or DEFAULT_SCRYPT)
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = secrets.token_bytes(32)
    nonce = secrets.token_bytes(nacl.secret.SecretBox.NONCE_SIZE)
    box_key = _scrypt(password, salt, params["N"], params["r"], params["p"])
    ciphertext = nacl.secret.SecretBox(box_key).encrypt(der, nonce).ciphertext
    document = {
        "kdf": {"name": "scrypt", "params": {"N": params["N"], "r": params["r"], "p": params["p"]}, "salt": b64encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": b64encode(nonce)},
        "ciphertext": b64encode(ciphertext),
    }
    return encode_pem(SIGSTORE_PRIVATE_LABEL, json.dumps(document, separators=(",", ":")).encode())


def _field(document: Any, *keys: str, path: str | None) -> Any:
    value = document
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise KeyFileError(f"encrypted key has no {'.'.join(keys)}", path=path, hint="is this a cosign key?")
        value = value[key]
    return value


def _positive_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_scrypt_params(params: Any, *, path: str | None) -> tuple[int, int, int]:
    if not isinstance(params, dict):
        raise KeyFileError("encrypted key has no scrypt parameters", path=path)
    n, r, p = params.get("N"), params.get("r"), params.get("p")
    if not (_positive_int(n) and _positive_int(r) and _positive_int(p)):
        raise KeyFileError("scrypt parameters N, r, p must be positive integers", path=path)
    if n < 2 or n & (n - 1):
        raise KeyFileError(f"scrypt N={n} is not a power of two", path=path)
    if n > MAX_SCRYPT_N or r > MAX_SCRYPT_R or p > MAX_SCRYPT_P or 128 * n * r > MAX_SCRYPT_MEMORY:
        raise KeyFileError(
            f"scrypt parameters N={n} r={r} p={p} exceed cdgate's bounds "
            f"(N<={MAX_SCRYPT_N}, r<={MAX_SCRYPT_R}, p<={MAX_SCRYPT_P})",
            path=path,
            hint="refusing to spend unbounded memory on a key file; re-encrypt it with cosign's defaults",
        )
    return n, r, p


def decrypt_private_key(data: bytes, password: bytes, *, path: str | None = None) -> PrivateKey:
    """Load a cosign/sigstore encrypted private key; the result is a `cryptography` key.

    Raises KeyFileError for anything wrong: not a cosign key, bounds exceeded,
    wrong password, or a plaintext that is not PKCS#8.
    """
    import nacl.exceptions
    import nacl.secret
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    blocks = [b for b in parse_pem(data, path=path) if b.label in PRIVATE_LABELS]
    if not blocks:
        raise KeyFileError(
            "no ENCRYPTED SIGSTORE PRIVATE KEY or ENCRYPTED COSIGN PRIVATE KEY block found",
            path=path,
            hint="pass the cosign.key written by `cdgate generate-key-pair` or `cosign generate-key-pair`",
        )
    try:
        document = json.loads(blocks[0].der)
    except (ValueError, RecursionError):
        raise KeyFileError("encrypted key body is not JSON", path=path) from None
    if _field(document, "kdf", "name", path=path) != "scrypt":
        raise KeyFileError("unsupported key derivation (only scrypt)", path=path)
    if _field(document, "cipher", "name", path=path) != "nacl/secretbox":
        raise KeyFileError("unsupported cipher (only nacl/secretbox)", path=path)
    n, r, p = _check_scrypt_params(_field(document, "kdf", "params", path=path), path=path)
    try:
        salt = b64decode(_field(document, "kdf", "salt", path=path), "salt")
        nonce = b64decode(_field(document, "cipher", "nonce", path=path), "nonce")
        ciphertext = b64decode(_field(document, "ciphertext", path=path), "ciphertext")
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"encrypted key is malformed: {exc}", path=path) from None
    if not 8 <= len(salt) <= 128 or len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise KeyFileError("encrypted key has a bad salt or nonce length", path=path)
    box_key = _scrypt(password, salt, n, r, p)
    try:
        der = nacl.secret.SecretBox(box_key).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise KeyFileError(
            "could not decrypt the private key: wrong password or corrupted key",
            path=path,
            hint="set COSIGN_PASSWORD to the key's password",
        ) from None
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError:
        key = None
    if key is None or not _is_pkcs8(der):
        raise KeyFileError(
            "the decrypted key is not PKCS#8 (an old cosign EC PRIVATE KEY?)",
            path=path,
            hint="re-create the key with `cdgate generate-key-pair` or a current cosign",
        )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyFileError(f"unsupported key type {type(key).__name__}: cdgate signs with ECDSA keys", path=path)
    return key


def _is_pkcs8(der: bytes) -> bool:
    """PKCS#8 PrivateKeyInfo starts SEQUENCE { INTEGER version, SEQUENCE algId ...}.

    SEC1 `EC PRIVATE KEY` starts SEQUENCE { INTEGER 1, OCTET STRING ...}, which
    cryptography would also load; cosign refuses it, and so does cdgate.
    """
    try:
        i = 1
        length = der[i]
        i += 1 + (length & 0x7F if length & 0x80 else 0)
        if der[i] != 0x02:  # INTEGER version
            return False
        i += 2 + der[i + 1]
        return der[i] == 0x30  # AlgorithmIdentifier SEQUENCE
    except IndexError:
        return False


def load_private_key_file(path: Path | str, password: bytes) -> PrivateKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read private key: {exc.strerror}", path=str(path)) from None
    return decrypt_private_key(data, password, path=str(path))


# --- public keys ------------------------------------------------------------------


def public_key_pem(key: PrivateKey | PublicKey) -> bytes:
    """PEM `PUBLIC KEY` (PKIX) of a private or public key, as cosign.pub holds it."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "public_key") else key
    pem: bytes = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem


def public_key_der(key: PrivateKey | PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "public_key") else key
    der: bytes = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def key_hint(key: PrivateKey | PublicKey) -> str:
    """base64(sha256(PKIX DER)): the `publicKey.hint` cosign writes into bundles."""
    return b64encode(hashlib.sha256(public_key_der(key)).digest())


def load_public_key(data: bytes, *, path: str | None = None) -> PublicKey:
    """A PEM `PUBLIC KEY` (cosign.pub); ECDSA keys only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    blocks = [b for b in parse_pem(data, path=path) if b.label == PUBLIC_LABEL]
    if not blocks:
        raise KeyFileError("no PUBLIC KEY block found", path=path, hint="pass the cosign.pub of the signing key")
    try:
        key = serialization.load_der_public_key(blocks[0].der)
    except ValueError:
        raise KeyFileError("PUBLIC KEY block is not a valid key", path=path) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFileError(f"unsupported public key type {type(key).__name__} (ECDSA only)", path=path)
    return key


def load_public_key_file(path: Path | str) -> PublicKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read public key: {exc.strerror}", path=str(path)) from None
    return load_public_key(data, path=str(path))


# --- signing ------------------------------------------------------------------------


def sign_bytes(private_key: PrivateKey, data: bytes) -> bytes:
    """ASN.1 DER ECDSA signature over SHA-256(data), as cosign makes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify_bytes(public_key: PublicKey, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def verify_prehashed(public_key: PublicKey, signature: bytes, sha256_digest: bytes) -> bool:
    """Verify a signature given only SHA-256(data) (bundles and hashedrekord entries)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    if len(sha256_digest) != 32:
        return False
    try:
        public_key.verify(signature, sha256_digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return True
    except (InvalidSignature, ValueError):
        return False


# --- key pair files -------------------------------------------------------------------


def write_key_pair(prefix: Path | str, password: bytes, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write `<prefix>.key` (mode 0600, encrypted) and `<prefix>.pub`; return their paths."""
    from scanner.errors import InputError

    prefix = Path(prefix)
    key_path, pub_path = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    private_key = generate_private_key()
    encrypted = encrypt_private_key(private_key, password)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(key_path, flags, 0o600)
    except FileExistsError:
        raise InputError("refusing to overwrite an existing key", path=str(key_path), hint="remove it or pick another --output-key-prefix") from None
    except OSError as exc:
        raise InputError(f"cannot write private key: {exc.strerror}", path=str(key_path)) from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(encrypted)
    pub_path.write_bytes(public_key_pem(private_key))
    return key_path, pub_path
