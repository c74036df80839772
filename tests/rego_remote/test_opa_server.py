"""`rego.engine: opa-server`: decisions from a real OPA behind a Data API on 127.0.0.1.

The server's evaluation is real OPA (opa-golib-python-bindings); the tests
compare its findings with regorus' on the bundled policies over the example
repo, then break the server (down, slow, not JSON, HTTP errors, bad token)
and check that cdgate fails closed with what to do.
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("opa_bindings.engine", reason="opa-golib-python-bindings is not installed (make venv installs it)")

from conftest import REPO, run_cdgate  # noqa: E402
from opa_http import OpaHttpServer, bundled_sources  # noqa: E402
from scanner.engines.base import EvaluationRequest, Level, RawResult  # noqa: E402
from scanner.engines.opa_client import OpaDataClient, check_url  # noqa: E402
from scanner.engines.opa_server import OpaServerPolicySet  # noqa: E402
from scanner.engines.rego import BUNDLED_REGO_DIR, RegoPolicySet  # noqa: E402
from scanner.inputs.document import Document  # noqa: E402
from scanner.inputs.loader import LoadOptions, load_targets  # noqa: E402
from scanner.merging import deep_merge  # noqa: E402

ENVIRONMENT = "prod"


@pytest.fixture(scope="module")
def server() -> Iterator[OpaHttpServer]:
    policies, data = bundled_sources(REPO)
    data = deep_merge(data, {"cdgate_context": {"environment": ENVIRONMENT}})
    with OpaHttpServer(policies, data) as running:
        yield running


@pytest.fixture(autouse=True)
def healthy(server: OpaHttpServer) -> Iterator[None]:
    server.mode, server.calls, server.token = "normal", 0, None
    yield
    server.mode, server.token = "normal", None


@pytest.fixture(scope="module")
def documents() -> list:
    loaded = load_targets(["examples/cd-repo"], LoadOptions(root=REPO, environment=ENVIRONMENT))
    return [d for d in loaded.documents if d.is_resource]


def remote(url: str, **options: object) -> OpaServerPolicySet:
    return OpaServerPolicySet(OpaDataClient(url, **options), ("main", "cdgate"))  # type: ignore[arg-type]


def decisions(results: list[RawResult]) -> list[tuple]:
    return sorted(
        (r.rule_id or "", r.level.value, r.document.path if r.document else "", r.json_path or "", r.message)
        for r in results
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_real_opa_and_regorus_agree_on_the_bundled_policies(server: OpaHttpServer, documents: list) -> None:
    local = RegoPolicySet.compile([BUNDLED_REGO_DIR], environment=ENVIRONMENT, root=REPO)
    expected = decisions(local.evaluate(EvaluationRequest(documents, ENVIRONMENT)))
    got = decisions(remote(server.url).evaluate(EvaluationRequest(documents, ENVIRONMENT)))
    assert len(expected) >= 20, "the example repo should trip many bundled rules"
    assert got == expected
    assert server.calls >= len(documents)


def test_one_document_each_way_is_the_same_finding(server: OpaHttpServer, documents: list) -> None:
    privileged = [d for d in documents if d.name == "service-b" and d.kind == "Deployment"]
    assert privileged
    results = remote(server.url).evaluate(EvaluationRequest(privileged))
    assert any(r.rule_id and r.json_path and "privileged" in r.json_path for r in results), results


def test_a_server_that_is_down_is_an_error_naming_what_to_do(documents: list) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    results = remote(url, timeout_s=2.0, retries=1).evaluate(EvaluationRequest(documents[:3]))
    assert [r.level for r in results] == [Level.ERROR]
    assert "gave no decision" in results[0].message and "check that the server is up" in results[0].message
    assert "2 more document(s) were not sent" in results[0].message


def test_a_slow_server_hits_the_total_deadline(server: OpaHttpServer, documents: list) -> None:
    server.mode, server.delay = "slow", 3.0
    [result] = remote(server.url, timeout_s=0.5, retries=2).evaluate(EvaluationRequest(documents[:1]))
    assert result.level is Level.ERROR
    assert "within 0.5s" in result.message and "rego.timeout_s" in result.message


def test_a_body_that_is_not_json_is_an_error(server: OpaHttpServer, documents: list) -> None:
    server.mode = "not-json"
    [result] = remote(server.url).evaluate(EvaluationRequest(documents[:1]))
    assert result.level is Level.ERROR and "not JSON" in result.message and "please log in" in result.message


def test_an_http_error_is_an_error_with_the_servers_message(server: OpaHttpServer, documents: list) -> None:
    server.mode = "error"
    [result] = remote(server.url).evaluate(EvaluationRequest(documents[:1]))
    assert result.level is Level.ERROR and "HTTP 500: eval failed" in result.message


def test_retries_are_bounded(server: OpaHttpServer, documents: list) -> None:
    server.mode, server.fail_first = "flaky", 1
    results = remote(server.url, retries=1).evaluate(EvaluationRequest(documents[:1]))
    assert results and all(r.level is not Level.ERROR for r in results)
    server.calls, server.fail_first = 0, 10
    [result] = remote(server.url, retries=2).evaluate(EvaluationRequest(documents[:1]))
    assert result.level is Level.ERROR and "HTTP 503" in result.message
    assert server.calls == 3  # the first try and two retries, then stop


def test_the_token_goes_in_the_authorization_header(server: OpaHttpServer, documents: list) -> None:
    server.token = "s3cret"
    assert all(r.level is not Level.ERROR for r in remote(server.url, token="s3cret").evaluate(EvaluationRequest(documents[:1])))
    [result] = remote(server.url, token="wrong").evaluate(EvaluationRequest(documents[:1]))
    assert "HTTP 401" in result.message and "rego.token_env" in result.message


@pytest.mark.parametrize("url", ["http://opa.example.com:8181", "ftp://127.0.0.1", "https://opa.example.com/?x=1"])
def test_urls_that_would_leak_or_cannot_work_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)


def write_profile(tmp_path: Path, rego: dict) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(json.dumps({"version": 1, "rego": rego}))
    return path


@pytest.mark.slow
def test_cdgate_check_against_the_server_exits_1_and_against_a_dead_one_exits_2(server: OpaHttpServer, tmp_path: Path) -> None:
    target = str(REPO / "examples" / "cd-repo" / "services" / "service-b")
    good = write_profile(tmp_path, {"engine": "opa-server", "url": server.url, "token_env": "CDGATE_TEST_OPA_TOKEN"})
    server.token = "tok"
    ok = run_cdgate("check", target, "--profile", str(good), "-f", "json", env={"CDGATE_TEST_OPA_TOKEN": "tok"})
    assert ok.returncode == 1, ok.stderr
    assert any(f["engine"] == "rego" for f in json.loads(ok.stdout)["findings"])
    missing_token = run_cdgate("check", target, "--profile", str(good), env={"CDGATE_TEST_OPA_TOKEN": ""})
    assert missing_token.returncode == 2 and "CDGATE_TEST_OPA_TOKEN" in missing_token.stderr
    dead = write_profile(tmp_path, {"engine": "opa-server", "url": f"http://127.0.0.1:{free_port()}", "timeout_s": 2, "retries": 0})
    down = run_cdgate("check", target, "--profile", str(dead), "-f", "json")
    assert down.returncode == 2
    errors = [f for f in json.loads(down.stdout)["findings"] if f["outcome"] == "error"]
    assert errors and "check that the server is up" in errors[0]["message"]


@pytest.mark.parametrize(
    ("rego", "says"),
    [
        ({"engine": "opa-server", "url": "http://127.0.0.1:1", "params": {"allowed_registries": ["r"]}}, "rego.params cannot be used"),
        ({"engine": "opa-server", "url": "http://127.0.0.1:1", "policies": ["team/"]}, "rego.policies cannot be used"),
        ({"engine": "opa-server", "url": "http://opa.example.com"}, "plain http to a non-loopback host"),
    ],
)
def test_profiles_that_would_check_less_than_they_say_are_refused(tmp_path: Path, rego: dict, says: str) -> None:
    from scanner.engines.opa_server import compile_for_profile
    from scanner.errors import ConfigError
    from scanner.profile import load_profile

    with pytest.raises(ConfigError, match=says):
        compile_for_profile(load_profile(write_profile(tmp_path, rego)), tmp_path)


REPO_ONLY_POLICY = """package cdgate.onlyrepo

