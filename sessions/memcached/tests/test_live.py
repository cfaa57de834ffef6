"""The memcached backend behind real servers: shared by processes, surviving restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_testing import LiveServer
from drupe_testing.services import MemcachedProcess, ServerProcess, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def start_counter(counter_script: Path) -> Iterator[Callable[[dict[str, Any]], ServerProcess]]:
    """``start_counter(config)``: the counter app in a process of its own, on a free port."""
    started: list[ServerProcess] = []

    def start(config: dict[str, Any]) -> ServerProcess:
        port = free_port()
        process = ServerProcess(counter_script, port, str(port), json.dumps(config))
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


def test_two_server_processes_share_sessions(memcached_server: MemcachedProcess,
                                             start_counter: Callable[..., ServerProcess],
                                             get: Callable[..., Any], hammer: Callable[..., Any]) -> None:
    """20 threads x 25 increments spread over two processes give exactly 500."""
    config = {"tools.sessions.storage_type": "memcached",
              "tools.sessions.servers": [memcached_server.address]}
    first, second = start_counter(config), start_counter(config)
    status, body, cookie = get(first.port, "/read")
    assert (status, body) == (200, "0")
    assert cookie
    problems = hammer([first.port, second.port], cookie, threads=20, per_thread=25)
    assert not problems, problems[:5]
    assert get(first.port, "/read", cookie)[1] == "500"
    assert get(second.port, "/read", cookie)[1] == "500"


def test_sessions_survive_a_server_process_restart(memcached_server: MemcachedProcess,
                                                   start_counter: Callable[..., ServerProcess],
                                                   get: Callable[..., Any]) -> None:
    server = start_counter({"tools.sessions.storage_type": "memcached",
                            "tools.sessions.servers": [memcached_server.address]})
    _, body, cookie = get(server.port, "/")
    assert body == "1"
    assert get(server.port, "/", cookie)[1] == "2"
    server.stop()
    server.start()
    assert get(server.port, "/", cookie)[1] == "3"


def test_sessions_survive_an_engine_restart(memcached_server: MemcachedProcess,
                                            mount_counter: Callable[..., Any]) -> None:
    mount_counter(storage_class=drupe.lib.sessions.MemcachedSession,
                  servers=[memcached_server.address])
    with LiveServer() as server:
        assert server.get("/").text == "1"
        assert server.get("/").text == "2"
        cookies = server.cookies
    with LiveServer() as server:
        server.cookies = cookies
        assert server.get("/").text == "3"


def test_memcached_down_is_a_503_not_a_hang(memcached_server: MemcachedProcess,
                                            mount_counter: Callable[..., Any],
                                            drupe_error_log: list[str]) -> None:
    mount_counter(storage_type="memcached", servers=[memcached_server.address],
                  connect_timeout=0.5, socket_timeout=0.5)
    with LiveServer() as server:
        assert server.get("/").text == "1"
        memcached_server.stop()
        response = server.get("/")
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        assert any(memcached_server.address in message for message in drupe_error_log)
        memcached_server.start()  # back, empty: a new session, no error
        response = server.get("/")
        assert (response.status, response.text) == (200, "1")
