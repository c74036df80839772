"""Which units a change reaches: path rules of scanner.merge.scope."""

from __future__ import annotations

from scanner.merge.scope import RepoFiles, Unit, export_paths, plan_scope

FILES = [
    "gate.yaml",
    "README.md",
    "docs/runbook.md",
    "policies/kyverno/owner.yaml",
    "argocd/app.yaml",
    "charts/common/Chart.yaml",
    "charts/common/templates/_labels.tpl",
    "services/api/Chart.yaml",
    "services/api/templates/deployment.yaml",
    "services/web/base/kustomization.yaml",
    "services/web/overlays/prod/kustomization.yaml",
    "environments/dev/values.yaml",
    "environments/dev/api/values.yaml",
    "environments/dev/namespaces.yaml",
    "environments/prod/values.yaml",
    "environments/prod/api/values.yaml",
    "environments/prod/web/values.yaml",
    "environments/prod/namespaces.yaml",
]
PROFILE_PATHS = ["gate.yaml", "policies/kyverno"]


def scope_of(*changed: str, environments: tuple[str, ...] = ()):
    return plan_scope(list(changed), [RepoFiles(FILES)], environments, PROFILE_PATHS)


def test_a_service_change_reaches_that_service_in_every_environment():
    scope = scope_of("services/api/templates/deployment.yaml")
    assert scope.environments == ("dev", "prod")
    assert scope.units == {Unit("services/api", "dev"), Unit("services/api", "prod")}
    assert not scope.everything


def test_environment_values_reach_one_service_or_all_of_them():
    assert scope_of("environments/prod/api/values.yaml").units == {Unit("services/api", "prod")}
    shared = scope_of("environments/prod/values.yaml").units
    assert shared == {Unit("services/api", "prod"), Unit("services/web", "prod")}


def test_environment_manifests_are_their_own_unit():
    assert scope_of("environments/dev/namespaces.yaml").units == {Unit("environments/dev", "dev")}


def test_documentation_reaches_nothing():
    scope = scope_of("README.md", "docs/runbook.md")
    assert scope.units == set()
    assert len(scope.reasons) == 2


def test_profile_policies_and_shared_charts_reach_everything():
    for changed in ("gate.yaml", "policies/kyverno/owner.yaml", "charts/common/templates/_labels.tpl"):
        scope = scope_of(changed)
        assert scope.everything, changed
        targets = {u.target for u in scope.units}
        assert targets == {"services/api", "services/web", "environments/dev", "environments/prod", "argocd", "charts"}, changed


def test_plain_manifests_elsewhere_reach_their_folder():
    assert scope_of("argocd/app.yaml").units == {Unit("argocd", "dev"), Unit("argocd", "prod")}


def test_selected_environments_limit_the_scope():
    scope = scope_of("services/api/Chart.yaml", "environments/dev/api/values.yaml", environments=("prod",))
    assert scope.units == {Unit("services/api", "prod")}
    assert any("not selected" in reason for reason in scope.reasons)


def test_export_takes_only_what_the_units_need():
    tree = RepoFiles(FILES)
    scope = scope_of("environments/prod/api/values.yaml")
    paths = export_paths(scope, tree, PROFILE_PATHS, {"prod": "dev"})
    assert paths == [
        "environments/dev/api",
        "environments/dev/namespaces.yaml",
        "environments/dev/values.yaml",
        "environments/prod/api",
        "environments/prod/namespaces.yaml",
        "environments/prod/values.yaml",
        "gate.yaml",
        "policies/kyverno",
        "services/api",
    ]
    assert "services/web" not in paths and "environments/prod/web" not in paths
