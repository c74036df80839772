"""cosign-compatible commands: the same names and flags as cosign.

`generate-key-pair`, `sign-blob`, `verify-blob`, `sign`, `verify`, `attest`
and `verify-attestation`. Exit 0 on success, 1 when verification fails,
2 when cdgate could not evaluate (bad key file, registry down, bad flags).
Passwords come from `COSIGN_PASSWORD` or an unechoed prompt and are never
printed. cdgate signs offline: nothing is uploaded to a transparency log.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn

import click

from scanner.commands._common import EXIT_FAILED, F, fail_closed

if TYPE_CHECKING:
    from scanner.supplychain.cosign import ImageTarget
    from scanner.supplychain.keys import PrivateKey, PublicKey
    from scanner.supplychain.rekor import TlogPolicy
from scanner.errors import ConfigError, InputError

_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off"}


class GoFlagsCommand(click.Command):
    """Accept cosign's Go-style booleans: `--flag`, `--flag=true`, `--flag=false`.

    Each boolean is declared as `--flag/--no-flag`; `--flag=VALUE` is rewritten
    before click parses, so scripts written for cosign run unchanged.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        booleans = {
            opt
            for param in self.params
            if isinstance(param, click.Option) and param.is_flag and param.secondary_opts
            for opt in param.opts
        }
        rewritten = []
        for arg in args:
            name, sep, value = arg.partition("=")
            if sep and name in booleans:
                if value.lower() in _TRUE:
                    arg = name
                elif value.lower() in _FALSE:
                    arg = "--no-" + name[2:]
                else:
                    raise click.BadParameter(f"{value!r} is not true or false", param_hint=name)
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


def _bool_option(name: str, default: bool, help: str) -> Callable[[F], F]:
    """A boolean flag cosign-style: `--flag[=true|false]` (also `--no-flag`)."""
    bare = name.lstrip("-")
    return click.option(f"{name}/--no-{bare}", default=default, show_default=True, help=help)


def _password(confirm: bool) -> bytes:
    if "COSIGN_PASSWORD" in os.environ:
        return os.environ["COSIGN_PASSWORD"].encode()
    if not sys.stdin.isatty():
        raise ConfigError("no password: set COSIGN_PASSWORD (stdin is not a terminal, so cdgate cannot prompt)")
    if confirm:
        value = click.prompt("Enter password for private key", hide_input=True, confirmation_prompt="Enter password for private key again", default="", show_default=False)
    else:
        value = click.prompt("Enter password for private key", hide_input=True, default="", show_default=False)
    return value.encode()


def _private_key(path: str) -> PrivateKey:
    from scanner.supplychain.keys import load_private_key_file

    return load_private_key_file(path, _password(confirm=False))


def _public_key(path: str) -> PublicKey:
    from scanner.supplychain.keys import load_public_key_file

    return load_public_key_file(path)


def _no_tlog_upload(tlog_upload: bool) -> None:
    if tlog_upload:
        raise ConfigError(
            "cdgate cannot upload to a transparency log (it signs offline)",
            hint="pass --tlog-upload=false",
        )


def _tlog_policy(trusted_root: str | None, ignore: bool) -> TlogPolicy:
    from scanner.supplychain.rekor import TlogPolicy, load_trusted_root

    root = load_trusted_root(trusted_root) if trusted_root else None
    return TlogPolicy(trusted_root=root, ignore=ignore)


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_FAILED)


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=path) from None


def _target(image: str, insecure: bool, verb: str = "verify") -> ImageTarget:
    """Resolve IMAGE to a digest in its registry or layout (warning when it is a tag)."""
    from scanner.supplychain.cosign import ImageTarget
    from scanner.supplychain.oci import RegistryOptions, open_repository
    from scanner.supplychain.reference import ReferenceError_, parse_reference

    try:
        reference = parse_reference(image)
    except ReferenceError_ as exc:
        raise ConfigError(str(exc), hint="use REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] or oci:DIR[:TAG]") from None
    options = RegistryOptions(insecure=frozenset({reference.registry}) if insecure else frozenset())
    repository = open_repository(reference, options)
    manifest = repository.get_manifest(reference.identifier)
    if reference.digest is None:
        click.echo(
            f"WARNING: Image reference {image} uses a tag, not a digest, to identify the image to {verb}.\n"
            f"    Resolved it to {manifest.digest}; pin {reference.repository_name}@{manifest.digest} instead.",
            err=True,
        )
    return ImageTarget(reference, repository, manifest.digest)


