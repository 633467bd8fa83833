"""The signing secret: configured, or created once and kept on disk so sessions survive restarts.

A secret regenerated at each start would log every user out at every deploy, so it is either
configured (``SPOTLIGHT_SECRET_KEY``, see ``secret_from_text``) or persisted in one file
(``load_or_create_secret``).

File format: 64 hexadecimal characters (32 bytes), optionally followed by a newline; nothing
else. Hex keeps the file readable with ``cat`` and safe to paste into an environment variable.

Error handling: a file that exists but is not in that format raises ValueError naming the path
and the fix (delete it and a new one is made; that logs everyone out). It is never silently
replaced, because a replaced key would log everyone out without saying why.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import string
import tempfile
from pathlib import Path

__all__ = ["SECRET_BYTES", "load_or_create_secret", "secret_from_text"]

SECRET_BYTES = 32  # HMAC-SHA256 key size; more adds nothing, less weakens every signature
MIN_TEXT_SECRET_CHARS = 32
_HEX_CHARS = SECRET_BYTES * 2
_HEXDIGITS = frozenset(string.hexdigits)
# A secret file is 65 bytes; refuse to read a huge file that was put there by mistake.
_MAX_FILE_BYTES = 4096


def secret_from_text(text: str) -> bytes:
    """The signing key from configured text (``SPOTLIGHT_SECRET_KEY``): its UTF-8 bytes.

    Surrounding whitespace (a trailing newline from an env file) is dropped. At least 32
    characters are required; the message gives the length, never the value.
    """
    stripped = text.strip()
    if len(stripped) < MIN_TEXT_SECRET_CHARS:
        raise ValueError(
            f"SPOTLIGHT_SECRET_KEY must be at least {MIN_TEXT_SECRET_CHARS} characters, it has "
            f"{len(stripped)}; generate one with: "
            "python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return stripped.encode("utf-8")


def load_or_create_secret(path: Path) -> bytes:
    """Read the 32-byte secret at ``path``, or create it there if the file does not exist.

    A new secret is written atomically: to a temporary file in the same directory (mode 0600),
    fsynced, then renamed over ``path`` with ``os.replace``, so a crash leaves either no file
    or a complete one. Missing parent directories are created with mode 0700.

    Concurrency: meant for one server process per data directory. Two processes creating the
    file at the same moment would each return their own secret (the last rename wins).
    """
    path = Path(path)
    try:
        raw = _read_small(path)
    except FileNotFoundError:
        return _create(path)
    return _parse(path, raw)


def _read_small(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_MAX_FILE_BYTES + 1)


def _parse(path: Path, raw: bytes) -> bytes:
    fix = f"delete {path} to generate a new secret (this logs every user out)"
    if len(raw) > _MAX_FILE_BYTES:
        raise ValueError(f"secret file {path} is larger than {_MAX_FILE_BYTES} bytes; {fix}")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ValueError(
            f"secret file {path} is not text; it must hold {_HEX_CHARS} hex characters; {fix}"
        ) from None
    if not _HEXDIGITS.issuperset(text):
        raise ValueError(
            f"secret file {path} holds non-hex characters; it must hold {_HEX_CHARS} hex "
            f"characters; {fix}"
        )
    if len(text) < _HEX_CHARS:
        raise ValueError(
            f"secret file {path} is too short: {len(text)} hex characters, {_HEX_CHARS} are "
            f"needed; {fix}"
        )
    if len(text) > _HEX_CHARS:
        raise ValueError(
            f"secret file {path} is too long: {len(text)} hex characters, exactly {_HEX_CHARS} "
            f"are expected; {fix}"
        )
    return bytes.fromhex(text)


def _create(path: Path) -> bytes:
    _make_private_dirs(path.parent)
    secret = secrets.token_bytes(SECRET_BYTES)
    # mkstemp creates the file with mode 0600, so the secret is never readable by others,
    # not even for the moment before a chmod.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secret.hex().encode("ascii") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)
    return secret


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and missing parents with mode 0700; leave existing ones alone."""
    missing: list[Path] = []
    d = directory
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir applies the umask, and parents=True ignores mode for intermediate directories:
    # set 0700 explicitly on every directory this call created.
    for created in missing:
        os.chmod(created, 0o700)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); skipped where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
