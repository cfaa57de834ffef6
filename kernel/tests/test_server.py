"""The server facade: ServerAdapter and Server running real (tiny) socket servers on the bus."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_support import FakeDistributions, error_lines, unused_module_name

import drupe
from drupe._server import Timeouts, port_is_open

TINY_SERVER = '''
import socket
import threading
import time


class TinyServer:
    """Accepts TCP connections and closes them; honours drupe's server contract.

    ``start()`` blocks while serving, ``stop()`` blocks until the socket is closed,
    ``ready`` is true once listening and ``bound_addr`` is the address really bound.
    ``listen_delay`` makes it claim readiness before it listens; ``close_delay`` makes it
    close its socket a while after ``stop()`` was asked for.
    """

    options = {"greeting": "hello"}

    def __init__(self, server=None, app=None, bind_addr=None, listen_delay=0.0,
                 close_delay=0.0):
        if bind_addr is None:
            bind_addr = server.bind_addr
        self.bind_addr = bind_addr
        self.app = app
        self.greeting = getattr(server, "greeting", "hello")
        self.listen_delay = listen_delay
        self.close_delay = close_delay
        self.ready = False
        self.bound_addr = None
        self.socket = None
        self._stopping = threading.Event()
        self._closed = threading.Event()

    def start(self):
        if self.listen_delay:
            self.ready = True  # claims readiness too early; the adapter must check the port
            time.sleep(self.listen_delay)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(self.bind_addr)
        except OSError:
            sock.close()
            self._closed.set()
            raise
        sock.listen(16)
        sock.settimeout(0.02)
        self.socket = sock
        self.bound_addr = sock.getsockname()[:2]
        self.ready = True
        try:
            while not self._stopping.is_set():
                try:
                    connection, _ = sock.accept()
                except socket.timeout:
                    continue
                connection.close()
            if self.close_delay:
                time.sleep(self.close_delay)
        finally:
            sock.close()
            self.ready = False
            self._closed.set()

    def stop(self):
        self._stopping.set()
        if not self.close_delay:
            self._closed.wait(5)
'''

_namespace: dict[str, Any] = {}
exec(compile(TINY_SERVER, "tiny_server", "exec"), _namespace)
TinyServer = _namespace["TinyServer"]


@contextlib.contextmanager
def occupied_port() -> Iterator[int]:
    """A port something else listens on, for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]
    finally:
        sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bus_only() -> Iterator[None]:
    """The engine without the default server (each test brings its own)."""
    drupe.server.unsubscribe()
    yield
    drupe.engine.exit()


def serving_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [line.split(" ENGINE ", 1)[1] for line in error_lines(caplog) if " ENGINE Serving on" in line]


# ---------------------------------------------------------------------------
# ServerAdapter


@pytest.mark.timeout(30)
def test_adapter_start_and_stop(bus_only: None, drupe_logs: pytest.LogCaptureFixture) -> None:
    httpserver = TinyServer(bind_addr=("127.0.0.1", 0))
    adapter = drupe.ServerAdapter(drupe.engine, httpserver, ("127.0.0.1", 0))
    adapter.subscribe()
    try:
        drupe.engine.start()
        host, port = adapter.bound_addr
        assert (host, port != 0) == ("127.0.0.1", True)
        assert port_is_open("127.0.0.1", port)
        assert adapter.running
        assert serving_lines(drupe_logs) == [f"Serving on http://127.0.0.1:{port}"]
        assert adapter.description == f"http://127.0.0.1:{port}"
        drupe.engine.stop()
        assert not port_is_open("127.0.0.1", port)
        assert not adapter.running
        assert any("shut down" in line for line in error_lines(drupe_logs))
    finally:
        adapter.unsubscribe()


@pytest.mark.timeout(30)
def test_start_waits_for_the_port_to_answer(bus_only: None) -> None:
    port = free_port()
    httpserver = TinyServer(bind_addr=("127.0.0.1", port), listen_delay=0.3)
    adapter = drupe.ServerAdapter(drupe.engine, httpserver, ("127.0.0.1", port))
    adapter.subscribe()
    try:
        started = time.monotonic()
        drupe.engine.start()
        assert time.monotonic() - started >= 0.25
        assert port_is_open("127.0.0.1", port)
    finally:
        drupe.engine.exit()
        adapter.unsubscribe()


@pytest.mark.timeout(30)
def test_stop_waits_until_the_port_is_free(bus_only: None) -> None:
    httpserver = TinyServer(bind_addr=("127.0.0.1", 0), close_delay=0.3)
    adapter = drupe.ServerAdapter(drupe.engine, httpserver, ("127.0.0.1", 0))
    adapter.subscribe()
    try:
        drupe.engine.start()
        port = adapter.bound_addr[1]
        started = time.monotonic()
        drupe.engine.stop()
        assert time.monotonic() - started >= 0.25
        assert not port_is_open("127.0.0.1", port)
    finally:
        adapter.unsubscribe()


