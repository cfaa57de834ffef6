"""The in-process client: requests go straight into a WSGI callable, no socket involved.

``Client(app)`` plays the part of a WSGI server (PEP 3333) for any WSGI callable — a
``drupe.Application``, ``drupe.tree`` or a foreign app. For each request it:

1. builds the request with :func:`~drupe_testing._prepare.prepare` (``Host``,
   ``Content-Length``, ``Content-Type`` and the jar's ``Cookie`` filled in);
2. builds the environ as a server would: ``PATH_INFO`` is the percent-decoded path
   bytes decoded as latin-1, ``QUERY_STRING`` stays encoded, ``SCRIPT_NAME`` is the
   client's mount point, each header becomes ``HTTP_*`` (``CONTENT_TYPE`` and
   ``CONTENT_LENGTH`` without the prefix, repeated fields joined with ``", "``);
3. calls the app, checks what it does against PEP 3333 (``start_response`` arguments,
   bytes chunks, the ``exc_info`` rules), consumes the body iterable and **always**
   calls its ``close()`` — also when iterating fails;
4. stores the response's cookies in ``client.cookies`` and returns a
   :class:`~drupe_testing.Response`.

An exception raised by the app propagates to the test (drupe turns its own errors into
error responses, so one that escapes is a finding). A PEP 3333 violation raises
:class:`WSGIProtocolError`. The client does not follow redirects and does not strip the
body of a ``HEAD`` response: the test sees exactly what the application produced.
"""

from __future__ import annotations

import contextlib
import io
import re
import urllib.parse
import wsgiref.util
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from drupe_testing._cookies import CookieJar
from drupe_testing._prepare import HeaderInput, ParamsInput, PreparedRequest, prepare
from drupe_testing._response import Response, VerbShortcuts

