"""`cdgate kyverno test` and `cdgate kyverno apply`, run as a user would."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "policies" / "kyverno"


def test_bundled_policies_pass_their_suites(cdgate) -> None:
    proc = cdgate("kyverno", "test", str(BUNDLED))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    suites = sorted(p.parent.name for p in BUNDLED.rglob("kyverno-test.yaml"))
    assert len(suites) >= 10
    assert f"Total: {len(suites)}/{len(suites)} suites passed" in proc.stdout


def test_a_wrong_expectation_fails_the_run(cdgate, tmp_path: Path) -> None:
    source = BUNDLED / "disallow-host-path"
    for name in ("policy.yaml", "resources.yaml"):
        (tmp_path / name).write_text((source / name).read_text())
    text = (source / "kyverno-test.yaml").read_text().replace("resources: [bad-hostpath], result: fail", "resources: [bad-hostpath], result: pass")
    (tmp_path / "kyverno-test.yaml").write_text(text)
    proc = cdgate("kyverno", "test", str(tmp_path))
    assert proc.returncode == 1
    assert "expected=pass got=fail" in proc.stdout
    assert "Total: 0/1 suites passed" in proc.stdout


def test_missing_path_exits_2(cdgate) -> None:
    proc = cdgate("kyverno", "test", "/nonexistent/suite")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_apply_reports_failures_and_exit_code(cdgate, tmp_path: Path) -> None:
    resource = tmp_path / "pod.yaml"
    resource.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostNetwork: true\n"
        "  containers: [{name: web, image: 'nginx:1.25'}]\n"
    )
    proc = cdgate("kyverno", "apply", str(BUNDLED / "disallow-host-namespaces"), "--resource", str(resource))
    assert proc.returncode == 1
    assert "FAIL  cdgate-disallow-host-namespaces/host-namespaces Pod/web" in proc.stdout
    ok = cdgate("kyverno", "apply", str(BUNDLED / "disallow-host-path"), "-r", str(resource))
    assert ok.returncode == 0 and "pass: 1, fail: 0" in ok.stdout


def test_apply_invalid_policy_exits_2(cdgate, tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: bad}\nspec:\n  rules:\n"
        "  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n"
        "    validate: {deny: {conditions: {any: [{key: a, operator: Nope, value: b}]}}}\n"
    )
    resource = tmp_path / "pod.yaml"
    resource.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    proc = cdgate("kyverno", "apply", str(policy), "-r", str(resource))
    assert proc.returncode == 2
    assert "policy 'bad' rule 'r': unknown operator 'Nope'" in proc.stderr
