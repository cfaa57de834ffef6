"""Serving on a UNIX socket file (``server.socket_file``), with peer credentials."""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_server_cheroot import ServerStartError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="UNIX sockets need a POSIX system")


def serve_unix(app: Any, path: Path, **settings: Any) -> None:
    config = {"server.socket_file": str(path)}
    config.update({f"server.{key}": value for key, value in settings.items()})
    drupe.config.update(config)
    drupe.tree.mount(app)
    drupe.engine.start()


def unix_get(unix_connection: Any, path: Path, url: str) -> tuple[int, bytes]:
    connection = unix_connection(str(path))
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_serves_on_a_socket_file_and_removes_it_after_stop(root: Any, tmp_path: Path,
                                                           unix_connection: Any) -> None:
    path = tmp_path / "drupe.sock"
    serve_unix(root, path)
    server = drupe.server.httpserver
    assert server.bound_addr == str(path)
    assert drupe.server.description == f"socket file: {path}"
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert unix_get(unix_connection, path, "/") == (200, b"Hello World!")
    # WSGI has no port for a UNIX socket; the environ says so with an empty SERVER_PORT.
    assert unix_get(unix_connection, path, "/environ?name=SERVER_PORT") == (200, b"''")
    assert unix_get(unix_connection, path, "/environ?name=SERVER_NAME") == (200, repr(str(path)).encode())
    drupe.engine.stop()
    assert server.socket is None
    assert not path.exists()


def test_peercreds_put_the_client_process_in_the_environ(root: Any, tmp_path: Path,
                                                         unix_connection: Any) -> None:
    path = tmp_path / "creds.sock"
    serve_unix(root, path, peercreds=True, peercreds_resolve=True)
    assert unix_get(unix_connection, path, "/environ?name=X_REMOTE_PID") == (
        200, repr(str(os.getpid())).encode())
    assert unix_get(unix_connection, path, "/environ?name=X_REMOTE_UID") == (
        200, repr(str(os.getuid())).encode())
    import pwd  # POSIX only, like the whole module

    user = pwd.getpwuid(os.getuid()).pw_name
    assert unix_get(unix_connection, path, "/environ?name=REMOTE_USER") == (200, repr(user).encode())


def test_without_peercreds_there_are_none(root: Any, tmp_path: Path, unix_connection: Any) -> None:
    path = tmp_path / "plain.sock"
    serve_unix(root, path)
    assert unix_get(unix_connection, path, "/environ?name=X_REMOTE_PID") == (200, b"None")


def test_peercreds_without_resolve_give_ids_but_no_names(root: Any, tmp_path: Path,
                                                         unix_connection: Any) -> None:
    path = tmp_path / "ids.sock"
    serve_unix(root, path, peercreds=True)
    assert unix_get(unix_connection, path, "/environ?name=X_REMOTE_PID") == (
        200, repr(str(os.getpid())).encode())
    assert unix_get(unix_connection, path, "/environ?name=REMOTE_USER") == (200, b"None")


def test_a_stale_socket_file_is_replaced(root: Any, tmp_path: Path, unix_connection: Any) -> None:
    path = tmp_path / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))
    leftover.close()  # the file stays, with nobody listening: what a crashed server leaves
    serve_unix(root, path)
    assert unix_get(unix_connection, path, "/") == (200, b"Hello World!")


def test_a_socket_file_in_use_is_an_error(root: Any, tmp_path: Path) -> None:
    path = tmp_path / "busy.sock"
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        other.bind(str(path))
        other.listen(1)
        with pytest.raises(ServerStartError, match=r"'server.socket_file': .* is in use: another "
                                                   r"server listens on it"):
            serve_unix(root, path)
        # The other server's socket file is left alone.
        assert stat.S_ISSOCK(path.stat().st_mode)
    finally:
        other.close()


def test_a_regular_file_at_the_path_is_never_deleted(root: Any, tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("precious")
    with pytest.raises(ServerStartError, match=r"'server.socket_file': .* exists and is not a "
                                               r"socket; refusing to replace it"):
        serve_unix(root, path)
    assert path.read_text() == "precious"


def test_a_missing_directory_is_an_error_naming_socket_file(root: Any, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "drupe.sock"
    with pytest.raises(ServerStartError, match=r"'server.socket_file': cannot listen on"):
        serve_unix(root, path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux only")
def test_an_abstract_socket_is_served(root: Any) -> None:
    name = f"\0drupe-test-{os.getpid()}"
    serve_unix(root, Path(name))
    assert drupe.server.bound_addr == name
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.settimeout(10)
        client.connect(name)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := client.recv(4096):
            reply += chunk
    finally:
        client.close()
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert reply.endswith(b"Hello World!")
