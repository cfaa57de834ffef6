"""``drupe.test.helper``: CherryPy's ``CPWebCase`` test class, for drupe.

Registered as ``test.helper`` in the ``drupe.compat`` entry-point group, so a test written
for CherryPy runs after two import changes::

    import drupe as cherrypy
    from drupe.test import helper

    class EchoTest(helper.CPWebCase):
        @staticmethod
        def setup_server():
            cherrypy.tree.mount(Root())

        def test_echo(self):
            self.getPage("/echo?message=hi")
            self.assertStatus(200)
            self.assertBody("hi")

The life of a test class: ``setup_class`` resets drupe (``drupe.reset()``), applies the
``test_suite`` environment, calls the class's ``setup_server`` (which mounts applications
and sets config), then starts a real HTTP server on 127.0.0.1 and a free port through
:class:`~drupe_testing.LiveServer`; ``HOST`` and ``PORT`` then say where it listens. Every
test method talks to it over real sockets with :meth:`CPWebCase.getPage`, which stores
``self.status`` (``'200 OK'``), ``self.headers`` (a list of pairs) and ``self.body``
(bytes) for the ``assert*`` methods. ``teardown_class`` exits the engine, checks that the
port is free and resets drupe again. A class without ``setup_server`` starts no server.

Under pytest, ``setup_class`` / ``teardown_class`` are called by pytest (as CherryPy's own
suite relies on); under plain unittest, ``setUpClass`` / ``tearDownClass`` call them.

Differences from CherryPy's helper, all deliberate:

* the port is chosen by the OS (never a fixed port), and ``HOST``/``PORT`` are set on the
  test class, not globally;
* ``assertHeader`` (and the other header comparisons) treat values that differ only in
  optional whitespace around the ``;`` that separates parameters as equal
  (``text/html;charset=utf-8`` equals ``text/html; charset=utf-8``): RFC 9110 §5.6.6
  allows that whitespace (``OWS ";" OWS``), so it carries no meaning. Nothing else is
  loosened — whitespace around ``=`` is not allowed by the RFC and still counts;
* ``assertStatus`` also accepts the three digits alone as a string (``'404'``);
* there is no interactive mode (``interactive`` is always ``False``): a failed assertion
  raises ``failureException`` at once;
* ``getPage`` does not retry failed connections (a retry would hide server bugs), and it
  adds ``Content-Length`` whenever it sends a body the test did not frame itself;
* no ``test_gc`` method is added to every class.
"""

from __future__ import annotations

import datetime
import http.client
import re
import socket
import time
import unittest
from collections.abc import Iterable
from typing import Any, ClassVar

from drupe_testing import _runner
from drupe_testing._live import LiveServer, check_server_available
from drupe_testing._prepare import HeaderInput, prepare
from drupe_testing._response import Response
from drupe_testing._wire import client_host, exchange

__all__ = ["CPWebCase", "header_values_equal"]

# Methods whose requests carry a form body by default when the test gives no
# Content-Type (what CherryPy's helper sends, so that its tests keep working).
_FORM = "application/x-www-form-urlencoded"


def _without_parameter_ows(value: str) -> str:
    # Only the whitespace next to a ';' outside quoted-strings goes (RFC 9110 §5.6.6:
    # parameters = *( OWS ";" OWS [ parameter ] )); the rest of the value is untouched.
    # Imported here: loading this module must not import drupe (see the package docstring).
    from drupe.lib.httputil import split_outside_quotes

    return ";".join(part.strip(" \t") for part in split_outside_quotes(value, ";"))


def header_values_equal(expected: Any, actual: str) -> bool:
    """True when ``actual`` is ``expected`` up to optional whitespace around ``;``."""
    expected = str(expected)
    return expected == actual or _without_parameter_ows(expected) == _without_parameter_ows(actual)


