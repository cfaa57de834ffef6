"""In-process WSGI calls for the gzip tool's tests, and a clean drupe around each test.

``call(path, ...)`` builds a PEP 3333 environ, calls ``drupe.tree`` with it, consumes and
closes the body, and returns a :class:`Reply` (status, headers, body bytes).
``open_stream(path, ...)`` returns the reply with the body iterable still unread, for tests
that watch a streamed body arrive piece by piece (they must close it).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import drupe


class Reply:
    """One WSGI response: the status line, the headers (case-insensitive) and the body."""

    def __init__(self, status: str, header_list: list[tuple[str, str]], body: bytes,
                 body_iterable: Iterable[bytes] | None = None) -> None:
        self.status = status
        self.code = int(status.split(" ", 1)[0])
        self.header_list = header_list
        self.body = body
        self.body_iterable = body_iterable

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (``None`` when absent; fails when repeated)."""
        values = [value for key, value in self.header_list if key.lower() == name.lower()]
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.header_list} {self.body[:60]!r}>"


def make_environ(path: str = "/", method: str = "GET", accept_encoding: str | None = None,
                 headers: dict[str, str] | None = None, query_string: str = "",
                 protocol: str = "HTTP/1.1") -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "SERVER_PROTOCOL": protocol,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8080",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if accept_encoding is not None:
        environ["HTTP_ACCEPT_ENCODING"] = accept_encoding
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _start(environ: dict[str, Any]) -> tuple[Iterable[bytes], list[Any]]:
    started: list[Any] = []

    def start_response(status: str, header_list: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, list(header_list)]
        return lambda data: pytest.fail("the write() callable is not expected")

    result = drupe.tree(environ, start_response)
    assert started, "start_response was not called"
    return result, started


@pytest.fixture
def call() -> Callable[..., Reply]:
    def call(path: str = "/", **kwargs: Any) -> Reply:
        result, (status, header_list) = _start(make_environ(path, **kwargs))
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return Reply(status, header_list, body)

    return call


@pytest.fixture
def open_stream() -> Iterator[Callable[..., Reply]]:
    opened: list[Any] = []

    def open_stream(path: str = "/", **kwargs: Any) -> Reply:
        result, (status, header_list) = _start(make_environ(path, **kwargs))
        opened.append(result)
        return Reply(status, header_list, b"", body_iterable=result)

    yield open_stream
    for result in opened:
        close = getattr(result, "close", None)
        if close is not None:
            close()


@pytest.fixture
def error_log(drupe_error_log: list[str]) -> list[str]:
    """drupe's error log during the test (drupe-testing's ``drupe_error_log``)."""
    return drupe_error_log


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()
