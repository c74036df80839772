"""Writing reports: every format to disk, atomically, with clear errors."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET

import pytest
from report_verdicts import mixed_verdict

from scanner.errors import CdgateError, ConfigError
from scanner.report import FILE_NAMES, FORMATS, check_format, render, write_report, write_reports
from scanner.report import atomic
from scanner.report.atomic import ReportWriteError


def _leftovers(directory) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_write_reports_writes_every_file_format_readable(tmp_path):
    out = tmp_path / "reports"
    written = write_reports(mixed_verdict(), out)
    assert {p.name for p in written.values()} == {
        "cdgate.sarif",
        "cdgate.json",
        "cdgate.junit.xml",
        "cdgate.md",
        "cdgate.html",
    }
    assert json.loads(written["sarif"].read_text())["version"] == "2.1.0"
    assert json.loads(written["json"].read_text())["verdict"]["status"] == "failed"
    assert ET.parse(written["junit"]).getroot().tag == "testsuites"
    assert written["markdown"].read_text().startswith("## ❌ cdgate: failed")
    assert written["html"].read_text().startswith("<!DOCTYPE html>")
    assert _leftovers(out) == []
    assert stat.S_IMODE(written["json"].stat().st_mode) == 0o644


def test_every_format_renders_and_has_a_file_name():
    verdict = mixed_verdict(with_error=True)
    assert {"table", "sarif", "json", "junit", "markdown", "html"} <= set(FORMATS)
    for fmt in FORMATS:
        assert render(verdict, fmt).strip(), fmt
        assert fmt in FILE_NAMES


def test_write_report_table_is_plain_text(tmp_path):
    path = tmp_path / "out.txt"
    write_report(mixed_verdict(), "table", path)
    text = path.read_text()
    assert "CDG-K8S-001" in text and "\x1b[" not in text


def test_unknown_format_is_a_config_error_listing_formats():
    with pytest.raises(ConfigError) as info:
        check_format("pdf")
    assert "sarif" in str(info.value) and "markdown" in str(info.value)
    assert check_format("MD") == "markdown"


def test_failure_during_replace_keeps_the_old_report_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "cdgate.sarif"
    path.write_text("previous good report")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(ReportWriteError) as info:
        write_report(mixed_verdict(), "sarif", path)
    assert path.read_text() == "previous good report"
    assert _leftovers(tmp_path) == []
    message = str(info.value)
    assert str(path) in message and "No space left on device" in message
    assert isinstance(info.value, CdgateError)


def test_failure_mid_write_keeps_the_old_report(tmp_path, monkeypatch):
    path = tmp_path / "cdgate.json"
    path.write_text('{"old": true}')
    real_fdopen = os.fdopen

    class HalfWriter:
        """Writes half of the data to the real temp file, then fails like a full disk."""

        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()
            return False

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(ReportWriteError):
        write_report(mixed_verdict(), "json", path)
    assert json.loads(path.read_text()) == {"old": True}
    assert _leftovers(tmp_path) == []


def test_rendering_failure_never_touches_the_file(tmp_path, monkeypatch):
    path = tmp_path / "cdgate.md"
    path.write_text("old summary")
    import scanner.report.markdown as markdown

    def explode(verdict):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(markdown, "render_markdown", explode)
    with pytest.raises(RuntimeError):
        write_report(mixed_verdict(), "markdown", path)
    assert path.read_text() == "old summary"
    assert _leftovers(tmp_path) == []


def test_overwrite_keeps_the_existing_mode(tmp_path):
    path = tmp_path / "cdgate.json"
    path.write_text("{}")
    path.chmod(0o600)
    write_report(mixed_verdict(), "json", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["schema_version"]


def test_directory_as_output_file_is_a_clear_error(tmp_path):
    with pytest.raises(ReportWriteError) as info:
        write_report(mixed_verdict(), "json", tmp_path)
    assert "directory" in str(info.value) and "--output-dir" in str(info.value)


def test_output_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("not a directory")
    with pytest.raises(ReportWriteError) as info:
        write_report(mixed_verdict(), "json", blocker / "cdgate.json")
    assert str(blocker) in str(info.value)
    assert blocker.read_text() == "not a directory"
