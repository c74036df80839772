"""The rule catalogue and `cdgate rules`.

Every entry validates; every id a bundled policy emits has an entry and
every `engine: rego` entry names a policy file that emits it, so the
catalogue and the policies cannot drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from scanner.catalog import BUNDLED_RULES_DIR, CATALOG_SCHEMA, load_catalog
from scanner.cli import main

REPO = Path(__file__).resolve().parent.parent
POLICY_DIR = REPO / "policies" / "rego"
RULE_ID_IN_SOURCE = re.compile(r'"rule_id":\s*"(CDG-[A-Z0-9]+-\d{3})"')
DOC_HOSTS = {"kubernetes.io", "argo-cd.readthedocs.io"}


def ids_emitted_by(path: Path) -> set[str]:
    return set(RULE_ID_IN_SOURCE.findall(path.read_text(encoding="utf-8")))


def emitted_ids() -> dict[str, set[str]]:
    """rule id -> policy files (repo-relative) that emit it."""
    found: dict[str, set[str]] = {}
    for path in sorted(POLICY_DIR.rglob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        for rule_id in ids_emitted_by(path):
            found.setdefault(rule_id, set()).add(path.relative_to(REPO).as_posix())
    return found


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_every_entry_file_validates_against_the_schema():
    validator = jsonschema.Draft202012Validator(CATALOG_SCHEMA)
    files = sorted(BUNDLED_RULES_DIR.glob("*.yaml"))
    assert len(files) >= 40
    for path in files:
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = list(validator.iter_errors(entry))
        assert not errors, f"{path.name}: {errors[0].message}"
        assert path.stem == entry["id"]


def test_every_emitted_rule_id_has_a_catalogue_entry(catalog):
    emitted = emitted_ids()
    assert len(emitted) >= 40
    missing = sorted(set(emitted) - set(catalog.rules))
    assert not missing, f"policies emit ids with no rules/<id>.yaml: {missing}"


def test_every_rego_entry_has_a_policy_that_emits_it(catalog):
    emitted = emitted_ids()
    rego_rules = [rule for rule in catalog if rule.engine == "rego"]
    assert len(rego_rules) >= 40
    for rule in rego_rules:
        assert rule.id in emitted, f"{rule.id} is in the catalogue but no policy emits it"
        assert rule.policy in emitted[rule.id], f"{rule.id} names {rule.policy}, emitted by {emitted[rule.id]}"
        assert (REPO / rule.policy).is_file()


def test_rego_entries_carry_help_and_compliance(catalog):
    rego_rules = [r for r in catalog if r.engine == "rego"]
    assert rego_rules
    for rule in rego_rules:
        assert urlparse(rule.help_uri).hostname in DOC_HOSTS, rule.id
        if "pod_security_" in (rule.policy or ""):
            assert rule.compliance.get("pss") in {"baseline", "restricted"}, rule.id
            assert rule.policy.endswith(f"pod_security_{rule.compliance['pss']}.rego"), rule.id
    mapped = [r for r in rego_rules if r.compliance.get("cis") or r.compliance.get("nsa")]
    assert len(mapped) >= len(rego_rules) * 0.8
    for rule in rego_rules:
        for section in rule.compliance.get("cis", []):
            assert re.fullmatch(r"5\.\d+\.\d+", section), (rule.id, section)


def test_a_broken_entry_is_refused_naming_its_file(tmp_path):
    bad = tmp_path / "CDG-TST-001.yaml"
    bad.write_text("id: CDG-TST-001\ntitle: Something\nseverity: urgent\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "list", "--catalog", str(tmp_path)])
    assert result.exit_code == 2
    assert "CDG-TST-001.yaml" in result.output


# --- the commands ----------------------------------------------------------


def test_rules_list_shows_every_rule(catalog):
    result = CliRunner().invoke(main, ["rules", "list"])
    assert result.exit_code == 0, result.output
    for rule in catalog:
        assert rule.id in result.output
    assert "Privileged container" in result.output
    assert "PSS baseline; CIS 5.2.2" in result.output


def test_rules_list_json_matches_the_catalogue(catalog):
    result = CliRunner().invoke(main, ["rules", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [r["id"] for r in listed] == [r.id for r in catalog]
    first = next(r for r in listed if r["id"] == "CDG-K8S-001")
    assert first["severity"] == "critical" and "pss:baseline" in first["tags"]


def test_rules_list_filters_by_severity(catalog):
    result = CliRunner().invoke(main, ["rules", "list", "--format", "json", "--severity", "critical"])
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert listed and {r["severity"] for r in listed} == {"critical"}
    assert {r["id"] for r in listed} == {r.id for r in catalog if r.severity.value == "critical"}
    bad = CliRunner().invoke(main, ["rules", "list", "--severity", "urgent"])
    assert bad.exit_code == 2


def test_rules_show_prints_every_field(catalog):
    rule = catalog.get("CDG-K8S-112")
    result = CliRunner().invoke(main, ["rules", "show", "cdg-k8s-112"])
    assert result.exit_code == 0, result.output
    for text in (rule.id, rule.title, rule.severity.value, rule.help_uri, rule.policy, "5.1.1"):
        assert text in result.output
    assert rule.remediation.split()[0] in result.output
    assert "Description:" in result.output and "Remediation:" in result.output


def test_rules_show_json(catalog):
    result = CliRunner().invoke(main, ["rules", "show", "CDG-ARGO-002", "--format", "json"])
    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert shown["id"] == "CDG-ARGO-002"
    assert shown["help_uri"].startswith("https://argo-cd.readthedocs.io/")


def test_rules_show_unknown_id_exits_2_with_a_message():
    result = CliRunner().invoke(main, ["rules", "show", "CDG-NOPE-999"])
    assert result.exit_code == 2
    assert "unknown rule id" in result.output
    assert "cdgate rules list" in result.output
