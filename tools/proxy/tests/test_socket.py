"""The proxy tool over real TCP connections: the peer address comes from the socket.

Two servers carry the requests: drupe's own (drupe-server-cheroot, through drupe-testing's
``live_server``; skipped, saying what to install, when it is not installed) and the
standard library's ``wsgiref`` server, which is always there, so the isolation run of this
distribution still exercises a real socket. The raw request bytes are written on a socket
the test opens itself, so it knows the client port the server must report.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import drupe

from .conftest import Echo


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(params=["cheroot", "wsgiref"])
def server_address(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    if request.param == "cheroot":
        live = request.getfixturevalue("live_server")
        yield live.host, live.port
        return
    server: WSGIServer = make_server("127.0.0.1", 0, drupe.tree, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="wsgiref-test-server")
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def exchange(address: tuple[str, int], headers: str) -> tuple[int, bytes]:
    """Send ``GET /`` with ``headers`` (CRLF-terminated lines); (our port, the response bytes)."""
    with socket.create_connection(address, timeout=10) as sock:
        port = sock.getsockname()[1]
        sock.sendall(f"GET / HTTP/1.1\r\nHost: app.internal\r\nConnection: close\r\n{headers}\r\n"
                     .encode("latin-1"))
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return port, b"".join(chunks)


def body(response: bytes) -> str:
    head, _, content = response.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], response[:300]
    return content.decode()


@pytest.fixture
def mounted() -> None:
    drupe.tree.mount(Echo(), "/", {"/": {"tools.proxy.on": True}})


@pytest.mark.usefixtures("mounted")
def test_a_loopback_proxy_is_believed(server_address: tuple[str, int]) -> None:
    _, response = exchange(server_address, "X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n"
                                           "X-Forwarded-Host: www.example.com\r\n"
                                           "X-Forwarded-Proto: https\r\n")
    assert body(response) == "https://www.example.com|https|203.0.113.9|-1"


def test_a_direct_client_cannot_pretend(server_address: tuple[str, int]) -> None:
    # Only the 10/8 proxies are trusted: this loopback peer is a client talking directly.
    drupe.tree.mount(Echo(), "/", {"/": {"tools.proxy.on": True,
                                         "tools.proxy.trusted": ["10.0.0.0/8"]}})
    port, response = exchange(server_address, "X-Forwarded-For: 203.0.113.9\r\n"
                                              "X-Forwarded-Host: evil.example\r\n")
    base, scheme, ip, reported_port = body(response).split("|")
    assert (base, scheme, ip) == ("http://app.internal", "http", "127.0.0.1")
    # wsgiref does not pass the client port (REMOTE_PORT) on; cheroot does.
    assert int(reported_port) in (port, -1)


@pytest.mark.usefixtures("mounted")
def test_a_malformed_header_is_a_400_on_the_wire(server_address: tuple[str, int]) -> None:
    _, response = exchange(server_address, "X-Forwarded-Host: evil.example/x?y\r\n")
    assert response.startswith(b"HTTP/1.")
    assert b" 400 " in response.split(b"\r\n")[0]
