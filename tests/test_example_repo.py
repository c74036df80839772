"""`cdgate check examples/cd-repo`: the verdict, and findings at the right lines.

The example repo marks each violation it plants with a trailing comment on
the exact line a finding must point at:

    privileged: true  # planted: privileged container          (every env)
    image: ...:{{ .Values.image.tag }}  # planted[prod]: ...   (prod only)

These tests run the real command as a user would (`-f sarif -o FILE`) and
check that every planted line gets a result, that every result's line holds
the field the finding names, that the clean service stays clean, and that the
profile's waivers do what gate.yaml says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import REPO, SHARED, run_cdgate

EXAMPLE = REPO / "examples" / "cd-repo"
EXAMPLE_REL = EXAMPLE.relative_to(REPO).as_posix()
ENVIRONMENTS = ("dev", "staging", "prod")
MARKER = re.compile(r"#\s*planted(?:\[(?P<envs>[a-z,]+)\])?:\s*(?P<what>.+)$")


@dataclass(frozen=True)
class Planted:
    """A violation planted on one line of the example, for some environments."""

    path: str  # repo-relative
    line: int
    what: str
    environments: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    """One SARIF result, reduced to what these tests check."""

    rule_id: str
    path: str  # repo-relative
    line: int
    json_path: str | None
    kind: str | None
    namespace: str | None
    name: str | None
    state: str | None
    suppressed: bool
    message: str


def planted_violations() -> list[Planted]:
    """Every `# planted:` marker in the example repo (not in its README)."""
    found: list[Planted] = []
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = MARKER.search(text)
            if not match or text.lstrip().startswith("#"):
                continue
            envs = tuple(match["envs"].split(",")) if match["envs"] else ENVIRONMENTS
            found.append(Planted(path.relative_to(REPO).as_posix(), number, match["what"].strip(), envs))
    return found


# Waivers are judged as of a fixed date so the test does not change meaning
# when the example's valid waiver (2027-03-31) runs out.
EXAMPLE_TODAY = "2026-11-22"


@lru_cache(maxsize=None)
def check_example(environment: str, tmp_root: str) -> tuple[int, dict, str]:
    """Run `cdgate check examples/cd-repo --env ENV -f sarif -o FILE` once per env."""
    out = Path(tmp_root) / f"{environment}.sarif"
    proc = run_cdgate(
        "check", EXAMPLE_REL, "--env", environment, "-f", "sarif", "-o", str(out), "--today", EXAMPLE_TODAY, cwd=REPO
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert out.is_file(), f"no SARIF written (exit {proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(out.read_text(encoding="utf-8")), proc.stderr


def results_of(sarif: dict) -> list[Result]:
    results: list[Result] = []
    for run in sarif["runs"]:
        for raw in run.get("results", []):
            physical = raw["locations"][0]["physicalLocation"]
            artifact = physical["artifactLocation"]
            uri = artifact["uri"]
            assert artifact.get("uriBaseId", "%SRCROOT%") == "%SRCROOT%", artifact
            props = raw.get("properties", {})
            results.append(
                Result(
                    rule_id=raw["ruleId"],
                    path=uri,
                    line=physical["region"]["startLine"],
                    json_path=props.get("jsonPath"),
                    kind=props.get("kind"),
                    namespace=props.get("namespace"),
                    name=props.get("name"),
                    state=props.get("state"),
                    suppressed=bool(raw.get("suppressions")),
                    message=raw["message"]["text"],
                )
            )
    return results


@pytest.fixture(scope="module")
def sarif_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("example-sarif"))


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def env_run(request, sarif_dir):
    code, sarif, stderr = check_example(request.param, sarif_dir)
    return request.param, code, sarif, stderr


def _line(path: str, number: int) -> str:
    lines = (REPO / path).read_text(encoding="utf-8").splitlines()
    assert 1 <= number <= len(lines), f"{path}:{number} is outside the file ({len(lines)} lines)"
    return lines[number - 1]


def _keys_of(json_path: str) -> list[str | int]:
    from scanner.inputs.document import parse_json_path

    return list(parse_json_path(json_path))


@lru_cache(maxsize=None)
def rendered_documents(environment: str) -> dict[tuple, object]:
    """The example's documents as cdgate renders them, by (path, kind, namespace, name)."""
    from scanner.inputs.loader import LoadOptions, load_targets

    loaded = load_targets([EXAMPLE_REL], LoadOptions(root=REPO, environment=environment))
    documents = {(d.path, d.kind, d.namespace, d.name): d for d in loaded.documents if d.is_resource}
    for d in loaded.documents:  # fields an overlay set are reported in the overlay's file
        for file, _line in d.field_sources.values():
            documents.setdefault((file, d.kind, d.namespace, d.name), d)
    return documents


