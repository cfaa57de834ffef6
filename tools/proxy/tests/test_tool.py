"""The proxy tool through whole requests: what is believed, what is rewritten, what is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import drupe
from drupe_testing import Client

from .conftest import Echo, mount

Seen = Callable[..., tuple[str, str, str, int]]
NGINX = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "www.example.com",
         "X-Forwarded-Proto": "https"}


def get(path: str, headers: dict[str, str] | None = None, peer: str = "127.0.0.1") -> Any:
    return Client(drupe.tree, host="app.internal", port=8080, remote_addr=peer).get(
        path, headers=headers or {})


# -- CherryPy's behaviour, from a trusted proxy -------------------------------------------


def test_off_by_default() -> None:
    drupe.tree.mount(Echo(), "/")
    response = get("/", NGINX)
    assert response.text == "http://app.internal:8080|http|127.0.0.1|54321"


def test_rewrites_base_scheme_and_client_address(seen: Seen) -> None:
    assert seen(NGINX) == ("https://www.example.com", "https", "203.0.113.9", -1)


def test_without_headers_nothing_changes(seen: Seen) -> None:
    assert seen({}) == ("http://app.internal:8080", "http", "127.0.0.1", 54321)


def test_the_documented_deployment(seen: Seen) -> None:
    # The documentation's nginx example: the proxy passes Host, sets X-Forwarded-Host to its
    # server_name and appends the client to X-Forwarded-For; the app sets tools.proxy.base.
    headers = {"Host": "www.example.com", "X-Real-IP": "198.51.100.4",
               "X-Forwarded-For": "198.51.100.4", "X-Forwarded-Host": "www.example.com"}
    assert seen(headers, base="http://www.example.com") == (
        "http://www.example.com", "http", "198.51.100.4", -1)


def test_forwarded_host_wins_over_the_configured_base(seen: Seen) -> None:
    assert seen({"X-Forwarded-Host": "a.example.com"}, base="http://b.example.com")[0] == \
        "http://a.example.com"


def test_configured_base_with_a_path_needs_local_off(seen: Seen) -> None:
    headers = {"X-Forwarded-Host": "www.example.com"}
    assert seen(headers, base="https://www.example.com/app", local="")[0] == \
        "https://www.example.com/app"


def test_configured_base_scheme_wins_over_the_scheme_header(seen: Seen) -> None:
    assert seen({"X-Forwarded-Proto": "http"}, base="https://secure.example.com")[:2] == (
        "https://secure.example.com", "https")


def test_configured_base_without_scheme_takes_the_forwarded_one(seen: Seen) -> None:
    assert seen({"X-Forwarded-Proto": "https"}, base="www.example.com")[:2] == (
        "https://www.example.com", "https")


def test_empty_header_names_turn_parts_off(seen: Seen) -> None:
    assert seen(NGINX, local="", remote="", scheme="") == (
        "http://app.internal:8080", "http", "127.0.0.1", 54321)
    assert seen(NGINX, remote="") == ("https://www.example.com", "https", "127.0.0.1", 54321)
    assert seen(NGINX, scheme="") == ("http://www.example.com", "http", "203.0.113.9", -1)


def test_other_header_names(seen: Seen) -> None:
    headers = {"X-Real-IP": "198.51.100.4", "X-Forwarded-Ssl": "on", "Origin": "https://shop.example.com"}
    assert seen(headers, remote="X-Real-IP", scheme="X-Forwarded-Ssl", local="Origin") == (
        "https://shop.example.com", "https", "198.51.100.4", -1)
    assert seen({"X-Forwarded-Ssl": "off"}, scheme="X-Forwarded-Ssl")[1] == "http"


def test_ports_and_ipv6_in_x_forwarded_for(seen: Seen) -> None:
    assert seen({"X-Forwarded-For": "203.0.113.9:5555"})[2:] == ("203.0.113.9", 5555)
    assert seen({"X-Forwarded-For": "2001:db8::9"})[2:] == ("2001:db8::9", -1)
    assert seen({"X-Forwarded-For": "[2001:DB8::9]:443"})[2:] == ("2001:db8::9", 443)


def test_redirects_and_urls_use_the_forwarded_base() -> None:
    mount()
    response = get("/go", NGINX)
    assert response.status == 303
    assert response.headers["Location"] == "https://www.example.com/target"
    assert get("/url", NGINX).text == "https://www.example.com/page"


def test_the_access_log_shows_the_client(caplog: pytest.LogCaptureFixture) -> None:
    mount()
    with caplog.at_level("INFO", logger="drupe.access"):
        get("/", NGINX)
    assert any(record.getMessage().startswith("203.0.113.9 ") for record in caplog.records), \
        [record.getMessage() for record in caplog.records]


# -- who is believed ----------------------------------------------------------------------


def test_a_client_cannot_forge_its_address(seen: Seen) -> None:
    # nginx's $proxy_add_x_forwarded_for appends the real peer to what the client sent.
    headers = {"X-Forwarded-For": "1.1.1.1, 10.9.9.9, 203.0.113.9"}
    assert seen(headers)[2] == "203.0.113.9"


def test_trusted_proxies_in_the_chain_are_skipped(seen: Seen) -> None:
    headers = {"X-Forwarded-For": "1.1.1.1, 203.0.113.9, 10.0.0.2, 10.0.0.3"}
    assert seen(headers, peer="10.0.0.4")[2] == "203.0.113.9"


def test_an_all_trusted_chain_gives_the_left_most(seen: Seen) -> None:
    assert seen({"X-Forwarded-For": "10.0.0.9, 10.0.0.2"}, peer="10.0.0.1")[2] == "10.0.0.9"


def test_an_untrusted_peer_is_ignored(seen: Seen) -> None:
    # A client talking to the server directly, pretending to be behind a proxy.
    assert seen(NGINX, peer="198.51.100.66") == (
        "http://app.internal:8080", "http", "198.51.100.66", 54321)


def test_an_untrusted_peer_still_gets_the_configured_base(seen: Seen) -> None:
    assert seen(NGINX, peer="198.51.100.66", base="https://www.example.com")[:3] == (
        "https://www.example.com", "https", "198.51.100.66")


def test_trusted_addresses_and_networks(seen: Seen) -> None:
    trusted = ["198.51.100.0/24", "2001:db8::1"]
    assert seen(NGINX, peer="198.51.100.66", trusted=trusted)[2] == "203.0.113.9"
    assert seen(NGINX, peer="2001:db8::1", trusted=trusted)[2] == "203.0.113.9"
    # The defaults are replaced, not extended: loopback is no longer trusted.
    assert seen(NGINX, peer="127.0.0.1", trusted=trusted)[2] == "127.0.0.1"
    # Listed proxies are skipped inside the chain as well.
    chain = {"X-Forwarded-For": "203.0.113.9, 198.51.100.5"}
    assert seen(chain, peer="198.51.100.66", trusted=trusted)[2] == "203.0.113.9"


def test_trust_everyone_as_cherrypy_does(seen: Seen) -> None:
    assert seen(NGINX, peer="198.51.100.66", trusted="*")[:3] == (
        "https://www.example.com", "https", "203.0.113.9")
    # Even then the right-most address is the client's, not the forgeable left-most.
    assert seen({"X-Forwarded-For": "1.1.1.1, 203.0.113.9"}, peer="198.51.100.66",
                trusted="*")[2] == "203.0.113.9"


def test_trusted_hops(seen: Seen) -> None:
    forged = {"X-Forwarded-For": "1.1.1.1, 203.0.113.9"}
    assert seen(forged, trusted_hops=1)[2] == "203.0.113.9"
    # Two proxies: the outer one appended the client, the inner one the outer proxy.
    two = {"X-Forwarded-For": "1.1.1.1, 203.0.113.9, 198.51.100.7"}
    assert seen(two, trusted_hops=2)[2] == "203.0.113.9"
    # Counting ignores addresses: a public outer proxy needs no listing.
    assert seen(two, trusted_hops=2, trusted="127.0.0.1")[2] == "203.0.113.9"
    # Fewer addresses than proxies: the request did not come through them all.
    assert seen({"X-Forwarded-For": "203.0.113.9"}, trusted_hops=2)[2] == "127.0.0.1"
    # And the direct peer must still be trusted.
    assert seen(forged, peer="198.51.100.66", trusted_hops=1)[2] == "198.51.100.66"


def test_host_and_scheme_lists_follow_the_client_hop(seen: Seen) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2",
               "X-Forwarded-Host": "evil.example, www.example.com, inner.lan",
               "X-Forwarded-Proto": "http, https, http"}
    assert seen(headers, peer="10.0.0.3")[:3] == ("https://www.example.com", "https", "203.0.113.9")
    # A single value (the proxy overwrote the header) is used as it is.
    single = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2", "X-Forwarded-Host": "www.example.com"}
    assert seen(single, peer="10.0.0.3")[0] == "http://www.example.com"


# -- RFC 7239 Forwarded --------------------------------------------------------------------


def test_forwarded(seen: Seen) -> None:
    headers = {"Forwarded": 'for=203.0.113.9;proto=https;host="www.example.com:8443"'}
    assert seen(headers, forwarded=True) == ("https://www.example.com:8443", "https", "203.0.113.9", -1)


def test_forwarded_ipv6_and_ports(seen: Seen) -> None:
    headers = {"Forwarded": 'for="[2001:db8:cafe::17]:4711"'}
    assert seen(headers, forwarded=True)[2:] == ("2001:db8:cafe::17", 4711)


def test_forwarded_chain_takes_the_right_most_untrusted(seen: Seen) -> None:
    headers = {"Forwarded": "for=1.1.1.1;host=evil.example, for=203.0.113.9;host=www.example.com;"
                            "proto=https, for=10.0.0.2;host=inner.lan;proto=http"}
    assert seen(headers, peer="10.0.0.3", forwarded=True)[:3] == (
        "https://www.example.com", "https", "203.0.113.9")


def test_forwarded_host_falls_back_towards_the_server(seen: Seen) -> None:
    headers = {"Forwarded": "for=203.0.113.9, for=10.0.0.2;host=www.example.com;proto=https"}
    assert seen(headers, peer="10.0.0.3", forwarded=True)[:3] == (
        "https://www.example.com", "https", "203.0.113.9")


def test_forwarded_obfuscated_and_unknown_nodes(seen: Seen) -> None:
    assert seen({"Forwarded": "for=_abc123"}, forwarded=True)[2:] == ("_abc123", -1)
    assert seen({"Forwarded": "for=unknown"}, forwarded=True)[2] == "unknown"
    assert seen({"Forwarded": "proto=https"}, forwarded=True)[1:3] == ("https", "unknown")
    # An obfuscated proxy listed as trusted is skipped like a trusted address.
    chain = {"Forwarded": "for=203.0.113.9, for=_edge1"}
    assert seen(chain, forwarded=True, trusted=["loopback", "_edge1"])[2] == "203.0.113.9"
    assert seen(chain, forwarded=True)[2] == "_edge1"


def test_forwarded_replaces_the_x_forwarded_headers(seen: Seen) -> None:
    headers = {"Forwarded": "for=203.0.113.9", **{k: v for k, v in NGINX.items()
                                                   if k != "X-Forwarded-For"},
               "X-Forwarded-For": "6.6.6.6"}
    assert seen(headers, forwarded=True) == ("http://app.internal:8080", "http", "203.0.113.9", -1)
    # Without a Forwarded header the X-Forwarded-* ones are still not read.
    assert seen(NGINX, forwarded=True) == ("http://app.internal:8080", "http", "127.0.0.1", 54321)
    # And by default the Forwarded header is not read.
    assert seen({"Forwarded": "for=203.0.113.9"})[2] == "127.0.0.1"


def test_forwarded_trusted_hops(seen: Seen) -> None:
    headers = {"Forwarded": "for=1.1.1.1, for=203.0.113.9;proto=https"}
    assert seen(headers, forwarded=True, trusted_hops=1)[1:3] == ("https", "203.0.113.9")
    assert seen(headers, forwarded=True, trusted_hops=3)[1:3] == ("http", "127.0.0.1")


def test_forwarded_from_an_untrusted_peer_is_ignored(seen: Seen) -> None:
    assert seen({"Forwarded": "for=203.0.113.9;host=evil.example"}, peer="198.51.100.66",
                forwarded=True)[::2] == ("http://app.internal:8080", "198.51.100.66")


# -- bad input: 400 naming the header, never 500 --------------------------------------------


@pytest.mark.parametrize(
    ("headers", "conf", "message"),
    [
        ({"X-Forwarded-Host": "evil.example/path"}, {}, "X-Forwarded-Host"),
        ({"X-Forwarded-Host": "a b"}, {}, "X-Forwarded-Host"),
        ({"X-Forwarded-Host": "user@evil.example"}, {}, "X-Forwarded-Host"),
        ({"X-Forwarded-Host": "evil.example:99999"}, {}, "X-Forwarded-Host"),
        ({"X-Forwarded-Host": "javascript://x"}, {}, "X-Forwarded-Host"),
        ({"X-Forwarded-Proto": "javascript"}, {}, "X-Forwarded-Proto"),
        ({"X-Forwarded-Proto": "ftp"}, {}, "X-Forwarded-Proto"),
        ({"X-Forwarded-For": "not-an-address"}, {}, "X-Forwarded-For"),
        ({"X-Forwarded-For": "1.2.3.4, 300.1.1.1"}, {}, "X-Forwarded-For"),
        ({"Forwarded": 'for="unterminated'}, {"forwarded": True}, "unterminated"),
        ({"Forwarded": "for=1.2.3.4;for=5.6.7.8"}, {"forwarded": True}, "repeats"),
        ({"Forwarded": 'for="2001:db8::1"'}, {"forwarded": True}, "for="),
        ({"Forwarded": "for=2001:db8::1"}, {"forwarded": True}, "neither a token"),
        ({"Forwarded": 'for=1.2.3.4;host="a/b"'}, {"forwarded": True}, "host="),
        ({"Forwarded": "for=1.2.3.4;proto=gopher"}, {"forwarded": True}, "proto="),
        ({"X-Forwarded-Host": "https://a.example/path"}, {}, "X-Forwarded-Host"),
    ],
)
def test_malformed_headers_from_a_trusted_proxy_are_400(headers: dict[str, str], conf: dict[str, Any],
                                                        message: str, error_log: list[str]) -> None:
    mount(**conf)
    response = get("/", headers)
    assert response.status == 400, response.text
    assert message in response.text
    assert not any("Traceback" in entry for entry in error_log), error_log


def test_garbage_left_of_the_client_is_never_examined(seen: Seen) -> None:
    headers = {"X-Forwarded-For": "<script>, not-an-ip, 203.0.113.9"}
    assert seen(headers)[2] == "203.0.113.9"
    forwarded = {"Forwarded": "for=nonsense, for=203.0.113.9"}
    assert seen(forwarded, forwarded=True)[2] == "203.0.113.9"


def test_malformed_headers_from_an_untrusted_peer_are_ignored(seen: Seen) -> None:
    headers = {"X-Forwarded-Host": "a b", "X-Forwarded-For": "junk", "X-Forwarded-Proto": "ftp"}
    assert seen(headers, peer="198.51.100.66")[2] == "198.51.100.66"


def test_empty_list_items_are_skipped(seen: Seen) -> None:
    assert seen({"X-Forwarded-For": " , 203.0.113.9 ,, "})[2] == "203.0.113.9"


# -- config --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("base", "http://www.example.com/"),
        ("base", "ftp://example.com"),
        ("base", 42),
        ("trusted", "localhost"),
        ("trusted", ["10.0.0.0/8", "10.0.0.0/99"]),
        ("trusted_hops", 0),
        ("trusted_hops", "1"),
        ("trusted_hops", True),
        ("forwarded", "yes"),
        ("debug", 1),
        ("remote", "Not A Header"),
        ("local", 7),
    ],
)
def test_bad_arguments_name_the_key(argument: str, value: Any, client: Client,
                                    error_log: list[str]) -> None:
    key = f"tools.proxy.{argument}"
    with pytest.raises(drupe.ConfigError, match=key.replace(".", r"\.")):
        drupe.tools.proxy(**{argument: value})
    mount(**{argument: value})
    drupe.server.unsubscribe()
    with pytest.raises(drupe.ConfigError, match=key.replace(".", r"\.")):
        drupe.engine.start()
    assert client.get("/").status == 500
    assert any(key in message for message in error_log)


def test_unknown_argument(client: Client, error_log: list[str]) -> None:
    mount(trusted_proxies=["10.0.0.1"])
    assert client.get("/").status == 500
    assert any("trusted_proxies" in message and "trusted" in message for message in error_log)


def test_decorator_and_priority() -> None:
    class Root:
        @drupe.expose
        @drupe.tools.proxy(base="https://www.example.com", local="")
        def index(self) -> str:
            return drupe.request.base

    drupe.tree.mount(Root(), "/")
    assert get("/", NGINX).text == "https://www.example.com"
    tool = drupe.tools.proxy
    assert (tool.point, tool.priority) == ("before_request_body", 30)


def test_debug_logs_each_decision(error_log: list[str]) -> None:
    mount(debug=True)
    get("/", NGINX, peer="198.51.100.66")
    assert any("not a trusted proxy" in message for message in error_log), error_log


def test_the_compat_name() -> None:
    from drupe.lib import cptools
    from drupe_tool_proxy import proxy

    assert cptools.proxy is proxy
