"""Reading what proxies say about the client: node lists, RFC 7239 ``Forwarded``, hosts.

Everything here is pure parsing of text a client may have written (proxies append to what
the client sent), so each function either returns a value or raises ``ValueError`` with a
message that is safe to send back in a 400. Nothing else is raised for bad input.

A *node* is one hop's identity: an IPv4 address, an IPv6 address (bracketed in
``Forwarded``, bare or bracketed in ``X-Forwarded-For``), ``unknown``, or an obfuscated
identifier (``_hidden``), each with an optional port (``:4711``, or an obfuscated port
``:_p`` in ``Forwarded``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from drupe.lib.httputil import is_token, split_host
from drupe_tool_proxy._trust import IPAddress, parse_address

__all__ = [
    "Node",
    "check_host",
    "check_scheme",
    "parse_base",
    "parse_forwarded",
    "parse_node",
    "split_list",
]

_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]+")
_PORT = re.compile(r"[0-9]{1,5}")
_IPV4_WITH_PORT = re.compile(r"([0-9.]+):([0-9]{1,5})")
SCHEMES = ("http", "https")


class Node(NamedTuple):
    """One hop: its IP ``address``, or its ``identifier`` (``unknown`` / ``_obfuscated``)."""

    address: IPAddress | None
    identifier: str | None
    port: int | None

    @property
    def text(self) -> str:
        """The node as ``request.remote.ip`` shows it."""
        return str(self.address) if self.address is not None else str(self.identifier)


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for an error message, cut short (it came from a client)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _port(text: str, whole: str) -> int | None:
    if _OBFUSCATED.fullmatch(text):
        return None
    if not _PORT.fullmatch(text) or int(text) > 65535:
        raise ValueError(f"{_shown(whole)} has an invalid port.")
    return int(text)


def parse_node(text: str, bare_ipv6: bool = False) -> Node:
    """Parse one node; ``bare_ipv6`` allows ``2001:db8::1`` without brackets (X-Forwarded-For)."""
    node = text.strip()
    if not node:
        raise ValueError("An empty node.")
    if node.lower() == "unknown":
        return Node(None, "unknown", None)
    if node.startswith("["):
        end = node.find("]")
        if end == -1:
            raise ValueError(f"{_shown(node)} has an unterminated IPv6 literal.")
        address = parse_address(node[1:end])
        if address is None or (address.version != 6 and not node[1:end].lower().startswith("::ffff:")):
            raise ValueError(f"{_shown(node)} is not a valid bracketed IPv6 address.")
        rest = node[end + 1:]
        if not rest:
            return Node(address, None, None)
        if not rest.startswith(":") or len(rest) == 1:
            raise ValueError(f"{_shown(node)} is not a valid node.")
        return Node(address, None, _port(rest[1:], node))
    if _OBFUSCATED.fullmatch(node):
        return Node(None, node, None)
    address = parse_address(node)
    if address is not None:
        if address.version == 6 and not bare_ipv6:
            raise ValueError(f"{_shown(node)}: an IPv6 address must be in brackets and quoted "
                             '(for="[2001:db8::1]").')
        return Node(address, None, None)
    name, colon, port = node.rpartition(":")
    if colon and name:
        if _OBFUSCATED.fullmatch(name):
            return Node(None, name, _port(port, node))
        address = parse_address(name)
        if address is not None and address.version == 4:
            return Node(address, None, _port(port, node))
    raise ValueError(f"{_shown(node)} is not an IP address, 'unknown' or an obfuscated "
                     "identifier.")


def split_list(value: str) -> list[str]:
    """A comma-separated header value as its non-empty items, stripped (RFC 9110 §5.6.1)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _split_quoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quoted strings; an unterminated string is an error."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quoted:
        raise ValueError("The Forwarded header has an unterminated quoted string.")
    parts.append("".join(current))
    return parts


def _value(text: str, name: str) -> str:
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise ValueError(f"The Forwarded parameter {name!r} has a malformed quoted string.")
        inner = text[1:-1]
        result: list[str] = []
        escaped = False
        for ch in inner:
            if escaped:
                result.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                raise ValueError(f"The Forwarded parameter {name!r} has a malformed quoted string.")
            else:
                if (ch < " " and ch != "\t") or ch == "\x7f":
                    raise ValueError(f"The Forwarded parameter {name!r} holds a control character.")
                result.append(ch)
        if escaped:
            raise ValueError(f"The Forwarded parameter {name!r} has a malformed quoted string.")
        return "".join(result)
    if not is_token(text):
        raise ValueError(f"The Forwarded parameter {name!r} has the value {_shown(text)}, which "
                         "is neither a token nor a quoted string.")
    return text


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """An RFC 7239 ``Forwarded`` value as one dict per element (parameter names lower-cased).

    Values are unquoted. Empty elements and empty pairs are skipped, as the list syntax
    allows. Raises ``ValueError`` for anything else malformed, including a parameter
    repeated within one element.
    """
    elements: list[dict[str, str]] = []
    for element_text in _split_quoted(value, ","):
        if not element_text.strip():
            continue
        element: dict[str, str] = {}
        for pair in _split_quoted(element_text, ";"):
            pair = pair.strip()
            if not pair:
                continue
            name, equals, raw = pair.partition("=")
            name = name.strip()
            if not equals or not is_token(name):
                raise ValueError(f"The Forwarded header has a malformed parameter {_shown(pair)} "
                                 "(expected name=value).")
            name = name.lower()
            if name in element:
                raise ValueError(f"The Forwarded header repeats the parameter {name!r} within one "
                                 "element.")
            element[name] = _value(raw.strip(), name)
        elements.append(element)
    return elements


def check_host(value: str, header: str) -> str:
    """``value`` if it is a valid ``host[:port]``; else ``ValueError`` naming ``header``."""
    try:
        split_host(value)
    except ValueError:
        raise ValueError(f"{_shown(value)} is not host[:port]")
    return value


def check_scheme(value: str, header: str) -> str:
    """``value`` lower-cased if it is ``http`` or ``https``; else ``ValueError``."""
    scheme = value.strip().lower()
    if scheme not in SCHEMES:
        raise ValueError(f"The {header} header gives the scheme {_shown(value)}; only 'http' and "
                         "'https' are accepted.")
    return scheme


def parse_base(value: str) -> tuple[str | None, str, str]:
    """A configured or forwarded base: ``(scheme or None, host[:port], path)``.

    ``value`` is ``host[:port]``, or ``scheme://host[:port]`` optionally followed by a
    path that does not end in a slash. Raises ``ValueError`` otherwise.
    """
    scheme: str | None = None
    rest = value.strip()
    if "://" in rest:
        scheme_text, _, rest = rest.partition("://")
        scheme = scheme_text.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"{_shown(value)}: the scheme must be 'http' or 'https'.")
    authority, slash, path = rest.partition("/")
    try:
        split_host(authority)
    except ValueError:
        raise ValueError(f"{_shown(value)}: {authority!r} is not a valid host[:port].")
    path = slash + path
    if path:
        if scheme is None:
            raise ValueError(f"{_shown(value)}: a base with a path must start with its scheme "
                             "(http:// or https://).")
        if path.endswith("/"):
            raise ValueError(f"{_shown(value)}: the base must not end with a slash.")
        if any(ch in path for ch in "?#\\") or any(ch <= " " or ch == "\x7f" for ch in path):
            raise ValueError(f"{_shown(value)}: the path holds characters a base cannot have.")
    return scheme, authority, path