class CPWebCase(unittest.TestCase):
    """A unittest test case with a live drupe server per class (see the module docstring)."""

    HOST: ClassVar[str] = "127.0.0.1"
    PORT: ClassVar[int] = 0
    PROTOCOL: ClassVar[str] = "HTTP/1.1"
    HTTP_CONN: Any = http.client.HTTPConnection
    scheme: ClassVar[str] = "http"
    script_name: ClassVar[str] = ""
    interactive: ClassVar[bool] = False
    encoding: ClassVar[str] = "utf-8"
    ssl_context: Any = None
    timeout: ClassVar[float] = 10.0
    date_tolerance: ClassVar[float] = 2

    # What the last getPage() produced.
    url: str | bytes | None = None
    status: str | None = None
    headers: list[tuple[str, str]] = []
    body: bytes = b""
    time: float | None = None
    cookies: list[tuple[str, str]] = []
    response: Response | None = None

    _live_server: ClassVar[LiveServer | None] = None
    _saved_log_screen: ClassVar[bool | None] = None

    # -- the server's life -------------------------------------------------------------

    @classmethod
    def setup_class(cls) -> None:
        """Reset drupe, run ``setup_server`` and start a live server (once per class)."""
        import drupe

        if cls.__dict__.get("_live_server") is not None:
            return
        setup_server = getattr(cls, "setup_server", None)
        if setup_server is not None:
            # Skip before touching anything when there is no server to run.
            check_server_available()
        cls._saved_log_screen = drupe.log.screen
        drupe.reset()
        drupe.config.update({"environment": "test_suite"})
        if setup_server is None:
            return
        try:
            setup_server()
            server = LiveServer(cls.HOST, 0, timeout=cls.timeout)
            server.start()
        except BaseException:
            cls._reset_drupe()
            raise
        cls._live_server = server
        cls.PORT = server.port
        if drupe.server.ssl_certificate or drupe.server.ssl_context:
            cls.scheme = "https"

    @classmethod
    def teardown_class(cls) -> None:
        """Exit the engine (the port must be free again) and reset drupe."""
        server = cls.__dict__.get("_live_server")
        cls._live_server = None
        try:
            if server is not None:
                server.stop()
        finally:
            cls._reset_drupe()

    @classmethod
    def _reset_drupe(cls) -> None:
        import drupe

        drupe.reset()
        saved = cls.__dict__.get("_saved_log_screen")
        if saved is not None and drupe.log.screen != saved:
            drupe.log.screen = saved
        cls._saved_log_screen = None

    @classmethod
    def setUpClass(cls) -> None:
        if not _runner.pytest_runs_setup_class:
            cls.setup_class()

    @classmethod
    def tearDownClass(cls) -> None:
        if not _runner.pytest_runs_setup_class:
            cls.teardown_class()

    # -- addresses ---------------------------------------------------------------------

    def interface(self) -> str:
        """The address a client connects to (loopback for an any-address ``HOST``)."""
        return client_host(self.HOST)

    def prefix(self) -> str:
        """``script_name`` without a trailing slash."""
        return self.script_name.rstrip("/")

    def base(self) -> str:
        """``scheme://host[:port]`` plus ``script_name``: the application's base URL."""
        default = 443 if self.scheme == "https" else 80
        port = "" if default == self.PORT else f":{self.PORT}"
        host = self.HOST if ":" not in self.HOST else f"[{self.HOST}]"
        return f"{self.scheme}://{host}{port}{self.prefix()}"

    # -- connections -------------------------------------------------------------------

    @property
    def _Conn(self) -> type[http.client.HTTPConnection]:
        return http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection

    def get_conn(self, auto_open: bool = False) -> http.client.HTTPConnection:
        """A new connection to the server (connected)."""
        if self.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.interface(), self.PORT, timeout=self.timeout, context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(self.interface(), self.PORT, timeout=self.timeout)
        conn.auto_open = auto_open
        conn.connect()
        return conn

    def set_persistent(self, on: bool = True, auto_open: bool = False) -> None:
        """Keep one connection open across ``getPage`` calls (``on``) or stop doing so.

        The kept connection is ``self.HTTP_CONN`` (an ``http.client.HTTPConnection``).
        After the server closes it, the next ``getPage`` raises
        ``http.client.NotConnected`` unless ``auto_open`` is true, in which case a new
        connection is opened. It is closed at the end of the test.
        """
        current = self.HTTP_CONN
        if isinstance(current, http.client.HTTPConnection):
            current.close()
        if on:
            conn = self.get_conn(auto_open=auto_open)
            self.HTTP_CONN = conn
            self.addCleanup(conn.close)
        else:
            self.HTTP_CONN = self._Conn

    @property
    def persistent(self) -> bool:
        """Whether ``getPage`` reuses one connection (assign to switch)."""
        return isinstance(self.HTTP_CONN, http.client.HTTPConnection)

    @persistent.setter
    def persistent(self, on: bool) -> None:
        self.set_persistent(on)

    # -- requests ----------------------------------------------------------------------

    def getPage(self, url: str | bytes, headers: HeaderInput = None,
                method: str = "GET", body: str | bytes | None = None,
                protocol: str | None = None,
                raise_subcls: Any = ()) -> tuple[str, list[tuple[str, str]], bytes]:
        """Request ``url`` from the live server; ``(status, headers, body)``.

        ``url`` is a server-absolute path (``script_name`` is prepended) or raw bytes.
        ``Host`` is added when missing; for POST, PUT and PATCH without a
        ``Content-Type`` a form type is assumed. ``raise_subcls`` is accepted for
        compatibility; no error is ever retried, so every error is raised.
        """
        if self.PORT == 0:
            raise RuntimeError(
                f"{type(self).__name__} has no live server: define a setup_server "
                "staticmethod (it may mount nothing) so that setup_class starts one."
            )
        if self.script_name:
            from drupe.lib import httputil

            if isinstance(url, bytes):
                url = httputil.urljoin_bytes(self.script_name.encode("utf-8"), url)
            else:
                url = httputil.urljoin(self.script_name, url)
        default = 443 if self.scheme == "https" else 80
        host = self.HOST if ":" not in self.HOST else f"[{self.HOST}]"
        prepared = prepare(
            method.upper(), url, headers=headers, body=body,
            protocol=protocol or self.PROTOCOL, scheme=self.scheme,
            default_host=host if default == self.PORT else f"{host}:{self.PORT}",
            default_content_type=_FORM,
        )
        self.url = url
        started = time.monotonic()
        conn = self.HTTP_CONN
        if isinstance(conn, http.client.HTTPConnection):
            response = self._exchange_persistent(conn, prepared)
        else:
            fresh = self.get_conn()
            try:
                response, _ = exchange(self._socket_of(fresh), prepared)
            finally:
                fresh.close()
        self.time = time.monotonic() - started
        self.response = response
        self.status = response.status_line
        self.headers = response.header_list
        self.body = response.body
        # CherryPy's helper hands the Set-Cookie values back as request headers to send.
        self.cookies = [("Cookie", value) for name, value in self.headers
                        if name.lower() == "set-cookie"]
        return self.status, self.headers, self.body

    @staticmethod
    def _socket_of(conn: http.client.HTTPConnection) -> socket.socket:
        sock = conn.sock
        if sock is None:
            raise http.client.NotConnected("The connection is closed.")
        return sock

    def _exchange_persistent(self, conn: http.client.HTTPConnection, prepared: Any) -> Response:
        if conn.sock is None:
            if getattr(conn, "auto_open", False):
                conn.connect()
            else:
                raise http.client.NotConnected(
                    "The persistent connection was closed by the server (set_persistent("
                    "auto_open=True) reconnects)."
                )
        try:
            response, will_close = exchange(self._socket_of(conn), prepared)
        except BaseException:
            conn.close()
            raise
        if will_close:
            conn.close()
        return response

    # -- status ------------------------------------------------------------------------

    @property
    def status_code(self) -> int:
        """The numeric status of the last response."""
        if self.status is None:
            raise AttributeError("No page was requested yet.")
        return int(self.status[:3])

    def status_matches(self, expected: int | str) -> bool:
        """Whether the last status is ``expected`` (int, ``'NNN'`` or ``'NNN Reason'``)."""
        if isinstance(expected, int):
            return self.status_code == expected
        if len(expected) == 3 and expected.isdigit():
            return self.status_code == int(expected)
        return self.status == expected

    def _handlewebError(self, msg: str) -> None:
        # CherryPy's name for "report a failed web assertion"; never interactive here.
        raise self.failureException(msg)

    def assertStatus(self, status: int | str | Iterable[int | str], msg: str | None = None) -> None:
        """Fail unless the status is ``status`` or, for a list or tuple, one of them."""
        options = [status] if isinstance(status, (int, str)) else list(status)
        if any(self.status_matches(option) for option in options):
            return
        self._handlewebError(msg or f"Status {self.status!r} does not match {status!r}")

    # -- headers -----------------------------------------------------------------------

    def _values_of(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]

    def assertHeader(self, key: str, value: Any = None, msg: str | None = None) -> str | None:
        """Fail unless header ``key`` is present (with ``value``, when given); its value."""
        for actual in self._values_of(key):
            if value is None or header_values_equal(value, actual):
                return actual
        if msg is None:
            msg = (f"{key!r} not in headers" if value is None
                   else f"{key!r}: {value!r} not in headers {self.headers!r}")
        self._handlewebError(msg)
        return None

    def assertHeaderIn(self, key: str, values: Iterable[Any], msg: str | None = None) -> list[Any] | None:
        """Fail unless header ``key`` has one of ``values``; the values that matched."""
        candidates = list(values)
        for actual in self._values_of(key):
            matches = [value for value in candidates if header_values_equal(value, actual)]
            if matches:
                return matches
        self._handlewebError(msg or f"{key!r} is not one of {candidates!r} in {self.headers!r}")
        return None

    def _items_of(self, key: str) -> list[str]:
        return [item.strip() for value in self._values_of(key) for item in value.split(",")]

    def assertHeaderItemValue(self, key: str, value: str, msg: str | None = None) -> str | None:
        """Fail unless the comma-separated list in header ``key`` contains ``value``."""
        if not self._values_of(key):
            self._handlewebError(msg or f"{key!r} not in headers")
            return None
        items = self._items_of(key)
        if any(header_values_equal(value, item) for item in items):
            return value
        self._handlewebError(msg or f"{value!r} not in the {key!r} items {items!r}")
        return None

    def assertNoHeader(self, key: str, msg: str | None = None) -> None:
        """Fail if header ``key`` is present."""
        if self._values_of(key):
            self._handlewebError(msg or f"{key!r} in headers: {self._values_of(key)!r}")

    def assertNoHeaderItemValue(self, key: str, value: str, msg: str | None = None) -> None:
        """Fail if header ``key`` has the value ``value``."""
        if any(header_values_equal(value, actual) for actual in self._values_of(key)):
            self._handlewebError(msg or f"{key!r}: {value!r} in headers {self.headers!r}")

    # -- body --------------------------------------------------------------------------

    def _as_bytes(self, value: str | bytes) -> bytes:
        return value.encode(self.encoding) if isinstance(value, str) else value

    def assertBody(self, value: str | bytes, msg: str | None = None) -> None:
        """Fail unless the body is ``value`` (str is encoded with ``encoding``)."""
        expected = self._as_bytes(value)
        if expected != self.body:
            self._handlewebError(msg or f"expected body:\n{expected!r}\n\nactual body:\n{self.body!r}")

    def assertInBody(self, value: str | bytes, msg: str | None = None) -> None:
        """Fail unless ``value`` occurs in the body."""
        expected = self._as_bytes(value)
        if expected not in self.body:
            self._handlewebError(msg or f"{expected!r} not in body: {self.body!r}")

    def assertNotInBody(self, value: str | bytes, msg: str | None = None) -> None:
        """Fail if ``value`` occurs in the body."""
        unexpected = self._as_bytes(value)
        if unexpected in self.body:
            self._handlewebError(msg or f"{unexpected!r} found in body: {self.body!r}")

    def assertMatchesBody(self, pattern: str | bytes, msg: str | None = None, flags: int = 0) -> None:
        """Fail unless the regular expression ``pattern`` matches somewhere in the body."""
        if re.search(self._as_bytes(pattern), self.body, flags) is None:
            self._handlewebError(msg or f"No match for {pattern!r} in body: {self.body!r}")

    def assertErrorPage(self, status: int | str, message: str | None = None,
                        pattern: str | None = "") -> None:
        """Fail unless the body is drupe's built-in error page for ``status``.

        ``message`` is the page's message (default: the standard one for the status).
        ``pattern`` is a regular expression the traceback shown on the page must
        contain; ``None`` requires that the page shows no traceback.
        """
        page = _error_page(status, message)
        empty_traceback = b'<pre id="traceback"></pre>'
        if empty_traceback not in page:
            raise RuntimeError("drupe's error page has no traceback block to compare around.")
        before, after = page.split(empty_traceback, 1)
        expected = re.compile(
            re.escape(before + b'<pre id="traceback">') + b"(.*)" + re.escape(b"</pre>" + after),
            re.DOTALL,
        )
        match = expected.fullmatch(self.body)
        if match is None:
            self._handlewebError(f"The body is not the error page for {status!r}; expected:\n"
                                 + page.decode("utf-8"))
            return
        traceback = match.group(1)
        if pattern is None:
            if traceback:
                self._handlewebError("The error page shows a traceback:\n" + traceback.decode("utf-8"))
        elif not re.search(pattern.encode(self.encoding), traceback):
            self._handlewebError(f"The traceback on the error page does not match {pattern!r}")

    def assertEqualDates(self, dt1: datetime.datetime, dt2: datetime.datetime,
                         seconds: float | None = None) -> None:
        """Fail unless the two datetimes are less than ``seconds`` (``date_tolerance``) apart."""
        tolerance = self.date_tolerance if seconds is None else seconds
        if not abs(dt1 - dt2) < datetime.timedelta(seconds=tolerance):
            raise self.failureException(f"{dt1!r} and {dt2!r} are not within {tolerance!r} seconds.")

    def skip(self, msg: str = "skipped ") -> None:
        """Skip the current test."""
        self.skipTest(msg)


def _error_page(status: int | str, message: str | None) -> bytes:
    """drupe's error page for ``status`` as the server renders it (without traceback)."""
    import drupe

    # Rendering sets Content-Type on the current response; outside a request that is the
    # placeholder object, so keep its header as it was.
    headers = drupe.response.headers
    before = headers.get("Content-Type")
    try:
        page = drupe.HTTPError(500).get_error_page(status, message=message)
    finally:
        if before is None:
            headers.pop("Content-Type", None)
        else:
            headers["Content-Type"] = before
    if isinstance(page, bytes):
        return page
    return b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8") for chunk in page)
