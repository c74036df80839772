"""`load_targets`: plain manifests, CD-repo layout, and bad files on disk."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from inputs_helpers import line_of, write

from scanner.errors import ConfigError
from scanner.inputs.loader import LoadOptions, load_targets

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: app
      image: nginx:latest
"""


def kinds(result):
    return sorted((d.path, d.kind, d.name) for d in result.documents)


def test_plain_directory_loads_yaml_and_json_with_repo_relative_paths(tmp_path):
    write(
        tmp_path,
        {
            "apps/pod.yaml": POD.format(name="a") + "---\n" + POD.format(name="b"),
            "apps/sub/cm.yml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "apps/svc.json": '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}',
            "apps/README.md": "not yaml",
            "apps/.hidden/x.yaml": POD.format(name="hidden"),
            "apps/node_modules/x.yaml": POD.format(name="nm"),
        },
    )
    result = load_targets([tmp_path / "apps"], LoadOptions(root=tmp_path))
    assert kinds(result) == [
        ("apps/pod.yaml", "Pod", "a"),
        ("apps/pod.yaml", "Pod", "b"),
        ("apps/sub/cm.yml", "ConfigMap", "c"),
        ("apps/svc.json", "Service", "s"),
    ]
    assert result.problems == []
    second = [d for d in result.documents if d.name == "b"][0]
    assert second.index == 1
    assert second.line_for("spec.containers[0].image") == line_of(tmp_path / "apps/pod.yaml", "image:", 2)
    assert {d.origin for d in result.documents} == {"manifest", "json"}


def test_a_file_target_is_loaded_as_manifests_even_when_named_like_a_chart(tmp_path):
    write(tmp_path, {"Chart.yaml": "apiVersion: v2\nname: x\nversion: 0.1.0\n"})
    result = load_targets([tmp_path / "Chart.yaml"], LoadOptions(root=tmp_path))
    assert [d.obj["name"] for d in result.documents] == ["x"]


def test_unknown_kinds_and_crds_load_like_anything_else(tmp_path):
    write(
        tmp_path,
        {
            "crd.yaml": """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              names: {kind: Widget, plural: widgets}
              scope: Namespaced
            ---
            apiVersion: example.com/v1alpha1
            kind: Widget
            metadata: {name: w}
            spec: {anything: [1, 2, {deep: true}]}
            ---
            just: a config file
            """
        },
    )
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert [d.kind for d in result.documents] == ["CustomResourceDefinition", "Widget", None]
    assert [d.is_resource for d in result.documents] == [True, True, False]
    assert result.problems == []


def test_malformed_file_is_a_blocking_problem_and_others_still_load(tmp_path):
    write(tmp_path, {"good.yaml": POD.format(name="g"), "bad.yaml": "kind: Pod\nmetadata:\n  name: [oops\n"})
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert [d.name for d in result.documents] == ["g"]
    (problem,) = result.problems
    assert (problem.path, problem.kind, problem.blocking) == ("bad.yaml", "parse", True)
    assert problem.line is not None and problem.column is not None
    assert problem.where().startswith("bad.yaml:")


