"""The benchmark cases: one request each, and what its response must be.

Standard library only: this module is imported by ``run.py`` (workspace environment) and
by ``worker.py`` (every target's environment, including the throwaway peers one).

Adding a case:

1. add a :class:`Case` to :data:`CASES` (the request, and the status/body to expect);
2. add the handler to the apps: ``apps/drupe_app.py`` and ``apps/cherrypy_app.py`` (the same
   code, only the import line differs), ``apps/raw_app.py`` (a plain WSGI function) and
   ``apps/falcon_app.py``;
3. if it needs a drupe plugin, name the registry entries in ``Case.requires``: when one is
   not installed, the case is reported as "not measured" instead of failing the run.

Every worker checks every case's response in-process before timing it, and ``run.py``
checks it once over the socket before loading a server, so a case that answers the wrong
thing (a 404 by accident, say) stops the run instead of producing a figure.

Every worker imports this module before it serves, so it imports little (no dataclasses,
pathlib, json or gzip at import): its cost is part of every target's start-up figure.
"""

from __future__ import annotations

import functools
import io
import os
import random
import sys
from typing import Any
from urllib.parse import unquote


class Case:
    """One benchmark request and what its answer must be (keyword arguments, see below)."""

    name: str
    path: str
    query: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    status: int = 200
    expect_body: bytes | None = None
    # The body must be this static file's content (see static_bytes; built on first check).
    expect_file: str | None = None
    # The body must be this JSON value (compared parsed: separators may differ).
    expect_json: object = None
    # The body must be an integer in decimal (the session counter).
    expect_counter: bool = False
    # The body is gzip-compressed; expect_body is compared with the decompressed bytes.
    gzipped: bool = False
    description: str = ""
    # Header names (lower case) the response must carry, e.g. ("content-encoding",).
    expect_headers: tuple[str, ...] = ()
    # drupe registry entries (group, name) the case needs; missing ones: "not measured".
    requires: tuple[tuple[str, str], ...] = ()
    # True: a static file served from disk (the 1x-CherryPy target), else dynamic (2x).
    static: bool = False
    # True: the client keeps a session cookie (run.py gets one before loading the server).
    session: bool = False

    def __init__(self, name: str, path: str, **fields: Any) -> None:
        self.name = name
        self.path = path
        for key, value in fields.items():
            if not hasattr(Case, key):
                raise TypeError(f"Case has no field {key!r}")
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"Case({self.name!r}, {self.method} {self.target})"

    @property
    def target(self) -> str:
        """The request target (path and query) as sent on the wire."""
        return self.path + ("?" + self.query if self.query else "")

    def check(self, status: int, body: bytes, header_names: set[str] | None = None) -> str | None:
        """None when the response is the expected one, else what is wrong with it."""
        if status != self.status:
            return f"status {status}, expected {self.status}; body {body[:200]!r}"
        if self.gzipped:
            import gzip

            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                return f"body is not gzip ({exc}): {body[:60]!r}"
        expected = self.expect_body if self.expect_file is None else static_bytes(self.expect_file)
        if expected is not None and body != expected:
            return f"body {body[:200]!r} ({len(body)} bytes), expected {expected[:60]!r} " \
                   f"({len(expected)} bytes)"
        if self.expect_json is not None:
            import json

            try:
                value = json.loads(body)
            except ValueError:
                return f"body is not JSON: {body[:200]!r}"
            if value != self.expect_json:
                return f"JSON {value!r}, expected {self.expect_json!r}"
        if self.expect_counter and not body.strip().isdigit():
            return f"body {body[:200]!r} is not a counter"
        if header_names is not None:
            missing = [h for h in self.expect_headers if h not in header_names]
            if missing:
                return f"response lacks header(s) {missing}"
        return None


