"""``server.shutdown_timeout``: stop() waits that long for requests in progress, then shuts
their connections and returns, leaving a handler that does no I/O to end on its own."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe
from drupe_server_cheroot import CherootServer, NativeServer
from drupe_server_cheroot._pool import CUT_GRACE

# Slack for the accept loop's and the selector's wake-ups on a busy machine.
_SLACK = 1.5


class Blocking:
    """Handlers that hold their worker until the test lets them go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    @drupe.expose
    def index(self) -> str:
        return "ok"

    @drupe.expose
    def hold(self) -> str:
        self.entered.set()
        try:
            # No socket I/O here: only the thread itself can end this wait.
            self.release.wait(30)
            return "released"
        finally:
            self.finished.set()

    @drupe.expose
    def nap(self, seconds: str) -> str:
        self.entered.set()
        time.sleep(float(seconds))
        return f"napped {seconds}"

    @drupe.expose
    def upload(self) -> str:
        self.entered.set()
        try:
            return str(len(drupe.request.body.read()))
        finally:
            self.finished.set()


@pytest.fixture
def app() -> Iterator[Blocking]:
    blocking = Blocking()
    yield blocking
    # Whatever the test did, no handler stays blocked past it.
    blocking.release.set()


@pytest.fixture(params=["wsgi", "native"])
def start(request: pytest.FixtureRequest, app: Blocking) -> Callable[..., tuple[str, int]]:
    """``start(**server_settings)``: serve ``app`` with the WSGI or the native server."""

    def starter(**settings: Any) -> tuple[str, int]:
        config = {"server.socket_port": 0}
        config.update({f"server.{key}": value for key, value in settings.items()})
        drupe.config.update(config)
        if request.param == "native":
            drupe.server.httpserver = NativeServer(drupe.server)
        drupe.tree.mount(app)
        drupe.engine.start()
        server = drupe.server.httpserver
        assert isinstance(server, NativeServer if request.param == "native" else CherootServer)
        address = drupe.server.bound_addr
        assert isinstance(address, tuple)
        return address

    return starter


