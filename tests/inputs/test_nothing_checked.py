"""Issue 8, problem 1: a run or target that yields nothing to check is exit 2, never a pass.

Each fixture reproduces one way a CD repo loads without an error and yet
gives the engines nothing: an empty folder, a folder with only a README, a
chart whose dependency is not vendored, a Jsonnet app, a CUE app. `file://`
chart dependencies and Jsonnet apps are rendered instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cdgate
from inputs_helpers import line_of, write
from scanner.inputs.loader import LoadOptions, load_targets

PRIVILEGED_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext:
            privileged: true
"""


def check_json(tmp_path: Path, target: Path, *extra: str) -> tuple[int, dict]:
    done = run_cdgate("check", str(target), "--root", str(tmp_path), "-f", "json", *extra)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def problems(tmp_path: Path, target: Path, **options) -> list:
    return load_targets([target], LoadOptions(root=tmp_path, **options)).problems


def test_an_empty_directory_exits_2_naming_the_target(tmp_path):
    (tmp_path / "apps" / "web").mkdir(parents=True)
    code, report = check_json(tmp_path, tmp_path / "apps" / "web")
    assert code == 2
    [finding] = report["findings"]
    assert finding["rule_id"] == "CDG-ERR-004"
    assert "nothing to check in apps/web" in finding["message"]
    assert "holds no files" in finding["message"]


def test_a_folder_holding_only_a_readme_names_what_it_found(tmp_path):
    write(tmp_path, {"app/README.md": "# docs\n"})
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking and problem.kind == "nothing"
    assert "no Kubernetes manifests found" in problem.message and "README.md" in problem.message


def test_a_format_cdgate_does_not_read_is_named(tmp_path):
    write(tmp_path, {"app/main.cue": "package app\n", "app/lib.libsonnet": "{}\n"})
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking
    assert "CUE" in problem.message and "format cdgate does not read" in problem.message


def test_yaml_without_resources_is_nothing_to_check(tmp_path):
    write(tmp_path, {"app/settings.yaml": "replicas: 3\n"})
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking and "hold no Kubernetes resource" in problem.message


def test_allow_empty_turns_the_error_into_a_notice(tmp_path):
    (tmp_path / "empty").mkdir()
    write(tmp_path, {"gate.yaml": "inputs:\n  allow_empty: true\n"})
    code, report = check_json(tmp_path, tmp_path / "empty", "--profile", str(tmp_path / "gate.yaml"))
    assert code == 0
    [finding] = report["findings"]
    assert finding["rule_id"] == "CDG-ERR-004" and finding["severity"] == "info"


def test_one_empty_target_among_good_ones_still_fails_closed(tmp_path):
    write(tmp_path, {"good/deploy.yaml": PRIVILEGED_DEPLOYMENT})
    (tmp_path / "typo").mkdir()
    result = load_targets([tmp_path / "good", tmp_path / "typo"], LoadOptions(root=tmp_path))
    assert [d.kind for d in result.documents] == ["Deployment"]
    assert [p.path for p in result.blocking_problems] == ["typo"]


def test_a_chart_with_a_dependency_missing_from_charts_exits_2_with_how_to_vendor_it(tmp_path):
    write(
        tmp_path,
        {
            "helm-dependency/Chart.yaml": """
                apiVersion: v2
                name: helm-dependency
                version: 0.1.0
                dependencies:
                  - name: wordpress
                    version: 9.0.3
                    repository: https://charts.example.org/stable
            """,
            "helm-dependency/values.yaml": "wordpress: {}\n",
        },
    )
    code, report = check_json(tmp_path, tmp_path / "helm-dependency")
    assert code == 2
    [finding] = report["findings"]
    assert finding["rule_id"] == "CDG-ERR-002"
    assert "'wordpress'" in finding["message"] and "missing from helm-dependency/charts/" in finding["message"]
    assert "helm dependency build helm-dependency" in finding["message"]
    assert finding["location"]["path"] == "helm-dependency/Chart.yaml"
    assert finding["location"]["start_line"] == line_of(tmp_path / "helm-dependency/Chart.yaml", "name: wordpress")


def _file_dependency_chart(tmp_path: Path, repository: str) -> None:
    write(
        tmp_path,
        {
            "charts-src/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "charts-src/web/templates/deployment.yaml": PRIVILEGED_DEPLOYMENT,
            "app/Chart.yaml": f"""
                apiVersion: v2
                name: app
                version: 0.1.0
                dependencies:
                  - name: web
                    version: 0.1.0
                    repository: {repository}
            """,
        },
    )


def test_a_file_dependency_is_rendered_from_its_path_and_located_there(tmp_path):
    _file_dependency_chart(tmp_path, "file://../charts-src/web")
    result = load_targets([tmp_path / "app"], LoadOptions(root=tmp_path))
    assert not result.problems
    [document] = result.documents
    assert document.kind == "Deployment"
    template = tmp_path / "charts-src/web/templates/deployment.yaml"
    assert document.path == "charts-src/web/templates/deployment.yaml"
    assert document.line_for("spec.template.spec.containers[0].securityContext.privileged") == line_of(
        template, "privileged: true"
    )
    assert not (tmp_path / "app" / "charts").exists()  # nothing written into the repository


