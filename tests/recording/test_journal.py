"""The journal file: round trip, and a torn or corrupt tail never loses earlier blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypo import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from spotlight.recording.journal import FILE_MAGIC, JournalWriter, encode_block, read_journal

BLOCKS = [[[1000 + i, "ticks", [["T", "SPY", 1000 + i, 600.25 + i, 10.0]]]] for i in range(5)]


def write(path: Path, blocks: list[list[list[object]]]) -> list[int]:
    """Writes the blocks; returns the file size after each one."""
    w = JournalWriter(path, fsync=False)
    ends = []
    for b in blocks:
        w.write(encode_block(b))
        ends.append(w.bytes)
    w.close()
    return ends


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.splog"
    write(path, BLOCKS)
    records, reader = read_journal(path)
    assert records == [r for b in BLOCKS for r in b]
    assert reader.blocks == 5 and reader.torn_at is None


def test_new_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "a.splog"
    write(path, BLOCKS[:1])
    with pytest.raises(FileExistsError):
        JournalWriter(path, fsync=False)


@settings(max_examples=examples(60), deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_torn_tail_keeps_every_complete_block(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    path = tmp_path_factory.mktemp("torn") / "a.splog"
    ends = write(path, BLOCKS)
    data = path.read_bytes()
    cut = len(FILE_MAGIC) + cut % (len(data) - len(FILE_MAGIC))
    path.write_bytes(data[:cut])  # a crash in the middle of writing the rest
    records, reader = read_journal(path)
    complete = sum(1 for e in ends if e <= cut)
    assert records == [r for b in BLOCKS[:complete] for r in b]
    at_boundary = cut in ends or cut == len(FILE_MAGIC)
    assert (reader.torn_at is None) == at_boundary
    if not at_boundary:
        assert reader.reason in ("truncated block header", "truncated block")


def test_corrupt_block_stops_there(tmp_path: Path) -> None:
    path = tmp_path / "a.splog"
    ends = write(path, BLOCKS)
    data = bytearray(path.read_bytes())
    data[ends[2] + 20] ^= 0xFF  # a flipped bit inside the 4th block's body
    path.write_bytes(bytes(data))
    records, reader = read_journal(path)
    assert records == [r for b in BLOCKS[:3] for r in b]
    assert reader.torn_at == ends[2] and reader.reason == "checksum mismatch"


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "a.splog"
    path.write_bytes(b"hello")
    records, reader = read_journal(path)
    assert records == [] and reader.reason == "not a Spotlight journal"
