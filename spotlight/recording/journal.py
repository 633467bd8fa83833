"""The append-only journal file: a header, then checksummed, compressed blocks.

Layout::

    b"SPLREC1\n"                                   file magic (8 bytes)
    b"BLK1" | length (u32 LE) | crc32 (u32 LE) | zlib(orjson([record, ...]))   repeated

A record is ``[t_ms, kind, data]``. Blocks are only ever appended, and each is written
whole by one ``write`` call; a crash mid-write leaves a *torn tail*: a block header or body
cut short, or bytes whose checksum does not match. ``JournalReader`` stops at the first bad
block and records where and why, so a torn tail is skipped and never corrupts what came
before. A new server start always opens a new file: a torn file is never appended to.

Pure file I/O with no event loop: the recorder runs these calls in a worker thread.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

__all__ = ["FILE_MAGIC", "JournalReader", "JournalWriter", "encode_block", "read_journal"]

FILE_MAGIC = b"SPLREC1\n"
_BLOCK = struct.Struct("<4sII")
_BLOCK_MAGIC = b"BLK1"
# A block larger than this is treated as corruption (the recorder writes ~1 s per block).
MAX_BLOCK_BYTES = 64 << 20

Record = list[Any]  # [t_ms, kind, data]


def encode_block(records: Sequence[Record], level: int = 6) -> bytes:
    body = zlib.compress(orjson.dumps(list(records)), level)
    return _BLOCK.pack(_BLOCK_MAGIC, len(body), zlib.crc32(body)) + body


class JournalWriter:
    """Appends blocks to a new journal file; ``fsync`` after each block when asked."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fsync = fsync
        self._file: BinaryIO = open(path, "xb")  # noqa: SIM115 - closed by close()
        self._file.write(FILE_MAGIC)
        self.bytes = len(FILE_MAGIC)
        self._sync()

    def write(self, block: bytes) -> None:
        self._file.write(block)
        self.bytes += len(block)
        self._sync()

    def close(self) -> None:
        self._file.close()

    def _sync(self) -> None:
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())


class JournalReader:
    """Reads a journal block by block (memory stays at one block), stopping at a torn tail.

    After iteration, ``torn_at``/``torn_bytes``/``reason`` say whether and where it stopped
    early; ``blocks`` counts the intact blocks read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.blocks = 0
        self.torn_at: int | None = None
        self.torn_bytes = 0
        self.reason: str | None = None

    def __iter__(self) -> Iterator[list[Record]]:
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if f.read(len(FILE_MAGIC)) != FILE_MAGIC:
                self._torn(0, size, "not a Spotlight journal")
                return
            pos = len(FILE_MAGIC)
            while pos < size:
                records, reason = _read_block(f, size - pos)
                if records is None:
                    self._torn(pos, size - pos, reason)
                    return
                pos = f.tell()
                self.blocks += 1
                yield records

    def _torn(self, at: int, nbytes: int, reason: str | None) -> None:
        self.torn_at, self.torn_bytes, self.reason = at, nbytes, reason


def _read_block(f: BinaryIO, left: int) -> tuple[list[Record] | None, str | None]:
    if left < _BLOCK.size:
        return None, "truncated block header"
    magic, length, crc = _BLOCK.unpack(f.read(_BLOCK.size))
    if magic != _BLOCK_MAGIC or length > MAX_BLOCK_BYTES:
        return None, "bad block header"
    body = f.read(length)
    if len(body) < length:
        return None, "truncated block"
    if zlib.crc32(body) != crc:
        return None, "checksum mismatch"
    try:
        records = orjson.loads(zlib.decompress(body))
    except (zlib.error, orjson.JSONDecodeError):
        return None, "undecodable block"
    if not isinstance(records, list):
        return None, "undecodable block"
    return [r for r in records if _is_record(r)], None


def read_journal(path: Path) -> tuple[list[Record], JournalReader]:
    """Every record of every intact block (tests and tools; replays stream blocks)."""
    reader = JournalReader(path)
    records = [r for block in reader for r in block]
    return records, reader


def _is_record(r: object) -> bool:
    return isinstance(r, list) and len(r) == 3 and isinstance(r[0], int) and isinstance(r[1], str)
