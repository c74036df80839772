"""Trivy's JSON report (schema 2) as raw results: what is kept, where it points, how it is identified."""

from __future__ import annotations

from pathlib import Path

from scanner.catalog import load_catalog
from scanner.engines.trivy import results_from_report
from scanner.gates.results import finding_from_raw


def _secret(line: int) -> dict:
    return {"RuleID": "github-pat", "Category": "GitHub", "Severity": "CRITICAL", "Title": "GitHub Personal Access Token",
            "StartLine": line, "EndLine": line, "Match": "token = ****"}


def report(first_line: int) -> dict:
    return {
        "SchemaVersion": 2,
        "ArtifactName": "svc",
        "Results": [
            {"Target": "ci/env.sh", "Class": "secret", "Secrets": [_secret(first_line), _secret(first_line + 4)]},
            {"Target": "Dockerfile", "Class": "config", "Type": "dockerfile", "Misconfigurations": [
                {"ID": "DS-0002", "Title": "Image user should not be 'root'", "Message": "Specify at least 1 USER", "Severity": "HIGH", "Status": "FAIL", "CauseMetadata": {}},
                {"ID": "DS-0005", "Title": "ADD instead of COPY", "Message": "ok", "Severity": "LOW", "Status": "PASS", "CauseMetadata": {"StartLine": 3, "EndLine": 3}},
            ]},
            {"Target": "svc (debian 12.7)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2099-2002", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13.dfsg-1", "Severity": "HIGH", "Status": "affected",
                 "CVSS": {"nvd": {"V3Score": 7.5}}},
            ]},
        ],
    }


def test_each_kind_of_result_points_where_trivy_said(tmp_path):
    results = results_from_report(report(2), root=tmp_path, base=tmp_path / "svc")
    assert [r.rule_id for r in results] == ["secret:github-pat", "secret:github-pat", "DS-0002", "CVE-2099-2002"]  # the PASS is dropped
    first, second, root_user, vulnerability = results
    assert (first.location.path, first.location.start_line, second.location.start_line) == ("svc/ci/env.sh", 2, 6)
    assert (root_user.location.path, root_user.location.start_line) == ("svc/Dockerfile", 1)  # a whole-file check: line 1
    assert vulnerability.properties["fixed_version"] is None and vulnerability.properties["cvss"]["nvd"]["V3Score"] == 7.5
    assert "no fixed version yet" in vulnerability.message
    assert (vulnerability.location.kind, vulnerability.location.namespace, vulnerability.location.name) == ("Package", "debian", "zlib1g")


def test_secret_fingerprints_survive_moved_lines_and_tell_two_matches_apart(tmp_path):
    catalog = load_catalog()

    def fingerprints(first_line: int) -> list[str]:
        raws = results_from_report(report(first_line), root=tmp_path, base=tmp_path)[:2]
        return [finding_from_raw(r, catalog, "secrets").fingerprint for r in raws]

    before, after = fingerprints(2), fingerprints(10)
    assert before == after
    assert before[0] != before[1]