def test_a_file_dependency_outside_the_scanned_root_is_refused(tmp_path):
    _file_dependency_chart(tmp_path, "file://../charts-src/web")
    [problem] = problems(tmp_path / "app", tmp_path / "app")
    assert problem.blocking and "outside the scanned root" in problem.message


JSONNET_APP = {
    "params.libsonnet": "{\n  replicas: 1,\n  image: 'nginx:1.27',\n}\n",
    "guestbook-ui.jsonnet": """
        local params = import 'params.libsonnet';
        [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'guestbook-ui' },
            spec: {
              replicas: params.replicas,
              template: {
                spec: {
                  containers: [
                    {
                      name: 'guestbook-ui',
                      image: params.image,
                      securityContext: {
                        privileged: true,
                      },
                    },
                  ],
                },
              },
            },
          },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'guestbook-ui' } },
        ]
    """,
}


def test_a_jsonnet_app_is_rendered_with_lines_in_the_jsonnet_file(tmp_path):
    write(tmp_path / "jsonnet-guestbook", JSONNET_APP)
    code, report = check_json(tmp_path, tmp_path / "jsonnet-guestbook")
    assert code == 1
    source = tmp_path / "jsonnet-guestbook/guestbook-ui.jsonnet"
    privileged = [f for f in report["findings"] if f["rule_id"] == "CDG-K8S-001"]
    assert len(privileged) == 1
    assert privileged[0]["location"]["path"] == "jsonnet-guestbook/guestbook-ui.jsonnet"
    assert privileged[0]["location"]["start_line"] == line_of(source, "privileged: true")
    kinds = {f["location"]["kind"] for f in report["findings"]}
    assert "Deployment" in kinds


def test_a_jsonnet_error_is_a_render_error_at_its_line(tmp_path):
    write(tmp_path / "app", {"broken.jsonnet": "{\n  a: std.nosuchfunction(1),\n}\n"})
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking and problem.kind == "render"
    assert problem.path == "app/broken.jsonnet" and problem.line == 2


def test_a_jsonnet_import_outside_the_root_is_refused(tmp_path):
    write(tmp_path, {"secret.libsonnet": "{ a: 1 }\n"})
    write(tmp_path / "repo/app", {"main.jsonnet": "(import '../../secret.libsonnet')\n"})
    [problem] = problems(tmp_path / "repo", tmp_path / "repo/app")
    assert problem.blocking and "leaves the scanned root" in problem.message


@pytest.mark.parametrize("what", ["chart", "jsonnet"])
def test_an_app_that_renders_no_resource_is_nothing_to_check(tmp_path, what):
    if what == "chart":
        write(tmp_path / "app", {"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
                                 "templates/cm.yaml": "{{- if .Values.enabled }}\nkind: ConfigMap\n{{- end }}\n"})
    else:
        write(tmp_path / "app", {"main.jsonnet": "[]\n"})
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking and problem.kind == "nothing"


def test_a_jsonnet_file_that_does_not_finish_is_stopped_at_the_deadline(tmp_path, monkeypatch):
    import scanner.inputs.jsonnet as jsonnet

    monkeypatch.setattr(jsonnet, "JSONNET_TIMEOUT_S", 1.0)
    write(tmp_path / "app", {"slow.jsonnet": "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1);\n{ a: f(60) }\n"})
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking and problem.kind == "render"
    assert "did not finish within 1 s" in problem.message


def test_a_chart_whose_every_rendered_template_is_skipped_is_nothing_to_check(tmp_path):
    from scanner.inputs.skipping import PathSkipper

    write(tmp_path / "app", {"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
                             "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    result = load_targets([tmp_path / "app"], LoadOptions(root=tmp_path, skip=PathSkipper(skip_files=("cm.yaml",))))
    assert result.documents == []
    assert ("app/templates/cm.yaml", "matches --skip-dirs/--skip-files") in result.skipped
    [problem] = result.problems
    assert problem.blocking and problem.kind == "nothing" and problem.path == "app"


@pytest.mark.parametrize("schema", [b'{"$ref": "file:///etc/passwd", "title": "\xff"}',
                                    b"[" * 5000 + b'{"$ref": "http://127.0.0.1:9/x"}' + b"]" * 5000])
def test_a_values_schema_cdgate_cannot_parse_is_refused_not_left_to_helm(tmp_path, schema):
    write(tmp_path / "app", {"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
                             "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    (tmp_path / "app/values.schema.json").write_bytes(schema)
    [problem] = problems(tmp_path, tmp_path / "app")
    assert problem.blocking and problem.path == "app/values.schema.json"


@pytest.mark.parametrize("second", ["good", "good/deploy.yaml"])
def test_a_target_given_twice_or_inside_another_is_checked_once_without_a_false_error(tmp_path, second):
    write(tmp_path, {"good/deploy.yaml": PRIVILEGED_DEPLOYMENT})
    result = load_targets([tmp_path / "good", tmp_path / second], LoadOptions(root=tmp_path))
    assert [d.kind for d in result.documents] == ["Deployment"]
    assert result.problems == []


def test_an_empty_target_beside_an_unrelated_loaded_one_is_still_nothing_to_check(tmp_path):
    write(tmp_path, {"good/deploy.yaml": PRIVILEGED_DEPLOYMENT})
    (tmp_path / "good-typo").mkdir()
    result = load_targets([tmp_path / "good", tmp_path / "good-typo"], LoadOptions(root=tmp_path))
    assert [p.path for p in result.blocking_problems] == ["good-typo"]