@pytest.mark.timeout(30)
def test_port_already_in_use(bus_only: None, drupe_logs: pytest.LogCaptureFixture) -> None:
    with occupied_port() as port:
        httpserver = TinyServer(bind_addr=("127.0.0.1", port))
        adapter = drupe.ServerAdapter(drupe.engine, httpserver, ("127.0.0.1", port))
        adapter.subscribe()
        try:
            with pytest.raises(OSError) as info:
                drupe.engine.start()
            assert f"Port {port} is already in use on '127.0.0.1'" in str(info.value)
            assert "server.socket_port" in str(info.value)
            assert drupe.engine.state is drupe.states.STOPPED
            assert not adapter.running
        finally:
            adapter.unsubscribe()


@pytest.mark.timeout(30)
def test_a_server_failing_to_bind_fails_the_start(bus_only: None) -> None:
    with occupied_port() as port:
        # bind_addr given to the adapter differs (port 0): the early check cannot see it.
        httpserver = TinyServer(bind_addr=("127.0.0.1", port))
        adapter = drupe.ServerAdapter(drupe.engine, httpserver, ("127.0.0.1", 0))
        adapter.subscribe()
        try:
            with pytest.raises(OSError):
                drupe.engine.start()
            assert drupe.engine.state is drupe.states.STOPPED
        finally:
            adapter.unsubscribe()


@pytest.mark.timeout(30)
def test_several_servers(bus_only: None, drupe_logs: pytest.LogCaptureFixture) -> None:
    adapters = [drupe.ServerAdapter(drupe.engine, TinyServer(bind_addr=("127.0.0.1", 0)),
                                    ("127.0.0.1", 0)) for _ in range(3)]
    for adapter in adapters:
        adapter.subscribe()
    try:
        drupe.engine.start()
        ports = [adapter.bound_addr[1] for adapter in adapters]
        assert len(set(ports)) == 3
        assert all(port_is_open("127.0.0.1", port) for port in ports)
        assert sorted(serving_lines(drupe_logs)) == sorted(
            f"Serving on http://127.0.0.1:{port}" for port in ports)
        drupe.engine.stop()
        assert not any(port_is_open("127.0.0.1", port) for port in ports)
    finally:
        for adapter in adapters:
            adapter.unsubscribe()


def test_adapter_without_a_server(bus_only: None) -> None:
    adapter = drupe.ServerAdapter(drupe.engine)
    adapter.subscribe()
    try:
        with pytest.raises(ValueError, match="No HTTP server has been created"):
            drupe.engine.start()
    finally:
        adapter.unsubscribe()


def test_adapter_priorities() -> None:
    assert drupe.ServerAdapter.start.priority == 75  # type: ignore[attr-defined]
    assert drupe.ServerAdapter.stop.priority == 25  # type: ignore[attr-defined]
    assert Timeouts.occupied > 0
    assert Timeouts.free > 0


# ---------------------------------------------------------------------------
# drupe.server (Server) and server.* config


@pytest.mark.timeout(30)
def test_server_with_an_instance(drupe_logs: pytest.LogCaptureFixture) -> None:
    port = free_port()
    drupe.config.update({"server.socket_port": port,
                         "server.instance": TinyServer(bind_addr=("127.0.0.1", port))})
    drupe.engine.start()
    try:
        assert port_is_open("127.0.0.1", port)
        assert f"Serving on http://127.0.0.1:{port}" in serving_lines(drupe_logs)
    finally:
        drupe.engine.exit()
    assert not port_is_open("127.0.0.1", port)


def add_tiny_server_dist(fake_dists: FakeDistributions) -> str:
    module = unused_module_name("tiny_server_")
    fake_dists.add("tiny-server", {"drupe.servers": {"tiny": f"{module}:TinyServer"}},
                   {module: TINY_SERVER})
    return module


@pytest.mark.timeout(30)
def test_server_type_from_the_registry(fake_dists: FakeDistributions) -> None:
    add_tiny_server_dist(fake_dists)
    port = free_port()
    drupe.config.update({"server.type": "tiny", "server.socket_port": port,
                         "server.greeting": "bonjour"})
    drupe.engine.start()
    try:
        httpserver = drupe.server.httpserver
        assert type(httpserver).__name__ == "TinyServer"
        assert httpserver.app is drupe.tree
        assert httpserver.greeting == "bonjour"
        assert port_is_open("127.0.0.1", port)
    finally:
        drupe.engine.exit()
    assert drupe.server.httpserver is None  # a fresh one on the next start


