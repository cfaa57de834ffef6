"""Every ``server.*`` key reaches cheroot, and every bad value is a clear startup error."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from typing import Any

import pytest

import drupe
from drupe_server_cheroot import (
    CHERRYPY_DEFAULTS,
    OPTIONS,
    CherootServer,
    DrupeHTTPConnection,
    DrupeHTTPRequest,
    WSGIGateway,
    WSGIGatewayU0,
)


def test_the_defaults_are_cherrypys(root: Any, serve: Any) -> None:
    serve(root)
    server = drupe.server.httpserver
    assert server.request_queue_size == 5
    assert server.timeout == 10
    assert server.shutdown_timeout == 5
    assert server.protocol == "HTTP/1.1"
    assert server.requests.min == 10
    assert server.requests.max == float("inf")
    assert server.requests._queue.maxsize == -1
    # The selector thread never waits for room; the 503 helper waits the configured time.
    assert server.requests._queue_put_timeout == 0
    assert server.accepted_queue_timeout == 10
    assert server.max_request_header_size == 500 * 1024
    assert server.max_request_body_size == 100 * 1024 * 1024
    assert server.nodelay is True
    assert server.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert server.peercreds_enabled is False
    assert server.peercreds_resolve_enabled is False
    assert server.stats["Enabled"] is False
    assert server.reverse_dns is False
    assert server.gateway is WSGIGateway
    assert server.ssl_adapter is None
    assert server.keep_alive_conn_limit == 10
    assert server.keep_alive_wait == 0.005
    assert server.reuse_port is False
    assert server.server_name == "127.0.0.1"
    assert server.ConnectionClass is DrupeHTTPConnection
    assert server.wsgi_app is drupe.tree


def test_every_key_reaches_cheroot(root: Any, serve: Any) -> None:
    serve(
        root,
        socket_queue_size=17,
        socket_timeout=3,
        accepted_queue_size=50,
        accepted_queue_timeout=2.5,
        shutdown_timeout=1,
        protocol_version="HTTP/1.0",
        thread_pool=3,
        thread_pool_max=7,
        max_request_header_size=4096,
        max_request_body_size=1000,
        nodelay=False,
        peercreds=True,
        peercreds_resolve=True,
        statistics=True,
        reverse_dns=True,
        wsgi_version=("u", 0),
        keep_alive_conn_limit=3,
        keep_alive_wait=0,
    )
    server = drupe.server.httpserver
    assert server.request_queue_size == 17
    assert server.timeout == 3
    assert server.requests._queue.maxsize == 50
    assert server.requests._queue_put_timeout == 0
    assert server.accepted_queue_timeout == 2.5
    assert server.shutdown_timeout == 1
    assert server.protocol == "HTTP/1.0"
    assert server.requests.min == 3
    assert server.requests.max == 7
    assert len(server.requests._threads) == 3
    assert server.max_request_header_size == 4096
    assert server.max_request_body_size == 1000
    assert server.nodelay is False
    assert server.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    assert server.peercreds_enabled is True
    assert server.peercreds_resolve_enabled is True
    assert server.stats["Enabled"] is True
    assert server.reverse_dns is True
    assert server.gateway is WSGIGatewayU0
    assert server.keep_alive_conn_limit == 3
    assert server.keep_alive_wait == 0


def test_peercreds_resolve_needs_peercreds(root: Any, serve: Any) -> None:
    serve(root, peercreds_resolve=True)
    assert drupe.server.httpserver.peercreds_resolve_enabled is False


def test_reuse_port_sets_so_reuseport(root: Any, serve: Any) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    serve(root, socket_port=port, reuse_port=True)
    server = drupe.server.httpserver
    assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0


def test_the_declared_options_match_the_readme_defaults() -> None:
    assert CherootServer.options == OPTIONS
    assert dict(OPTIONS) == {"ssl_minimum_version": "TLSv1_2", "reuse_port": False,
                             "keep_alive_conn_limit": 10, "keep_alive_wait": 0.005,
                             "header_timeout": 10, "min_body_rate": 500,
                             "max_request_line_size": 16 * 1024, "max_request_header_count": 100,
                             "retry_after": 5}
    # Every key of CherryPy's server API page, with its default, is known.
    for key, default in (("socket_port", 8080), ("socket_queue_size", 5), ("socket_timeout", 10),
                         ("protocol_version", "HTTP/1.1"), ("reverse_dns", False),
                         ("thread_pool", 10), ("max_request_header_size", 500 * 1024),
                         ("max_request_body_size", 100 * 1024 * 1024),
                         ("ssl_certificate", None), ("ssl_private_key", None)):
        assert CHERRYPY_DEFAULTS[key] == default


# -- behaviour behind the keys -------------------------------------------------------------


def test_protocol_version_is_the_status_line_version(root: Any, serve: Any) -> None:
    address = serve(root, protocol_version="HTTP/1.0")
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.version == 10
        assert response.read() == b"Hello World!"
    finally:
        connection.close()


def test_max_request_body_size_answers_413(root: Any, serve: Any) -> None:
    address = serve(root, max_request_body_size=100)
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("POST", "/upload", body=b"x" * 101)
        response = connection.getresponse()
        assert response.status == 413
        response.read()
    finally:
        connection.close()
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("POST", "/upload", body=b"x" * 100)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"100")
    finally:
        connection.close()


def test_max_request_header_size_answers_431(root: Any, serve: Any, http_get: Any) -> None:
    address = serve(root, max_request_header_size=2000)
    status, _, _ = http_get(address, "/", headers={"X-Big": "y" * 3000})
    assert status == 431
    assert http_get(address, "/", headers={"X-Small": "y"})[0] == 200


def test_socket_timeout_closes_idle_connections(root: Any, serve: Any) -> None:
    address = serve(root, socket_timeout=0.3)
    client = socket.create_connection(address, timeout=10)
    try:
        started = time.monotonic()
        # A request that never ends: the server gives up after socket_timeout.
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        reply = b""
        while True:
            chunk = client.recv(4096)
            if not chunk:
                break
            reply += chunk
        assert time.monotonic() - started < 5
        assert reply.startswith(b"HTTP/1.1 408")
    finally:
        client.close()


def test_statistics_count_requests(root: Any, serve: Any, http_get: Any) -> None:
    address = serve(root, statistics=True)
    server = drupe.server.httpserver
    http_get(address, "/")
    http_get(address, "/")
    stats = server.stats
    assert stats["Accepts"] >= 2
    key = f"Cheroot HTTPServer {id(server)}"
    assert logging.statistics[key] is stats  # type: ignore[attr-defined]
    drupe.engine.stop()
    assert stats["Requests"](stats) >= 2
    # A stopped server no longer appears in the process-wide statistics.
    assert key not in logging.statistics  # type: ignore[attr-defined]


def test_reverse_dns_fills_remote_host(root: Any, serve: Any, http_get: Any) -> None:
    try:
        expected = socket.gethostbyaddr("127.0.0.1")[0]
    except OSError:
        expected = "127.0.0.1"
    address = serve(root, reverse_dns=True)
    assert http_get(address, "/remote")[1].decode() == f"127.0.0.1|{expected}"
    assert http_get(address, "/environ?name=REMOTE_HOST")[1].decode() == repr(expected)


def test_without_reverse_dns_there_is_no_remote_host(root: Any, serve: Any, http_get: Any) -> None:
    address = serve(root)
    assert http_get(address, "/environ?name=REMOTE_HOST")[1] == b"None"
    assert http_get(address, "/remote")[1] == b"127.0.0.1|"


def test_server_name_and_software_reach_the_environ(root: Any, serve: Any, http_get: Any) -> None:
    address = serve(root)
    assert http_get(address, "/environ?name=SERVER_NAME")[1] == b"'127.0.0.1'"
    assert http_get(address, "/environ?name=SERVER_PORT")[1] == repr(str(address[1])).encode()
    software = http_get(address, "/environ?name=SERVER_SOFTWARE")[1].decode()
    assert software.startswith("'drupe/")
    assert "Cheroot/" in software


def test_thread_pool_max_lets_the_pool_grow(root: Any, serve: Any) -> None:
    serve(root, thread_pool=2, thread_pool_max=4)
    pool = drupe.server.httpserver.requests
    pool.grow(5)
    assert len(pool._threads) == 4


def test_request_class_chooses_the_parser(root: Any, serve: Any, http_get: Any) -> None:
    parsed: list[tuple[type[Any], bytes]] = []

    class Recording(DrupeHTTPRequest):
        def parse_request(self) -> None:
            super().parse_request()
            if self.ready:
                parsed.append((type(self), self.path))

    class RecordingServer(CherootServer):
        request_class = Recording

    drupe.registry.register("drupe.servers", "recording-test", RecordingServer)
    try:
        address = serve(root, type="recording-test")
        assert http_get(address, "/echo?x=1")[1] == b"[('x', '1')]"
        assert parsed == [(Recording, b"/echo")]
    finally:
        drupe.engine.exit()
        drupe.registry.unregister("drupe.servers", "recording-test")


def test_a_stricter_parser_extends_read_request_headers(root: Any, serve: Any) -> None:
    # What the hook point is for: a subclass that refuses more, on top of the parser.
    class Strict(DrupeHTTPRequest):
        def read_request_headers(self) -> bool:
            if not super().read_request_headers():
                return False
            if b"X-Forbidden" in self.inheaders:
                self.simple_response("400 Bad Request", "X-Forbidden is forbidden here.")
                self.close_connection = True
                return False
            return True

    class StrictServer(CherootServer):
        request_class = Strict

    drupe.registry.register("drupe.servers", "strict-test", StrictServer)
    try:
        address = serve(root, type="strict-test")
        client = socket.create_connection(address, timeout=10)
        try:
            client.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                           b"X-Forbidden: yes\r\n\r\nabc")
            reply = b""
            while chunk := client.recv(4096):
                reply += chunk
        finally:
            client.close()
        assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert reply.endswith(b"X-Forbidden is forbidden here.")
    finally:
        drupe.engine.exit()
        drupe.registry.unregister("drupe.servers", "strict-test")


# -- bad settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("thread_pool", 0, "must be an integer >= 1"),
    ("thread_pool", "10", "must be an integer >= 1"),
    ("thread_pool_max", 0, "-1 means no upper limit"),
    ("thread_pool_max", 5, "is smaller than server.thread_pool"),
    ("socket_port", 70000, "from 0 (any free port) to 65535"),
    ("socket_port", "8080", "from 0 (any free port) to 65535"),
    ("socket_queue_size", -1, "the listen backlog"),
    ("socket_timeout", 0, "number of seconds > 0"),
    ("accepted_queue_size", -7, "-1 or 0 means no limit"),
    ("accepted_queue_timeout", "soon", "or None (wait without limit)"),
    ("shutdown_timeout", -1, "or None (wait without limit)"),
    ("protocol_version", "HTTP/2", "must be 'HTTP/1.1' or 'HTTP/1.0'"),
    ("max_request_header_size", -1, "0 means no limit"),
    ("max_request_body_size", 1.5, "0 means no limit"),
    ("nodelay", "yes", "must be True or False"),
    ("wsgi_version", (2, 0), "must be (1, 0) or ('u', 0)"),
    ("ssl_module", "pyopenssl", "Set server.ssl_module = 'builtin' (nothing to install"),
    ("ssl_module", "gnutls", "unknown TLS module 'gnutls'"),
    ("ssl_context", object(), "must be an ssl.SSLContext"),
    ("ssl_certificate", "/nonexistent/cert.pem", "the file '/nonexistent/cert.pem' does not exist"),
    ("ssl_minimum_version", "SSLv2", "must be an ssl.TLSVersion or one of"),
    ("reuse_port", True, "cannot share an ephemeral port"),
    ("keep_alive_conn_limit", -1, "or None for no limit"),
    ("keep_alive_wait", -0.1, "must be a number of seconds >= 0"),
    ("keep_alive_wait", None, "must be a number of seconds >= 0"),
    ("header_timeout", 0, "must be a number of seconds > 0"),
    ("header_timeout", None, "must be a number of seconds > 0"),
    ("min_body_rate", -1, "bytes per second; 0 means no minimum"),
    ("min_body_rate", 2.5, "bytes per second; 0 means no minimum"),
    ("max_request_line_size", -1, "0 means only max_request_header_size applies"),
    ("max_request_header_count", "100", "0 means no limit"),
    ("retry_after", -5, "must be an integer >= 0 (seconds)"),
])
def test_a_bad_setting_is_a_startup_error_naming_the_key(root: Any, serve: Any, key: str,
                                                         value: Any, expected: str,
                                                         log_messages: list[str]) -> None:
    threads_before = drupe.engine.state
    with pytest.raises(drupe.ConfigError) as caught:
        serve(root, **({"thread_pool": 10} if key == "thread_pool_max" else {}), **{key: value})
    message = str(caught.value)
    assert message.startswith(f"Config key 'server.{key}': ")
    assert expected in message
    assert drupe.engine.state == threads_before == drupe.states.STOPPED
    # The engine logs the message once, without a traceback.
    assert any(message in logged and "Traceback" not in logged for logged in log_messages)


def test_a_private_key_without_certificate_is_an_error(root: Any, serve: Any, tmp_path: Any) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not used")
    with pytest.raises(drupe.ConfigError, match=r"'server.ssl_private_key': is set but "
                                                r"server.ssl_certificate is not"):
        serve(root, ssl_private_key=str(key))


def test_a_directory_as_certificate_is_an_error(root: Any, serve: Any, tmp_path: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"'server.ssl_certificate': .* is a directory"):
        serve(root, ssl_certificate=str(tmp_path))


def test_an_unknown_key_is_refused_by_the_kernel_with_our_options_known(root: Any, serve: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"server.ssl_minimum_versio.*Did you mean "
                                                r"'server.ssl_minimum_version'"):
        serve(root, ssl_minimum_versio="TLSv1_3")


def test_an_explicit_tls_minimum_is_read(root: Any) -> None:
    drupe.config.update({"server.ssl_minimum_version": "TLSv1.3", "server.socket_port": 0})
    from drupe_server_cheroot import read_config

    assert read_config(drupe.server).ssl_minimum_version is ssl.TLSVersion.TLSv1_3
