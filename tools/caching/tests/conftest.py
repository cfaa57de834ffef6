"""A clean drupe around each caching test, no leaked expiry threads, and raw WSGI calls."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe

SWEEPER = "drupe-caching-expiry"


def sweepers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == SWEEPER]


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()
    deadline = time.monotonic() + 5
    while sweepers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not sweepers(), "the test left a cache expiry thread running"


@pytest.fixture
def error_log(drupe_error_log: list[str]) -> list[str]:
    return drupe_error_log


def environ(path: str = "/", method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        result["HTTP_" + name.upper().replace("-", "_")] = value
    return result


@pytest.fixture
def open_body() -> Iterator[Callable[..., tuple[str, Any]]]:
    """``open_body(path)``: call drupe.tree; (status, the body iterable, not yet read)."""
    opened: list[Any] = []

    def open_body(path: str = "/", **kwargs: Any) -> tuple[str, Any]:
        started: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started.append(status)
            return None

        result = drupe.tree(environ(path, **kwargs), start_response)
        opened.append(result)
        return started[0], result

    yield open_body
    for result in opened:
        close = getattr(result, "close", None)
        if close is not None:
            close()
