"""Issue 8, problem 3: Helm fields located in the template branch that rendered them.

The fixture is shaped like Bitnami nginx's deployment.yaml: a disabled
`git-repo-syncer` container ahead of the main one, the image in an
`if`/`else`, an init container whose `privileged` sits above an
`{{- if .Values.resources }}` block, and `range`-generated env items.
"""

from __future__ import annotations

from inputs_helpers import line_of, write
from scanner.inputs.document import parse_json_path
from scanner.inputs.helm_markers import file_tag, instrument
from scanner.inputs.loader import LoadOptions, load_targets

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
spec:
  template:
    spec:
      initContainers:
        {{- if .Values.init.enabled }}
        - name: prepare
          image: busybox:1.36
          securityContext:
            privileged: {{ .Values.containerSecurityContext.privileged }}
          {{- if .Values.resources }}
          resources: {{- toYaml .Values.resources | nindent 12 }}
          {{- end }}
        {{- end }}
      containers:
        {{- if .Values.gitSync.enabled }}
        - name: git-repo-syncer
          image: alpine/git:2.43
          securityContext:
            privileged: false
          env:
            - name: GIT_REPO
              value: repo
        {{- end }}
        - name: nginx
          {{- if .Values.image.digest }}
          image: nginx@{{ .Values.image.digest }}
          {{- else }}
          image: nginx:{{ .Values.image.tag }}
          {{- end }}
          securityContext:
            privileged: {{ .Values.containerSecurityContext.privileged }}
          env:
            {{- range $name, $value := .Values.extraEnv }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
"""

VALUES = """
init: {enabled: true}
gitSync: {enabled: false}
image: {tag: "1.25", digest: ""}
containerSecurityContext: {privileged: false}
resources: {}
extraEnv: {A: "1", B: "2"}
"""


def render(tmp_path, *set_values: str):
    write(tmp_path / "nginx", {"Chart.yaml": "apiVersion: v2\nname: nginx\nversion: 1.0.0\n",
                               "values.yaml": VALUES, "templates/deployment.yaml": DEPLOYMENT})
    result = load_targets([tmp_path / "nginx"], LoadOptions(root=tmp_path, set_values=set_values))
    assert not result.problems
    [deployment] = result.documents
    return deployment, tmp_path / "nginx/templates/deployment.yaml"


def test_fields_point_at_the_branch_that_rendered(tmp_path):
    deployment, template = render(
        tmp_path, "containerSecurityContext.privileged=true", "image.tag=latest"
    )
    pod = "spec.template.spec."
    # the main container is containers[0]: never the disabled git-repo-syncer block
    assert deployment.line_for(pod + "containers[0].securityContext.privileged") == line_of(
        template, "privileged: {{ .Values.containerSecurityContext.privileged }}", occurrence=2
    )
    assert deployment.line_for(pod + "containers[0].image") == line_of(template, "image: nginx:{{")
    assert deployment.line_for(pod + "containers[0].name") == line_of(template, "- name: nginx")
    # the init container's privileged is its own line, not the `if .Values.resources` below it
    assert deployment.line_for(pod + "initContainers[0].securityContext.privileged") == line_of(
        template, "privileged: {{ .Values.containerSecurityContext.privileged }}", occurrence=1
    )


def test_range_items_point_at_the_range_body(tmp_path):
    deployment, template = render(tmp_path)
    for index in (0, 1):
        assert deployment.line_for(f"spec.template.spec.containers[0].env[{index}].value") == line_of(
            template, "value: {{ $value | quote }}"
        )


def test_the_other_branch_when_it_is_the_one_rendered(tmp_path):
    deployment, template = render(tmp_path, "image.digest=sha256:abc", "gitSync.enabled=true")
    assert deployment.line_for("spec.template.spec.containers[1].image") == line_of(template, "image: nginx@{{")
    assert deployment.line_for("spec.template.spec.containers[0].securityContext.privileged") == line_of(
        template, "privileged: false"
    )


def test_values_spliced_with_toyaml_keep_the_splicing_line(tmp_path):
    deployment, template = render(tmp_path, "resources.limits.cpu=1")
    cpu = "spec.template.spec.initContainers[0].resources.limits.cpu"
    assert deployment.line_for(cpu) == line_of(template, "resources: {{- toYaml")
    # and the values the field may come from are named (findings carry them as properties.values_files)
    assert deployment.values_origin[parse_json_path(cpu)] == ("nginx/values.yaml", "--set")
    assert parse_json_path("spec.template.spec.initContainers[0].image") not in deployment.values_origin


def test_markers_never_go_inside_actions():
    text = "a: 1\n{{- if and .Values.x\n      .Values.y }}\nb: {{ .Values.b }}\n{{- end }}\n"
    tag = file_tag(text)
    assert instrument(text).split("\n") == [
        f"a: 1 #cdgate:{tag}:L1", "{{- if and .Values.x", "      .Values.y }}", f"b: {{{{ .Values.b }}}} #cdgate:{tag}:L4",
        "{{- end }}", "",
    ]


def test_a_define_rendered_into_another_template_keeps_that_templates_lines(tmp_path):
    write(tmp_path / "c", {
        "Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        "templates/lib.yaml": '{{- define "c.container" }}\n- name: app\n  image: nginx:latest\n{{- end }}\n',
        "templates/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
                              '    {{- include "c.container" . | nindent 4 }}\n',
    })
    result = load_targets([tmp_path / "c"], LoadOptions(root=tmp_path))
    [pod] = result.documents
    assert pod.path == "c/templates/pod.yaml"
    assert pod.line_for("spec.containers[0].image") == line_of(tmp_path / "c/templates/pod.yaml", "include")