def _registry_options(func: F) -> F:
    func = _bool_option("--allow-http-registry", False, "Allow plain HTTP to a loopback registry.")(func)
    func = _bool_option("--allow-insecure-registry", False, "Allow an insecure (plain HTTP) loopback registry.")(func)
    return func


def _verify_options(func: F) -> F:
    func = click.option("--trusted-root", type=click.Path(dir_okay=False), help="Sigstore trusted_root.json for Rekor entries.")(func)
    func = _bool_option("--offline", True, "Verify without network access (cdgate always does).")(func)
    func = _bool_option("--insecure-ignore-tlog", False, "Skip transparency log checks.")(func)
    return func


# --- keys ----------------------------------------------------------------------------


@click.command("generate-key-pair", cls=GoFlagsCommand)
@click.option("--output-key-prefix", default="cosign", show_default=True, help="Write PREFIX.key and PREFIX.pub.")
@fail_closed
def generate_key_pair(output_key_prefix: str) -> None:
    """Write an encrypted ECDSA P-256 key pair (cosign.key, mode 0600, and cosign.pub).

    The password comes from COSIGN_PASSWORD, or is asked for twice.
    """
    from scanner.supplychain.keys import write_key_pair

    password = _password(confirm=True)
    key_path, pub_path = write_key_pair(output_key_prefix, password)
    click.echo(f"Private key written to {key_path}", err=True)
    click.echo(f"Public key written to {pub_path}", err=True)


# --- blobs ---------------------------------------------------------------------------


@click.command("sign-blob", cls=GoFlagsCommand)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Private key (cosign.key).")
@click.option("--output-signature", type=click.Path(dir_okay=False), help="Write the base64 signature here.")
@click.option("--bundle", type=click.Path(dir_okay=False), help="Write a Sigstore bundle here.")
@_bool_option("--new-bundle-format", True, "Write the bundle as Sigstore bundle v0.3.")
@_bool_option("--tlog-upload", False, "Upload to a transparency log (not supported: cdgate signs offline).")
@click.option("-y", "--yes", is_flag=True, help="Accepted for cosign compatibility.")
@click.argument("blob")
@fail_closed
def sign_blob(key: str, output_signature: str | None, bundle: str | None, new_bundle_format: bool, tlog_upload: bool, yes: bool, blob: str) -> None:
    """Sign BLOB (a file, or - for stdin); print the base64 signature."""
    from scanner.supplychain.blob import sign_blob as do_sign

    _no_tlog_upload(tlog_upload)
    data = _read_input(blob)
    result = do_sign(_private_key(key), data, new_bundle_format=new_bundle_format)
    if output_signature:
        Path(output_signature).write_text(result.signature_b64)
        click.echo(f"Wrote signature to file {output_signature}", err=True)
    else:
        click.echo(result.signature_b64)
    if bundle:
        Path(bundle).write_bytes(result.bundle or b"")
        click.echo(f"Wrote bundle to file {bundle}", err=True)


@click.command("verify-blob", cls=GoFlagsCommand)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Public key (cosign.pub).")
@click.option("--signature", help="Signature file (or the base64 signature itself).")
@click.option("--bundle", type=click.Path(dir_okay=False), help="Sigstore bundle or cosign local bundle.")
@_verify_options
@click.argument("blob")
@fail_closed
def verify_blob(key: str, signature: str | None, bundle: str | None, insecure_ignore_tlog: bool, offline: bool, trusted_root: str | None, blob: str) -> None:
    """Verify BLOB's signature or bundle with a public key."""
    from scanner.supplychain.blob import verify_blob as do_verify
    from scanner.supplychain.errors import MalformedEvidence, VerificationFailed

    public_key = _public_key(key)
    data = _read_input(blob)
    signature_b64 = None
    if signature is not None:
        signature_b64 = Path(signature).read_text().strip() if Path(signature).is_file() else signature.strip()
    bundle_bytes = _read_input(bundle) if bundle else None
    try:
        do_verify(public_key, data, signature_b64=signature_b64, bundle=bundle_bytes, tlog=_tlog_policy(trusted_root, insecure_ignore_tlog))
    except MalformedEvidence as exc:  # cannot read it: exit 2, not "did not verify"
        raise InputError(str(exc), path=bundle or signature, hint="pass the bundle or signature cosign or cdgate wrote") from None
    except VerificationFailed as exc:
        _fail(str(exc))
    click.echo("Verified OK", err=True)


