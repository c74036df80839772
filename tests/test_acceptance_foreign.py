"""Acceptance: manifests written by someone else are caught, each at its line.

The manifests come from the Kyverno policy library's own test resources
(../shared/corpus/kyverno-policies, Apache-2.0), read in place and copied into
a temporary folder only for the run, so nothing in them was written to suit
cdgate. Between them they hold every case the issue names: privileged
containers, hostNetwork, `:latest` images, wildcard Roles and ClusterRoles,
and cluster-admin bound to a service account.

The expected lines are found by searching each file's text, never written
down, and the well-configured resources in the same files (the `good*` ones)
must not be reported for the same problem.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, run_cdgate

# corpus file (under ../shared/corpus/kyverno-policies) -> name in the scanned folder
SOURCES = {
    "pod-security/baseline/disallow-privileged-containers/.kyverno-test/resource.yaml": "privileged.yaml",
    "pod-security/baseline/disallow-host-namespaces/.kyverno-test/resource.yaml": "host-namespaces.yaml",
    "best-practices/disallow-latest-tag/.kyverno-test/resource.yaml": "latest-tag.yaml",
    "other-vpol/restrict-wildcard-verbs/.kyverno-test/resource.yaml": "wildcard-roles.yaml",
    "other-vpol/restrict-binding-clusteradmin/.chainsaw-test/crb-bad.yaml": "cluster-admin-bindings.yaml",
}


@pytest.fixture(scope="module")
def foreign_run(tmp_path_factory):
    corpus = CORPUS / "kyverno-policies"
    if not corpus.is_dir():
        pytest.skip("../shared/corpus/kyverno-policies is not beside the repo")
    work = tmp_path_factory.mktemp("foreign")
    target = work / "manifests"
    target.mkdir()
    for source, name in SOURCES.items():
        shutil.copyfile(corpus / source, target / name)
    proc = run_cdgate("check", "manifests", "-f", "json", "-o", "out.json", "--root", ".", cwd=work)
    assert "Traceback" not in proc.stderr, proc.stderr
    report_path = work / "out.json"
    assert report_path.is_file(), f"no JSON report (exit {proc.returncode}): {proc.stderr}"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return proc, report, target


def _lines(target: Path, name: str) -> list[str]:
    return (target / name).read_text(encoding="utf-8").splitlines()


def _findings_at(report: dict, name: str, line: int) -> list[dict]:
    return [
        f
        for f in report["findings"]
        if f["location"]["path"] == f"manifests/{name}" and f["location"]["start_line"] == line
    ]


def _about(findings: list[dict], field: str) -> list[dict]:
    """Failing findings whose JSON path names `field`."""
    return [f for f in findings if f["state"] == "fail" and field in (f["location"]["json_path"] or "")]


def _matching_lines(lines: list[str], pattern: str) -> list[int]:
    regex = re.compile(pattern)
    return [n for n, text in enumerate(lines, start=1) if regex.search(text)]


def test_the_gate_fails_and_evaluates_every_document(foreign_run):
    proc, report, target = foreign_run
    assert proc.returncode == 1, proc.stderr
    assert report["verdict"]["status"] == "failed"
    assert report["counts"]["errors"] == 0, [f for f in report["findings"] if f["state"] == "error"]
    documents = sum(
        1
        for name in SOURCES.values()
        for chunk in re.split(r"^---\s*$", (target / name).read_text(encoding="utf-8"), flags=re.M)
        if re.search(r"^kind:", chunk, flags=re.M)
    )
    evaluated = max(g["documents"] for g in report["gates"])
    assert evaluated >= documents, f"only {evaluated} of {documents} documents evaluated"


def test_every_privileged_container_is_caught_at_its_line(foreign_run):
    _proc, report, target = foreign_run
    lines = _lines(target, "privileged.yaml")
    bad = _matching_lines(lines, r"^\s*privileged:\s*true\s*$")
    good = _matching_lines(lines, r"^\s*privileged:\s*false\s*$")
    assert len(bad) >= 10 and good
    missed = [n for n in bad if not _about(_findings_at(report, "privileged.yaml", n), "privileged")]
    assert not missed, f"privileged: true not reported at lines {missed}"
    wrong = [n for n in good if _about(_findings_at(report, "privileged.yaml", n), "privileged")]
    assert not wrong, f"privileged: false reported at lines {wrong}"


def test_every_host_network_pod_is_caught_at_its_line(foreign_run):
    _proc, report, target = foreign_run
    lines = _lines(target, "host-namespaces.yaml")
    bad = _matching_lines(lines, r"^\s*hostNetwork:\s*true\s*$")
    good = _matching_lines(lines, r"^\s*hostNetwork:\s*false\s*$")
    assert len(bad) >= 3 and good
    missed = [n for n in bad if not _about(_findings_at(report, "host-namespaces.yaml", n), "hostNetwork")]
    assert not missed, f"hostNetwork: true not reported at lines {missed}"
    wrong = [n for n in good if _about(_findings_at(report, "host-namespaces.yaml", n), "hostNetwork")]
    assert not wrong, f"hostNetwork: false reported at lines {wrong}"
    # hostPID and hostIPC are the same rule: they must be caught too.
    for field in ("hostPID", "hostIPC"):
        for n in _matching_lines(lines, rf"^\s*{field}:\s*true\s*$"):
            assert _about(_findings_at(report, "host-namespaces.yaml", n), field), f"{field} at line {n}"


def test_every_latest_image_is_caught_at_its_line(foreign_run):
    _proc, report, target = foreign_run
    lines = _lines(target, "latest-tag.yaml")
    latest = _matching_lines(lines, r"^\s*-?\s*image:\s*\S+:latest\s*$")
    pinned = _matching_lines(lines, r"^\s*-?\s*image:\s*\S+:(?!latest)[\w.\-]+\s*$")
    assert len(latest) >= 4 and pinned
    missed = [n for n in latest if not _about(_findings_at(report, "latest-tag.yaml", n), "image")]
    assert not missed, f":latest images not reported at lines {missed}"
    # A pinned tag (nginx:1.12) is not a latest-tag finding.
    latest_ids = {
        f["rule_id"] for n in latest for f in _about(_findings_at(report, "latest-tag.yaml", n), "image")
    }
    wrong = [
        n
        for n in pinned
        if any(f["rule_id"] in latest_ids for f in _about(_findings_at(report, "latest-tag.yaml", n), "image"))
    ]
    assert not wrong, f"pinned tags reported as latest at lines {wrong}"


def test_every_wildcard_role_is_caught_at_its_line(foreign_run):
    _proc, report, target = foreign_run
    lines = _lines(target, "wildcard-roles.yaml")
    wildcard = _matching_lines(lines, r"^\s*verbs:.*[\"']\*[\"']")
    explicit = [n for n in _matching_lines(lines, r"^\s*verbs:") if n not in wildcard]
    assert len(wildcard) >= 6 and explicit
    missed = [n for n in wildcard if not _about(_findings_at(report, "wildcard-roles.yaml", n), "verbs")]
    assert not missed, f"wildcard verbs not reported at lines {missed}"
    wrong = [n for n in explicit if _about(_findings_at(report, "wildcard-roles.yaml", n), "verbs")]
    assert not wrong, f"explicit verbs reported as wildcards at lines {wrong}"
    kinds = {
        f["location"]["kind"]
        for n in wildcard
        for f in _about(_findings_at(report, "wildcard-roles.yaml", n), "verbs")
    }
    assert {"Role", "ClusterRole"} <= kinds


def test_cluster_admin_bound_to_a_service_account_is_caught_at_its_line(foreign_run):
    _proc, report, target = foreign_run
    name = "cluster-admin-bindings.yaml"
    lines = _lines(target, name)
    # The binding whose subject is a ServiceAccount: the finding points at that
    # subject, or at the roleRef naming cluster-admin.
    subject_lines = _matching_lines(lines, r"^\s*-\s*kind:\s*ServiceAccount\s*$")
    assert len(subject_lines) == 1
    subject = subject_lines[0]
    role_ref = next(n for n in _matching_lines(lines, r"^\s*name:\s*cluster-admin\s*$") if n > subject)
    found = [
        f
        for n in (subject, role_ref)
        for f in _findings_at(report, name, n)
        if f["state"] == "fail" and re.search(r"subjects|roleRef", f["location"]["json_path"] or "")
    ]
    assert found, f"cluster-admin binding to a service account not reported at line {subject} or {role_ref}"
    assert all(f["location"]["kind"] == "ClusterRoleBinding" for f in found)
    assert {f["location"]["name"] for f in found} == {"badcrb02"}
