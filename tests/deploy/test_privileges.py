"""Run as a different user: bind a privileged port as root, then drop to ``nobody``."""

from __future__ import annotations

import os
import pwd
import signal
import socket
from pathlib import Path

import pytest
from deploy_support import Processes, drupe_command, get, wait_for_http

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="binding a port below 1024 and switching users needs root"),
]

APP = '''
import os
import drupe

class Root:
    @drupe.expose
    def index(self):
        return f"{os.getuid()} {os.getgid()} {os.geteuid()}"
'''


def privileged_free_port() -> int:
    for port in range(1000, 900, -1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024")


def test_server_binds_a_low_port_as_root_then_runs_as_nobody(tmp_path: Path, processes: Processes) -> None:
    nobody = pwd.getpwnam("nobody")
    (tmp_path / "whoami.py").write_text(APP)
    (tmp_path / "drop.conf").write_text(
        "[global]\nengine.drop_privileges.on: True\nengine.drop_privileges.uid: 'nobody'\n"
        "engine.drop_privileges.umask: '027'\n")
    tmp_path.chmod(0o755)
    port = privileged_free_port()
    server = processes.start(drupe_command("serve", "whoami:Root", "--port", str(port), "-c", "drop.conf"),
                             tmp_path)
    wait_for_http(port, process=server)
    # Asked again once the bus is STARTED: a request answered between the bind (priority
    # 75) and the privilege drop (77) would still see root.
    answer = get(port).text
    assert answer == f"{nobody.pw_uid} {nobody.pw_gid} {nobody.pw_uid}"
    output = server.output()
    # The order of the start listeners: the server bound the port, then privileges dropped.
    assert output.index("Serving on") < output.index(f"Running as uid: {nobody.pw_uid}")
    assert "umask changed from" in output
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0
