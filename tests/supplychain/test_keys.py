"""cosign key files: what cdgate writes, what it reads, and what it refuses."""

from __future__ import annotations

import json
import stat
import time

import pytest

from scanner.supplychain import keys
from scanner.supplychain.errors import KeyFileError


def _document(pem: bytes) -> tuple[str, dict]:
    block = keys.parse_pem(pem)[0]
    return block.label, json.loads(block.der)


def test_written_key_uses_cosign_format_and_defaults(tmp_path):
    key_path, pub_path = keys.write_key_pair(tmp_path / "cosign", b"s3cret")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    label, document = _document(key_path.read_bytes())
    assert label == "ENCRYPTED SIGSTORE PRIVATE KEY"
    assert document["kdf"]["name"] == "scrypt"
    assert document["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}
    assert document["cipher"]["name"] == "nacl/secretbox"
    assert len(keys.b64decode(document["kdf"]["salt"])) == 32
    assert len(keys.b64decode(document["cipher"]["nonce"])) == 24
    assert pub_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    loaded = keys.load_private_key_file(key_path, b"s3cret")
    assert keys.public_key_der(loaded) == keys.public_key_der(keys.load_public_key_file(pub_path))


def test_plaintext_of_a_written_key_is_pkcs8_p256(tmp_path):
    """Decrypt with nothing but hashlib + PyNaCl, following the format, not cdgate's reader."""
    import hashlib

    import nacl.secret
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_path, _ = keys.write_key_pair(tmp_path / "k", b"pw")
    _, document = _document(key_path.read_bytes())
    params = document["kdf"]["params"]
    box_key = hashlib.scrypt(b"pw", salt=keys.b64decode(document["kdf"]["salt"]), n=params["N"], r=params["r"], p=params["p"], dklen=32, maxmem=1 << 27)
    der = nacl.secret.SecretBox(box_key).decrypt(keys.b64decode(document["ciphertext"]), keys.b64decode(document["cipher"]["nonce"]))
    assert der[:1] == b"\x30" and keys._is_pkcs8(der)
    key = serialization.load_der_private_key(der, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"


def test_refuses_to_overwrite_an_existing_key(tmp_path):
    keys.write_key_pair(tmp_path / "cosign", b"a")
    before = (tmp_path / "cosign.key").read_bytes()
    with pytest.raises(Exception, match="refusing to overwrite"):
        keys.write_key_pair(tmp_path / "cosign", b"b")
    assert (tmp_path / "cosign.key").read_bytes() == before


def test_empty_password_round_trips(tmp_path):
    key_path, _ = keys.write_key_pair(tmp_path / "k", b"")
    assert keys.load_private_key_file(key_path, b"") is not None
    with pytest.raises(KeyFileError, match="wrong password"):
        keys.load_private_key_file(key_path, b"x")


def test_cosign_label_is_accepted(tmp_path):
    key = keys.generate_private_key()
    pem = keys.encrypt_private_key(key, b"pw", scrypt_params={"N": 1024, "r": 8, "p": 1})
    relabelled = pem.replace(b"SIGSTORE", b"COSIGN")
    assert keys.public_key_der(keys.decrypt_private_key(relabelled, b"pw")) == keys.public_key_der(key)


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"N": 1 << 30, "r": 8, "p": 1}, "exceed"),
        ({"N": 65536, "r": 1024, "p": 1}, "exceed"),
        ({"N": 65536, "r": 8, "p": 1000}, "exceed"),
        ({"N": 65535, "r": 8, "p": 1}, "power of two"),
        ({"N": 0, "r": 8, "p": 1}, "positive"),
        ({"N": "65536", "r": 8, "p": 1}, "positive"),
    ],
)
def test_crafted_scrypt_parameters_are_refused_before_any_work(params, reason):
    pem = keys.encrypt_private_key(keys.generate_private_key(), b"pw", scrypt_params={"N": 1024, "r": 8, "p": 1})
    label, document = _document(pem)
    document["kdf"]["params"] = params
    crafted = keys.encode_pem(label, json.dumps(document).encode())
    started = time.monotonic()
    with pytest.raises(KeyFileError, match=reason):
        keys.decrypt_private_key(crafted, b"pw")
    assert time.monotonic() - started < 1.0


def test_errors_never_contain_the_password():
    pem = keys.encrypt_private_key(keys.generate_private_key(), b"pw", scrypt_params={"N": 1024, "r": 8, "p": 1})
    with pytest.raises(KeyFileError) as caught:
        keys.decrypt_private_key(pem, b"hunter2-secret")
    assert "hunter2" not in str(caught.value)


def test_not_a_key_is_a_clear_error(tmp_path):
    path = tmp_path / "cosign.key"
    path.write_text("hello")
    with pytest.raises(KeyFileError, match="no ENCRYPTED SIGSTORE PRIVATE KEY"):
        keys.load_private_key_file(path, b"")
    with pytest.raises(KeyFileError, match="no PUBLIC KEY"):
        keys.load_public_key_file(path)
    with pytest.raises(KeyFileError, match="cannot read"):
        keys.load_public_key_file(tmp_path / "missing.pub")


def test_a_key_made_by_cosign_signs_in_cdgate(corpus):
    """pemsigstorekey.key was written by cosign; cdgate signs with it and verifies."""
    key = keys.load_private_key_file(corpus / "keys" / "policy-controller-cosign.key", b"")
    public = keys.load_public_key_file(corpus / "keys" / "policy-controller-cosign.pub")
    signature = keys.sign_bytes(key, b"release 1.2.3")
    assert keys.verify_bytes(public, signature, b"release 1.2.3")
    assert not keys.verify_bytes(public, signature, b"release 1.2.4")


def test_key_hint_is_sha256_of_the_public_key_der(corpus):
    public = keys.load_public_key_file(corpus / "bundles" / "public-key-validity.pem")
    assert keys.key_hint(public) == json.loads((corpus / "bundles" / "public-key-validity.sigstore.json").read_text())["verificationMaterial"]["publicKey"]["hint"]
