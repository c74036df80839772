"""YAML and JSON parsing with positions, and the bad input a gate must survive."""

from __future__ import annotations

import textwrap
import time
import tracemalloc

import pytest

from scanner.inputs.jsonpos import load_json_document
from scanner.inputs.problems import InputProblemError
from scanner.inputs.yamlpos import load_yaml_documents

MANIFESTS = textwrap.dedent(
    """\
    # a comment before the first document
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      labels: {app: web, tier: "1"}
    spec:
      containers:
        - name: app
          image: nginx:latest
          securityContext:
            privileged: true
        - name: sidecar
          image: envoy
    ---
    ---
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
    """
)


def test_every_key_and_item_maps_to_its_line():
    pod, namespace = load_yaml_documents(MANIFESTS, "m.yaml")
    assert (pod.start_line, pod.end_line, pod.index) == (2, 14, 0)
    assert (namespace.start_line, namespace.index) == (17, 1)
    assert pod.line_for("spec.containers[0].securityContext.privileged") == 12
    assert pod.line_for(("spec", "containers", 1)) == 13
    assert pod.line_for("spec.containers[1].image") == 14
    assert pod.line_for("metadata.labels.tier") == 6
    # an absent field points at its closest existing parent
    assert pod.line_for("spec.containers[1].securityContext.runAsNonRoot") == 13
    assert namespace.line_for("metadata.name") == 20
    assert namespace.obj == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def test_scalars_are_what_kubernetes_decodes():
    (doc,) = load_yaml_documents(
        "a: yes\nb: 010\nc: 1.5\nd: ~\ne: '1'\nf: 2024-01-02\ng: !!str 3\n80: port\nh: 0x1F\n", "s.yaml"
    )
    assert doc.obj == {
        "a": True,
        "b": 8,
        "c": 1.5,
        "d": None,
        "e": "1",
        "f": "2024-01-02",  # timestamps stay strings: JSON-compatible for the engines
        "g": "3",
        "80": "port",  # keys are always strings
        "h": 31,
    }


def test_merge_keys_follow_yaml_1_1_and_keep_lines():
    text = "base: &base\n  cpu: 1\n  mem: 2\nuse:\n  <<: *base\n  mem: 3\n"
    (doc,) = load_yaml_documents(text, "m.yaml")
    assert doc.obj["use"] == {"cpu": 1, "mem": 3}
    assert doc.line_for("use.mem") == 6
    assert doc.line_for("use.cpu") == 2  # the merged key's own definition


def test_aliases_are_independent_copies():
    (doc,) = load_yaml_documents("a: &x {k: [1]}\nb: *x\n", "a.yaml")
    doc.obj["b"]["k"].append(2)
    assert doc.obj["a"] == {"k": [1]}
    assert doc.line_for("b.k") == 1


def test_malformed_yaml_names_line_and_column():
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents("kind: Pod\nspec:\n  containers:\n  - name: a\n   image: x\n", "bad.yaml")
    error = caught.value
    assert (error.kind, error.path, error.line) == ("parse", "bad.yaml", 5)
    assert error.column is not None
    assert str(error).startswith("bad.yaml:5:")


def test_billion_laughs_is_refused_in_bounded_time_and_memory():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        previous, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n"  # fully expanded: 9**10 strings
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents(bomb, "bomb.yaml")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert caught.value.kind == "alias"
    assert "alias" in caught.value.message
    assert elapsed < 5
    assert peak < 200 * 1024 * 1024


def test_modest_aliases_are_fine():
    lines = ["a: &a [1, 2, 3]"] + [f"k{i}: *a" for i in range(200)]
    (doc,) = load_yaml_documents("\n".join(lines), "ok.yaml")
    assert doc.obj["k199"] == [1, 2, 3]


def test_recursive_alias_is_refused():
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents("a: &x\n  b: *x\n", "r.yaml")
    assert caught.value.kind == "alias"
    assert caught.value.line == 2


def test_duplicate_keys_are_a_problem_naming_both_lines():
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents("securityContext:\n  privileged: false\n  privileged: true\n", "d.yaml")
    assert caught.value.kind == "duplicate-key"
    assert caught.value.line == 3
    assert "line 2" in caught.value.message


def test_control_characters_and_deep_nesting_are_parse_problems():
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents("a: b\nc: \x07\n", "c.yaml")
    assert (caught.value.kind, caught.value.line) == ("parse", 2)
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents("a: " + "[" * 5000 + "]" * 5000, "deep.yaml")
    assert caught.value.kind == "parse"


def test_empty_streams_have_no_documents():
    assert load_yaml_documents("", "e.yaml") == []
    assert load_yaml_documents("# only a comment\n---\n---\n", "e.yaml") == []


def test_json_with_positions():
    text = '{\n  "kind": "Pod",\n  "spec": {\n    "containers": [\n      {"name": "a", "image": "x:latest"}\n    ]\n  }\n}\n'
    (doc,) = load_json_document(text, "p.json")
    assert doc.obj["spec"]["containers"][0]["image"] == "x:latest"
    assert doc.line_for("spec.containers[0].image") == 5
    assert doc.line_for("spec") == 3
    assert (doc.start_line, doc.end_line) == (1, 8)


@pytest.mark.parametrize(
    ("text", "line", "column", "kind"),
    [
        ('{\n  "a": 1,\n}', 3, 1, "parse"),
        ('{"a": 1, "a": 2}', 1, 10, "duplicate-key"),
        ('[1,\n 2\n 3]', 3, 2, "parse"),
        ('{"a": "unterminated', 1, 7, "parse"),
    ],
)
def test_json_errors_name_line_and_column(text, line, column, kind):
    with pytest.raises(InputProblemError) as caught:
        load_json_document(text, "bad.json")
    assert (caught.value.line, caught.value.column, caught.value.kind) == (line, column, kind)


def test_json_matches_the_standard_library():
    import json

    text = '{"a": [1, 2.5, -3e2, true, false, null, "\\u00e9\\/"], "b": {}}'
    (doc,) = load_json_document(text, "x.json")
    assert doc.obj == json.loads(text)


def test_values_without_a_json_form_stay_text_and_bad_merges_are_problems():
    (doc,) = load_yaml_documents("a: .inf\nb: -.Inf\nc: .nan\nd: 1.5e+3\n", "f.yaml")
    assert doc.obj == {"a": ".inf", "b": "-.Inf", "c": ".nan", "d": 1500.0}
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents("x: 1\nm:\n  <<: [1, 2]\n", "m.yaml")
    assert (caught.value.kind, caught.value.path, caught.value.line) == ("parse", "m.yaml", 3)


def test_an_unclosed_construct_points_at_where_it_opened_not_past_the_end():
    with pytest.raises(InputProblemError) as caught:
        load_yaml_documents('kind: Pod\nmetadata:\n  name: "web\n', "open.yaml")
    assert (caught.value.line, caught.value.column) == (3, 9)


def test_quoted_double_angle_key_is_an_ordinary_key_and_line_maps_stay_plain():
    (doc,) = load_yaml_documents('a: &a {x: 1}\nb:\n  "<<": *a\nc:\n  <<: *a\n  y: 2\n', "q.yaml")
    assert doc.obj == {"a": {"x": 1}, "b": {"<<": {"x": 1}}, "c": {"x": 1, "y": 2}}
    assert all(isinstance(part, (str, int)) for path in doc.line_map for part in path)
    assert doc.line_for("c.x") == 1 and doc.line_for("c.y") == 6 and doc.line_for("b.<<") == 3
