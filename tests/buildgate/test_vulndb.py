"""The advisories file and the bbolt writer, without Trivy (Trivy reading the file is in test_vulnerability_gate)."""

from __future__ import annotations

import struct

import pytest

from scanner.errors import ConfigError
from scanner.vulndb import bbolt
from scanner.vulndb.build import database_buckets, load_advisories


def test_meta_pages_carry_a_valid_checksum_and_the_root_page():
    data = bbolt.encode({b"vulnerability": {b"CVE-1": b"{}"}, b"alpine 3.19": {b"musl": {b"CVE-1": b"{}"}}})
    assert len(data) % bbolt.PAGE_SIZE == 0
    for page in (0, 1):
        meta = data[page * bbolt.PAGE_SIZE + 16 : page * bbolt.PAGE_SIZE + 16 + 64]
        magic, version, page_size = struct.unpack_from("<III", meta)
        assert (magic, version, page_size) == (bbolt.MAGIC, 2, bbolt.PAGE_SIZE)
        assert struct.unpack_from("<Q", meta, 56)[0] == bbolt.fnv1a_64(meta[:56])
        root = struct.unpack_from("<Q", meta, 16)[0]
        assert root * bbolt.PAGE_SIZE < len(data)
        assert struct.unpack_from("<QHH", data, root * bbolt.PAGE_SIZE) == (root, 0x02, 2)  # a leaf with both buckets


def test_large_bucket_spills_into_overflow_pages():
    bucket = {f"CVE-{i:05d}".encode(): b"x" * 200 for i in range(100)}
    data = bbolt.encode({b"vulnerability": bucket})
    assert len(data) > 5 * bbolt.PAGE_SIZE
    page_ids = [struct.unpack_from("<QHHI", data, i * bbolt.PAGE_SIZE) for i in range(3, len(data) // bbolt.PAGE_SIZE)]
    assert any(overflow > 0 for _, flags, _, overflow in page_ids if flags == 0x02)


def test_language_advisories_use_the_ecosystem_prefix(tmp_path):
    source = tmp_path / "a.yaml"
    source.write_text("vulnerabilities:\n  CVE-1: {severity: HIGH}\nadvisories:\n  - {source: pip, package: requests, id: CVE-1, fixed: '2.0'}\n")
    buckets = database_buckets(*load_advisories(source))
    assert set(buckets[b"pip::cdgate advisories"][b"requests"]) == {b"CVE-1"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("vulnerabilities:\n  CVE-1: {severity: HIGH}\nadvisories:\n  - {source: solaris 11, package: x, id: CVE-1}\n", 4, "unknown advisory source"),
        ("vulnerabilities:\n  CVE-1: {severity: HIGH}\nadvisories:\n  - {source: pip, package: x, id: CVE-1}\n  - {source: pip, package: y, id: CVE-2}\n", 5, "CVE-2"),
        ("vulnerabilities:\n  CVE-1: {severity: SEVERE}\nadvisories:\n  - {source: pip, package: x, id: CVE-1}\n", 2, "SEVERE"),
        ("vulnerabilities:\n  CVE-1: HIGH\nadvisories:\n  - {source: pip, package: x, id: CVE-1}\n", 2, "must be a mapping"),
        ("vulnerabilities: [CVE-1]\nadvisories:\n  - {source: pip, package: x, id: CVE-1}\n", 1, "must map each id"),
    ],
)
def test_bad_advisories_name_the_line(tmp_path, text, line, words):
    source = tmp_path / "a.yaml"
    source.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_advisories(source)
    assert caught.value.line == line and words in str(caught.value)
