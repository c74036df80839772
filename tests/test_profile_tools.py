"""gate.yaml for editors and newcomers: the shipped JSON Schema, `profile validate`, `init`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from scanner.profile import load_profile
from scanner.profile_schema import PROFILE_SCHEMA, schema_text

REPO = Path(__file__).resolve().parent.parent


def test_shipped_schema_file_is_the_code_schema():
    shipped = (REPO / "schemas" / "gate.schema.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == PROFILE_SCHEMA
    assert shipped == schema_text(), "regenerate with: cdgate profile schema -o schemas/gate.schema.json"
    jsonschema.Draft202012Validator.check_schema(json.loads(shipped))


def test_profile_schema_command_prints_the_file(cdgate):
    result = cdgate("profile", "schema")
    assert result.returncode == 0 and result.stdout == (REPO / "schemas" / "gate.schema.json").read_text()


def test_validate_accepts_a_good_profile_and_names_the_line_of_a_bad_one(tmp_path, cdgate):
    good = cdgate("profile", "validate", str(REPO / "examples" / "cd-repo" / "gate.yaml"), "--today", "2026-11-22")
    assert good.returncode == 0 and "valid (profile cd-repo-example" in good.stdout
    bad = tmp_path / "gate.yaml"
    bad.write_text("version: 1\nfail_on: hihg\n")
    result = cdgate("profile", "validate", str(bad))
    assert result.returncode == 2 and "gate.yaml:2" in result.stderr and "fail_on" in result.stderr
    bad.write_text("version: 1\nrules:\n  CDG-K8S-0O1: {disabled: true}\n")
    result = cdgate("profile", "validate", str(bad))
    assert result.returncode == 2 and "gate.yaml:3" in result.stderr and "CDG-K8S-001" in result.stderr


@pytest.mark.slow
def test_init_writes_a_valid_commented_profile_for_the_layout(tmp_path, cdgate):
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "cd-repo", repo)
    (repo / "gate.yaml").unlink()
    result = cdgate("init", str(repo))
    assert result.returncode == 0, result.stderr
    text = (repo / "gate.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=.cdgate/gate.schema.json")
    assert json.loads((repo / ".cdgate" / "gate.schema.json").read_text()) == PROFILE_SCHEMA
    assert "services/service-a, services/service-b" in text  # the charts
    assert "Kustomize targets (overlays/<env> when present): services/service-c\n" in text
    profile = load_profile(repo / "gate.yaml")
    assert set(profile.environments) == {"dev", "staging", "prod"}
    assert profile.for_environment("prod").fail_on.value == "medium"
    assert profile.waiver_max_days == 180
    again = cdgate("init", str(repo))
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert cdgate("check", str(repo), "--env", "prod", "-q").returncode == 1  # a usable profile: the planted violations fail
