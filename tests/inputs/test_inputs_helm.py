"""Helm charts rendered in process (helm-python-sdk), values layering, template lines."""

from __future__ import annotations

import time

import pytest
from inputs_helpers import line_of, write

from scanner.inputs.loader import LoadOptions, load_targets
from scanner.inputs.values import merge_values

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop-web\nversion: 0.1.0\n",
    "values.yaml": """
        replicas: 1
        image:
          repository: nginx
          tag: "1.25"
        resources:
          limits:
            cpu: 100m
            memory: 128Mi
        podSecurityContext:
          runAsNonRoot: true
        """,
    "templates/_helpers.tpl": '{{- define "web.labels" }}app: {{ .Release.Name }}{{ end }}\n',
    "templates/NOTES.txt": "Thanks for installing {{ .Release.Name }}\n",
    "templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
          namespace: {{ .Release.Namespace }}
          labels:
            {{- include "web.labels" . | nindent 4 }}
        spec:
          replicas: {{ .Values.replicas }}
          template:
            spec:
              securityContext:
                {{- toYaml .Values.podSecurityContext | nindent 8 }}
              containers:
                - name: web
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  securityContext:
                    privileged: true
                    allowPrivilegeEscalation: false
                  resources:
                    {{- toYaml .Values.resources | nindent 12 }}
                {{- if .Values.sidecar }}
                - name: sidecar
                  image: envoy
                  securityContext:
                    runAsUser: 0
                {{- end }}
        """,
    "templates/service.yaml": """
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}
        spec:
          ports:
            - port: 80
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: {{ .Release.Name }}
        automountServiceAccountToken: true
        """,
}


def render(tmp_path, **options):
    result = load_targets([tmp_path / "charts/web"], LoadOptions(root=tmp_path, **options))
    return result


def by_kind(result, kind):
    matches = [d for d in result.documents if d.kind == kind]
    assert len(matches) == 1, [d.kind for d in result.documents]
    return matches[0]


def test_chart_renders_with_documents_pointing_at_template_files(tmp_path):
    write(tmp_path / "charts/web", CHART)
    result = render(tmp_path, helm_namespace="shop")
    assert result.problems == []
    assert sorted(d.kind for d in result.documents) == ["Deployment", "Service", "ServiceAccount"]
    deployment = by_kind(result, "Deployment")
    assert deployment.path == "charts/web/templates/deployment.yaml"
    assert (deployment.origin, deployment.rendered_from) == ("helm", "charts/web")
    assert deployment.name == "web"  # release name defaults to the chart directory
    assert deployment.namespace == "shop"
    assert deployment.metadata["labels"] == {"app": "web"}
    service_account = by_kind(result, "ServiceAccount")
    assert service_account.path == "charts/web/templates/service.yaml"
    template = tmp_path / "charts/web/templates/service.yaml"
    assert service_account.line_for("automountServiceAccountToken") == line_of(template, "automountServiceAccountToken")
    assert service_account.start_line == line_of(template, "kind: ServiceAccount") - 1


def test_fields_written_in_the_template_land_on_their_template_line(tmp_path):
    write(tmp_path / "charts/web", CHART)
    deployment = by_kind(render(tmp_path), "Deployment")
    template = tmp_path / "charts/web/templates/deployment.yaml"
    containers = "spec.template.spec.containers[0]"
    assert deployment.line_for(f"{containers}.securityContext.privileged") == line_of(template, "privileged: true")
    assert deployment.line_for(f"{containers}.securityContext.allowPrivilegeEscalation") == line_of(
        template, "allowPrivilegeEscalation"
    )
    assert deployment.line_for(f"{containers}.image") == line_of(template, "image:")
    assert deployment.line_for("spec.replicas") == line_of(template, "replicas:")


def test_fields_from_values_land_on_the_toyaml_line(tmp_path):
    write(tmp_path / "charts/web", CHART)
    deployment = by_kind(render(tmp_path), "Deployment")
    template = tmp_path / "charts/web/templates/deployment.yaml"
    toyaml_resources = line_of(template, "toYaml .Values.resources")
    assert deployment.line_for("spec.template.spec.containers[0].resources.limits.memory") == toyaml_resources
    assert deployment.line_for("spec.template.spec.securityContext.runAsNonRoot") == line_of(
        template, "toYaml .Values.podSecurityContext"
    )
    # an absent field points at the nearest template line of its parent
    assert deployment.line_for("spec.template.spec.containers[0].securityContext.runAsNonRoot") == line_of(
        template, "securityContext:", 2
    )


def test_conditional_second_container_maps_to_its_own_lines(tmp_path):
    write(tmp_path / "charts/web", CHART)
    deployment = by_kind(render(tmp_path, set_values=["sidecar=true"]), "Deployment")
    template = tmp_path / "charts/web/templates/deployment.yaml"
    assert deployment.obj["spec"]["template"]["spec"]["containers"][1]["name"] == "sidecar"
    assert deployment.line_for("spec.template.spec.containers[1].securityContext.runAsUser") == line_of(
        template, "runAsUser: 0"
    )


def test_values_are_layered_chart_env_chart_env_files_then_set(tmp_path):
    write(tmp_path / "charts/web", CHART)
    write(
        tmp_path,
        {
            "environments/prod/values.yaml": "replicas: 3\nimage: {tag: shared}\n",
            "environments/prod/web/values.yaml": "image: {tag: per-chart}\n",
            "extra.yaml": "resources: {limits: {cpu: 2}}\npodSecurityContext: null\n",
        },
    )
    result = render(tmp_path, environment="prod", values_files=[tmp_path / "extra.yaml"])
    assert result.problems == []
    deployment = by_kind(result, "Deployment")
    spec = deployment.obj["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert spec["replicas"] == 3  # environments/prod/values.yaml beats the chart
    assert container["image"] == "nginx:per-chart"  # the chart's own env file beats the shared one
    assert container["resources"] == {"limits": {"cpu": 2, "memory": "128Mi"}}  # maps merge
    assert spec["template"]["spec"]["securityContext"] in (None, {})  # null deletes the chart default
    assert deployment.scope == "prod"

    with_set = by_kind(
        render(tmp_path, environment="prod", values_files=[tmp_path / "extra.yaml"], set_values=["image.tag=from-set"]),
        "Deployment",
    )
    assert with_set.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:from-set"


def test_merge_values_is_helms_merge():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    override = {"a": {"c": [3], "e": None}, "d": {"x": 1}}
    assert merge_values(base, override) == {"a": {"b": 1, "c": [3], "e": None}, "d": {"x": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # inputs untouched


def test_required_value_failure_is_a_render_problem_at_the_template_line(tmp_path):
    chart = dict(CHART)
    chart["templates/secret.yaml"] = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: cfg
        data:
          password: {{ required "set database.password" .Values.database.password }}
        """
    chart["values.yaml"] = CHART["values.yaml"] + "database: {}\n"
    write(tmp_path / "charts/web", chart)
    result = render(tmp_path)
    assert result.documents == []  # no partial render that could pass by omission
    (problem,) = result.problems
    assert problem.kind == "render" and problem.blocking
    assert problem.path == "charts/web/templates/secret.yaml"
    assert problem.line == line_of(tmp_path / "charts/web/templates/secret.yaml", "required")
    assert "charts/web" in problem.message and "set database.password" in problem.message


