"""Parsing what proxies send: node lists, RFC 7239 Forwarded, trusted networks, bases."""

from __future__ import annotations

import ipaddress

import pytest

from drupe_tool_proxy import parse_forwarded, parse_node, trusted_networks
from drupe_tool_proxy._forwarding import parse_base


@pytest.mark.parametrize(
    ("text", "ip", "identifier", "port"),
    [
        ("192.0.2.60", "192.0.2.60", None, None),
        (" 192.0.2.60 ", "192.0.2.60", None, None),
        ("192.0.2.60:4711", "192.0.2.60", None, 4711),
        ("[2001:db8:cafe::17]", "2001:db8:cafe::17", None, None),
        ("[2001:DB8:CAFE::17]:4711", "2001:db8:cafe::17", None, 4711),
        ("[::ffff:10.0.0.1]", "10.0.0.1", None, None),
        ("unknown", None, "unknown", None),
        ("UNKNOWN", None, "unknown", None),
        ("_hidden", None, "_hidden", None),
        ("_SEVKISEK", None, "_SEVKISEK", None),
        ("_hidden:_port", None, "_hidden", None),
        ("192.0.2.60:_obfport", "192.0.2.60", None, None),
        ("[2001:db8::1]:_p", "2001:db8::1", None, None),
    ],
)
def test_nodes(text: str, ip: str | None, identifier: str | None, port: int | None) -> None:
    node = parse_node(text)
    assert (str(node.address) if node.address else None, node.identifier, node.port) == (
        ip, identifier, port)


def test_bare_ipv6_only_where_allowed() -> None:
    assert str(parse_node("2001:db8::1", bare_ipv6=True).address) == "2001:db8::1"
    with pytest.raises(ValueError, match="brackets"):
        parse_node("2001:db8::1")


@pytest.mark.parametrize(
    "text",
    ["", "not an address", "300.1.1.1", "1.2.3.4:99999", "1.2.3.4:", "1.2.3.4:x", "[2001:db8::1",
     "[1.2.3.4]", "[2001:db8::1]x", "_", "_bad char", "example.com", "1.2.3.4, 5.6.7.8",
     "[2001:db8::1]:", "<script>"],
)
def test_malformed_nodes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_node(text, bare_ipv6=True)


def test_forwarded_examples_of_rfc_7239() -> None:
    assert parse_forwarded('for="_gazonk"') == [{"for": "_gazonk"}]
    assert parse_forwarded('For="[2001:db8:cafe::17]:4711"') == [{"for": "[2001:db8:cafe::17]:4711"}]
    assert parse_forwarded("for=192.0.2.60;proto=http;by=203.0.113.43") == [
        {"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}]
    assert parse_forwarded("for=192.0.2.43, for=198.51.100.17") == [
        {"for": "192.0.2.43"}, {"for": "198.51.100.17"}]


def test_forwarded_quoting_and_empty_parts() -> None:
    assert parse_forwarded(r'for="a\"b";host="x,y;z", , ;; for=unknown') == [
        {"for": 'a"b', "host": "x,y;z"}, {"for": "unknown"}]
    assert parse_forwarded("") == []
    assert parse_forwarded(" , ") == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('for="unterminated', "unterminated"),
        ("for", "expected name=value"),
        ("=1.2.3.4", "expected name=value"),
        ("for=1.2.3.4;for=5.6.7.8", "repeats"),
        ("for=a b", "neither a token"),
        ('for="x"y', "malformed quoted"),
        ('for="x\x01"', "control character"),
        ('f o r=1.2.3.4', "expected name=value"),
    ],
)
def test_malformed_forwarded(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_forwarded(value)


def test_trusted_keywords_and_networks() -> None:
    private = trusted_networks("private")
    for peer in ("127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.31.0.1", "192.168.1.1",
                 "169.254.0.1", "fd00::1", "fe80::1", "::ffff:10.0.0.1", ""):
        assert private.trusts_peer(peer), peer
    for peer in ("8.8.8.8", "172.32.0.1", "2001:db8::1", "100.64.0.1"):
        assert not private.trusts_peer(peer), peer
    loopback = trusted_networks(["loopback"])
    assert loopback.trusts_peer("127.0.0.1")
    assert loopback.trusts_peer("")
    assert not loopback.trusts_peer("10.0.0.1")
    listed = trusted_networks(["203.0.113.0/24", "2001:db8::7", ipaddress.ip_network("198.51.100.0/30"),
                               "_edge1"])
    assert listed.trusts_peer("203.0.113.200")
    assert listed.trusts_peer("2001:db8::7")
    assert listed.trusts_peer("198.51.100.3")
    assert not listed.trusts_peer("198.51.100.4")
    assert not listed.trusts_peer("127.0.0.1")
    assert not listed.trusts_peer("")
    assert listed.trusts_identifier("_edge1")
    assert not listed.trusts_identifier("_edge2")
    everyone = trusted_networks("*")
    assert everyone.trusts_peer("8.8.8.8")
    assert everyone.trusts_peer("")
    # "*" lets any peer speak; it does not make every hop of a chain a proxy.
    assert not everyone.contains_address(ipaddress.ip_address("8.8.8.8"))
    assert not everyone.trusts_identifier("_x")


@pytest.mark.parametrize("value", ["10.0.0.0/33", "localhost", "", [], ["ok", 3], 3, "_"])
def test_malformed_trusted(value: object) -> None:
    with pytest.raises(ValueError, match=r"tools\.proxy\.trusted"):
        trusted_networks(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("www.example.com", (None, "www.example.com", "")),
        ("http://www.example.com", ("http", "www.example.com", "")),
        ("HTTPS://example.com:8443/app", ("https", "example.com:8443", "/app")),
        ("http://[2001:db8::1]:80", ("http", "[2001:db8::1]:80", "")),
    ],
)
def test_bases(value: str, expected: tuple[str | None, str, str]) -> None:
    assert parse_base(value) == expected


@pytest.mark.parametrize(
    "value",
    ["http://www.example.com/", "ftp://example.com", "http://", "http://a b", "example.com/app",
     "http://user@example.com", "http://example.com/a?b", "http://example.com:99999"],
)
def test_malformed_bases(value: str) -> None:
    with pytest.raises(ValueError):
        parse_base(value)
