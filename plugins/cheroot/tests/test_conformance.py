"""drupe-testing's HTTP conformance suite, run against this server over TCP, TLS and UNIX sockets.

Each class starts one server for all its tests (starting and stopping one per test would
take most of the run): a ``CherootServer`` built from a hand-made settings object, as
``CPWSGIServer`` users do, serving the suite's own WSGI application. The server settings
are small on purpose — four workers, a one-second head deadline, small head limits — and
the suite is told them through its class attributes, so every limit is probed quickly.
"""

from __future__ import annotations

import ssl
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drupe_server_cheroot import CherootServer
from drupe_testing.conformance.http_server import (
    HTTPConformanceSuite,
    HTTPCoreSuite,
    HTTPOverloadSuite,
    conformance_app,
)

SETTINGS = {
    "socket_host": "127.0.0.1",
    "socket_port": 0,
    "thread_pool": 4,
    "socket_timeout": 2,
    "header_timeout": 1.0,
    "min_body_rate": 1000,
    "max_request_line_size": 4096,
    "max_request_header_size": 16 * 1024,
    "max_request_header_count": 50,
    "shutdown_timeout": 1,
}


def _settings(**overrides: Any) -> Any:
    return types.SimpleNamespace(**{**SETTINGS, **overrides})


def run_server(settings: Any) -> Iterator[CherootServer]:
    """Serve the conformance application with ``settings`` until the generator is closed."""
    server = CherootServer(settings, conformance_app)
    server.prepare()
    thread = threading.Thread(target=server.serve, name="conformance server")
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)


def _wait_for_idle(server: CherootServer) -> None:
    # Connections a test closed are closed by the server shortly after; give it the
    # moment so the per-test descriptor check does not see them.
    deadline = time.monotonic() + 3
    while server._open_connections and time.monotonic() < deadline:
        time.sleep(0.02)


class TestCherootConformance(HTTPConformanceSuite):
    worker_threads = SETTINGS["thread_pool"]
    header_timeout = SETTINGS["header_timeout"]
    # The allowance (socket_timeout) plus the moment a trickle needs to be noticed.
    body_rate_deadline = SETTINGS["socket_timeout"] + 0.5
    max_request_line_size = SETTINGS["max_request_line_size"]
    max_request_header_size = SETTINGS["max_request_header_size"]
    max_request_header_count = SETTINGS["max_request_header_count"]

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_server(cls) -> Iterator[CherootServer]:
        yield from run_server(_settings())

    @pytest.fixture
    def http_server(self, conformance_server: CherootServer) -> Iterator[Any]:
        yield conformance_server.bound_addr
        _wait_for_idle(conformance_server)


class TestCherootConformanceOverTLS(HTTPCoreSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def conformance_server(cls, pki: Any) -> Iterator[CherootServer]:
        yield from run_server(_settings(ssl_certificate=pki.certificate,
                                        ssl_private_key=pki.private_key))

    @pytest.fixture
    def http_server(self, conformance_server: CherootServer) -> Iterator[Any]:
        yield conformance_server.bound_addr
        _wait_for_idle(conformance_server)

    @pytest.fixture
    def http_tls_context(self, pki: Any) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=pki.certificate)


class TestCherootConformanceOverUnixSocket(HTTPCoreSuite):
    @pytest.fixture(scope="class")
    @classmethod
    def conformance_server(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CherootServer]:
        path: Path = tmp_path_factory.mktemp("unix") / "http.sock"
        yield from run_server(_settings(socket_file=str(path)))

    @pytest.fixture
    def http_server(self, conformance_server: CherootServer) -> Iterator[Any]:
        yield conformance_server.bound_addr
        _wait_for_idle(conformance_server)


class TestCherootOverload(HTTPOverloadSuite):
    worker_threads = 1
    accepted_queue_size = 1

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_server(cls) -> Iterator[CherootServer]:
        yield from run_server(_settings(thread_pool=1, accepted_queue_size=1,
                                        accepted_queue_timeout=0.2, retry_after=7))

    @pytest.fixture
    def http_server(self, conformance_server: CherootServer) -> Iterator[Any]:
        yield conformance_server.bound_addr
        _wait_for_idle(conformance_server)
