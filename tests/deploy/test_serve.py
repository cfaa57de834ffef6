"""``drupe serve MODULE:OBJECT``: root objects, Applications, WSGI callables; ``--reload``."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from deploy_support import Processes, drupe_command, free_port, get, wait_for_http, wait_until

pytestmark = pytest.mark.slow

MODULE = '''
import os
import drupe

class Root:
    @drupe.expose
    def index(self):
        return "root object"

def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("wsgi callable at " + environ["SCRIPT_NAME"] + environ["PATH_INFO"]).encode()]

application = drupe.Application(Root(), script_name=None)
'''


@pytest.mark.parametrize(("target", "options", "path", "expected"), [
    ("served:Root", [], "/", "root object"),
    ("served:application", [], "/", "root object"),
    ("served:wsgi", ["--script-name", "/mounted"], "/mounted/x", "wsgi callable at /mounted/x"),
])
def test_serve_mounts_what_it_is_given(tmp_path: Path, processes: Processes, target: str,
                                       options: list[str], path: str, expected: str) -> None:
    (tmp_path / "served.py").write_text(MODULE)
    port = free_port()
    server = processes.start(drupe_command("serve", target, "--port", str(port), *options), tmp_path)
    assert wait_for_http(port, path, process=server).text == expected
    server.send_signal(signal.SIGTERM)
    assert server.finish() == 0


def test_serve_reports_a_missing_object_with_what_the_module_has(tmp_path: Path,
                                                                processes: Processes) -> None:
    (tmp_path / "served.py").write_text(MODULE)
    done = processes.run(drupe_command("serve", "served:nothing"), tmp_path)
    assert done.returncode == 1
    assert "module 'served' has no attribute 'nothing'. It has: Root, application" in done.stderr
    bad = processes.run(drupe_command("serve", ":Root"), tmp_path)
    assert bad.returncode == 2
    assert "expected MODULE:OBJECT" in bad.stderr


def test_reload_restarts_the_server_process_when_a_source_file_changes(tmp_path: Path,
                                                                      processes: Processes) -> None:
    (tmp_path / "helper.py").write_text("GREETING = 'first'\n")
    (tmp_path / "reloaded.py").write_text(
        "import os\nimport helper\n\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [f'{helper.GREETING} {os.getpid()}'.encode()]\n")
    port = free_port()
    reloader = processes.start(drupe_command("serve", "reloaded:app", "--port", str(port), "--reload",
                                             "--reload-interval", "0.1"), tmp_path)
    greeting, first_pid = wait_for_http(port, process=reloader).text.split()
    assert greeting == "first"
    assert int(first_pid) != reloader.pid   # the server is a child of the reloader

    # A module imported by the application (not the target itself) changes.
    (tmp_path / "helper.py").write_text("GREETING = 'second'\n")
    response = wait_until(lambda: (r := get_or_none(port)) and r.startswith("second") and r,
                          message="the restarted server")
    assert response.split()[1] != first_pid

    # A syntax error: the server cannot start; the reloader waits for the fix.
    (tmp_path / "helper.py").write_text("GREETING = \n")
    reloader.wait_for_output("waiting for a file to change")
    (tmp_path / "helper.py").write_text("GREETING = 'third'\n")
    wait_until(lambda: (r := get_or_none(port)) and r.startswith("third"), message="the fixed server")

    reloader.send_signal(signal.SIGTERM)
    assert reloader.finish() == 0
    assert "stopped." in reloader.output()


def get_or_none(port: int) -> str | None:
    try:
        return get(port, timeout=2).text
    except OSError:
        return None


def test_reload_refuses_daemonizing(tmp_path: Path, processes: Processes) -> None:
    done = processes.run(drupe_command("serve", "x:app", "--reload", "-d"), tmp_path)
    assert done.returncode == 2
    assert "--reload and -d do not go together" in done.stderr