# --- images --------------------------------------------------------------------------


def _annotations(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"annotation {item!r} is not KEY=VALUE")
        out[name] = value
    return out


@click.command("sign", cls=GoFlagsCommand)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Private key (cosign.key).")
@click.option("-a", "--annotations", multiple=True, help="KEY=VALUE to sign along (repeatable).")
@_bool_option("--new-bundle-format", True, "Store a Sigstore bundle as an OCI 1.1 referrer (false: legacy .sig tag).")
@_bool_option("--tlog-upload", False, "Upload to a transparency log (not supported: cdgate signs offline).")
@_bool_option("--upload", True, "Push the signature (false: print the payload).")
@_registry_options
@click.option("-y", "--yes", is_flag=True, help="Accepted for cosign compatibility.")
@click.argument("image")
@fail_closed
def sign(
    key: str,
    annotations: tuple[str, ...],
    new_bundle_format: bool,
    tlog_upload: bool,
    upload: bool,
    allow_insecure_registry: bool,
    allow_http_registry: bool,
    yes: bool,
    image: str,
) -> None:
    """Sign IMAGE (in a registry, or oci:DIR) and store the signature next to it."""
    from scanner.supplychain.cosign import sign_image
    from scanner.supplychain.simplesigning import make_payload

    _no_tlog_upload(tlog_upload)
    private_key = _private_key(key)
    target = _target(image, allow_insecure_registry or allow_http_registry, "sign")
    if not upload:
        click.echo(make_payload(target.subject_name, target.digest, _annotations(annotations) or None).decode())
        return
    stored = sign_image(target, private_key, new_bundle_format=new_bundle_format, annotations=_annotations(annotations))
    where = "referrer" if new_bundle_format else "tag"
    click.echo(f"Pushing signature to: {target.repository.name} ({where} {stored})", err=True)