import rego.v1

input_mode := "repo"

deny contains {"msg": "a Pod in the repository", "rule_id": "CDG-T-REPO", "document": d.index} if {
\tsome d in input.documents
\td.contents.kind == "Pod"
}
"""


def test_a_server_with_only_repo_mode_packages_checks_them_without_a_nothing_checked_error() -> None:
    docs = [Document({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}, "pod.yaml")]
    with OpaHttpServer({"onlyrepo.rego": REPO_ONLY_POLICY}, {}) as only_repo:
        results = remote(only_repo.url).evaluate(EvaluationRequest(docs))
    assert [(r.level, r.rule_id, r.document.path if r.document else None) for r in results] == [
        (Level.DENY, "CDG-T-REPO", "pod.yaml")
    ]


def test_a_dead_server_counts_the_unsent_documents_of_every_environment(documents: list) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    spread = [replace(d, scope=scope) for d, scope in zip(documents[:4], ("dev", "dev", "prod", "prod"))]
    advanced: list[int] = []
    results = remote(url, timeout_s=2.0, retries=0).evaluate(EvaluationRequest(spread, on_progress=advanced.append))
    assert [r.level for r in results] == [Level.ERROR]
    assert "3 more document(s) were not sent" in results[0].message
    assert sum(advanced) == 4