def _existing_prefix(obj: object, keys: list[str | int]) -> list[str | int]:
    """The longest prefix of `keys` that exists in `obj` (the field, or its closest parent)."""
    prefix: list[str | int] = []
    for key in keys:
        if isinstance(key, int) and isinstance(obj, list) and 0 <= key < len(obj):
            obj = obj[key]
        elif isinstance(key, str) and isinstance(obj, dict) and key in obj:
            obj = obj[key]
        else:
            break
        prefix.append(key)
    return prefix


def _line_holds(text: str, keys: list[str | int]) -> bool:
    """Does this source line start the node at `keys` (a `key:` or a list item)?"""
    stripped = text.strip()
    if not keys:
        return False
    last = keys[-1]
    if isinstance(last, int):
        parent = next((k for k in reversed(keys) if isinstance(k, str)), None)
        # A block item (`- name: x`), or an item of a flow list on its parent's line.
        return stripped.startswith("- ") or (
            parent is not None and re.search(rf"(^|[\s{{,-]){re.escape(parent)}\s*:\s*\[", stripped) is not None
        )
    return re.search(rf"(^|[\s{{,-]){re.escape(last)}\s*:", stripped) is not None


def _points_at(text: str, json_path: str, obj: object | None = None, kustomized: bool = False) -> bool:
    """Does this source line hold the field `json_path` names, or its closest parent?

    With the rendered object, the line must start exactly the deepest part of
    the path that exists: the field itself, or for an absent field (a missing
    probe, say) its closest enclosing key or list item. Kustomize overlays can
    add fields the source file does not have, so for kustomized documents any
    enclosing key of that part counts. Without an object (findings about
    gate.yaml), the line must start one of the path's keys or items.
    """
    keys = _keys_of(json_path)
    if obj is not None:
        prefix = _existing_prefix(obj, keys)
        if _line_holds(text, prefix):
            return True
        if not kustomized:
            return False
        keys = prefix
    return any(_line_holds(text, keys[: end + 1]) for end in range(len(keys)))


# ---------------------------------------------------------------- the verdict


def test_prod_fails_the_gate_and_writes_valid_sarif(sarif_dir):
    code, sarif, stderr = check_example("prod", sarif_dir)
    assert code == 1, f"expected a failing verdict (exit 1), got {code}: {stderr}"
    schema_path = SHARED / "schemas" / "sarif-schema-2.1.0.json"
    if schema_path.is_file():
        import jsonschema

        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        jsonschema.Draft7Validator(schema).validate(sarif)
    assert results_of(sarif), "a failing verdict must come with results"


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_other_environments_also_fail_on_service_b(environment, sarif_dir):
    code, sarif, stderr = check_example(environment, sarif_dir)
    assert code == 1, f"{environment}: expected exit 1, got {code}: {stderr}"
    failing_paths = {r.path for r in results_of(sarif) if r.state == "fail"}
    assert any(p.startswith(f"{EXAMPLE_REL}/services/service-b/") for p in failing_paths), failing_paths


# ------------------------------------------------------------- line accuracy


