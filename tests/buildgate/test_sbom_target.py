"""What `cdgate sbom TARGET` takes TARGET to be."""

from __future__ import annotations

import pytest

from buildgate.images import ALPINE_FILES, docker_save_tarball, layout_image
from scanner.buildgate.sbom import sbom_target
from scanner.errors import InputError


def test_each_kind_of_target(tmp_path):
    (tmp_path / "src").mkdir()
    layout_image(tmp_path / "layout", ALPINE_FILES)
    docker_save_tarball(tmp_path / "image.tar", ALPINE_FILES)
    assert (sbom_target(str(tmp_path / "src")).command, sbom_target(str(tmp_path / "src")).input_path) == ("fs", False)
    assert sbom_target(str(tmp_path / "layout")).input_path and sbom_target(str(tmp_path / "layout")).command == "image"
    assert sbom_target(str(tmp_path / "image.tar")).input_path
    registry = sbom_target("registry.example/team/app:1.0")
    assert (registry.command, registry.input_path) == ("image", False)
    assert not sbom_target(str(tmp_path / "src"), as_image=True).input_path


def test_a_file_that_is_no_image_archive_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="docker save"):
        sbom_target(str(tmp_path / "notes.txt"))
