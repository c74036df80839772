"""The README is true: its gate.yaml reference validates, its rules exist, its usage commands run as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
    import datetime as dt

    from scanner.gates.waivers import check_governance

    check_governance(profile, load_catalog(), dt.date(2026, 11, 22))  # its rule ids exist, its waivers fit max_days


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


def usage_section() -> str:
    return README.split("## Using it", 1)[1].split("\n## ", 1)[0]


def usage_commands() -> list[tuple[str, int]]:
    block = re.search(r"```sh\n(.*?)```", usage_section(), flags=re.DOTALL).group(1)
    commands = []
    for line in block.splitlines():
        match = re.fullmatch(r"(cdgate .*?)\s+# exit (\d)", line.strip())
        assert match, f"usage line without '# exit N': {line!r}"
        commands.append((match.group(1), int(match.group(2))))
    return commands


@pytest.mark.slow
def test_every_usage_command_runs_with_the_exit_code_shown(tmp_path, cdgate):
    import shlex

    for name in ("examples", "policies"):
        (tmp_path / name).symlink_to(REPO / name)
    commands = usage_commands()
    assert len(commands) >= 8
    for command, expected in commands:
        result = cdgate(*shlex.split(command)[1:], cwd=tmp_path)
        assert result.returncode == expected, (command, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
    assert (tmp_path / "out.sarif").read_text().lstrip().startswith("{")  # -o out.sarif wrote SARIF
    assert (tmp_path / "reports" / "cdgate.sarif").is_file()


def test_usage_shows_the_real_80_column_output(cdgate):
    section = usage_section()
    command = re.search(r"`COLUMNS=80 (cdgate check [^`]*)`", section).group(1)
    shown = re.search(r"```text\n(.*?)```", section, flags=re.DOTALL).group(1)
    result = cdgate(*command.split()[1:], env={"COLUMNS": "80"})
    assert result.returncode == 1
    assert result.stdout == shown, "update the README's 80-column output"
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_outcome_states_are_explained_once():
    from scanner.report._common import STATE_MEANINGS

    outcomes = README.split("### Outcomes", 1)[1].split("\n### ", 1)[0]
    for state, meaning in STATE_MEANINGS.items():
        assert f"| `{state}` | {meaning} |" in outcomes
    assert README.count("### Outcomes") == 1 and "below-threshold" not in README


def test_new_commands_in_the_reference_exist(cdgate):
    for args in (("waivers", "list", "--help"), ("profile", "validate", "--help"), ("init", "--help")):
        assert cdgate(*args).returncode == 0, args
