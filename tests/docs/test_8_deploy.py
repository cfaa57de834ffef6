"""Deploy 8.1–8.3: the engine plugins' fragments, run as the documentation writes them.

The fragments name ``cherrypy.engine`` and the plugin classes without imports (8.2, 8.3):
they run here with ``cherrypy`` being drupe and the names of ``drupe.process.plugins``
in scope. Nothing is started (starting would fork, switch users or write /var/run): the
tests check what each fragment subscribed and at which priority. The processes these
plugins run in are tested for real in tests/deploy/ (daemon, PID file, privileges).
"""

from __future__ import annotations

from typing import Any

from seed import as_drupe, section

import drupe
from drupe.process import plugins


def run_fragment(number: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"cherrypy": drupe, "Daemonizer": plugins.Daemonizer,
                                 "DropPrivileges": plugins.DropPrivileges, "PIDFile": plugins.PIDFile}
    exec(compile(as_drupe(section(number).blocks[0]), f"<section {number}>", "exec"), namespace)
    return namespace


def start_listener(kind: type) -> Any:
    found = [listener for listener in drupe.engine.listeners["start"]
             if isinstance(getattr(listener, "__self__", None), kind)]
    assert len(found) == 1
    return found[0]


def test_8_1_daemonizer_subscribes_at_priority_65() -> None:
    namespace = run_fragment("8.1")
    assert isinstance(namespace["d"], plugins.Daemonizer)
    listener = start_listener(plugins.Daemonizer)
    assert drupe.engine._priorities[("start", listener)] == 65
    assert (namespace["d"].stdin, namespace["d"].stdout, namespace["d"].stderr) == ("/dev/null",) * 3


def test_8_2_drop_privileges_runs_after_the_server() -> None:
    run_fragment("8.2")
    listener = start_listener(plugins.DropPrivileges)
    assert (listener.__self__.uid, listener.__self__.gid) == (1000, 1000)
    server_priority = drupe.engine._priorities[("start", drupe.server.start)]
    assert drupe.engine._priorities[("start", listener)] == 77 > server_priority


def test_8_3_pidfile_writes_on_start_and_removes_on_exit() -> None:
    run_fragment("8.3")
    listener = start_listener(plugins.PIDFile)
    assert listener.__self__.pidfile == "/var/run/myapp.pid"
    assert drupe.engine._priorities[("start", listener)] == 70
    assert listener.__self__.exit in drupe.engine.listeners["exit"]

