"""Fixtures for the memcached backend's tests: a real memcached, a counter application.

``memcached_server`` (from drupe-testing) starts ``memcached`` on a free loopback port for
one test and stops it afterwards; the test is skipped, saying what to install, when the
binary is missing. Every test starts and ends with ``drupe.reset()``, closes the backend's
connections, and must leave no thread behind.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_session_memcached import MemcachedSession
from drupe_testing.services import memcached_server

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


@pytest.fixture(autouse=True)
def clean_drupe(drupe_reset: None) -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    MemcachedSession.close_all()
    drupe.reset()
    deadline = time.monotonic() + 5
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"the test left threads running: {leaked}"


@pytest.fixture
def mount_counter() -> Callable[..., drupe.Application]:
    """``mount_counter(**tools_sessions_options)``: the counter app at ``/`` with sessions on."""

    def mount(**options: Any) -> drupe.Application:
        config = {"tools.sessions.on": True}
        config.update({f"tools.sessions.{key}": value for key, value in options.items()})
        return drupe.tree.mount(Counter(), "/", {"/": config})

    return mount


def _get(port: int, path: str, cookie: str | None = None) -> tuple[int, str, str | None]:
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


def _hammer(ports: list[int], cookie: str, threads: int = 20, per_thread: int = 25) -> list[str]:
    """``threads`` threads each GET ``/`` ``per_thread`` times (spread over ``ports``).

    Returns the problems seen (non-200 answers, exceptions); an empty list is success.
    """
    problems: list[str] = []

    def work(number: int) -> None:
        for i in range(per_thread):
            port = ports[(number + i) % len(ports)]
            try:
                status, body, _ = _get(port, "/", cookie)
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


@pytest.fixture
def get() -> Callable[..., tuple[int, str, str | None]]:
    """``get(port, path, cookie=None)`` -> (status, body, ``name=value`` of Set-Cookie)."""
    return _get


@pytest.fixture
def hammer() -> Callable[..., list[str]]:
    """``hammer(ports, cookie, threads=20, per_thread=25)`` -> the problems seen."""
    return _hammer


@pytest.fixture
def counter_script(tmp_path: Path) -> Path:
    """The counter application as a program: ``python counter.py <port> <config json>``."""
    path = tmp_path / "counter.py"
    path.write_text(COUNTER_APP, encoding="utf-8")
    return path
