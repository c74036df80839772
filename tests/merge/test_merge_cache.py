"""The merge gate's content-keyed cache: hits on unchanged units, corrupt and foreign entries ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from merge.gitrepo import GitRepo
from scanner.findings import Location, Outcome, Severity, Finding
from scanner.merge.cache import CACHE_FORMAT, ResultCache
from scanner.merge.run import MergeRequest, run_merge_gate

SERVICE_B_PROD = "environments/prod/service-b/values.yaml"


@pytest.fixture(scope="module")
def example_repo(tmp_path_factory) -> GitRepo:
    repo = GitRepo.from_example(tmp_path_factory.mktemp("cache") / "cd-repo")
    repo.commit("base")
    repo.branch("pr")
    repo.replace(SERVICE_B_PROD, "replicaCount: 3", "replicaCount: 4")
    repo.commit("scale service-b in prod")
    repo.git("checkout", "-q", "main")
    return repo


def run(repo: GitRepo, cache_dir: Path, **extra):
    return run_merge_gate(MergeRequest(repo=repo.path, base="main", head="pr", cache_dir=cache_dir, **extra))


def summary(verdict) -> list[tuple[str, str, str | None]]:
    return sorted((f.rule_id, f.fingerprint, f.properties.get("cdgate/baselineState")) for f in verdict.findings)


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*/*.json"))


def test_second_run_is_served_from_the_cache_with_the_same_findings(example_repo, tmp_path):
    cold = run(example_repo, tmp_path)
    assert cold.units == ["services/service-b@prod"]
    assert (cold.cache_hits, cold.cache_misses) == (0, 2)  # service-b in prod at base and at head
    assert len(entries(tmp_path)) == 2
    warm = run(example_repo, tmp_path)
    assert (warm.cache_hits, warm.cache_misses) == (2, 0)
    assert summary(warm) == summary(cold)
    assert any(state == "unchanged" for _, _, state in summary(warm))
    assert warm.exit_code == cold.exit_code == 0


@pytest.mark.parametrize(
    "spoil",
    [
        lambda entry: b"{not json",
        lambda entry: json.dumps({**entry, "format": "someone-else/1"}).encode(),
        lambda entry: json.dumps({**entry, "key": "0" * 64}).encode(),
        lambda entry: json.dumps({**entry, "findings": []}).encode(),  # content changed, digest not
        lambda entry: json.dumps({**entry, "findings": [{"rule_id": "x"}], "digest": None}).encode(),
    ],
    ids=["not-json", "foreign-format", "other-key", "tampered-findings", "malformed"],
)
def test_corrupt_or_foreign_entries_are_ignored_and_evaluated_again(example_repo, tmp_path, spoil):
    cold = run(example_repo, tmp_path)
    assert entries(tmp_path)
    for path in entries(tmp_path):
        path.write_bytes(spoil(json.loads(path.read_bytes())))
    again = run(example_repo, tmp_path)
    assert (again.cache_hits, again.cache_misses) == (0, 2)
    assert summary(again) == summary(cold)
    assert any("cache: ignored 2" in notice for notice in again.notices)
    healed = run(example_repo, tmp_path)  # the refused entries were overwritten with good ones
    assert healed.cache_hits == 2


def test_an_entry_is_found_only_under_its_own_key(tmp_path):
    cache = ResultCache(tmp_path)
    finding = Finding("CDG-K8S-001", Severity.CRITICAL, "privileged", Location("a.yaml", 3, 3, "Pod", "ns", "p"), "rego", "manifest")
    assert cache.put("a" * 64, [finding])
    assert [f.fingerprint for f in cache.get("a" * 64)] == [finding.fingerprint]
    assert cache.get("b" * 64) is None
    other = tmp_path / ("b" * 2) / f"{'b' * 64}.json"
    other.parent.mkdir()
    other.write_bytes((tmp_path / "aa" / f"{'a' * 64}.json").read_bytes())  # copied under another key
    assert cache.get("b" * 64) is None
    assert cache.stats.ignored == [f"{'b' * 12}: written for another key"]


def test_results_with_errors_are_never_stored(tmp_path):
    cache = ResultCache(tmp_path)
    error = Finding("CDG-ERR-001", Severity.HIGH, "cannot parse", Location("a.yaml", 1), "cdgate", "inputs", outcome=Outcome.ERROR)
    assert not cache.put("c" * 64, [error])
    assert cache.get("c" * 64) is None
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.slow
def test_a_policy_change_is_a_cache_miss(example_repo, tmp_path):
    run(example_repo, tmp_path)
    example_repo.branch("pr-policy", "pr")
    example_repo.replace("policies/kyverno/require-owner-label.yaml", "metadata:\n", "metadata:\n  annotations: {note: changed}\n")
    example_repo.commit("touch the team policy")
    example_repo.git("checkout", "-q", "main")
    verdict = run_merge_gate(MergeRequest(repo=example_repo.path, base="main", head="pr-policy", cache_dir=tmp_path))
    # everything, under a new bundle digest: every unit misses at head (base then reuses head's entries
    # where its documents are the same, since both sides are judged by head's policies)
    assert verdict.cache_misses >= len(verdict.units) > 2
    assert "services/service-a@prod" in verdict.units


def test_an_entry_over_the_size_bound_is_not_stored(tmp_path, monkeypatch):
    monkeypatch.setattr("scanner.merge.cache.MAX_ENTRY_BYTES", 200)
    cache = ResultCache(tmp_path)
    finding = Finding("CDG-K8S-001", Severity.CRITICAL, "privileged " * 40, Location("a.yaml", 3, 3, "Pod", "ns", "p"), "rego", "manifest")
    assert not cache.put("d" * 64, [finding])
    assert not list(tmp_path.rglob("*.json"))
    assert cache.get("d" * 64) is None and cache.stats.ignored == []
