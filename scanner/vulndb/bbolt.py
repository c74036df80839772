"""Write a bbolt (etcd's B+tree key/value store) file from nested dicts.

Trivy keeps its vulnerability database in one bbolt file. cdgate writes one
itself (no Go, no network) so tests and air-gapped users can scan with a
database they built from their own advisories. This writer implements only
what a reader needs: every bucket is one leaf page (spanning as many
contiguous pages as it needs, bbolt's "overflow"), keys sorted bytewise, an
empty freelist and two valid meta pages. The file is written once and never
updated in place.

Format facts (bbolt file format version 2): a page starts with a 16-byte
header (id u64, flags u16, count u16, overflow u32); a leaf element is
(flags u32, pos u32, ksize u32, vsize u32) with `pos` counted from the
element's own start; a nested bucket is a leaf element with flag 1 whose value
is (root page id u64, sequence u64); the meta page holds magic, version, page
size, the root bucket, the freelist page id, the page high-water mark, the
transaction id and an FNV-1a 64 checksum over the preceding fields.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Mapping, Union

PAGE_SIZE = 4096
MAGIC = 0xED0CDAED
FORMAT_VERSION = 2

_BRANCH_PAGE, _LEAF_PAGE, _META_PAGE, _FREELIST_PAGE = 0x01, 0x02, 0x04, 0x10
_BUCKET_LEAF_FLAG = 0x01
_PAGE_HEADER = struct.Struct("<QHHI")
_LEAF_ELEMENT = struct.Struct("<IIII")
_BUCKET_HEADER = struct.Struct("<QQ")
_META_FIELDS = struct.Struct("<IIIIQQQQQ")  # magic, version, page size, flags, root(root, seq), freelist, pgid, txid

#: A bucket: keys to values (bytes) or to nested buckets.
Bucket = Mapping[bytes, Union[bytes, "Bucket"]]


def fnv1a_64(data: bytes) -> int:
    """FNV-1a 64-bit, the checksum bbolt stores in its meta pages."""
    value = 0xCBF29CE484222325
    for byte in data:
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


class _PageWriter:
    """Allocates page ids and collects page bytes in order."""

    def __init__(self, first_page: int) -> None:
        self.next_id = first_page
        self.pages: list[bytes] = []

    def leaf(self, bucket: Bucket) -> int:
        """Write `bucket` (children first) as one leaf page; return its page id."""
        entries: list[tuple[bytes, int, bytes]] = []
        for key in sorted(bucket):
            if not key:
                raise ValueError("bbolt keys must not be empty")
            value = bucket[key]
            if isinstance(value, bytes):
                entries.append((key, 0, value))
            else:
                entries.append((key, _BUCKET_LEAF_FLAG, _BUCKET_HEADER.pack(self.leaf(value), 0)))
        elements = bytearray()
        data = bytearray()
        table_size = _LEAF_ELEMENT.size * len(entries)
        for index, (key, flags, value) in enumerate(entries):
            element_start = index * _LEAF_ELEMENT.size
            position = table_size + len(data) - element_start
            elements += _LEAF_ELEMENT.pack(flags, position, len(key), len(value))
            data += key + value
        body = bytes(elements) + bytes(data)
        pages_needed = max(1, -(-(_PAGE_HEADER.size + len(body)) // PAGE_SIZE))
        page_id = self.next_id
        self.next_id += pages_needed
        header = _PAGE_HEADER.pack(page_id, _LEAF_PAGE, len(entries), pages_needed - 1)
        self.pages.append((header + body).ljust(pages_needed * PAGE_SIZE, b"\0"))
        return page_id


def _meta_page(page_id: int, root: int, freelist: int, high_water: int, txid: int) -> bytes:
    fields = _META_FIELDS.pack(MAGIC, FORMAT_VERSION, PAGE_SIZE, 0, root, 0, freelist, high_water, txid)
    meta = fields + struct.pack("<Q", fnv1a_64(fields))
    return (_PAGE_HEADER.pack(page_id, _META_PAGE, 0, 0) + meta).ljust(PAGE_SIZE, b"\0")


def encode(root: Bucket) -> bytes:
    """The bytes of a bbolt file whose top-level buckets are `root`'s entries.

    Values at the top level must be buckets (bbolt keeps no plain keys there).
    """
    for key, value in root.items():
        if isinstance(value, bytes):
            raise ValueError(f"top-level entry {key!r} must be a bucket")
    freelist_id = 2
    writer = _PageWriter(first_page=3)
    root_id = writer.leaf(root)
    high_water = writer.next_id
    freelist = _PAGE_HEADER.pack(freelist_id, _FREELIST_PAGE, 0, 0).ljust(PAGE_SIZE, b"\0")
    return b"".join(
        [
            _meta_page(0, root_id, freelist_id, high_water, txid=1),
            _meta_page(1, root_id, freelist_id, high_water, txid=2),
            freelist,
            *writer.pages,
        ]
    )


def write(path: Path, root: Bucket) -> None:
    """Write the bbolt file atomically (a temporary file renamed into place)."""
    data = encode(root)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
