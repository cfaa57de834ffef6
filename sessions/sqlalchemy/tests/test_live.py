"""The SQL backend behind real servers: shared by processes, surviving restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drupe_testing import LiveServer
from drupe_testing.services import ServerProcess, free_port

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


def sessions_config(sql_options: dict[str, Any]) -> dict[str, Any]:
    config = {"tools.sessions.storage_type": "sql"}
    config.update({f"tools.sessions.{key}": value for key, value in sql_options.items()})
    return config


def test_two_server_processes_share_sessions(sql_options: dict[str, Any],
                                             start_counter: Callable[..., ServerProcess],
                                             get: Callable[..., Any], hammer: Callable[..., Any]) -> None:
    """20 threads x 25 increments spread over two processes give exactly 500."""
    config = sessions_config(sql_options)
    first, second = start_counter(config), start_counter(config)
    status, body, cookie = get(first.port, "/")
    assert (status, body) == (200, "1")
    assert cookie
    problems = hammer([first.port, second.port], cookie, threads=20, per_thread=25)
    assert not problems, problems[:5]
    assert get(first.port, "/read", cookie)[1] == "501"
    assert get(second.port, "/read", cookie)[1] == "501"


def test_sessions_survive_a_server_process_restart(sql_options: dict[str, Any],
                                                   start_counter: Callable[..., ServerProcess],
                                                   get: Callable[..., Any]) -> None:
    server = start_counter(sessions_config(sql_options))
    _, body, cookie = get(server.port, "/")
    assert body == "1"
    assert get(server.port, "/", cookie)[1] == "2"
    server.stop()
    server.start()
    assert get(server.port, "/", cookie)[1] == "3"


def test_sessions_survive_an_engine_restart(sql_options: dict[str, Any],
                                            mount_counter: Callable[..., Any]) -> None:
    mount_counter(storage_type="sql", **sql_options)
    with LiveServer() as server:
        assert server.get("/").text == "1"
        assert server.get("/").text == "2"
        cookies = server.cookies
    with LiveServer() as server:
        server.cookies = cookies
        assert server.get("/").text == "3"


def test_counter_over_a_real_socket(sql_options: dict[str, Any], mount_counter: Callable[..., Any],
                                    hammer: Callable[..., Any], get: Callable[..., Any]) -> None:
    """20 threads x 25 increments of one session's counter give exactly 500."""
    mount_counter(storage_type="sql", **sql_options)
    with LiveServer() as server:
        _, body, cookie = get(server.port, "/read")
        assert body == "0"
        problems = hammer([server.port], cookie, threads=20, per_thread=25)
        assert not problems, problems[:5]
        assert get(server.port, "/read", cookie)[1] == "500"