def test_template_syntax_error_names_template_and_line(tmp_path):
    chart = dict(CHART)
    chart["templates/broken.yaml"] = "kind: ConfigMap\n{{ if }}\n"
    write(tmp_path / "charts/web", chart)
    (problem,) = render(tmp_path).problems
    assert (problem.kind, problem.path, problem.line) == ("render", "charts/web/templates/broken.yaml", 2)


def test_bad_chart_yaml_is_a_render_problem(tmp_path):
    write(tmp_path / "charts/web", {"Chart.yaml": "apiVersion: v2\nname: [\n", "templates/x.yaml": "a: 1\n"})
    (problem,) = render(tmp_path).problems
    assert problem.kind == "render"
    assert problem.path.startswith("charts/web")


def test_template_rendering_invalid_yaml_is_a_render_problem(tmp_path):
    chart = dict(CHART)
    chart["templates/bad-indent.yaml"] = "kind: ConfigMap\ndata:\n  a: 1\n b: 2\n"
    write(tmp_path / "charts/web", chart)
    result = render(tmp_path)
    (problem,) = result.problems
    assert (problem.kind, problem.path) == ("render", "charts/web/templates/bad-indent.yaml")
    assert "rendered" in problem.message


def test_bad_environment_values_file_is_a_problem_naming_it(tmp_path):
    write(tmp_path / "charts/web", CHART)
    write(tmp_path, {"environments/prod/values.yaml": "replicas: [3\n"})
    (problem,) = render(tmp_path, environment="prod").problems
    assert (problem.kind, problem.path, problem.line) == ("parse", "environments/prod/values.yaml", 1)


def test_subchart_templates_point_at_the_subchart_directory(tmp_path):
    chart = dict(CHART)
    chart["charts/db-dir/Chart.yaml"] = "apiVersion: v2\nname: database\nversion: 0.1.0\n"
    chart["charts/db-dir/templates/sts.yaml"] = """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
        spec:
          template:
            spec:
              hostNetwork: true
        """
    write(tmp_path / "charts/web", chart)
    statefulset = by_kind(render(tmp_path), "StatefulSet")
    assert statefulset.path == "charts/web/charts/db-dir/templates/sts.yaml"
    assert statefulset.line_for("spec.template.spec.hostNetwork") == line_of(
        tmp_path / "charts/web/charts/db-dir/templates/sts.yaml", "hostNetwork"
    )


def test_one_chart_renders_quickly(tmp_path):
    write(tmp_path / "charts/web", CHART)
    render(tmp_path)  # warm the library
    started = time.perf_counter()
    result = render(tmp_path)
    elapsed = time.perf_counter() - started
    assert len(result.documents) == 3
    assert elapsed < 1.0, f"rendering one chart took {elapsed:.3f} s"


@pytest.mark.parametrize("release", ["custom-release"])
def test_release_name_option(tmp_path, release):
    write(tmp_path / "charts/web", CHART)
    deployment = by_kind(render(tmp_path, helm_release_name=release), "Deployment")
    assert deployment.name == release


def test_packaged_subchart_documents_point_at_the_parent_chart_yaml(tmp_path):
    import tarfile

    write(
        tmp_path / "build/sub",
        {
            "Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            "templates/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostNetwork: true\n",
        },
    )
    chart = dict(CHART)
    chart["Chart.yaml"] = CHART["Chart.yaml"] + "dependencies:\n  - name: sub\n    version: 0.1.0\n"
    write(tmp_path / "charts/web", chart)
    (tmp_path / "charts/web/charts").mkdir()
    with tarfile.open(tmp_path / "charts/web/charts/sub-0.1.0.tgz", "w:gz") as archive:
        archive.add(tmp_path / "build/sub", arcname="sub")
    result = render(tmp_path)
    assert result.problems == []
    pod = by_kind(result, "Pod")
    assert pod.obj["spec"]["hostNetwork"] is True
    assert pod.path == "charts/web/Chart.yaml"  # a file that exists in the repo
    assert (tmp_path / pod.path).is_file()
