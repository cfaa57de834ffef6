"""Starting and stopping the cheroot server through the engine, on real sockets."""

from __future__ import annotations

import errno
import http.client
import socket
import threading
from typing import Any

import pytest

import drupe
from drupe_server_cheroot import CherootServer, ServerStartError


def test_the_entry_point_names_this_server() -> None:
    assert drupe.registry.load("drupe.servers", "cheroot") is CherootServer
    assert drupe.registry.distribution("drupe.servers", "cheroot")[0] == "drupe-server-cheroot"


def test_start_serves_and_stop_frees_the_port(root: Any, serve: Any, http_get: Any,
                                              port_accepts: Any) -> None:
    address = serve(root)
    server = drupe.server.httpserver
    assert isinstance(server, CherootServer)
    assert server.ready
    assert server.scheme == "http"
    assert address[0] == "127.0.0.1"
    assert address[1] > 0
    assert drupe.server.description == f"http://127.0.0.1:{address[1]}"

    status, body, _ = http_get(address, "/")
    assert (status, body) == (200, b"Hello World!")

    workers = list(server.requests._threads)
    assert len(workers) == 10
    drupe.engine.stop()
    assert not server.ready
    assert server.socket is None
    assert not port_accepts(address)
    # stop() returns only once the worker threads are gone.
    assert not any(worker.is_alive() for worker in workers)
    # The address stays readable after stop (the kernel logs it).
    assert server.bound_addr == address


def test_start_blocks_while_serving_and_returns_after_stop(root: Any) -> None:
    drupe.config.update({"server.socket_port": 0})
    drupe.tree.mount(root)
    server = CherootServer(drupe.server, drupe.tree)
    assert server.bound_addr is None
    assert not server.ready
    runner = threading.Thread(target=server.start)
    runner.start()
    try:
        for _ in range(500):
            if server.ready:
                break
            threading.Event().wait(0.01)
        assert server.ready
        assert runner.is_alive()
    finally:
        server.stop()
        runner.join(10)
    assert not runner.is_alive()


def test_two_servers_at_once(root: Any, serve: Any, http_get: Any, port_accepts: Any) -> None:
    # The documentation's "Multiple HTTP servers support" example, on free ports.
    second = drupe.Server()
    second.socket_port = 0
    second.subscribe()
    first_address = serve(root)
    second_address = second.bound_addr
    assert second_address != first_address
    assert http_get(first_address, "/")[1] == b"Hello World!"
    assert http_get(second_address, "/")[1] == b"Hello World!"
    assert second.httpserver is not drupe.server.httpserver
    drupe.engine.exit()
    assert not port_accepts(first_address)
    assert not port_accepts(second_address)
    second.unsubscribe()


def test_keep_alive_serves_two_requests_on_one_connection(root: Any, serve: Any) -> None:
    address = serve(root)
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", "/")
        first = connection.getresponse()
        assert first.read() == b"Hello World!"
        assert first.getheader("Connection") is None  # HTTP/1.1: persistent by default
        local_port = connection.sock.getsockname()[1]
        connection.request("GET", "/echo?a=1")
        second = connection.getresponse()
        assert second.read() == b"[('a', '1')]"
        # Still the same TCP connection: http.client reconnects silently otherwise.
        assert connection.sock.getsockname()[1] == local_port
    finally:
        connection.close()


def test_stop_closes_idle_keep_alive_connections(root: Any, serve: Any) -> None:
    address = serve(root)
    client = socket.create_connection(address, timeout=10)
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while not received.endswith(b"Hello World!"):
            chunk = client.recv(4096)
            assert chunk
            received += chunk
        drupe.engine.stop()
        # The server closed its end: the client reads end-of-stream.
        assert client.recv(4096) == b""
    finally:
        client.close()


def test_a_listening_port_is_reported_as_in_use(root: Any, serve: Any) -> None:
    occupier = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen(1)
        port = occupier.getsockname()[1]
        with pytest.raises(OSError, match=rf"Port {port} is already in use"):
            serve(root, socket_port=port)
        assert drupe.engine.state == drupe.states.STOPPED
    finally:
        occupier.close()


def test_a_bound_port_is_reported_with_the_setting_to_change(root: Any, serve: Any,
                                                             log_messages: list[str]) -> None:
    # Bound but not listening: nothing answers, so only the bind itself can tell.
    occupier = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        occupier.bind(("127.0.0.1", 0))
        port = occupier.getsockname()[1]
        with pytest.raises(ServerStartError) as caught:
            serve(root, socket_port=port)
        message = str(caught.value)
        assert caught.value.errno == errno.EADDRINUSE
        assert message.startswith(f"Config key 'server.socket_port': port {port} on '127.0.0.1' "
                                  "is already in use")
        assert "choose another server.socket_port" in message
        assert drupe.engine.state == drupe.states.STOPPED
        # Logged as a startup error: the message, without a traceback.
        logged = [msg for msg in log_messages if "already in use" in msg]
        assert logged
        assert "Traceback" not in logged[0]
    finally:
        occupier.close()


def test_an_unresolvable_host_names_socket_host(root: Any, serve: Any) -> None:
    with pytest.raises(ServerStartError, match=r"'server.socket_host': 'no-such-host.invalid'"):
        serve(root, socket_host="no-such-host.invalid")


def test_a_foreign_address_names_socket_host(root: Any, serve: Any) -> None:
    # 192.0.2.0/24 is reserved for documentation: no machine owns it.
    with pytest.raises(ServerStartError, match=r"'server.socket_host': '192.0.2.1' is not an "
                                               r"address of this machine"):
        serve(root, socket_host="192.0.2.1")


def test_the_engine_can_start_again_after_a_stop(root: Any, serve: Any, http_get: Any) -> None:
    address = serve(root)
    drupe.engine.stop()
    drupe.server.socket_port = address[1]
    drupe.engine.start()
    assert http_get(address, "/")[1] == b"Hello World!"


def test_cherootserver_logs_through_the_engine(root: Any, serve: Any,
                                                log_messages: list[str]) -> None:
    serve(root)
    drupe.server.httpserver.error_log("a message from cheroot", level=30)
    assert "a message from cheroot" in log_messages
