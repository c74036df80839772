"""Issue 15, "internal errors" and minor items: each is an input error with a place and a hint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.hostile.fixtures import BENIGN_POD_YAML, PRIVILEGED_POD, write
from tests.hostile.harness import assert_contained, run_bounded

PASSWORD = {"COSIGN_PASSWORD": "pw"}


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """A key pair, a blob and its good bundle in tmp_path."""
    assert_contained(run_bounded("generate-key-pair", cwd=tmp_path, env=PASSWORD), 0)
    (tmp_path / "blob").write_text("hello\n")
    assert_contained(run_bounded("sign-blob", "--key", "cosign.key", "--bundle", "good.bundle", "blob", cwd=tmp_path, env=PASSWORD), 0)
    return tmp_path


def test_key_file_forty_thousand_brackets_deep_is_an_input_error(tmp_path: Path) -> None:
    body = base64.encodebytes(b"[" * 40_000).decode()
    write(tmp_path / "deep.key", f"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{body}-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    (tmp_path / "blob").write_text("x")
    run = run_bounded("sign-blob", "--key", "deep.key", "blob", cwd=tmp_path, env=PASSWORD)
    assert_contained(run, 2)
    assert "deep.key" in run.stderr and "not JSON" in run.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b["messageSignature"].update(signature=12345), "messageSignature.signature must be a base64 string"),
        (lambda b: b.update(messageSignature="oops"), "messageSignature must be a JSON object"),
        (lambda b: b["verificationMaterial"].update(tlogEntries="x"), "tlogEntries must be a list"),
        (lambda b: b.update(mediaType=5), "neither a Sigstore bundle"),
    ],
    ids=["signature-int", "message-signature-string", "tlog-entries-string", "media-type-int"],
)
def test_malformed_bundle_exits_2_with_the_file_named(signed: Path, change, expected: str) -> None:
    bundle = json.loads((signed / "good.bundle").read_text())
    change(bundle)
    (signed / "bad.bundle").write_text(json.dumps(bundle))
    run = run_bounded("verify-blob", "--key", "cosign.pub", "--bundle", "bad.bundle", "blob", cwd=signed)
    assert_contained(run, 2)
    assert "bad.bundle" in run.stderr and expected in run.stderr


def test_bundle_that_does_not_verify_exits_1(signed: Path) -> None:
    (signed / "other").write_text("tampered\n")
    run = run_bounded("verify-blob", "--key", "cosign.pub", "--bundle", "good.bundle", "other", cwd=signed)
    assert_contained(run, 1)
    good = run_bounded("verify-blob", "--key", "cosign.pub", "--bundle", "good.bundle", "blob", cwd=signed)
    assert_contained(good, 0)


@pytest.mark.parametrize("kind", ["directory", "under-a-file"])
def test_step_summary_that_cannot_be_written_is_an_error_naming_it(tmp_path: Path, kind: str) -> None:
    write(tmp_path / "pod.yaml", BENIGN_POD_YAML)
    if kind == "directory":
        summary = tmp_path / "summary"
        summary.mkdir()
    else:
        summary = tmp_path / "pod.yaml" / "summary.md"
    run = run_bounded("check", "pod.yaml", "-q", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert_contained(run, 2)
    assert str(summary) in run.stderr and "GITHUB_STEP_SUMMARY" in run.stderr


def test_escape_and_nul_in_a_name_never_reach_the_terminal(tmp_path: Path) -> None:
    pod = dict(PRIVILEGED_POD, metadata={"name": "evil\x1b[2J\x00x"})
    write(tmp_path / "pod.yaml", json.dumps(pod))
    run = run_bounded("check", "pod.yaml", cwd=tmp_path)
    assert_contained(run, 1)
    assert "\x1b" not in run.output and "\x00" not in run.output
    assert "evil\\x1b" in run.stdout


def test_backslash_in_a_file_name_is_escaped_in_sarif(tmp_path: Path) -> None:
    write(tmp_path / "back\\slash.yaml", json.dumps(PRIVILEGED_POD))
    run = run_bounded("check", ".", "-f", "sarif", cwd=tmp_path)
    assert_contained(run, 1)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in json.loads(run.stdout)["runs"][0]["results"]
        for loc in result["locations"]
    }
    assert uris == {"back%5Cslash.yaml"}


def test_unknown_gate_yaml_key_is_reported_at_its_line(tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", BENIGN_POD_YAML)
    write(tmp_path / "gate.yaml", "version: 1\nname: x\nrego:\n  bundled: true\n  polices: [x]\n")
    run = run_bounded("check", "pod.yaml", "--profile", "gate.yaml", cwd=tmp_path)
    assert_contained(run, 2)
    assert "gate.yaml:5:3:" in run.stderr and "polices" in run.stderr


def test_size_limit_hint_names_the_profile_key(tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", BENIGN_POD_YAML)
    write(tmp_path / "gate.yaml", "version: 1\nname: x\ninputs:\n  max_file_bytes: 100\n")
    run = run_bounded("check", "pod.yaml", "--profile", "gate.yaml", "-f", "json", cwd=tmp_path)
    assert_contained(run, 2)
    assert "inputs.max_file_bytes" in run.stdout and "LoadOptions" not in run.stdout