class Client(threading.Thread):
    """One request on its own connection, in a thread: ``result`` is (status, body) or the error."""

    def __init__(self, address: tuple[str, int], path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(name=f"client {path}")
        self.address = address
        self.path = path
        self.body = body
        self.headers = headers or {}
        self.result: object = None

    def run(self) -> None:
        connection = http.client.HTTPConnection(*self.address, timeout=20)
        try:
            connection.request("POST" if self.body is not None else "GET", self.path, body=self.body,
                               headers=self.headers)
            response = connection.getresponse()
            self.result = (response.status, response.read())
        except Exception as exc:
            self.result = exc
        finally:
            connection.close()


def _stop_timed() -> float:
    started = time.monotonic()
    drupe.engine.stop()
    return time.monotonic() - started


def test_a_handler_running_past_the_timeout_is_cut_off_and_retired(
        start: Callable[..., tuple[str, int]], app: Blocking, log_messages: list[str]) -> None:
    address = start(shutdown_timeout=0.5)
    pool = drupe.server.httpserver.requests
    client = Client(address, "/hold")
    client.start()
    assert app.entered.wait(10)

    elapsed = _stop_timed()
    # The timeout was given in full, and not much more.
    assert 0.5 <= elapsed < 0.5 + CUT_GRACE + _SLACK
    client.join(10)
    # The client saw its connection end without an answer.
    assert isinstance(client.result, (http.client.RemoteDisconnected, ConnectionError)), client.result
    assert not app.finished.is_set()
    [worker] = pool.retired
    assert worker.is_alive()
    assert worker.daemon
    assert any("1 request(s) still in progress after server.shutdown_timeout (0.5 s)" in message
               and "1 handler(s) still running" in message for message in log_messages), log_messages

    # Once its handler returns, the retired worker ends (its answer goes nowhere).
    app.release.set()
    worker.join(10)
    assert not worker.is_alive()
    assert app.finished.is_set()


def test_blocking_socket_io_ends_at_the_timeout(start: Callable[..., tuple[str, int]],
                                                app: Blocking) -> None:
    # The handler waits for a body the client never finishes sending: the shut socket
    # ends the read, so the worker ends with the stop instead of being retired.
    address = start(shutdown_timeout=0.5, min_body_rate=0, socket_timeout=20)
    pool = drupe.server.httpserver.requests
    client = socket.create_connection(address, timeout=10)
    try:
        client.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
        assert app.entered.wait(10)
        workers = list(pool._threads)
        elapsed = _stop_timed()
        assert 0.5 <= elapsed < 0.5 + CUT_GRACE + _SLACK
        assert pool.retired == []
        assert not any(worker.is_alive() for worker in workers)
        assert app.finished.is_set()
        # No answer: the connection just ends.
        assert client.recv(4096) == b""
    finally:
        client.close()


def test_requests_ending_within_the_timeout_are_answered(start: Callable[..., tuple[str, int]],
                                                          app: Blocking) -> None:
    address = start(shutdown_timeout=10)
    pool = drupe.server.httpserver.requests
    client = Client(address, "/nap?seconds=0.6")
    client.start()
    assert app.entered.wait(10)
    elapsed = _stop_timed()
    client.join(10)
    assert client.result == (200, b"napped 0.6")
    assert elapsed < 0.6 + _SLACK
    assert pool.retired == []


def test_none_waits_for_the_request_however_long_it_takes(start: Callable[..., tuple[str, int]],
                                                          app: Blocking) -> None:
    address = start(shutdown_timeout=None)
    client = Client(address, "/nap?seconds=1.2")
    client.start()
    assert app.entered.wait(10)
    elapsed = _stop_timed()
    client.join(10)
    assert client.result == (200, b"napped 1.2")
    assert elapsed >= 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_restart_is_not_disturbed_by_a_retired_worker(start: Callable[..., tuple[str, int]],
                                                        app: Blocking, http_get: Any) -> None:
    # A fixed port, as in production: the listening socket then has SO_REUSEADDR, so the
    # port can be bound again while the retired worker still holds its (shut) connection.
    address = start(shutdown_timeout=0.2, thread_pool=2, socket_port=_free_port())
    old_pool = drupe.server.httpserver.requests
    client = Client(address, "/hold")
    client.start()
    assert app.entered.wait(10)
    drupe.engine.stop()
    client.join(10)
    [retired] = old_pool.retired

    drupe.engine.start()
    try:
        assert drupe.server.bound_addr == address
        pool = drupe.server.httpserver.requests
        workers = list(pool._threads)
        assert len(workers) == 2
        assert retired not in workers
        # The retired worker returns while the new run serves: it takes no connection and
        # no stop request meant for the new workers; it just ends.
        app.release.set()
        retired.join(10)
        assert not retired.is_alive()
        for _ in range(6):
            assert http_get(address, "/")[:2] == (200, b"ok")
        assert all(worker.is_alive() for worker in workers)
    finally:
        drupe.engine.stop()
    assert pool.retired == []
    assert not any(worker.is_alive() for worker in workers)


def test_a_full_accepted_queue_does_not_hold_up_the_stop(start: Callable[..., tuple[str, int]],
                                                         app: Blocking) -> None:
    # One worker, busy; one connection waiting in the queue, which is then full: the stop
    # requests still go in, and the waiting connection is closed unanswered at the timeout.
    address = start(shutdown_timeout=0.3, thread_pool=1, thread_pool_max=1, accepted_queue_size=1,
                    accepted_queue_timeout=0.1)
    pool = drupe.server.httpserver.requests
    busy = Client(address, "/hold")
    busy.start()
    assert app.entered.wait(10)
    waiting = Client(address, "/")
    waiting.start()
    deadline = time.monotonic() + 10
    while pool.qsize < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.qsize == 1
    elapsed = _stop_timed()
    assert elapsed < 0.3 + CUT_GRACE + _SLACK
    busy.join(10)
    waiting.join(10)
    assert not isinstance(waiting.result, tuple) or waiting.result[0] != 200, waiting.result
    app.release.set()
    for worker in pool.retired:
        worker.join(10)


def test_a_tls_connection_blocked_in_a_read_is_cut_too(start: Callable[..., tuple[str, int]],
                                                       app: Blocking, pki: Any) -> None:
    # The worker reads through the TLS layer: the shut socket ends that read as well.
    address = start(shutdown_timeout=0.5, min_body_rate=0, socket_timeout=20, ssl_module="builtin",
                    ssl_certificate=pki.certificate, ssl_private_key=pki.private_key)
    pool = drupe.server.httpserver.requests
    context = ssl.create_default_context(cafile=pki.certificate)
    raw = socket.create_connection(address, timeout=10)
    with context.wrap_socket(raw, server_hostname="localhost") as client:
        client.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
        assert app.entered.wait(10)
        workers = list(pool._threads)
        elapsed = _stop_timed()
        assert 0.5 <= elapsed < 0.5 + CUT_GRACE + _SLACK
        assert pool.retired == []
        assert not any(worker.is_alive() for worker in workers)
        assert app.finished.is_set()
        # No answer: the connection ends (without a TLS close_notify, which some clients
        # report as an error).
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            assert client.recv(4096) == b""