def test_non_utf8_file_names_the_line_and_byte(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("kind: ConfigMap\ndata:\n  city: M\xfcnchen\n".encode("latin-1"))
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    (problem,) = result.problems
    assert (problem.kind, problem.line, problem.column) == ("encoding", 3, 10)
    assert "0xfc" in problem.message
    assert result.documents == []


def test_utf8_bom_is_accepted(tmp_path):
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfkind: Namespace\napiVersion: v1\n")
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert [d.kind for d in result.documents] == ["Namespace"]


def test_empty_files_are_reported_but_not_blocking(tmp_path):
    write(tmp_path, {"empty.yaml": "", "comments.yaml": "# nothing here\n---\n", "ok.yaml": POD.format(name="x")})
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert [d.name for d in result.documents] == ["x"]
    assert sorted(p.path for p in result.problems) == ["comments.yaml", "empty.yaml"]
    assert all(p.kind == "empty" and not p.blocking for p in result.problems)
    assert result.blocking_problems == []
    assert {path for path, _ in result.skipped} == {"comments.yaml", "empty.yaml"}


def test_files_over_the_size_cap_are_refused_without_being_read(tmp_path):
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as handle:  # sparse: 2 GiB on paper, nothing on disk
        handle.truncate(2 * 1024**3)
    write(tmp_path, {"small.yaml": POD.format(name="s")})
    tracemalloc.start()
    result = load_targets([tmp_path], LoadOptions(root=tmp_path, max_file_bytes=1024 * 1024))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    (problem,) = result.problems
    assert (problem.path, problem.kind, problem.blocking) == ("huge.yaml", "size", True)
    assert "1048576" in problem.message
    assert [d.name for d in result.documents] == ["s"]


def test_the_size_cap_is_configurable(tmp_path):
    write(tmp_path, {"pod.yaml": POD.format(name="p")})
    size = (tmp_path / "pod.yaml").stat().st_size
    assert load_targets([tmp_path], LoadOptions(root=tmp_path, max_file_bytes=size)).problems == []
    tight = load_targets([tmp_path], LoadOptions(root=tmp_path, max_file_bytes=size - 1))
    assert [p.kind for p in tight.problems] == ["size"]


def test_symlinks_outside_the_root_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write(outside, {"secret.yaml": POD.format(name="outside-file"), "dir/x.yaml": POD.format(name="outside-dir")})
    repo = tmp_path / "repo"
    write(repo, {"in.yaml": POD.format(name="inside")})
    os.symlink(outside / "secret.yaml", repo / "link.yaml")
    os.symlink(outside / "dir", repo / "linkdir")
    os.symlink(repo / "in.yaml", repo / "alias.yaml")  # inside the root: same file, loaded once
    result = load_targets([repo], LoadOptions(root=repo))
    assert [d.name for d in result.documents] == ["inside"]
    withheld = dict(result.withheld)
    assert "outside the scanned root" in withheld["link.yaml"]
    assert "outside the scanned root" in withheld["linkdir"]
    reasons = dict(result.skipped)
    assert "already loaded" in reasons["in.yaml"] or "already loaded" in reasons["alias.yaml"]


def test_symlink_loops_do_not_hang(tmp_path):
    write(tmp_path, {"a/pod.yaml": POD.format(name="p")})
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")  # a/loop -> a
    os.symlink(tmp_path / "self", tmp_path / "self")  # a link to itself
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(r=load_targets([tmp_path], LoadOptions(root=tmp_path))))
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "loading a symlink loop hung"
    result = outcome["r"]
    assert [d.name for d in result.documents] == ["p"]
    assert "symlink" in dict(result.withheld)["self"]
    assert "already scanned" in dict(result.skipped)["a/loop"]


def test_fifo_is_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    started = time.perf_counter()
    result = load_targets([tmp_path / "pipe.yaml"], LoadOptions(root=tmp_path))
    assert time.perf_counter() - started < 5
    assert result.documents == []
    assert [(p.path, p.blocking) for p in result.problems] == [("pipe.yaml", True)]


def test_missing_target_is_a_blocking_problem(tmp_path):
    result = load_targets([tmp_path / "nope"], LoadOptions(root=tmp_path))
    (problem,) = result.problems
    assert (problem.path, problem.kind, problem.blocking) == ("nope", "io", True)


def test_unknown_mode_and_bad_set_are_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        load_targets([tmp_path], LoadOptions(root=tmp_path, mode="terraform"))
    with pytest.raises(ConfigError) as caught:
        load_targets([tmp_path], LoadOptions(root=tmp_path, set_values=["image.tag"]))
    assert "--set" in str(caught.value)


