"""PINs: generate one, validate its format, hash it for storage, and check guesses.

A PIN is a low-entropy secret (a 6-digit PIN has a million values), so its hash cannot resist
an offline search by someone who steals it; hashing guards against casual disclosure (a
config dump, a log line, a screenshot), and the online guessing rate is what ``Lockout``
limits. Every comparison is done on fixed-length digests with ``hmac.compare_digest`` so the
time taken does not depend on how many leading characters of a guess were right.

Stored format (self-describing, so the cost can be raised later without breaking old hashes)::

    scrypt$<n>$<r>$<p>$<salt, base64>$<32-byte digest, base64>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["PinCheck", "generate_pin", "hash_pin", "validate_pin", "verify_pin"]

PIN_MIN_CHARS = 4
PIN_MAX_CHARS = 32
GENERATED_MIN_DIGITS = 4
GENERATED_MAX_DIGITS = 12

# scrypt cost: n=2**14, r=8 uses 16 MiB and takes ~35 ms on one core (measured on the
# development machine). One hash per login attempt: slow enough to make a stolen hash cost
# something, cheap enough that a burst of wrong PINs (which Lockout cuts off) cannot stall
# the server. Raise _SCRYPT_N when hardware gets faster; old hashes keep their own n.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16
_DIGEST_BYTES = 32
# Bounds on parameters read back from a stored hash: a corrupted or hostile value must not
# make one login allocate gigabytes or spin for minutes.
_MAX_N = 2**17
_MAX_R = 16
_MAX_P = 4
_MAX_MEMORY = 256 * 1024 * 1024  # bytes handed to OpenSSL as scrypt's maxmem
_SCHEME = "scrypt"
_FORMAT = "scrypt$n$r$p$salt_b64$hash_b64"


def generate_pin(digits: int = 6) -> str:
    """A random all-digit PIN (leading zeros kept) from the ``secrets`` CSPRNG."""
    if not GENERATED_MIN_DIGITS <= digits <= GENERATED_MAX_DIGITS:
        raise ValueError(
            f"generate_pin digits must be within {GENERATED_MIN_DIGITS}..{GENERATED_MAX_DIGITS},"
            f" not {digits!r}"
        )
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def validate_pin(pin: str) -> None:
    """Raise ValueError unless ``pin`` is 4-32 printable characters with no whitespace.

    The message names the rule, never the PIN itself (it may be almost right).
    """
    if not isinstance(pin, str):
        raise ValueError(f"a PIN must be a string, not {type(pin).__name__}")
    if not PIN_MIN_CHARS <= len(pin) <= PIN_MAX_CHARS:
        raise ValueError(
            f"a PIN must be {PIN_MIN_CHARS} to {PIN_MAX_CHARS} characters long, this one has "
            f"{len(pin)}; set SPOTLIGHT_PIN to e.g. 6 digits"
        )
    if any(c.isspace() for c in pin):
        raise ValueError("a PIN must not contain whitespace; remove the spaces from SPOTLIGHT_PIN")
    if not pin.isprintable():
        raise ValueError(
            "a PIN must contain only printable characters (no control characters); "
            "check SPOTLIGHT_PIN for stray escape sequences"
        )


def _is_valid_pin(pin: str) -> bool:
    try:
        validate_pin(pin)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _PinHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def derive(self, pin: str) -> bytes:
        return _scrypt(pin, self.n, self.r, self.p, self.salt)

    def matches(self, candidate: str) -> bool:
        # Format is public: a candidate that cannot be a PIN is rejected without hashing.
        # Every well-formed candidate costs one scrypt and one constant-time comparison.
        if not _is_valid_pin(candidate):
            return False
        return hmac.compare_digest(self.derive(candidate), self.digest)

    def encode(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"{_SCHEME}${self.n}${self.r}${self.p}${salt}${digest}"


def _scrypt(pin: str, n: int, r: int, p: int, salt: bytes) -> bytes:
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=_DIGEST_BYTES
    )


def _new_hash(pin: str) -> _PinHash:
    validate_pin(pin)
    salt = secrets.token_bytes(_SALT_BYTES)
    return _PinHash(
        _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, salt, _scrypt(pin, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, salt)
    )


def _malformed(why: str) -> ValueError:
    return ValueError(
        f"stored PIN hash is malformed ({why}); expected {_FORMAT!r} as written by "
        "hash_pin(); replace it with a fresh hash_pin(<PIN>)"
    )


def _parse_int(name: str, text: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise _malformed(f"{name}={text[:16]!r} is not a positive integer")
    value = int(text)
    if not low <= value <= high:
        raise _malformed(f"{name}={value} is outside {low}..{high}")
    return value


def _parse_b64(name: str, text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _malformed(f"{name} is not valid base64") from None


def _parse_hash(stored_hash: str) -> _PinHash:
    if not isinstance(stored_hash, str):
        raise _malformed(f"a {type(stored_hash).__name__}, not a string")
    parts = stored_hash.strip().split("$")
    if len(parts) != 6:
        raise _malformed(f"{len(parts)} '$'-separated fields instead of 6")
    scheme, n_text, r_text, p_text, salt_text, digest_text = parts
    if scheme != _SCHEME:
        raise _malformed(f"unknown scheme {scheme[:16]!r}, only {_SCHEME!r} is supported")
    n = _parse_int("n", n_text, 2, _MAX_N)
    if n & (n - 1):
        raise _malformed(f"n={n} is not a power of two")
    r = _parse_int("r", r_text, 1, _MAX_R)
    p = _parse_int("p", p_text, 1, _MAX_P)
    salt = _parse_b64("salt", salt_text)
    digest = _parse_b64("hash", digest_text)
    if len(salt) < 8:
        raise _malformed(f"salt has {len(salt)} bytes, at least 8 are needed")
    if len(digest) != _DIGEST_BYTES:
        raise _malformed(f"hash has {len(digest)} bytes instead of {_DIGEST_BYTES}")
    return _PinHash(n, r, p, salt, digest)


def hash_pin(pin: str) -> str:
    """Hash ``pin`` with scrypt and a fresh random 16-byte salt, for storage.

    Raises ValueError if ``pin`` breaks the format rules (see ``validate_pin``).
    """
    return _new_hash(pin).encode()


def verify_pin(pin: str, stored_hash: str) -> bool:
    """True if ``pin`` hashes to ``stored_hash`` (compared in constant time).

    A malformed guess is simply False; a malformed ``stored_hash`` is a configuration error
    and raises ValueError saying which field is wrong.
    """
    return _parse_hash(stored_hash).matches(pin)


class PinCheck:
    """The configured PIN, held only as a salted hash, and the one place guesses are checked.

    The plaintext is hashed in the constructor and dropped; ``matches`` hashes each guess
    with the same salt and compares the digests with ``hmac.compare_digest``.
    """

    __slots__ = ("_hash",)

    def __init__(self, pin: str) -> None:
        self._hash = _new_hash(pin)

    @classmethod
    def from_hash(cls, stored_hash: str) -> PinCheck:
        """A check against a persisted ``hash_pin`` value (ValueError if it is malformed)."""
        check = cls.__new__(cls)
        check._hash = _parse_hash(stored_hash)
        return check

    @property
    def stored_hash(self) -> str:
        """The self-describing hash, for persisting the PIN without its plaintext."""
        return self._hash.encode()

    def matches(self, candidate: str) -> bool:
        return self._hash.matches(candidate)

    def __repr__(self) -> str:
        return "PinCheck(<hidden>)"
