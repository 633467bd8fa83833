"""The signing secret: persisted once (atomically, privately) or configured as text."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from spotlight.auth.keys import load_or_create_secret, secret_from_text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_then_rereads_the_same_secret(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret_key"
    first = load_or_create_secret(path)
    assert isinstance(first, bytes) and len(first) == 32
    assert path.read_text() == first.hex() + "\n"
    assert load_or_create_secret(path) == first
    assert load_or_create_secret(path) == first


def test_new_secrets_are_random(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path / "a") != load_or_create_secret(tmp_path / "b")


def test_file_is_0600_and_created_dirs_are_0700(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "outer" / "inner" / "secret_key"
        load_or_create_secret(path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _mode(path.parent.parent) == 0o700


def test_existing_dir_mode_is_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    load_or_create_secret(tmp_path / "secret_key")
    assert _mode(tmp_path) == 0o755


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path / "secret_key")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_failed_write_removes_temp_file_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        load_or_create_secret(tmp_path / "secret_key")
    assert list(tmp_path.iterdir()) == []


def test_accepts_hex_without_newline_and_either_case(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    secret = bytes(range(32))
    path.write_text(secret.hex().upper())
    assert load_or_create_secret(path) == secret


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "too short: 0 hex"),
        (b"abcd\n", "too short: 4 hex"),
        (b"a" * 66, "too long: 66 hex"),
        (b"g" * 64, "non-hex"),
        (b"ab cd" * 13, "non-hex"),
        (b"\xff\xfe" * 16, "not text"),
        (b"0" * 5000, "larger than 4096 bytes"),
    ],
)
def test_malformed_file_names_path_and_fix(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "secret_key"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_or_create_secret(path)
    message = str(info.value)
    assert problem in message
    assert str(path) in message
    assert f"delete {path}" in message
    assert path.read_bytes() == content  # never silently replaced


def test_secret_from_text() -> None:
    text = "k" * 32
    assert secret_from_text(text) == text.encode()
    assert secret_from_text(f"  {text}\n") == text.encode()
    assert secret_from_text("é" * 32) == ("é" * 32).encode()


@pytest.mark.parametrize("text", ["", "short", "x" * 31, "   " + "x" * 31 + "\n"])
def test_secret_from_text_too_short(text: str) -> None:
    with pytest.raises(ValueError, match="at least 32 characters") as info:
        secret_from_text(text)
    assert "token_hex" in str(info.value)
    if text.strip():
        assert text.strip() not in str(info.value)  # never echo a secret