@pytest.mark.timeout(30)
def test_extra_servers_from_config(fake_dists: FakeDistributions,
                                   drupe_logs: pytest.LogCaptureFixture) -> None:
    add_tiny_server_dist(fake_dists)
    first, second = free_port(), free_port()
    drupe.config.update({
        "server.type": "tiny",
        "server.socket_port": first,
        "server.admin.type": "tiny",
        "server.admin.socket_port": second,
        "server.admin.socket_host": "127.0.0.1",
    })
    assert set(drupe.servers) == {"admin"}
    assert drupe.servers["admin"].socket_port == second
    drupe.engine.start()
    try:
        assert port_is_open("127.0.0.1", first)
        assert port_is_open("127.0.0.1", second)
        assert sorted(serving_lines(drupe_logs)) == sorted(
            [f"Serving on http://127.0.0.1:{first}", f"Serving on http://127.0.0.1:{second}"])
    finally:
        drupe.engine.exit()
    assert not port_is_open("127.0.0.1", second)


@pytest.mark.timeout(30)
def test_an_extra_server_can_be_turned_off(fake_dists: FakeDistributions) -> None:
    add_tiny_server_dist(fake_dists)
    second = free_port()
    drupe.server.unsubscribe()
    drupe.config.update({"server.admin.type": "tiny", "server.admin.socket_port": second,
                         "server.admin.on": False})
    drupe.engine.start()
    try:
        assert not port_is_open("127.0.0.1", second)
    finally:
        drupe.engine.exit()


def test_unknown_server_key_is_an_error_at_start(fake_dists: FakeDistributions) -> None:
    add_tiny_server_dist(fake_dists)
    drupe.config.update({"server.type": "tiny", "server.socket_port": free_port(),
                         "server.greting": "typo"})
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    message = str(info.value)
    assert "'server.greting'" in message
    assert "Did you mean 'server.greeting'?" in message
    assert drupe.engine.state is drupe.states.STOPPED


def test_unknown_server_key_for_the_default_type(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whether or not drupe-server-cheroot is installed here, act as if it were not.
    registry = drupe.registry
    real_load = registry.load

    def load(group: str, name: str, key: str | None = None) -> object:
        if (group, name) == ("drupe.servers", "cheroot"):
            raise registry.missing(group, name, key)
        return real_load(group, name, key)

    monkeypatch.setattr(registry, "load", load)
    drupe.config.update({"server.foo": 1})
    with pytest.raises(drupe.PluginError) as info:
        drupe.engine.start()
    assert "'server.type'" in str(info.value)
    assert "pip install drupe-server-cheroot" in str(info.value)


def test_a_missing_server_type() -> None:
    drupe.config.update({"server.type": "nosuchserver"})
    with pytest.raises(drupe.MissingPluginError) as info:
        drupe.engine.start()
    assert info.value.key == "server.type"
    assert drupe.engine.state is drupe.states.STOPPED


def test_server_settings() -> None:
    server = drupe.server
    assert (server.socket_host, server.socket_port) == ("127.0.0.1", 8080)
    assert server.bind_addr == ("127.0.0.1", 8080)
    assert server.base() == "http://127.0.0.1:8080"
    drupe.config.update({"server.socket_port": 80})
    assert server.base() == "http://127.0.0.1"
    server.bind_addr = ("::1", 8443)
    assert server.base() == "http://[::1]:8443"
    server.bind_addr = "/tmp/drupe.sock"
    assert server.bind_addr == "/tmp/drupe.sock"
    assert server.base() == "/tmp/drupe.sock"
    with pytest.raises(ValueError, match="bind_addr must be"):
        server.bind_addr = (1, 2, 3)
    with pytest.raises(drupe.ConfigError, match=r"'0\.0\.0\.0' instead"):
        drupe.config.update({"server.socket_host": ""})


def test_reset_restores_the_server() -> None:
    drupe.config.update({"server.socket_port": 9999, "server.extra.socket_port": 1})
    drupe.reset()
    assert drupe.server.socket_port == 8080
    assert drupe.servers == {}


def test_no_threads_left_by_a_stopped_server(bus_only: None) -> None:
    before = threading.active_count()
    adapter = drupe.ServerAdapter(drupe.engine, TinyServer(bind_addr=("127.0.0.1", 0)),
                                  ("127.0.0.1", 0))
    adapter.subscribe()
    try:
        drupe.engine.start()
        assert threading.active_count() == before + 1
        drupe.engine.stop()
        assert threading.active_count() == before
    finally:
        adapter.unsubscribe()