__all__ = ["Client", "WSGIProtocolError"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | None
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_STATUS = re.compile(r"[0-9]{3} [^\r\n]*\Z")


class WSGIProtocolError(AssertionError):
    """The application broke a rule of PEP 3333 (the message says which)."""


def _check_latin1(what: str, text: str) -> None:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise WSGIProtocolError(f"{what} {text!r} is not a latin-1 native string.") from None


def _check_start_response(status: Any, headers: Any) -> None:
    if type(status) is not str:
        raise WSGIProtocolError(f"The status must be a str, not {type(status).__name__}: {status!r}")
    if not _STATUS.match(status):
        raise WSGIProtocolError(f"The status {status!r} is not 'NNN Reason-Phrase'.")
    _check_latin1("The status", status)
    if type(headers) is not list:
        raise WSGIProtocolError(f"The headers must be a list, not {type(headers).__name__}.")
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise WSGIProtocolError(f"Each header must be a (name, value) tuple, not {item!r}.")
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise WSGIProtocolError(f"Header names and values must be str: {item!r}")
        _check_latin1("The header name", name)
        _check_latin1(f"The value of {name!r}", value)
        if any(char in value for char in "\r\n\0"):
            raise WSGIProtocolError(f"The value of {name!r} contains CR, LF or NUL: {value!r}")
        if wsgiref.util.is_hop_by_hop(name):
            raise WSGIProtocolError(f"A WSGI application may not set the hop-by-hop header {name!r}.")


class _Exchange:
    """One call of the app: the ``start_response`` it is given and what it reported."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.written: list[bytes] = []

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: ExcInfo = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.headers_sent:
                    # PEP 3333: too late to change the status; re-raise the app's error.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise WSGIProtocolError("start_response was called a second time without exc_info.")
        _check_start_response(status, headers)
        self.status = status
        self.headers = list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        """The legacy ``write()`` callable ``start_response`` returns."""
        if self.status is None:
            raise WSGIProtocolError("write() was called before start_response.")
        if type(data) is not bytes:
            raise WSGIProtocolError(f"write() takes bytes, not {type(data).__name__}.")
        self.headers_sent = True
        self.written.append(data)


class Client(VerbShortcuts):
    """Send requests to a WSGI callable in this process (see the module docstring).

    ``host`` and ``port`` are the server's name and port (``SERVER_NAME``,
    ``SERVER_PORT`` and the default ``Host``); ``script_name`` is where the host mounts
    the app: requested paths are full paths, and the part matching ``script_name`` goes
    to ``SCRIPT_NAME``. ``environ`` adds or overrides keys of every environ (per-request
    overrides go to ``request(..., environ=...)``). What the app writes to
    ``wsgi.errors`` collects in ``client.errors``.
    """

    def __init__(self, app: WSGIApp, *, host: str = "localhost", port: int | None = None,
                 scheme: str = "http", script_name: str = "",
                 remote_addr: str = "127.0.0.1", remote_port: int = 54321,
                 environ: dict[str, Any] | None = None, cookies: CookieJar | None = None) -> None:
        self.app = app
        self.host = host
        self.scheme = scheme
        self.port = port if port is not None else (443 if scheme == "https" else 80)
        self.script_name = script_name.rstrip("/")
        self.remote_addr = remote_addr
        self.remote_port = remote_port
        self.environ = dict(environ or {})
        self.cookies = cookies if cookies is not None else CookieJar()
        self.errors = io.StringIO()

    @property
    def netloc(self) -> str:
        """``host[:port]`` as the default ``Host`` header says it."""
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    # -- building the environ ----------------------------------------------------------

    def _split_script_name(self, path_info: str) -> tuple[str, str]:
        if not self.script_name:
            return "", path_info
        # SCRIPT_NAME is latin-1-decoded bytes too: compare in that form.
        mount = urllib.parse.unquote_to_bytes(self.script_name.encode("utf-8")).decode("latin-1")
        if path_info == mount or path_info.startswith(mount + "/"):
            return mount, path_info[len(mount):]
        raise ValueError(
            f"The path {path_info!r} is outside the client's script_name {self.script_name!r}; "
            "request full paths (the mount point included)."
        )

    def build_environ(self, prepared: PreparedRequest,
                      overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The PEP 3333 environ for ``prepared`` (what :meth:`request` passes to the app)."""
        path_info = urllib.parse.unquote_to_bytes(prepared.path).decode("latin-1")
        script_name, path_info = self._split_script_name(path_info)
        body = prepared.body or b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": prepared.method,
            "SCRIPT_NAME": script_name,
            "PATH_INFO": path_info,
            "QUERY_STRING": prepared.query.decode("latin-1"),
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": prepared.protocol,
            "REMOTE_ADDR": self.remote_addr,
            "REMOTE_PORT": str(self.remote_port),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": prepared.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": self.errors,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in prepared.headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            if key in environ:
                # One field sent several times arrives as one comma-separated value
                # (RFC 9110 §5.3); Cookie's own separator is "; " (RFC 6265 §5.4).
                separator = "; " if key == "HTTP_COOKIE" else ", "
                environ[key] = environ[key] + separator + value
            else:
                environ[key] = value
        environ.update(self.environ)
        if overrides:
            environ.update(overrides)
        return environ

    # -- sending -----------------------------------------------------------------------

    def request(self, method: str, path: str | bytes, *, params: ParamsInput = None,
                headers: HeaderInput = None, body: str | bytes | None = None, data: Any = None,
                json: Any = None, protocol: str = "HTTP/1.1",
                environ: dict[str, Any] | None = None) -> Response:
        """Send one request and return the complete response.

        ``path`` is a path with an optional query (``"/echo?message=hi"``), an absolute
        URL (its scheme and authority become ``wsgi.url_scheme`` and ``Host``), or raw
        bytes sent untouched. ``params`` is appended to the query string. ``body`` (bytes
        or str, sent as UTF-8), ``data`` (a form: mapping or pairs, urlencoded) and
        ``json`` are mutually exclusive. ``headers`` is a mapping or a list of pairs
        (repeats allowed; ``None`` removes a default header).
        """
        prepared = prepare(
            method, path, params=params, headers=headers, body=body, data=data, json=json,
            protocol=protocol, scheme=self.scheme, default_host=self.netloc,
            cookies=self.cookies,
        )
        environ_dict = self.build_environ(prepared, environ)
        response = self.call(environ_dict)
        self.cookies.extract(response.headers.get_all("Set-Cookie"), host=prepared.host,
                             path=prepared.cookie_path)
        return response

    def call(self, environ: dict[str, Any]) -> Response:
        """Call the app with a ready-made ``environ`` (no cookies are read or stored)."""
        exchange = _Exchange()
        result = self.app(environ, exchange.start_response)
        chunks = exchange.written
        close = getattr(result, "close", None)
        try:
            for chunk in result:
                if type(chunk) is not bytes:
                    raise WSGIProtocolError(
                        f"The body iterable yielded {type(chunk).__name__}, not bytes: {chunk!r:.80}"
                    )
                if exchange.status is None:
                    raise WSGIProtocolError("The body iterable yielded data before start_response.")
                if chunk:
                    exchange.headers_sent = True
                chunks.append(chunk)
        except BaseException:
            # PEP 3333: the server calls close() whatever happened while iterating; the
            # iteration error is the one the test needs to see, not a failing close().
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            raise
        if close is not None:
            close()
        if exchange.status is None:
            raise WSGIProtocolError("The application returned without calling start_response.")
        return Response(exchange.status, exchange.headers, b"".join(chunks), environ=environ)

    def __repr__(self) -> str:
        return f"<drupe_testing.Client for {self.app!r} at {self.scheme}://{self.netloc}{self.script_name}>"
