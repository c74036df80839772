"""Manifests written by another project (Kyverno's test suites), read in place.

Two independent checks on ~1,000 files nobody on this team wrote: the objects
we build equal what PyYAML's own loader builds (timestamps aside, which we
keep as strings on purpose), and every key's recorded line really holds that
key.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml

from scanner.inputs.loader import LoadOptions, load_file, load_targets
from scanner.inputs.problems import InputProblemError


_TIMESTAMP = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")


def _normalise(value):
    """Either side in common terms: string keys, every timestamp (object or text) alike.

    We keep YAML timestamps as the text written (JSON-compatible on purpose);
    PyYAML makes datetime objects of them.
    """
    if isinstance(value, dict):
        return {_key(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "<timestamp>"
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return "<timestamp>"
    return value


def _key(key):
    if isinstance(key, bool):
        return str(key).lower()
    return str(key)


@pytest.fixture(scope="module")
def kyverno_files(corpus) -> list[Path]:
    files = sorted((corpus / "kyverno").rglob("*.yaml"))
    if len(files) < 100:
        pytest.skip("Kyverno suites not present in ../shared/corpus")
    return files


def test_objects_match_pyyaml_and_lines_hold_their_keys(kyverno_files):
    compared = documents = 0
    for path in kyverno_files:
        text = path.read_text(encoding="utf-8")
        try:
            ours = load_file(path, str(path))
        except InputProblemError as exc:
            pytest.fail(f"{exc}")
        reference = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
        assert [_normalise(d.obj) for d in ours] == [_normalise(d) for d in reference], path
        lines = text.splitlines()
        for document in ours:
            documents += 1
            for json_path, line in document.line_map.items():
                if json_path and isinstance(json_path[-1], str):
                    source = lines[line - 1]
                    assert json_path[-1] in source or "*" in source or "<<" in source, (path, json_path, line)
        compared += 1
    assert compared == len(kyverno_files)
    assert documents > 1000


def test_corpus_resources_of_any_kind_load_without_problems(corpus):
    resources = corpus / "kyverno" / "test" / "cli"
    if not resources.is_dir():
        pytest.skip("Kyverno CLI suites not present")
    result = load_targets([resources], LoadOptions(root=corpus))
    kinds = {d.kind for d in result.documents}
    assert {"ClusterPolicy", "Pod", "Deployment"} <= kinds
    assert len(kinds) > 20  # CRDs and unknown kinds load like anything else
    assert all(d.path.startswith("kyverno/test/cli/") for d in result.documents)
    assert result.blocking_problems == [], result.blocking_problems[:3]
