"""A session counter application and a load helper, for session-backend tests.

The backends' own test suites (drupe-session-memcached, drupe-session-sqlalchemy, ...)
serve the same counter in-process (:class:`Counter`) and as a separate server program
(:data:`COUNTER_APP`, ``python counter.py <port> <tools.sessions config as JSON>``), and
count increments across threads and processes with :func:`hammer`.
"""

from __future__ import annotations

import http.client
import threading
from typing import Any

import drupe

__all__ = ["COUNTER_APP", "Counter", "get_once", "hammer", "mount_counter"]

COUNTER_APP = '''
import json, os, sys
import drupe

class Root:
    @drupe.expose
    def index(self):
        count = drupe.session.get("count", 0) + 1
        drupe.session["count"] = count
        return str(count)

    @drupe.expose
    def read(self):
        return str(drupe.session.get("count", 0))

    @drupe.expose
    def pid(self):
        return str(os.getpid())

port, config = int(sys.argv[1]), json.loads(sys.argv[2])
drupe.config.update({"server.socket_host": "127.0.0.1", "server.socket_port": port,
                     "log.screen": False, "log.error_file": sys.argv[0] + f".{port}.errors"})
if drupe.registry.has("drupe.engine", "autoreload"):
    # Other files of the workspace may change during the test: no restarts mid-request.
    drupe.config.update({"engine.autoreload.on": False})
drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True, **config}})
drupe.engine.start()
drupe.engine.block()
'''


class Counter:
    """The counter application: ``/`` adds one to the session's count and returns it."""

    @drupe.expose
    def index(self) -> str:
        count = drupe.session.get("count", 0) + 1
        drupe.session["count"] = count
        return str(count)

    @drupe.expose
    def read(self) -> str:
        return str(drupe.session.get("count", 0))

    @drupe.expose
    def store(self, value: str = "") -> str:
        drupe.session["value"] = value
        return "stored"


def mount_counter(**options: Any) -> drupe.Application:
    """The counter app at ``/`` with sessions on and ``tools.sessions.<key>`` = ``options``."""
    config: dict[str, Any] = {"tools.sessions.on": True}
    config.update({f"tools.sessions.{key}": value for key, value in options.items()})
    return drupe.tree.mount(Counter(), "/", {"/": config})


def get_once(port: int, path: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    """One GET over a new connection: status, body text and the session cookie sent back."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        set_cookie = response.getheader("Set-Cookie")
        sent = set_cookie.split(";", 1)[0] if set_cookie else None
        return response.status, body, sent
    finally:
        connection.close()


def hammer(ports: list[int], cookie: str, threads: int = 20, per_thread: int = 25) -> list[str]:
    """``threads`` threads each GET ``/`` ``per_thread`` times (spread over ``ports``).

    Returns the problems seen (non-200 answers, exceptions); an empty list is success.
    """
    problems: list[str] = []

    def work(number: int) -> None:
        for i in range(per_thread):
            port = ports[(number + i) % len(ports)]
            try:
                status, body, _ = get_once(port, "/", cookie)
            except Exception as exc:
                problems.append(repr(exc))
                continue
            if status != 200:
                problems.append(f"{status}: {body[:200]}")

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return problems