def test_every_result_points_at_an_existing_repo_relative_file(env_run):
    env, _code, sarif, _ = env_run
    results = results_of(sarif)
    assert results, f"{env}: the example repo has planted violations"
    for result in results:
        assert not result.path.startswith(("/", "./", "file:")), result
        assert (REPO / result.path).is_file(), f"{env}: {result.rule_id} points at missing {result.path}"
        _line(result.path, result.line)


def test_every_result_start_line_holds_the_offending_field(env_run):
    env, _code, sarif, _ = env_run
    wrong = []
    checked = 0
    documents = rendered_documents(env)
    for result in results_of(sarif):
        if not result.json_path:
            continue
        text = _line(result.path, result.line)
        doc = documents.get((result.path, result.kind, result.namespace, result.name))
        if result.kind and doc is None:
            wrong.append(f"{result.path}:{result.line} {result.rule_id}: no rendered {result.kind} {result.name} there")
            continue
        checked += 1
        if doc is not None and result.path != doc.path:  # set by an overlay: exactly where it was set
            if doc.source_for(result.json_path) != (result.path, result.line):
                wrong.append(f"{result.path}:{result.line} {result.rule_id} {result.json_path!r}: not where it was set")
            continue
        obj = doc.obj if doc is not None else None
        kustomized = doc is not None and doc.origin == "kustomize"
        if not _points_at(text, result.json_path, obj, kustomized):
            wrong.append(f"{result.path}:{result.line} {result.rule_id} {result.json_path!r}: line is {text.strip()!r}")
    assert checked, f"{env}: no result named its field (properties.jsonPath)"
    assert not wrong, f"{env}: results whose line does not hold their field:\n" + "\n".join(wrong)


def test_every_planted_violation_is_reported_at_its_line(env_run):
    env, _code, sarif, _ = env_run
    at = {(r.path, r.line) for r in results_of(sarif)}
    expected = [p for p in planted_violations() if env in p.environments]
    assert len(expected) >= 10
    missing = [f"{p.path}:{p.line} ({p.what})" for p in expected if (p.path, p.line) not in at]
    assert not missing, f"{env}: planted violations with no result at their line:\n" + "\n".join(missing)


def test_service_b_carries_the_planted_kinds_of_violation(sarif_dir):
    """Each planted line in service-b gets a finding about that very field."""
    _code, sarif, _ = check_example("prod", sarif_dir)
    results = results_of(sarif)
    service_b = [p for p in planted_violations() if "/services/service-b/" in p.path]
    assert len(service_b) >= 10
    for planted in service_b:
        here = [r for r in results if (r.path, r.line) == (planted.path, planted.line)]
        assert here, f"nothing reported at {planted.path}:{planted.line} ({planted.what})"
        text = _line(planted.path, planted.line)
        documents = rendered_documents("prod")
        assert any(
            r.json_path and _points_at(text, r.json_path, getattr(documents.get((r.path, r.kind, r.namespace, r.name)), "obj", None))
            for r in here
        ), (planted, here)


# ------------------------------------------------------- clean service, profile


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_service_a_has_no_finding_at_all(environment, sarif_dir):
    """The clean chart: not even a low-severity or advisory result, in any environment."""
    _code, sarif, _ = check_example(environment, sarif_dir)
    service_a = f"{EXAMPLE_REL}/services/service-a/"
    assert any(path.startswith(service_a) for path, *_ in rendered_documents(environment)), "service-a was not rendered"
    assert results_of(sarif), "the run reported nothing at all (service-b is planted)"
    found = [r for r in results_of(sarif) if r.path.startswith(service_a)]
    assert not found, "\n".join(f"{r.path}:{r.line} {r.rule_id} [{r.state}] {r.message}" for r in found)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_service_c_and_argocd_sets_report_only_what_was_planted(environment, sarif_dir):
    """service-c's overlays and the compliant Argo CD objects: planted lines only."""
    _code, sarif, _ = check_example(environment, sarif_dir)
    planted = {(p.path, p.line) for p in planted_violations() if environment in p.environments}
    watched = (f"{EXAMPLE_REL}/services/service-c/", f"{EXAMPLE_REL}/argocd/")
    reported = {(r.path, r.line) for r in results_of(sarif) if r.path.startswith(watched)}
    assert {p for p in planted if p[0].startswith(watched)} <= reported, "a planted line in service-c/argocd went unreported"
    extra = [r for r in results_of(sarif) if r.path.startswith(watched) and (r.path, r.line) not in planted]
    assert not extra, "\n".join(f"{r.path}:{r.line} {r.rule_id} [{r.state}] {r.message}" for r in extra)


