"""The README's examples are real: its gate.yaml reference validates, its rules exist."""

from __future__ import annotations

import re
from pathlib import Path

from scanner.catalog import load_catalog
from scanner.profile import load_profile

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, flags=re.DOTALL)


def test_gate_yaml_reference_validates(tmp_path):
    reference = next(block for block in yaml_blocks() if block.startswith("version: 1"))
    path = tmp_path / "gate.yaml"
    path.write_text(reference)
    profile = load_profile(path)  # raises ConfigError naming the line if the reference is wrong
    assert profile.waivers and profile.environments["prod"].fail_on is not None
    assert profile.gate_enabled("signature")


def test_every_profile_snippet_validates(tmp_path):
    snippets = [b for b in yaml_blocks() if b.startswith(("version:", "gates:"))]
    assert len(snippets) >= 2
    for index, snippet in enumerate(snippets):
        path = tmp_path / f"gate{index}.yaml"
        path.write_text(snippet)
        load_profile(path)


def test_rule_ids_named_in_the_readme_exist():
    catalog = load_catalog()
    named = set(re.findall(r"\bCDG-[A-Z]+-\d{3}\b", README))
    assert named, "the README names no rule"
    assert named <= set(catalog.rules), f"README names unknown rules: {sorted(named - set(catalog.rules))}"