@click.command("verify", cls=GoFlagsCommand)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Public key (cosign.pub).")
@_verify_options
@_registry_options
@click.option("-o", "--output", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.argument("image")
@fail_closed
def verify(
    key: str,
    insecure_ignore_tlog: bool,
    offline: bool,
    trusted_root: str | None,
    allow_insecure_registry: bool,
    allow_http_registry: bool,
    output: str,
    image: str,
) -> None:
    """Verify IMAGE's signatures with a public key; print the verified payloads."""
    from scanner.supplychain.cosign import TrustedKey, verify_image_signatures
    from scanner.supplychain.errors import VerificationFailed

    keys = [TrustedKey(key, _public_key(key))]
    target = _target(image, allow_insecure_registry or allow_http_registry)
    report = verify_image_signatures(target, keys, _tlog_policy(trusted_root, insecure_ignore_tlog))
    try:
        verified = report.require(f"signatures for {target.reference.repository_name}@{target.digest}")
    except VerificationFailed as exc:
        _fail(str(exc))
    click.echo(f"\nVerification for {target.reference.repository_name}@{target.digest} --", err=True)
    click.echo("The following checks were performed on each of these signatures:", err=True)
    click.echo("  - The cosign claims were validated", err=True)
    click.echo("  - The signatures were verified against the specified public key", err=True)
    if output == "json":  # like cosign: one JSON array of the verified payloads
        click.echo(json.dumps([json.loads(item.payload) for item in verified], separators=(",", ":")))
    else:
        for item in verified:
            click.echo(f"{item.source}: verified with {item.key_name}")


@click.command("attest", cls=GoFlagsCommand)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Private key (cosign.key).")
@click.option("--type", "type_", default="custom", show_default=True, help="Predicate type: cyclonedx, spdxjson, vuln, slsaprovenance1, custom, gate-verdict, or a URI.")
@click.option("--predicate", required=True, type=click.Path(dir_okay=False), help="Predicate file (JSON; any text for custom).")
@_bool_option("--new-bundle-format", True, "Store a Sigstore bundle as an OCI 1.1 referrer (false: legacy .att tag).")
@_bool_option("--tlog-upload", False, "Upload to a transparency log (not supported: cdgate signs offline).")
@_registry_options
@click.option("-y", "--yes", is_flag=True, help="Accepted for cosign compatibility.")
@click.argument("image")
@fail_closed
def attest(
    key: str,
    type_: str,
    predicate: str,
    new_bundle_format: bool,
    tlog_upload: bool,
    allow_insecure_registry: bool,
    allow_http_registry: bool,
    yes: bool,
    image: str,
) -> None:
    """Attach a signed in-toto attestation (PREDICATE of TYPE) to IMAGE."""
    from scanner.supplychain.cosign import attest_image
    from scanner.supplychain.intoto import build_predicate, resolve_predicate_type

    _no_tlog_upload(tlog_upload)
    predicate_type = resolve_predicate_type(type_)
    body = build_predicate(type_, _read_input(predicate), path=predicate)
    private_key = _private_key(key)
    target = _target(image, allow_insecure_registry or allow_http_registry, "attest")
    stored = attest_image(target, private_key, predicate_type, body, new_bundle_format=new_bundle_format)
    click.echo(f"Pushing attestation ({predicate_type}) to: {target.repository.name} ({stored})", err=True)


@click.command("verify-attestation", cls=GoFlagsCommand)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Public key (cosign.pub).")
@click.option("--type", "type_", default="custom", show_default=True, help="Predicate type to require (short name or URI).")
@click.option("--policy", type=click.Path(dir_okay=False), help="Rego (package cdgate.attestation, rule deny) over the predicate.")
@_verify_options
@_registry_options
@click.argument("image")
@fail_closed
def verify_attestation(
    key: str,
    type_: str,
    policy: str | None,
    insecure_ignore_tlog: bool,
    offline: bool,
    trusted_root: str | None,
    allow_insecure_registry: bool,
    allow_http_registry: bool,
    image: str,
) -> None:
    """Verify IMAGE's attestations of TYPE; print each verified envelope payload."""
    from scanner.supplychain.conditions import Condition
    from scanner.supplychain.cosign import TrustedKey, verify_image_attestations
    from scanner.supplychain.dsse import INTOTO_PAYLOAD_TYPE
    from scanner.supplychain.encoding import b64encode
    from scanner.supplychain.errors import VerificationFailed
    from scanner.supplychain.intoto import resolve_predicate_type

    predicate_type = resolve_predicate_type(type_)
    condition = Condition(_read_input(policy).decode(), policy) if policy else None
    keys = [TrustedKey(key, _public_key(key))]
    target = _target(image, allow_insecure_registry or allow_http_registry)
    report = verify_image_attestations(target, keys, _tlog_policy(trusted_root, insecure_ignore_tlog), predicate_type)
    try:
        verified = report.require(f"{predicate_type} attestations for {target.reference.repository_name}@{target.digest}")
    except VerificationFailed as exc:
        _fail(str(exc))
    if condition is not None:
        denials = [m for item in verified if item.statement is not None for m in condition.deny(item.statement.predicate)]
        if denials:
            _fail(f"{len(denials)} policy violation(s): " + "; ".join(denials))
    click.echo(f"\nVerification for {target.reference.repository_name}@{target.digest} --", err=True)
    click.echo("The following checks were performed on each of these signatures:", err=True)
    click.echo("  - The cosign claims were validated", err=True)
    click.echo("  - The signatures were verified against the specified public key", err=True)
    for item in verified:  # like cosign: each verified DSSE envelope, one per line
        envelope = item.envelope.to_dict() if item.envelope is not None else {"payloadType": INTOTO_PAYLOAD_TYPE, "payload": b64encode(item.payload)}
        click.echo(json.dumps(envelope, separators=(",", ":")))