def test_paths_outside_the_root_are_shown_absolute(tmp_path):
    write(tmp_path / "elsewhere", {"p.yaml": POD.format(name="e")})
    (tmp_path / "root").mkdir()
    result = load_targets([tmp_path / "elsewhere"], LoadOptions(root=tmp_path / "root"))
    assert [d.path for d in result.documents] == [(tmp_path / "elsewhere" / "p.yaml").as_posix()]


CD_REPO = {
    "environments/dev/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop-dev}\n",
    "environments/prod/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    "environments/prod/quota.yaml": "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: shop}\n",
    "environments/prod/values.yaml": "replicas: 3\n",
    "environments/prod/web.yaml": "image: {tag: '2.0'}\n",
    "environments/prod/worker/values.yaml": "image: {tag: '3.0'}\n",
    "argocd/appset.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: services}\n",
    "registry/versions.yaml": "web: 1.0\n",
    "services/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "services/web/values.yaml": "replicas: 1\nimage: {tag: '1.0'}\n",
    "services/web/templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          replicas: {{ .Values.replicas }}
          template:
            spec:
              containers:
                - name: web
                  image: "web:{{ .Values.image.tag }}"
        """,
    "services/worker/Chart.yaml": "apiVersion: v2\nname: worker\nversion: 0.1.0\n",
    "services/worker/values.yaml": "image: {tag: '1.0'}\n",
    "services/worker/templates/job.yaml": """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: worker}
        spec:
          template:
            spec:
              containers:
                - name: w
                  image: "worker:{{ .Values.image.tag }}"
        """,
}


def test_cd_repo_with_an_environment_scans_only_that_environment(tmp_path):
    write(tmp_path, CD_REPO)
    result = load_targets([tmp_path], LoadOptions(root=tmp_path, environment="prod"))
    assert result.problems == []
    paths = sorted({d.path for d in result.documents})
    assert paths == [
        "argocd/appset.yaml",
        "environments/prod/namespace.yaml",
        "environments/prod/quota.yaml",
        "registry/versions.yaml",
        "services/web/templates/deployment.yaml",
        "services/worker/templates/job.yaml",
    ]
    reasons = dict(result.skipped)
    assert "not selected" in reasons["environments/dev"]
    for values_file in ("environments/prod/values.yaml", "environments/prod/web.yaml", "environments/prod/worker/values.yaml"):
        assert "values" in reasons[values_file].lower()
    scopes = {d.path: d.scope for d in result.documents}
    assert scopes["environments/prod/quota.yaml"] == "prod"
    assert scopes["services/web/templates/deployment.yaml"] == "prod"
    web = next(d for d in result.documents if d.kind == "Deployment")
    assert web.obj["spec"]["replicas"] == 3  # environments/prod/values.yaml
    assert web.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2.0"  # environments/prod/web.yaml
    worker = next(d for d in result.documents if d.kind == "Job")
    assert worker.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "worker:3.0"


def test_cd_repo_without_environment_scans_every_environment_scoped(tmp_path):
    write(tmp_path, CD_REPO)
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    namespaces = sorted((d.obj["metadata"]["name"], d.scope) for d in result.documents if d.kind == "Namespace")
    assert namespaces == [("shop", "prod"), ("shop-dev", "dev")]
    web = next(d for d in result.documents if d.kind == "Deployment")
    assert web.scope is None
    assert web.obj["spec"]["replicas"] == 1  # chart defaults only
    assert not any(d.path.startswith("environments/prod/values") for d in result.documents)


def test_mode_manifests_reads_every_file_as_is(tmp_path):
    write(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n", "chart/values.yaml": "a: 1\n"})
    result = load_targets([tmp_path / "chart"], LoadOptions(root=tmp_path, mode="manifests"))
    assert sorted(d.path for d in result.documents) == ["chart/Chart.yaml", "chart/values.yaml"]


def test_mode_helm_on_a_plain_directory_is_a_problem(tmp_path):
    write(tmp_path, {"pod.yaml": POD.format(name="p")})
    result = load_targets([tmp_path], LoadOptions(root=tmp_path, mode="helm"))
    assert result.documents == []
    assert [p.kind for p in result.problems] == ["io"]
    assert "Helm chart" in result.problems[0].message


def _generate_manifests(root: Path, files: int, per_file: int) -> None:
    template = (Path(__file__).parent / "data" / "deployment.yaml").read_text(encoding="utf-8")
    for i in range(files):
        docs = [template.replace("NAME", f"svc-{i}-{j}") for j in range(per_file)]
        (root / f"svc-{i}.yaml").write_text("---\n".join(docs), encoding="utf-8")


def test_loading_twelve_hundred_documents_keeps_every_one(tmp_path):
    """Load speed is measured by benchmarks/manifests; here every document and its name must arrive."""
    _generate_manifests(tmp_path, files=300, per_file=4)  # 1,200 documents
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert len(result.documents) == 1200
    assert len({d.name for d in result.documents}) == 1200
    assert result.problems == []


def test_an_environment_without_its_folder_is_a_blocking_problem(tmp_path):
    write(tmp_path, CD_REPO)
    result = load_targets([tmp_path], LoadOptions(root=tmp_path, environment="prdo"))
    (problem,) = result.problems
    assert (problem.path, problem.kind, problem.blocking) == ("environments", "io", True)
    assert "'prdo'" in problem.message and "dev, prod" in problem.message


def test_kustomization_inside_an_environment_folder_is_scoped_to_it(tmp_path):
    write(
        tmp_path,
        {
            "environments/prod/kustomization.yaml": "resources:\n  - ns.yaml\n",
            "environments/prod/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
        },
    )
    result = load_targets([tmp_path], LoadOptions(root=tmp_path, environment="prod"))
    (namespace,) = result.documents
    assert (namespace.origin, namespace.scope, namespace.path) == ("kustomize", "prod", "environments/prod/ns.yaml")
    assert namespace.line_for("metadata.name") == 4


def test_list_kinds_are_unwrapped_so_nested_pods_are_evaluated(tmp_path):
    write(
        tmp_path,
        {
            "list.yaml": """
            apiVersion: v1
            kind: List
            items:
              - apiVersion: v1
                kind: Pod
                metadata: {name: first}
              - apiVersion: v1
                kind: Pod
                metadata:
                  name: second
                spec:
                  hostNetwork: true
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: after}
            """,
            "list.json": '{"apiVersion": "v1", "kind": "PodList", "items": [\n {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}}\n]}',
        },
    )
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert [(d.path, d.kind, d.name, d.index) for d in result.documents] == [
        ("list.json", "Pod", "j", 0),
        ("list.yaml", "Pod", "first", 0),
        ("list.yaml", "Pod", "second", 1),
        ("list.yaml", "ConfigMap", "after", 2),
    ]
    second = result.documents[2]
    assert second.line_for("spec.hostNetwork") == line_of(tmp_path / "list.yaml", "hostNetwork")
    assert second.start_line == line_of(tmp_path / "list.yaml", "- apiVersion", 2)
    assert second.end_line == line_of(tmp_path / "list.yaml", "hostNetwork")
    assert result.documents[0].line_for("metadata.name") == 2


def test_environments_folder_as_target_keeps_its_rules(tmp_path):
    write(tmp_path, CD_REPO)
    result = load_targets([tmp_path / "environments"], LoadOptions(root=tmp_path, environment="prod"))
    assert sorted((d.path, d.scope) for d in result.documents) == [
        ("environments/prod/namespace.yaml", "prod"),
        ("environments/prod/quota.yaml", "prod"),
    ]
    single = load_targets([tmp_path / "environments/prod"], LoadOptions(root=tmp_path))
    assert sorted(d.path for d in single.documents) == ["environments/prod/namespace.yaml", "environments/prod/quota.yaml"]
