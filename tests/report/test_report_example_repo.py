"""The reports of a real run over `examples/cd-repo` (the whole pipeline, no stand-ins)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner
from report_verdicts import REPO_ROOT, SARIF_SCHEMA_PATH

from scanner.cli import main
from scanner.report.json_report import REPORT_SCHEMA

EXAMPLE = "examples/cd-repo"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    if not (REPO_ROOT / EXAMPLE).is_dir():
        pytest.fail(f"{EXAMPLE} is missing from the repository")
    out = tmp_path_factory.mktemp("reports")
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "check", str(REPO_ROOT / EXAMPLE), "--env", "prod", "--root", str(REPO_ROOT),
            "-f", "sarif", "-o", str(out / "out.sarif"), "--output-dir", str(out), "-q",
        ],
    )
    return result, out


def test_failing_run_exits_1_and_writes_every_report(reports):
    result, out = reports
    assert result.exit_code == 1, result.output
    names = {p.name for p in out.iterdir()}
    assert {"out.sarif", "cdgate.sarif", "cdgate.json", "cdgate.junit.xml", "cdgate.md", "cdgate.html"} <= names
    assert not [n for n in names if n.endswith(".tmp")]


def test_sarif_of_the_example_is_valid_and_points_at_fields(reports):
    _, out = reports
    log = json.loads((out / "out.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA_PATH.read_text())
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(log))
    results = log["runs"][0]["results"]
    assert results
    for r in results:
        physical = r["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri.startswith(EXAMPLE + "/"), uri
        lines = (REPO_ROOT / uri).read_text().splitlines()
        line = physical["region"]["startLine"]
        assert 1 <= line <= len(lines), (uri, line)
        json_path = r["properties"].get("jsonPath")
        if json_path:
            keys = [k for k in re.split(r"[.\[\]]+", json_path) if k and not k.isdigit()]
            text = lines[line - 1]
            # an image a Kustomize overlay rewrote points at its `images:` entry (newTag/newName/digest)
            overlay_image = json_path.endswith(".image") and re.match(r"\s*(-\s*)?(newTag|newName|digest):", text)
            assert any(k in text for k in keys) or text.lstrip().startswith("- ") or overlay_image, (
                uri, line, json_path, text
            )


def test_json_and_junit_of_the_example_are_consistent(reports):
    _, out = reports
    report = json.loads((out / "cdgate.json").read_text())
    assert not list(jsonschema.Draft202012Validator(REPORT_SCHEMA).iter_errors(report))
    assert report["verdict"]["exit_code"] == 1 and report["counts"]["failing"] > 0
    root = ET.parse(out / "cdgate.junit.xml").getroot()
    assert int(root.get("failures")) > 0
    markdown = (out / "cdgate.md").read_text()
    assert markdown.startswith("## ❌ cdgate: failed")
    assert f"### Failing findings ({report['counts']['failing']})" in markdown
