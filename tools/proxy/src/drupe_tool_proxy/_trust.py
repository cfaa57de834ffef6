"""Which direct peers may speak for the client: the ``trusted`` setting, compiled.

``tools.proxy.trusted`` lists the proxies whose forwarding headers are believed. Each item
is an IP address (``"10.0.0.7"``, ``"::1"``), a network in CIDR notation
(``"10.0.0.0/8"``), an RFC 7239 obfuscated identifier (``"_edge1"``, for proxies that
hide their address in ``Forwarded``), or one of the keywords:

``"loopback"``
    127.0.0.0/8, ::1, and peers that have no IP address at all (a UNIX socket: the
    peer is a process on this machine).
``"private"``
    ``"loopback"`` plus the private and link-local networks: 10.0.0.0/8,
    172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10. The default.
``"*"`` (or ``"any"``)
    every direct peer: for a server no client can reach directly, behind a proxy whose
    address is not known in advance. Hops inside a forwarding chain still count as
    proxies only when listed, so the client is the right-most address (CherryPy took the
    left-most, which the client controls); use ``trusted_hops`` for longer chains.

A single string counts as one item. IPv4-mapped IPv6 peers (``::ffff:10.0.0.7``) are
compared as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_TRUSTED", "Trusted", "parse_address", "trusted_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED: tuple[str, ...] = ("private",)

_LOOPBACK = ("127.0.0.0/8", "::1/128")
_PRIVATE = (*_LOOPBACK, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
            "fc00::/7", "fe80::/10")


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (IPv4-mapped IPv6 unwrapped), or None when it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Trusted:
    """A compiled ``trusted`` setting: ``trusted.contains(address)`` says if a node is trusted."""

    __slots__ = ("any", "identifiers", "networks", "no_address", "source")

    def __init__(self, networks: Iterable[IPNetwork] = (), identifiers: Iterable[str] = (),
                 any: bool = False, no_address: bool = False, source: Any = None) -> None:
        self.networks = tuple(networks)
        self.identifiers = frozenset(identifiers)
        self.any = any
        self.no_address = no_address
        self.source = source

    def contains_address(self, address: IPAddress) -> bool:
        """True when the IP ``address`` (a hop in a forwarding chain) is in a listed network.

        ``"*"`` is not a network: it lets any direct peer speak, but a hop inside the chain
        counts as a proxy only when it is listed, so the client is still the right-most
        address the peer reports rather than the forgeable left-most one.
        """
        return any(address.version == network.version and address in network
                   for network in self.networks)

    def trusts_peer(self, peer: str) -> bool:
        """True when the direct peer (``request.remote.ip`` as the server gave it) is trusted."""
        if self.any:
            return True
        address = parse_address(peer)
        if address is None:
            # No IP address: a UNIX-socket peer (or a WSGI host that does not say).
            return self.no_address
        return self.contains_address(address)

    def trusts_identifier(self, identifier: str) -> bool:
        """True when an obfuscated identifier (``_edge1``) is listed as trusted."""
        return identifier in self.identifiers

    def __repr__(self) -> str:
        return f"Trusted({self.source!r})"


def trusted_networks(value: Any, key: str = "tools.proxy.trusted") -> Trusted:
    """Compile a ``trusted`` setting; ``ValueError`` (naming ``key``) when it is malformed."""
    if isinstance(value, Trusted):
        return value
    if value is None:
        value = DEFAULT_TRUSTED
    single = (str, ipaddress.IPv4Network, ipaddress.IPv6Network, ipaddress.IPv4Address,
              ipaddress.IPv6Address)
    if isinstance(value, single):
        items: list[Any] = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            raise ValueError(f"Config key {key!r}: expected an address, a network, a keyword "
                             f"('loopback', 'private', '*') or a list of them, not {value!r}.")
        if not items:
            raise ValueError(f"Config key {key!r}: the list is empty, so no proxy would ever be "
                             "trusted; switch the tool off instead, or name the proxies.")
    networks: list[IPNetwork] = []
    identifiers: list[str] = []
    any_peer = False
    no_address = False
    for item in items:
        if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(item)
            continue
        if isinstance(item, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            networks.append(ipaddress.ip_network(item))
            continue
        if not isinstance(item, str):
            raise ValueError(f"Config key {key!r}: {item!r} is not an address, a network or a "
                             "keyword ('loopback', 'private', '*').")
        text = item.strip()
        keyword = text.lower()
        if keyword in ("*", "any"):
            any_peer = True
        elif keyword in ("loopback", "private"):
            no_address = True
            networks.extend(ipaddress.ip_network(net)
                            for net in (_LOOPBACK if keyword == "loopback" else _PRIVATE))
        elif text.startswith("_") and len(text) > 1 and all(
                ch.isascii() and (ch.isalnum() or ch in "._-") for ch in text[1:]):
            identifiers.append(text)
        else:
            try:
                networks.append(ipaddress.ip_network(text, strict=False) if "/" in text
                                else ipaddress.ip_network(ipaddress.ip_address(text)))
            except ValueError:
                raise ValueError(
                    f"Config key {key!r}: {item!r} is neither an IP address, a network in CIDR "
                    "notation ('10.0.0.0/8'), an obfuscated identifier ('_edge1') nor one of "
                    "'loopback', 'private', '*'.")
    return Trusted(networks, identifiers, any_peer, no_address, source=value)
