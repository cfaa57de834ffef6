"""The systemd recipe: socket activation as systemd does it, SIGHUP reload, SIGTERM stop.

systemd binds the socket of ``drupe-app.socket``, forks, puts the socket on fd 3, sets
``LISTEN_FDS=1`` and ``LISTEN_PID`` to the new process's own pid, and executes the
service's ``ExecStart``. The launcher below does exactly that (``LISTEN_PID`` is only
known in the child, so it is set there, just before ``exec``) for the ``ExecStart`` line
read from ``deploy/systemd/drupe-app.service``.
"""

from __future__ import annotations

import shlex
import signal
import socket
import sys
from pathlib import Path

import pytest
from deploy_support import RECIPES, Processes, base_environment, get, wait_for_http

pytestmark = pytest.mark.slow

LAUNCHER = """\
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


def unit(name: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (RECIPES / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            entries[key.strip()] = value.strip()
    return entries


def test_the_socket_and_service_units_describe_socket_activation() -> None:
    socket_unit, service = unit("drupe-app.socket"), unit("drupe-app.service")
    assert socket_unit["ListenStream"] == "127.0.0.1:8080"
    assert service["Requires"] == "drupe-app.socket"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"


def test_drupe_serves_the_socket_systemd_passes_and_keeps_it_across_sighup(
        site: Path, processes: Processes) -> None:
    exec_start = shlex.split(unit("drupe-app.service")["ExecStart"])
    assert Path(exec_start[0]).name == "drupe"
    command = [sys.executable, "-m", "drupe", *exec_start[1:]]   # the same command, from here

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        # app.conf names another port: with socket activation nothing is bound.
        (site / "launch.py").write_text(LAUNCHER)
        service = processes.start(
            [sys.executable, "launch.py", str(listener.fileno()), *command], site,
            env=base_environment(), pass_fds=[listener.fileno()])
        response = wait_for_http(port, process=service)
        assert response.text == f"Hello from pid {service.pid}"
        assert "Socket activation" in service.output()

        # systemctl reload: the process re-executes itself, same pid, same socket; the
        # connection made meanwhile waits in the socket's backlog and is served after.
        service.send_signal(signal.SIGHUP)
        service.wait_for_output("Re-spawning")
        assert get(port).text == f"Hello from pid {service.pid}"
        service.wait_for_output("ENGINE Bus STARTED", count=2)

        # systemctl stop
        service.send_signal(signal.SIGTERM)
        assert service.finish() == 0
        # The socket belongs to systemd (here: this test): still open and listening.
        assert listener.fileno() >= 0
    finally:
        listener.close()
