"""The Origin check for state-changing requests and WebSocket upgrades."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlight.auth.origin import OriginPolicy, normalize_origin


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("https://example.com", "https://example.com"),
        ("HTTPS://Example.COM", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("https://example.com:80", "https://example.com:80"),
        ("http://example.com:443", "http://example.com:443"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://example.com/", "https://example.com"),
        ("  https://example.com  ", "https://example.com"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://[0:0:0:0:0:0:0:1]", "http://[::1]"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_normalize(raw: str, normalized: str) -> None:
    assert normalize_origin(raw) == normalized


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("example.com", "http:// or https://"),
        ("localhost:8000", "http:// or https://"),
        ("ftp://example.com", "http:// or https://"),
        ("*", "http:// or https://"),
        ("", "http:// or https://"),
        ("https://", "no host"),
        ("https://example.com/app", "path"),
        ("https://example.com?x=1", "query"),
        ("https://example.com#top", "fragment"),
        ("https://user:pw@example.com", "user info"),
        ("https://*.example.com", "wildcards"),
        ("https://example.com:abc", "not a valid URL"),
        ("https://example.com:70000", "not a valid URL"),
        ("https://exa mple.com", "whitespace"),
        ("https://exa_mple,com", "invalid host"),
        ("http://[zz]", "not a valid URL"),
    ],
)
def test_garbage_in_the_allow_list_names_the_entry(entry: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        OriginPolicy([entry])
    assert problem in str(info.value)
    assert repr(entry.strip()) in str(info.value) or repr(entry) in str(info.value)


def test_a_single_string_is_not_a_list() -> None:
    with pytest.raises(ValueError, match="list of origins"):
        OriginPolicy("https://example.com")


def test_missing_origin_is_allowed() -> None:
    assert OriginPolicy([]).allows(None, "example.com", "https")


@pytest.mark.parametrize("null", ["null", "NULL", " null "])
def test_null_origin_is_refused(null: str) -> None:
    policy = OriginPolicy(["https://example.com"])
    assert not policy.allows(null, "example.com", "https")


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://example.com", "example.com", "https"),
        ("https://example.com", "EXAMPLE.COM", "https"),
        ("https://Example.com", "example.com", "https"),
        ("https://example.com", "example.com:443", "https"),
        ("https://example.com:443", "example.com", "https"),
        ("http://localhost:8000", "localhost:8000", "http"),
        ("http://localhost:8000", "localhost:8000", "ws"),
        ("https://example.com", "example.com", "wss"),
        ("http://[::1]:8000", "[::1]:8000", "http"),
    ],
)
def test_same_origin_is_allowed(origin: str, host: str, scheme: str) -> None:
    assert OriginPolicy([]).allows(origin, host, scheme)


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://evil.com", "example.com", "https"),
        ("http://example.com", "example.com", "https"),  # scheme differs
        ("https://example.com", "example.com", "http"),  # e.g. behind a TLS proxy
        ("http://localhost:8001", "localhost:8000", "http"),  # port differs
        ("https://example.com.evil.com", "example.com", "https"),
        ("https://example.com", None, "https"),  # no Host: no own origin
        ("https://example.com", "", "https"),
        ("https://example.com", "example.com/x", "https"),
        ("https://example.com", "evil.com@example.com", "https"),
        ("https://example.com", "example.com", "gopher"),
    ],
)
def test_other_origins_are_refused(origin: str, host: str | None, scheme: str) -> None:
    assert not OriginPolicy([]).allows(origin, host, scheme)


def test_allow_list() -> None:
    policy = OriginPolicy(["https://Dash.Example.com:443/", "http://localhost:3000"])
    assert policy.allowed == frozenset({"https://dash.example.com", "http://localhost:3000"})
    assert policy.allows("https://dash.example.com", "api.example.com", "https")
    assert policy.allows("HTTPS://DASH.EXAMPLE.COM:443", "api.example.com", "https")
    assert policy.allows("http://localhost:3000", "localhost:8000", "http")
    assert not policy.allows("http://localhost:3001", "localhost:8000", "http")
    assert not policy.allows("http://dash.example.com", "api.example.com", "https")


def test_public_url_behind_a_tls_proxy() -> None:
    policy = OriginPolicy(["https://spot.example.com"])
    assert policy.allows("https://spot.example.com", "spot.example.com", "http")


@pytest.mark.parametrize(
    "origin",
    ["", "garbage", "https://", "https://example.com/path", "javascript:alert(1)", "file://"],
)
def test_unparseable_origin_header_is_refused(origin: str) -> None:
    assert not OriginPolicy(["https://example.com"]).allows(origin, "example.com", "https")


@given(st.text(max_size=100), st.one_of(st.none(), st.text(max_size=50)), st.text(max_size=8))
def test_allows_never_raises(origin: str, host: str | None, scheme: str) -> None:
    OriginPolicy(["https://example.com"]).allows(origin, host, scheme)
