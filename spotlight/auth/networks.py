"""Client addresses: network allow-lists (who may read /api/metrics) and lockout keys.

An address arrives as text from the server (``request.remote_addr``). IPv4 clients of a
dual-stack socket show up IPv4-mapped (``::ffff:127.0.0.1``); both forms are matched against
IPv4 networks, so ``127.0.0.0/8`` covers them. Unparseable addresses (a Unix socket path,
``None``) match nothing: the allow-list fails closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

__all__ = ["LOOPBACK", "NetworkAllowList", "client_key", "parse_address"]

LOOPBACK: Final = ("127.0.0.0/8", "::1/128")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# One host (or home router) usually owns a whole IPv6 /64, so that is the unit lockouts count.
_IPV6_CLIENT_PREFIX: Final = 64


def parse_address(addr: str | None) -> IPAddress | None:
    """The address in ``addr``, IPv4-mapped IPv6 unwrapped to IPv4; None if it is not one.

    Accepts brackets (``[::1]``) and an IPv6 zone (``fe80::1%eth0``); never raises.
    """
    ip = _parse_raw(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _parse_raw(addr: str | None) -> IPAddress | None:
    if not isinstance(addr, str):
        return None
    text = addr.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_key(addr: str | None) -> str:
    """A stable key for per-client limits: IPv4 as is, IPv6 as its /64, other text as given.

    ``::ffff:10.0.0.1`` and ``10.0.0.1`` give the same key; ``None`` gives ``"?"``.
    """
    ip = parse_address(addr)
    if ip is None:
        return "?" if addr is None else addr
    if isinstance(ip, ipaddress.IPv6Address):
        net = ipaddress.IPv6Network((int(ip) >> 64 << 64, _IPV6_CLIENT_PREFIX))
        return str(net)
    return str(ip)


class NetworkAllowList:
    def __init__(self, cidrs: Iterable[str]) -> None:
        """Networks as CIDR text (``10.0.0.0/8``, ``::1/128``; a bare address is one host).

        Host bits are tolerated (``192.168.1.5/24`` means ``192.168.1.0/24``). A bad entry
        raises ValueError naming it. An empty list allows nothing.
        """
        if isinstance(cidrs, str):
            raise ValueError(f"NetworkAllowList takes a list of networks, not the string {cidrs!r}")
        networks: list[IPNetwork] = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"network {cidr!r} is not valid CIDR ({exc}); write it like 10.0.0.0/8 "
                    "or fd00::/8"
                ) from None
        self.networks: tuple[IPNetwork, ...] = tuple(networks)

    def allows(self, addr: str | None) -> bool:
        """Whether ``addr`` is inside one of the networks; False if it is not an address."""
        raw = _parse_raw(addr)
        if raw is None:
            return False
        # An IPv4-mapped address is tried in both forms: as IPv4 (the usual way to write
        # the rule) and as written (should someone list ::ffff:0:0/96).
        forms = {raw, parse_address(addr)}
        return any(
            ip is not None and ip.version == net.version and ip in net
            for ip in forms
            for net in self.networks
        )
