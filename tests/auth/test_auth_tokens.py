"""Session values and stream tokens: signing, expiry on the injected clock, purposes."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlight.auth.tokens import SessionCheck, Signer, TokenCheck

SECRET = bytes(range(32))


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _signer(clock: FakeClock | None = None, secret: bytes = SECRET) -> Signer:
    return Signer(secret, clock or FakeClock())


def test_session_round_trip() -> None:
    clock = FakeClock(1000.0)
    signer = _signer(clock)
    value = signer.issue_session()
    assert _verdict(signer.check_session(value)) == (True, None, 1000.0 + 30 * 86400)


def test_stream_token_round_trip() -> None:
    clock = FakeClock(1000.0)
    signer = _signer(clock)
    token = signer.issue_stream_token()
    assert _verdict(signer.check_stream_token(token)) == (True, None, 1060.0)


def test_check_results_are_frozen() -> None:
    check = _signer().check_session(None)
    with pytest.raises(AttributeError):
        check.ok = True  # type: ignore[misc]


@pytest.mark.parametrize("ttl", [1.0, 0.25, 60.0, 30 * 86400.0])
def test_expiry_exactly_at_the_boundary(ttl: float) -> None:
    clock = FakeClock(5000.0)
    signer = _signer(clock)
    session, token = signer.issue_session(ttl), signer.issue_stream_token(ttl)
    clock.now = 5000.0 + ttl - 0.001
    assert signer.check_session(session).ok
    assert signer.check_stream_token(token).ok
    clock.now = 5000.0 + ttl  # valid while now < expires_at
    assert _verdict(signer.check_session(session)) == (False, "expired", 5000.0 + ttl)
    assert _verdict(signer.check_stream_token(token)) == (False, "expired", 5000.0 + ttl)
    clock.now = 1e12
    assert signer.check_session(session).reason == "expired"


def test_values_survive_a_new_signer_with_the_same_secret() -> None:
    # A restart: same persisted secret, new process.
    value = _signer().issue_session()
    assert _signer().check_session(value).ok


def test_other_secret_is_bad_signature() -> None:
    value = _signer().issue_session()
    other = _signer(secret=b"\x01" * 32)
    assert other.check_session(value) == SessionCheck(False, "bad-signature", None)


def test_purposes_are_not_interchangeable() -> None:
    signer = _signer()
    session, token = signer.issue_session(), signer.issue_stream_token()
    assert _verdict(signer.check_stream_token(session)) == (False, "bad-signature", None)
    assert _verdict(signer.check_session(token)) == (False, "bad-signature", None)


def test_purpose_byte_swap_is_bad_signature() -> None:
    # Rewriting the purpose byte of a genuine session value does not make a stream token.
    signer = _signer()
    raw = bytearray(base64.urlsafe_b64decode(signer.issue_session()))
    raw[1] = 2
    forged = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert signer.check_stream_token(forged).reason == "bad-signature"


def _flip(value: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(value))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("index", [1, 2, 10, 18, 30, 34, 50, 65])
def test_any_tampered_byte_is_bad_signature(index: int) -> None:
    clock = FakeClock()
    signer = _signer(clock)
    session = signer.issue_session()
    assert signer.check_session(_flip(session, index)).reason == "bad-signature"


def test_tampering_with_expiry_is_bad_signature() -> None:
    clock = FakeClock(0.0)
    signer = _signer(clock)
    token = signer.issue_stream_token(1.0)
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[10:18] = (1e9).hex().encode()[:8]  # any change to the expiry field
    forged = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert signer.check_stream_token(forged).reason == "bad-signature"


def test_unknown_version_is_malformed() -> None:
    signer = _signer()
    raw = bytearray(base64.urlsafe_b64decode(signer.issue_session()))
    raw[0] = 9
    value = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert signer.check_session(value).reason == "malformed"


def test_tokens_are_url_safe_short_and_unique() -> None:
    signer = _signer()  # clock frozen: uniqueness comes from the random id
    values = [signer.issue_session() for _ in range(20)] + [
        signer.issue_stream_token() for _ in range(20)
    ]
    assert len(set(values)) == 40
    for value in values:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value)
        assert len(value) < 200


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "malformed"),
        ("a.b.c", "malformed"),
        ("A" * 88, "malformed"),  # right length, version byte 0
        ("A" * 87 + "!", "malformed"),
        ("A" * 89, "malformed"),
        ("A" * 100_000, "malformed"),
        (" " * 88, "malformed"),
        ("=" * 88, "malformed"),
        ("é" * 88, "malformed"),
    ],
)
def test_bad_input_is_refused_with_a_reason(value: str | None, reason: str) -> None:
    signer = _signer()
    assert signer.check_session(value) == SessionCheck(False, reason, None)  # type: ignore[arg-type]
    assert signer.check_stream_token(value) == TokenCheck(False, reason, None)  # type: ignore[arg-type]


def test_padded_or_whitespace_wrapped_value_is_malformed() -> None:
    signer = _signer()
    value = signer.issue_session()
    assert signer.check_session(value + "==").reason == "malformed"
    assert signer.check_session(f" {value}").reason == "malformed"


def test_non_string_input_does_not_raise() -> None:
    signer = _signer()
    assert signer.check_session(b"bytes" * 20).reason == "malformed"  # type: ignore[arg-type]
    assert signer.check_stream_token(12345).reason == "malformed"  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(value: str) -> None:
    signer = _signer()
    assert not signer.check_session(value).ok
    assert not signer.check_stream_token(value).ok


@given(st.binary(min_size=66, max_size=66))
def test_arbitrary_well_formed_bytes_never_verify(raw: bytes) -> None:
    value = base64.urlsafe_b64encode(raw).decode()
    check = _signer().check_session(value)
    assert not check.ok and check.reason in ("malformed", "bad-signature")


@pytest.mark.parametrize("secret", [b"", b"x" * 31, "x" * 32])
def test_short_or_non_bytes_secret_is_refused(secret: bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Signer(secret)


@pytest.mark.parametrize("ttl", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_ttl_is_refused(ttl: float) -> None:
    signer = _signer()
    with pytest.raises(ValueError, match="ttl_s"):
        signer.issue_session(ttl)
    with pytest.raises(ValueError, match="ttl_s"):
        signer.issue_stream_token(ttl)


def test_default_clock_is_wall_time() -> None:
    signer = Signer(SECRET)
    check = signer.check_stream_token(signer.issue_stream_token())
    assert check.ok and check.expires_at is not None and check.expires_at > 1.6e9


def _verdict(check: SessionCheck | TokenCheck) -> tuple[object, ...]:
    return (check.ok, check.reason, check.expires_at)


def test_session_ids_name_one_login() -> None:
    signer = _signer(FakeClock(1000.0))
    a, b = signer.issue_session(), signer.issue_session()
    assert signer.check_session(a).id == signer.check_session(a).id
    assert signer.check_session(a).id != signer.check_session(b).id
    assert signer.check_session("x" * 88).id is None
