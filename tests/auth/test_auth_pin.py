"""PINs: generation, format rules, the stored hash format, and constant-time checks."""

from __future__ import annotations

import base64
import hmac
import secrets

import pytest

from spotlight.auth.pin import PinCheck, generate_pin, hash_pin, validate_pin, verify_pin


# -- generate_pin ---------------------------------------------------------------------------
def test_generate_pin_default_is_six_digits() -> None:
    for _ in range(50):
        pin = generate_pin()
        assert len(pin) == 6 and pin.isdigit()


@pytest.mark.parametrize("digits", [4, 8, 12])
def test_generate_pin_keeps_leading_zeros(digits: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbelow", lambda n: 7)
    assert generate_pin(digits) == "0" * (digits - 1) + "7"


def test_generate_pin_is_random() -> None:
    assert len({generate_pin(12) for _ in range(20)}) == 20


@pytest.mark.parametrize("digits", [-1, 0, 3, 13, 100])
def test_generate_pin_digit_bounds(digits: int) -> None:
    with pytest.raises(ValueError, match=r"4\.\.12"):
        generate_pin(digits)


# -- format rules ---------------------------------------------------------------------------
@pytest.mark.parametrize("pin", ["1234", "0000", "a" * 32, "p@ss-W0rd!", "ünïcødé"])
def test_valid_pins(pin: str) -> None:
    validate_pin(pin)


@pytest.mark.parametrize(
    ("pin", "rule"),
    [
        ("", "4 to 32 characters"),
        ("123", "4 to 32 characters"),
        ("1" * 33, "4 to 32 characters"),
        ("12 34", "whitespace"),
        ("1234\t", "whitespace"),
        ("\n1234", "whitespace"),
        ("12\u00a034", "whitespace"),  # non-breaking space
        ("12\x0034", "printable"),
        ("12\x1b34", "printable"),
        ("12\ud80034", "printable"),  # lone surrogate: cannot even be encoded
    ],
)
def test_invalid_pins_name_the_rule(pin: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        validate_pin(pin)
    with pytest.raises(ValueError, match=rule):
        hash_pin(pin)
    with pytest.raises(ValueError, match=rule):
        PinCheck(pin)


def test_error_message_does_not_echo_the_pin() -> None:
    with pytest.raises(ValueError) as info:
        validate_pin("secret 99")
    assert "secret" not in str(info.value)


def test_validate_pin_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="string"):
        validate_pin(123456)  # type: ignore[arg-type]


# -- hash_pin / verify_pin ------------------------------------------------------------------
def test_hash_round_trip_and_wrong_pin() -> None:
    stored = hash_pin("123456")
    assert verify_pin("123456", stored)
    assert not verify_pin("123457", stored)
    assert not verify_pin("12345", stored)
    assert not verify_pin("1234567", stored)


def test_hash_format_is_self_describing_with_random_salt() -> None:
    a, b = hash_pin("123456"), hash_pin("123456")
    assert a != b  # fresh salt each time
    scheme, n, r, p, salt, digest = a.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert "123456" not in a


def test_malformed_candidates_are_false_not_errors() -> None:
    stored = hash_pin("123456")
    for candidate in ["", "12", "1 2 3 4", "x" * 1000, "\x00\x00\x00\x00"]:
        assert verify_pin(candidate, stored) is False


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ("", "6"),
        ("garbage", "6"),
        ("pbkdf2$1$2$3$4$5", "unknown scheme"),
        ("scrypt$abc$8$1$AAAAAAAAAAA=$" + "A" * 44, "n='abc'"),
        ("scrypt$1000$8$1$AAAAAAAAAAA=$" + "A" * 44, "power of two"),
        ("scrypt$1073741824$8$1$AAAAAAAAAAA=$" + "A" * 44, "outside"),
        ("scrypt$16384$0$1$AAAAAAAAAAA=$" + "A" * 44, "r=0"),
        ("scrypt$16384$8$99$AAAAAAAAAAA=$" + "A" * 44, "p=99"),
        ("scrypt$16384$8$1$!!!!$" + "A" * 44, "salt is not valid base64"),
        ("scrypt$16384$8$1$AAAA$" + "A" * 44, "salt has 3 bytes"),
        ("scrypt$16384$8$1$AAAAAAAAAAA=$AAAA", "hash has 3 bytes"),
        ("scrypt$16384$8$1$AAAAAAAAAAA=$é", "hash is not valid base64"),
        ("scrypt$-1$8$1$AAAAAAAAAAA=$" + "A" * 44, "n='-1'"),
    ],
)
def test_malformed_stored_hash_raises_clear_error(stored: str, why: str) -> None:
    with pytest.raises(ValueError, match="stored PIN hash is malformed") as info:
        verify_pin("123456", stored)
    assert why in str(info.value)
    assert "hash_pin" in str(info.value)  # the fix
    with pytest.raises(ValueError, match="malformed"):
        PinCheck.from_hash(stored)


def test_verify_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = hash_pin("123456")
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_pin("123456", stored)
    assert not verify_pin("654321", stored)
    assert len(calls) == 2
    # Digests of equal length are compared, never the PIN text.
    assert all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in calls)


# -- PinCheck -------------------------------------------------------------------------------
def test_pin_check_matches_only_the_pin() -> None:
    check = PinCheck("4321")
    assert check.matches("4321")
    assert not check.matches("4322")
    assert not check.matches("43210")
    assert not check.matches("")
    assert not check.matches(" 4321")


def test_pin_check_keeps_no_plaintext() -> None:
    check = PinCheck("987654")
    assert "987654" not in repr(check)
    assert not hasattr(check, "__dict__")  # slots: only the hash record
    assert "987654" not in repr(check._hash)
    assert "987654" not in check.stored_hash


def test_pin_check_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    check = PinCheck("246810")
    seen: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert check.matches("246810")
    assert not check.matches("246811")
    assert seen == [32, 32]


def test_pin_check_persists_through_its_hash() -> None:
    stored = PinCheck("13579").stored_hash
    assert verify_pin("13579", stored)
    again = PinCheck.from_hash(stored)
    assert again.matches("13579")
    assert not again.matches("13578")
