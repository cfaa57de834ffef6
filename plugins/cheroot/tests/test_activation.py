"""Systemd socket activation: a process started with a listening socket on fd 3 serves it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_server_cheroot._activation import activation_requested

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="socket activation is POSIX only")

# The service: a drupe application answering with its pid. server.socket_port names a
# port that is taken (argv[1]): binding it would fail, so an answer proves that the
# inherited socket was served instead.
SERVICE = '''\
import os, sys
import drupe

class Root:
    @drupe.expose
    def index(self):
        return str(os.getpid())

settings = {"log.screen": False, "server.socket_port": int(sys.argv[1])}
if drupe.registry.has("drupe.engine", "autoreload"):
    settings["engine.autoreload.on"] = False
drupe.config.update(settings)
drupe.tree.mount(Root())
drupe.engine.start()
server = drupe.server.httpserver
print(server.bound_addr[1], server.inherited, flush=True)
sys.stdin.read()
drupe.engine.exit()
'''


# Starts the service as systemd does: the socket as fd 3, LISTEN_PID set to the pid of the
# process that then runs the service (exec keeps the pid), LISTEN_FDS to 1.
LAUNCHER = """\
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def _environment_without_activation() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if key not in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")}


@pytest.mark.timeout(60)
def test_a_socket_activated_process_serves_fd_3(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        taken.bind(("127.0.0.1", 0))
        address = listener.getsockname()
        descriptor = listener.fileno()
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(descriptor), "service.py",
             str(taken.getsockname()[1])],
            cwd=tmp_path, pass_fds=(descriptor,), env=_environment_without_activation(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert process.stdout is not None
            announcement = process.stdout.readline().split()
            assert announcement, process.stderr.read() if process.stderr else ""
            assert announcement == [str(address[1]), "True"]
            connection = http.client.HTTPConnection(*address, timeout=10)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                assert (response.status, response.read()) == (200, str(process.pid).encode())
            finally:
                connection.close()
        finally:
            _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
    finally:
        listener.close()
        taken.close()


def test_listen_pid_of_another_process_is_ignored(root: Any, serve: Any, http_get: Any,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  port_accepts: Any) -> None:
    # The variables leak into child processes; only the process they name may use fd 3.
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    monkeypatch.setenv("LISTEN_FDS", "1")
    address = serve(root)
    server = drupe.server.httpserver
    assert not server.inherited
    assert address[1] != 0
    assert http_get(address, "/")[1] == b"Hello World!"
    drupe.engine.stop()
    assert not port_accepts(address)


@pytest.mark.parametrize(("pid", "fds", "expected"), [
    ("self", "1", True),
    ("self", "2", True),
    ("self", "0", False),
    ("self", "", False),
    ("other", "1", False),
    ("", "1", False),
    ("not-a-pid", "1", False),
])
def test_activation_needs_our_pid_and_at_least_one_socket(monkeypatch: pytest.MonkeyPatch,
                                                          pid: str, fds: str, expected: bool) -> None:
    values = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}
    monkeypatch.setenv("LISTEN_PID", values.get(pid, pid))
    monkeypatch.setenv("LISTEN_FDS", fds)
    assert activation_requested() is expected
