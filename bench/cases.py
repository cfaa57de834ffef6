"""The benchmark cases: one request each, and what its response must be.

Standard library only: this module is imported by ``run.py`` (workspace environment) and
by ``worker.py`` (every target's environment, including the throwaway CherryPy one).

Adding a case:

1. add a :class:`Case` to :data:`CASES` (the request, and the status/body to expect);
2. add the handler to the apps: ``apps/drupe_app.py`` and ``apps/cherrypy_app.py`` (the same
   code, only the import line differs) and ``apps/raw_app.py`` (a plain WSGI function).

Every worker checks every case's response in-process before timing it, and ``run.py``
checks it once over the socket before loading a server, so a case that answers the wrong
thing (a 404 by accident, say) stops the run instead of producing a figure.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    query: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    status: int = 200
    expect_body: bytes | None = None
    description: str = ""
    # Header names (lower case) the response must carry, e.g. ("content-encoding",).
    expect_headers: tuple[str, ...] = field(default=())

    @property
    def target(self) -> str:
        """The request target (path and query) as sent on the wire."""
        return self.path + ("?" + self.query if self.query else "")

    def check(self, status: int, body: bytes, header_names: set[str] | None = None) -> str | None:
        """None when the response is the expected one, else what is wrong with it."""
        if status != self.status:
            return f"status {status}, expected {self.status}; body {body[:200]!r}"
        if self.expect_body is not None and body != self.expect_body:
            return f"body {body[:200]!r}, expected {self.expect_body!r}"
        if header_names is not None:
            missing = [h for h in self.expect_headers if h not in header_names]
            if missing:
                return f"response lacks header(s) {missing}"
        return None


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case("hello", "/", expect_body=b"Hello world!", description="`/` returns a constant string"),
        Case("greet", "/greet", query="name=x", expect_body=b"Hello x!",
             description="`/greet?name=x`: one query parameter passed to the handler"),
    )
}

DEFAULT_CASES = ("hello", "greet")


def make_environ(case: Case, host: str = "127.0.0.1", port: int = 8080) -> dict[str, object]:
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
    return environ


def fresh_input(case: Case) -> io.BytesIO:
    return io.BytesIO(case.body)
