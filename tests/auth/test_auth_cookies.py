"""The session cookie policy (one place decides it), its headers, and reading it back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlight.auth.cookies import (
    CookiePolicy,
    clear_cookie_header,
    decide_mode,
    read_cookie,
    set_cookie_header,
)

VALUE = "AQFAj0AAAAAAAEFDyHQAAAAAE4c-4JASxkumGxEqoCLQhTo9HKIXEXB12ZhGPFPnoT_PXfVEEj3ER6Tv7JoE3mIf"


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        ("https://spot.example.com", "production"),
        ("HTTPS://spot.example.com/", "production"),
        (" https://x ", "production"),
        ("http://localhost:8000", "development"),
        ("http://spot.example.com", "development"),
        ("", "development"),
        (None, "development"),
        ("spot.example.com", "development"),
    ],
)
def test_decide_mode(url: str | None, mode: str) -> None:
    assert decide_mode(url) == mode


def test_policies_per_mode() -> None:
    assert CookiePolicy.for_mode("production") == CookiePolicy(secure=True, same_site="None")
    assert CookiePolicy.for_mode("development") == CookiePolicy(secure=False, same_site="Lax")
    policy = CookiePolicy.for_mode("development")
    assert (policy.name, policy.max_age_s, policy.path) == ("spotlight_session", 2592000, "/")


@pytest.mark.parametrize("mode", ["prod", "Production", "", "test"])
def test_unknown_mode_is_refused(mode: str) -> None:
    with pytest.raises(ValueError, match="'production' or 'development'"):
        CookiePolicy.for_mode(mode)


def test_set_cookie_header_development() -> None:
    header = set_cookie_header(CookiePolicy.for_mode("development"), VALUE)
    assert header == f"spotlight_session={VALUE}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax"


def test_set_cookie_header_production() -> None:
    header = set_cookie_header(CookiePolicy.for_mode("production"), VALUE)
    assert header == (
        f"spotlight_session={VALUE}; Max-Age=2592000; Path=/; HttpOnly; SameSite=None; Secure"
    )
    assert "Partitioned" not in header


def test_clear_cookie_header_matches_attributes() -> None:
    assert clear_cookie_header(CookiePolicy.for_mode("development")) == (
        "spotlight_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    )
    assert clear_cookie_header(CookiePolicy.for_mode("production")) == (
        "spotlight_session=; Max-Age=0; Path=/; HttpOnly; SameSite=None; Secure"
    )


def test_custom_policy() -> None:
    policy = CookiePolicy(secure=True, same_site="Strict", name="s", max_age_s=60, path="/app")
    assert (
        set_cookie_header(policy, "v")
        == "s=v; Max-Age=60; Path=/app; HttpOnly; SameSite=Strict; Secure"
    )


@pytest.mark.parametrize("value", ["a;b", "a b", 'a"b', "a,b", "a\\b", "é", "a\r\nSet-Cookie: x=1"])
def test_set_cookie_refuses_values_that_could_inject(value: str) -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        set_cookie_header(CookiePolicy.for_mode("development"), value)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"secure": False, "same_site": "None"}, "needs secure=True"),
        ({"secure": True, "same_site": "lax"}, "same_site"),
        ({"secure": True, "same_site": "Lax", "name": "bad name"}, "cookie name"),
        ({"secure": True, "same_site": "Lax", "name": ""}, "cookie name"),
        ({"secure": True, "same_site": "Lax", "max_age_s": 0}, "max_age_s"),
        ({"secure": True, "same_site": "Lax", "path": "app"}, "absolute path"),
        ({"secure": True, "same_site": "Lax", "path": "/a;b"}, "absolute path"),
    ],
)
def test_invalid_policy(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CookiePolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    policy = CookiePolicy.for_mode("production")
    with pytest.raises(AttributeError):
        policy.secure = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (f"spotlight_session={VALUE}", VALUE),
        (f"a=1; spotlight_session={VALUE}; b=2", VALUE),
        (f"a=1;spotlight_session={VALUE}", VALUE),
        (f'spotlight_session="{VALUE}"', VALUE),
        (f"  spotlight_session = {VALUE} ", VALUE),
        # Cookies from other apps on the same host that SimpleCookie would choke on:
        (f'prefs={{"theme": "dark"}}; spotlight_session={VALUE}', VALUE),
        (f"path=/x; spotlight_session={VALUE}", VALUE),
        (f"foo=bar baz; spotlight_session={VALUE}", VALUE),
        (f"novalue; spotlight_session={VALUE}", VALUE),
        (f";;; ;spotlight_session={VALUE};;", VALUE),
        ("spotlight_session=first; spotlight_session=second", "first"),
        ("spotlight_session=a=b", "a=b"),
        ("spotlight_session=", None),
        ('spotlight_session=""', None),
        ("spotlight_sessionx=1; xspotlight_session=2", None),
        ("SPOTLIGHT_SESSION=1", None),  # names are case-sensitive
        ("other=1", None),
        ("", None),
        (None, None),
        ("\x00\xff garbage ;;==;", None),
    ],
)
def test_read_cookie(header: str | None, value: str | None) -> None:
    assert read_cookie(header, "spotlight_session") == value


def test_read_cookie_non_string_header() -> None:
    assert read_cookie(b"spotlight_session=x", "spotlight_session") is None  # type: ignore[arg-type]


def test_round_trip_through_a_browser_style_header() -> None:
    policy = CookiePolicy.for_mode("production")
    name_value = set_cookie_header(policy, VALUE).split(";", 1)[0]
    assert read_cookie(f"theme=dark; {name_value}", policy.name) == VALUE


@given(st.text(max_size=200))
def test_read_cookie_never_raises(header: str) -> None:
    read_cookie(header, "spotlight_session")
