"""A clean drupe around every test, the in-process client, the error log, raw WSGI streams.

``client`` is drupe-testing's fixture (``Client(drupe.tree)``). ``error_log`` collects what
drupe writes to its error log meanwhile (the applications' logs propagate to it).
``open_stream`` calls ``drupe.tree`` directly and hands back the response body iterable
unread, for tests that watch a streamed body leave piece by piece.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import drupe


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


@pytest.fixture
def error_log(drupe_error_log: list[str]) -> list[str]:
    """drupe's error log during the test (drupe-testing's ``drupe_error_log``)."""
    return drupe_error_log


class Stream:
    """A WSGI response whose body has not been read: ``status``, ``headers``, ``body``."""

    def __init__(self, status: str, headers: list[tuple[str, str]], body: Iterable[bytes]) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = body


@pytest.fixture
def open_stream() -> Iterator[Callable[..., Stream]]:
    opened: list[Any] = []

    def open_stream(path: str, headers: dict[str, str] | None = None) -> Stream:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "localhost",
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: list[Any] = []

        def start_response(status: str, header_list: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, header_list]
            return None

        body = drupe.tree(environ, start_response)
        opened.append(body)
        return Stream(started[0], started[1], body)

    yield open_stream
    for body in opened:
        close = getattr(body, "close", None)
        if close is not None:
            close()