def test_service_a_prod_image_is_pinned_by_digest_and_gets_no_digest_finding(sarif_dir):
    _code, sarif, _ = check_example("prod", sarif_dir)
    deployment = f"{EXAMPLE_REL}/services/service-a/templates/deployment.yaml"
    assert not [r for r in results_of(sarif) if r.path == deployment and "image" in (r.json_path or "")]


def test_prod_waiver_suppresses_and_expired_waiver_is_reported(sarif_dir):
    _code, sarif, _ = check_example("prod", sarif_dir)
    results = results_of(sarif)
    deployment = f"{EXAMPLE_REL}/services/service-b/templates/deployment.yaml"
    host_network_line = next(
        n for n, t in enumerate((REPO / deployment).read_text().splitlines(), 1) if "hostNetwork: true" in t
    )
    waived = [r for r in results if (r.path, r.line) == (deployment, host_network_line)]
    assert waived and all(r.suppressed for r in waived), waived

    gate = f"{EXAMPLE_REL}/gate.yaml"
    expired_line = next(
        n for n, t in enumerate((REPO / gate).read_text().splitlines(), 1) if "CDG-ARGO-001" in t and "rule:" in t
    )
    assert any(r.path == gate and r.line == expired_line for r in results), "expired waiver not reported"
    # The expired waiver no longer covers the Application it named.
    app = f"{EXAMPLE_REL}/argocd/application-load-test.yaml"
    project = [r for r in results if r.path == app and (r.json_path or "").endswith("project")]
    assert project and not any(r.suppressed for r in project)


def test_staging_reports_the_namespace_without_default_deny(sarif_dir):
    _code, sarif, _ = check_example("staging", sarif_dir)
    namespaces = f"{EXAMPLE_REL}/environments/staging/namespaces.yaml"
    line = next(
        n for n, t in enumerate((REPO / namespaces).read_text().splitlines(), 1) if "name: payments-staging" in t
    )
    assert any(r.path == namespaces and r.line == line for r in results_of(sarif))
    storefront_line = next(
        n for n, t in enumerate((REPO / namespaces).read_text().splitlines(), 1) if "name: storefront-staging" in t
    )
    assert not any(r.path == namespaces and r.line == storefront_line and r.state == "fail" for r in results_of(sarif))


# --------------------------------------------------------------- the README


def test_readme_lists_every_planted_violation_at_its_line():
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    assert len(planted_violations()) >= 10
    for planted in planted_violations():
        ref = f"{Path(planted.path).relative_to(EXAMPLE_REL).as_posix()}:{planted.line}"
        assert ref in readme, f"README.md does not list {ref} ({planted.what})"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_gatekeeper_constraint_denies_the_latest_tag(environment, sarif_dir):
    """The example's Gatekeeper template + constraint run in the gate, at the image line."""
    _code, sarif, _ = check_example(environment, sarif_dir)
    deployment = f"{EXAMPLE_REL}/services/service-b/templates/deployment.yaml"
    line = next(n for n, t in enumerate((REPO / deployment).read_text().splitlines(), 1) if "busybox:latest" in t)
    found = [r for r in results_of(sarif) if r.rule_id == "gatekeeper:CdgateImageTags/no-latest-tag"]
    assert [(r.path, r.line, r.state) for r in found] == [(deployment, line, "fail")]
