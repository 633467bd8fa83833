"""Network allow-lists (IPv4, IPv6, IPv4-mapped) and per-client keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlight.auth.networks import LOOPBACK, NetworkAllowList, client_key, parse_address


@pytest.mark.parametrize(
    ("addr", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("::FFFF:127.0.0.2", True),
        ("10.0.0.1", False),
        ("::2", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        (None, False),
        ("", False),
        ("localhost", False),
        ("127.0.0.1:8000", False),
        ("/run/spotlight.sock", False),
    ],
)
def test_loopback(addr: str | None, allowed: bool) -> None:
    assert NetworkAllowList(LOOPBACK).allows(addr) is allowed


def test_ipv4_and_ipv6_networks() -> None:
    nets = NetworkAllowList(["10.0.0.0/8", "192.168.1.5/24", "fd00::/8", "203.0.113.7"])
    assert nets.allows("10.200.3.4")
    assert nets.allows("192.168.1.250")  # host bits in the entry are tolerated
    assert not nets.allows("192.168.2.1")
    assert nets.allows("fd12:3456::1")
    assert not nets.allows("fe80::1")
    assert nets.allows("203.0.113.7")
    assert not nets.allows("203.0.113.8")
    assert nets.allows("::ffff:10.1.2.3")  # IPv4-mapped matches IPv4 rules


def test_mapped_form_as_written() -> None:
    assert NetworkAllowList(["::ffff:0:0/96"]).allows("::ffff:10.1.2.3")


def test_ipv6_zone_is_accepted() -> None:
    assert NetworkAllowList(["fe80::/10"]).allows("fe80::1%eth0")


def test_empty_list_allows_nothing() -> None:
    nets = NetworkAllowList([])
    assert not nets.allows("127.0.0.1")
    assert not nets.allows("::1")


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "banana", "", "::1/200", "10.0.0/8", "1.2.3.4/-1"])
def test_bad_cidr_names_it(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        NetworkAllowList(["127.0.0.1/32", bad])
    assert repr(bad) in str(info.value)
    assert "10.0.0.0/8" in str(info.value)  # an example of the right form


def test_a_single_string_is_not_a_list() -> None:
    with pytest.raises(ValueError, match="list of networks"):
        NetworkAllowList("127.0.0.0/8")


def test_parse_address() -> None:
    assert str(parse_address("::ffff:1.2.3.4")) == "1.2.3.4"
    assert str(parse_address(" [2001:db8::1] ")) == "2001:db8::1"
    assert parse_address("nope") is None
    assert parse_address(None) is None


@pytest.mark.parametrize(
    ("addr", "key"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::1", "::/64"),
        (None, "?"),
        ("unix-socket", "unix-socket"),
    ],
)
def test_client_key(addr: str | None, key: str) -> None:
    assert client_key(addr) == key


@given(st.one_of(st.none(), st.text(max_size=60)))
def test_allows_never_raises(addr: str | None) -> None:
    NetworkAllowList([*LOOPBACK, "10.0.0.0/8"]).allows(addr)
    client_key(addr)
