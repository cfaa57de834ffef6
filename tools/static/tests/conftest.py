"""A clean drupe around every test, a small site on disk, and raw WSGI calls.

``site`` builds a directory tree in ``tmp_path``::

    site/
      secret.txt                      outside the served directory
      static-secret/key.txt           a sibling whose name starts like the served one
      static/
        css/style.css   js/app.js   index.html   empty.txt   data.unknownext
        big.bin (1 MiB)   100%.txt   名前.txt
        sub/            (a directory without index)
        docs/index.html (a directory with an index)
        link-in      -> css/style.css          (a symlink that stays inside)
        link-out     -> ../secret.txt          (a symlink leading outside)
        dirlink-out  -> ../static-secret       (a directory symlink to the sibling)

``wsgi(path, ...)`` calls ``drupe.tree`` directly and returns status, headers and the body
iterable unread, for tests that look at how the body is produced (they close it).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe

STYLE = b"body { background-color: blue; }\n"
BIG_SIZE = 1024 * 1024


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


@pytest.fixture
def error_log(drupe_error_log: list[str]) -> list[str]:
    return drupe_error_log


class Site:
    style = STYLE
    big_size = BIG_SIZE

    def __init__(self, root: Path) -> None:
        self.root = root
        self.static = root / "static"

    def big(self) -> bytes:
        return (self.static / "big.bin").read_bytes()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "site"
    static = root / "static"
    (static / "css").mkdir(parents=True)
    (static / "js").mkdir()
    (static / "sub").mkdir()
    (static / "docs").mkdir()
    (root / "static-secret").mkdir()
    (root / "secret.txt").write_bytes(b"TOP SECRET\n")
    (root / "static-secret" / "key.txt").write_bytes(b"SIBLING SECRET\n")
    (static / "css" / "style.css").write_bytes(STYLE)
    (static / "js" / "app.js").write_bytes(b"console.log('hi');\n")
    (static / "index.html").write_bytes(b"<h1>static index</h1>")
    (static / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    (static / "empty.txt").write_bytes(b"")
    (static / "data.unknownext").write_bytes(b"\x00\x01binary")
    (static / "100%.txt").write_bytes(b"percent")
    (static / "名前.txt").write_bytes("名前".encode())
    (static / "big.bin").write_bytes(bytes(range(256)) * (BIG_SIZE // 256))
    if hasattr(os, "symlink"):
        os.symlink("css/style.css", static / "link-in")
        os.symlink("../secret.txt", static / "link-out")
        os.symlink("../static-secret", static / "dirlink-out")
    return Site(root)


class Started:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: Iterable[bytes]) -> None:
        self.status = status
        self.code = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


def environ_for(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


@pytest.fixture
def wsgi() -> Iterator[Callable[..., Started]]:
    opened: list[Started] = []

    def call(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> Started:
        captured: list[Any] = []

        def start_response(status: str, header_list: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, header_list]
            return None

        body = drupe.tree(environ_for(path, method, headers), start_response)
        started = Started(captured[0], captured[1], body)
        opened.append(started)
        return started

    yield call
    for started in opened:
        started.close()


@pytest.fixture
def open_descriptors() -> Callable[[], int]:
    """Counts the file descriptors this process has open (skips where /proc is missing)."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counting open files needs /proc/self/fd (Linux)")

    def count() -> int:
        return len(os.listdir("/proc/self/fd"))

    return count
