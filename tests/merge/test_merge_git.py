"""Reading trees from git: only the files asked for, nothing outside the export directory."""

from __future__ import annotations

import pytest

from merge.gitrepo import GitRepo
from scanner.errors import InputError
from scanner.merge.git import Repository, TreeEntry, _safe_relative


def test_export_writes_only_the_paths_asked_for(tmp_path):
    repo = GitRepo.from_example(tmp_path / "cd-repo")
    commit = repo.commit("base")
    (repo.path / "services" / "service-a" / "values.yaml").write_text("changed in the working tree\n")
    git = Repository(repo.path)
    tree = git.tree(commit)
    written = git.export(tree, ["services/service-a", "gate.yaml", "environments/prod/service-a"], tmp_path / "out")
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == len(files) > 5
    assert "gate.yaml" in files and "environments/prod/service-a/values.yaml" in files
    assert not any(f.startswith(("services/service-b", "argocd", "environments/dev")) for f in files)
    # the committed content, not the working tree's
    assert (tmp_path / "out" / "services" / "service-a" / "values.yaml").read_bytes() == repo.git("show", f"{commit}:services/service-a/values.yaml").encode()


def test_symlinks_are_not_written(tmp_path):
    repo = GitRepo.from_example(tmp_path / "cd-repo")
    (repo.path / "services" / "service-a" / "escape.yaml").symlink_to("/etc/passwd")
    commit = repo.commit("a symlink out of the tree")
    git = Repository(repo.path)
    tree = git.tree(commit)
    assert tree["services/service-a/escape.yaml"].mode == "120000"
    git.export(tree, ["services/service-a"], tmp_path / "out")
    assert not (tmp_path / "out" / "services" / "service-a" / "escape.yaml").exists()
    assert (tmp_path / "out" / "services" / "service-a" / "Chart.yaml").is_file()


@pytest.mark.parametrize("path", ["../evil.yaml", "/etc/x", "a/../../b", "a/.git/config", "a//b"])
def test_paths_that_could_leave_the_export_directory_are_refused(path):
    with pytest.raises(InputError, match="unsafe path"):
        _safe_relative(path)


def test_a_crafted_tree_entry_is_refused_before_anything_is_written(tmp_path):
    repo = GitRepo.from_example(tmp_path / "cd-repo")
    commit = repo.commit("base")
    git = Repository(repo.path)
    tree = git.tree(commit)
    tree["../outside.yaml"] = tree["gate.yaml"]
    with pytest.raises(InputError):
        git.export({"../outside.yaml": tree["gate.yaml"]}, ["../outside.yaml"], tmp_path / "out")
    assert not (tmp_path / "outside.yaml").exists()
    assert isinstance(tree["gate.yaml"], TreeEntry)


def test_export_refuses_more_than_the_size_bound_before_reading(tmp_path, monkeypatch):
    import scanner.merge.git as git_module

    repo = GitRepo.from_example(tmp_path / "cd-repo")
    commit = repo.commit("base")
    git = Repository(repo.path)
    tree = git.tree(commit)
    monkeypatch.setattr(git_module, "MAX_EXPORT_BYTES", 1000)
    with pytest.raises(InputError, match="more than"):
        git.export(tree, ["services"], tmp_path / "out")
    assert not (tmp_path / "out" / "services").exists()