def _text(size: int) -> bytes:
    """Deterministic, compressible text of exactly ``size`` bytes (the gzip case's page).

    Words drawn from a small vocabulary by a seeded generator, ten to a numbered line:
    gzip takes it to about a quarter, as it would an HTML page. Cheap to build (a few
    thousand operations), as every worker builds it at import.
    """
    words = (b"drupe", b"cherry", b"stone", b"fruit", b"kernel", b"plugin", b"request", b"response",
             b"header", b"body", b"tool", b"hook", b"engine", b"server", b"thread", b"socket")
    picks = random.Random(7).randbytes(size // 4)
    lines = [b"%05d " % (n // 10) + b" ".join(words[p & 15] for p in picks[n:n + 10])
             for n in range(0, len(picks), 10)]
    return b"\n".join(lines)[:size]


GZIP_PAGE = _text(32 * 1024)
JSON_OUT = {"message": "Hello world!", "ok": True, "items": [1, 2, 3], "nested": {"a": None}}
JSON_IN = {"name": "x", "tags": ["a", "b", "c"], "count": 3, "price": 9.5, "meta": {"k": "v"}}
# JSON_IN, compactly encoded (written out: json is not imported here).
JSON_IN_BODY = b'{"name":"x","tags":["a","b","c"],"count":3,"price":9.5,"meta":{"k":"v"}}'
STATIC_FILES = {"64k.bin": 64 * 1024, "1m.bin": 1024 * 1024}


@functools.lru_cache
def static_bytes(name: str) -> bytes:
    """The content of a static file (random bytes from a fixed seed: not compressible)."""
    return random.Random(name).randbytes(STATIC_FILES[name])


def write_static_dir(directory: str | os.PathLike[str]) -> str:
    """Create (or refresh) the static files the static cases serve; return the directory."""
    os.makedirs(directory, exist_ok=True)
    for name in STATIC_FILES:
        path = os.path.join(directory, name)
        data = static_bytes(name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        with open(path, "wb") as f:
            f.write(data)
    return os.fspath(directory)


_JSON = (("drupe.tools", "json_out"),)
_SESSIONS = (("drupe.tools", "sessions"), ("drupe.sessions", "ram"))

CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case("hello", "/", expect_body=b"Hello world!", description="`/` returns a constant string"),
        Case("greet", "/greet", query="name=x", expect_body=b"Hello x!",
             description="`/greet?name=x`: one query parameter passed to the handler"),
        Case("json_out", "/json_out", expect_json=JSON_OUT, requires=_JSON,
             description="`tools.json_out`: a small dict encoded as JSON"),
        Case("json_in", "/json_in", method="POST", headers=(("Content-Type", "application/json"),),
             body=JSON_IN_BODY, expect_json=JSON_IN,
             requires=(("drupe.tools", "json_in"), *_JSON),
             description=f"POST of a {len(JSON_IN_BODY)}-byte JSON object, `tools.json_in` + "
                         "`tools.json_out` echo it back"),
        Case("notfound", "/nowhere", status=404,
             description="an unknown path: the framework's 404 page"),
        Case("static64k", "/static/64k.bin", expect_file="64k.bin", static=True,
             requires=(("drupe.tools", "staticdir"),),
             description="`tools.staticdir`: a 64 KiB file"),
        Case("static1m", "/static/1m.bin", expect_file="1m.bin", static=True,
             requires=(("drupe.tools", "staticdir"),),
             description="`tools.staticdir`: a 1 MiB file"),
        Case("session", "/session", expect_counter=True, session=True, requires=_SESSIONS,
             description="RAM session: a counter in the session, incremented per request "
                         "(every connection sends the same session cookie)"),
        Case("gzip", "/gzip", headers=(("Accept-Encoding", "gzip"),), expect_body=GZIP_PAGE,
             gzipped=True, expect_headers=("content-encoding",), requires=(("drupe.tools", "gzip"),),
             description="`tools.gzip`: a 32 KiB text page compressed per request (level 5)"),
    )
}

DEFAULT_CASES = tuple(CASES)


def make_environ(case: Case, host: str = "127.0.0.1", port: int = 8080,
                 cookie: str | None = None) -> dict[str, object]:
    """A WSGI environ like the one cheroot builds for ``case`` (``wsgi.input`` is set per call).

    Keys and header set mirror what ``cheroot.wsgi.Gateway_10`` produces for a request from
    a typical client, so the in-process figures see the same environ the socket ones do.
    """
    environ: dict[str, object] = {
        "ACTUAL_SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": unquote(case.path, encoding="latin-1"),
        "QUERY_STRING": case.query,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "54321",
        "REQUEST_METHOD": case.method,
        "REQUEST_URI": case.target,
        "SCRIPT_NAME": "",
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "bench",
        "wsgi.errors": sys.stderr,
        "wsgi.multiprocess": False,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "HTTP_HOST": f"{host}:{port}",
        "HTTP_USER_AGENT": "bench/1",
        "HTTP_ACCEPT": "*/*",
    }
    for name, value in case.headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    if case.body:
        environ["CONTENT_LENGTH"] = str(len(case.body))
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def fresh_input(case: Case) -> io.BytesIO:
    return io.BytesIO(case.body)


def session_cookie(set_cookie_values: list[str]) -> str | None:
    """``session_id=...`` from a response's Set-Cookie header values, for the next requests."""
    for value in set_cookie_values:
        first = value.split(";", 1)[0].strip()
        if first.startswith("session_id="):
            return first
    return None
