"""HTTP/1.1 server conformance suite: raw bytes over a real socket, strict expectations.

Any drupe server plugin runs it against itself. The suite is a set of pytest test
classes; a distribution subclasses them in its own tests and provides one fixture,
``http_server``: the address of a running server — ``(host, port)``, or the path of a
UNIX socket file — that serves :func:`conformance_app` (a plain WSGI application) at
``/``. Class attributes tell the suite how that server is configured, so the limits and
timeouts it probes are the server's own::

    import pytest
    from drupe_testing.conformance.http_server import HTTPConformanceSuite, conformance_app

    class TestMyServer(HTTPConformanceSuite):
        worker_threads = 4              # server.thread_pool
        header_timeout = 1.0            # seconds for a whole request head (None: skip)
        body_rate_deadline = 3.0        # a trickled body is cut off within this (None: skip)
        max_request_line_size = 4096    # 414 beyond
        max_request_header_size = 16384 # 431 beyond
        max_request_header_count = 50   # 431 beyond

        @pytest.fixture(scope="class")
        def http_server(self):
            ...start the server with those settings, serving conformance_app...
            yield (host, port)
            ...stop it...

The classes, each adding to the previous one:

``HTTPCoreSuite``
    The everyday protocol and the framing rules that stop request smuggling: a few dozen
    cases, cheap enough to run over every transport (also TLS — override the
    ``http_tls_context`` fixture with a client ``ssl.SSLContext`` — and UNIX sockets).
    Keep-alive, pipelining, ``Expect: 100-continue``, responses without a body (``HEAD``,
    204, 304), ``Content-Length`` / ``Transfer-Encoding`` ambiguity, chunked coding.
``HTTPConformanceSuite``
    Everything: every malformed request line, header field and chunk the parametrized
    tables below list (from RFC 9110 / RFC 9112 and from advisories published against
    Python servers), the head limits (414, 431), and slow clients: a head arriving too
    slowly (408), a body trickling below the server's minimum rate (408), and twice as
    many slowloris connections as worker threads while a normal client is still served.
``HTTPOverloadSuite``
    A server whose accepted-connection queue is bounded (``accepted_queue_size``) and
    whose workers are all busy answers ``503`` with ``Retry-After`` instead of hanging.
    Needs ``worker_threads`` and ``accepted_queue_size`` and a short accepted-queue
    timeout on the server.

The expectations are strict on purpose. A malformed request is answered 400 (or the
more precise 4xx/5xx RFC 9112 names) **and the connection is closed**, with nothing
sent after that answer: a server that guesses where a malformed message ends is a server
whose next "request" may be the attacker's. Where the RFCs allow a choice (rejecting
rather than repairing), the suite takes the safe side and says so in the case's id.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drupe_testing.conformance.http_wire import Address, RawResponse, Wire

__all__ = [
    "Case",
    "HTTPConformanceSuite",
    "HTTPCoreSuite",
    "HTTPOverloadSuite",
    "conformance_app",
    "request",
]


# -- the application under every server ----------------------------------------------


def conformance_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The WSGI application the suite's server must serve at ``/``.

    ``/hello`` answers ``hello`` without reading the body; ``/echo`` reads the whole body
    and answers a JSON description of the request (method, path, query, ``Host``, body) —
    ``//echo`` too, a path whose first segment is empty (not an authority);
    ``/status/204`` and ``/status/304`` answer that status *with* body bytes, which the
    server must not send; ``/sleep?S`` waits ``S`` seconds first (to keep workers busy).
    """
    path = environ.get("PATH_INFO", "")
    if path == "/hello":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]
    if path in ("/echo", "//echo"):
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        answer = json.dumps({
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "host": environ.get("HTTP_HOST"),
            "length": len(body),
            "body": body[:4096].decode("latin-1"),
        }).encode("ascii")
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(answer)))])
        return [answer]
    if path.startswith("/status/"):
        code = path[len("/status/"):]
        reasons = {"204": "No Content", "304": "Not Modified"}
        start_response(f"{code} {reasons.get(code, 'Whatever')}", [])
        return [b"this body must never reach the client"]
    if path == "/sleep":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
        start_response("200 OK", [("Content-Length", "5")])
        return [b"slept"]
    start_response("404 Not Found", [("Content-Length", "9")])
    return [b"not found"]


# -- building requests -----------------------------------------------------------------


def request(method: str = "GET", target: str = "/hello", *headers: str, body: bytes = b"",
            version: str = "HTTP/1.1", host: str | None = "conformance.test") -> bytes:
    """A request as bytes: ``Host`` first (unless ``host`` is None), then ``headers`` as given."""
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _raw(data: str) -> bytes:
    return data.encode("latin-1")


@dataclass(frozen=True)
class Case:
    """One request and what the server must answer.

    ``status``: the accepted status codes. ``close``: True when the server must close the
    connection after answering (and send nothing more); False when it must keep it
    open; None when either is fine. ``echo``: for ``/echo``, the body length the
    application must have seen.
    """

    id: str
    data: bytes
    status: tuple[int, ...]
    close: bool | None = True
    echo: int | None = None


def _bad(case_id: str, data: bytes, *status: int) -> Case:
    return Case(case_id, data, status or (400,), close=True)


def _ok(case_id: str, data: bytes, echo: int | None = None) -> Case:
    return Case(case_id, data, (200,), close=False, echo=echo)


def _post(*headers: str, body: bytes = b"", version: str = "HTTP/1.1") -> bytes:
    return request("POST", "/echo", *headers, body=body, version=version)


def _chunked(body: str) -> bytes:
    return _post("Transfer-Encoding: chunked", body=_raw(body))


# Content-Length and Transfer-Encoding: one unambiguous framing or 400 (RFC 9112 6).
FRAMING_CASES = [
    _ok("content-length", _post("Content-Length: 5", body=b"hello"), echo=5),
    _ok("content-length-zero", _post("Content-Length: 0"), echo=0),
    _ok("content-length-leading-zeros", _post("Content-Length: 005", body=b"hello"), echo=5),
    _bad("content-length-twice-equal", _post("Content-Length: 5", "Content-Length: 5", body=b"hello")),
    _bad("content-length-twice-different", _post("Content-Length: 5", "Content-Length: 6",
                                                 body=b"hello!")),
    _bad("content-length-list", _post("Content-Length: 5, 5", body=b"hello")),
    _bad("content-length-plus-sign", _post("Content-Length: +5", body=b"hello")),
    _bad("content-length-minus-sign", _post("Content-Length: -5", body=b"hello")),
    _bad("content-length-hex", _post("Content-Length: 0x5", body=b"hello")),
    _bad("content-length-underscore", _post("Content-Length: 0_5", body=b"hello")),
    _bad("content-length-inner-space", _post("Content-Length: 5 5", body=b"hello")),
    _bad("content-length-empty", _post("Content-Length: ", body=b"hello")),
    _bad("content-length-unicode-digit", _post("Content-Length: \u0665".encode().decode("latin-1"),
                                                body=b"hello")),
    _bad("content-length-huge", _post("Content-Length: 99999999999999999999999999", body=b"x"),
         400, 413),
    _bad("content-length-with-transfer-encoding",
         _post("Content-Length: 5", "Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
    _bad("transfer-encoding-with-content-length",
         _post("Transfer-Encoding: chunked", "Content-Length: 5", body=b"0\r\n\r\n")),
    _ok("chunked", _chunked("5\r\nhello\r\n0\r\n\r\n"), echo=5),
    _ok("chunked-case-insensitive", _post("Transfer-Encoding: Chunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
        echo=5),
    _ok("chunked-whitespace-around", _post("Transfer-Encoding:  chunked \t", body=b"0\r\n\r\n"), echo=0),
    _bad("transfer-encoding-not-chunked", _post("Transfer-Encoding: gzip", body=b"x"), 400, 501),
    _bad("transfer-encoding-identity", _post("Transfer-Encoding: identity", body=b"x"), 400, 501),
    _bad("transfer-encoding-chunked-not-final", _post("Transfer-Encoding: chunked, gzip",
                                                      body=b"0\r\n\r\n"), 400, 501),
    _bad("transfer-encoding-unknown-before-chunked", _post("Transfer-Encoding: x-unknown, chunked",
                                                           body=b"0\r\n\r\n"), 501, 400),
    _bad("transfer-encoding-chunked-twice", _post("Transfer-Encoding: chunked, chunked",
                                                  body=b"0\r\n\r\n")),
    _bad("transfer-encoding-two-fields", _post("Transfer-Encoding: chunked",
                                               "Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
    _bad("transfer-encoding-obfuscated-prefix", _post("Transfer-Encoding: xchunked",
                                                      body=b"0\r\n\r\n"), 400, 501),
    _bad("transfer-encoding-obfuscated-parameter", _post("Transfer-Encoding: chunked;x=1",
                                                         body=b"0\r\n\r\n"), 400, 501),
    _bad("transfer-encoding-space-before-colon", _post("Transfer-Encoding : chunked",
                                                       body=b"0\r\n\r\n")),
    _bad("transfer-encoding-vertical-tab", _post("Transfer-Encoding:\x0bchunked", body=b"0\r\n\r\n")),
    _bad("transfer-encoding-folded", _post("Transfer-Encoding:", " chunked", body=b"0\r\n\r\n")),
    _bad("transfer-encoding-empty", _post("Transfer-Encoding: ", body=b"0\r\n\r\n"), 400, 501),
    _bad("transfer-encoding-http10", _post("Transfer-Encoding: chunked", body=b"0\r\n\r\n",
                                           version="HTTP/1.0")),
    _bad("transfer-encoding-http10-with-content-length",
         _post("Transfer-Encoding: chunked", "Content-Length: 5", body=b"hello", version="HTTP/1.0")),
]

# Chunked coding (RFC 9112 7.1): hexadecimal sizes only, CRLF everywhere, bounded parts.
CHUNK_CASES = [
    _ok("chunks-several", _chunked("3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"), echo=7),
    _ok("chunk-size-upper-hex", _chunked("A\r\n0123456789\r\n0\r\n\r\n"), echo=10),
    _ok("chunk-size-leading-zeros", _chunked("0005\r\nhello\r\n0000\r\n\r\n"), echo=5),
    _ok("chunk-extension", _chunked("5;name=value\r\nhello\r\n0\r\n\r\n"), echo=5),
    _ok("chunk-extension-quoted", _chunked('5;name="a \\"quoted\\" value"\r\nhello\r\n0\r\n\r\n'), echo=5),
    _ok("chunk-extension-no-value", _chunked("5;flag\r\nhello\r\n0;last\r\n\r\n"), echo=5),
    _ok("chunk-extension-bad-whitespace", _chunked("5 ; name = value\r\nhello\r\n0\r\n\r\n"), echo=5),
    _ok("trailer-fields", _chunked("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"), echo=5),
    _bad("chunk-size-plus-sign", _chunked("+5\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-minus-sign", _chunked("-1\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-0x-prefix", _chunked("0x5\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-underscore", _chunked("0_5\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-leading-space", _chunked(" 5\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-trailing-space", _chunked("5 \r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-empty", _chunked("\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-not-hex", _chunked("g\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-too-many-digits", _chunked("00000000000000000005\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-huge", _chunked("ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400, 413),
    _bad("chunk-size-bare-lf", _chunked("5\nhello\r\n0\r\n\r\n")),
    _bad("chunk-size-bare-cr", _chunked("5\rhello\r\n0\r\n\r\n")),
    _bad("chunk-data-longer-than-size", _chunked("3\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-data-bare-lf-after", _chunked("5\r\nhello\n0\r\n\r\n")),
    _bad("chunk-data-no-crlf-after", _chunked("5\r\nhelloXX0\r\n\r\n")),
    _bad("chunk-extension-empty-name", _chunked("5;\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-extension-unterminated-quote", _chunked('5;a="open\r\nhello\r\n0\r\n\r\n')),
    _bad("chunk-extension-space-in-name", _chunked("5;a b\r\nhello\r\n0\r\n\r\n")),
    _bad("chunk-extension-control", _chunked("5;a=\x01\r\nhello\r\n0\r\n\r\n")),
    _bad("trailer-without-colon", _chunked("5\r\nhello\r\n0\r\nnot a field\r\n\r\n")),
    _bad("trailer-space-before-colon", _chunked("5\r\nhello\r\n0\r\nX-T : 1\r\n\r\n")),
    _bad("trailer-nul", _chunked("5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n")),
    _bad("trailer-bare-lf", _chunked("5\r\nhello\r\n0\r\nX-T: 1\n\r\n")),
    # The smuggling classic: no blank line after the last chunk, so the next request would
    # be read as a trailer section (or, by a lenient server, served).
    _bad("last-chunk-then-request", _chunked("0\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")),
]

# The request line (RFC 9112 3): token method, URI target, HTTP/d.d.
REQUEST_LINE_CASES = [
    _ok("origin-form", request("GET", "/echo?a=1")),
    _ok("leading-empty-line-ignored", b"\r\n" + request("GET", "/hello")),
    _ok("minor-version-above-1-served-as-1.1", request("GET", "/hello", version="HTTP/1.2")),
    _ok("double-slash-path-is-a-path", request("GET", "//echo")),
    Case("major-version-2", request("GET", "/hello", version="HTTP/2.0"), (505,)),
    Case("major-version-3", request("GET", "/hello", version="HTTP/3.0"), (505,)),
    Case("version-0.9", request("GET", "/hello", version="HTTP/0.9"), (505, 400)),
    _bad("version-two-digit-minor", request("GET", "/hello", version="HTTP/1.10")),
    _bad("version-leading-zero", request("GET", "/hello", version="HTTP/01.1")),
    _bad("version-lower-case", request("GET", "/hello", version="http/1.1")),
    _bad("version-signed", request("GET", "/hello", version="HTTP/+1.1")),
    _bad("version-trailing-space", request("GET", "/hello", version="HTTP/1.1 ")),
    _bad("version-missing", _raw("GET /hello\r\nHost: x\r\n\r\n")),
    _bad("two-spaces-after-method", _raw("GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n")),
    _bad("tab-separator", _raw("GET\t/hello HTTP/1.1\r\nHost: x\r\n\r\n")),
    _bad("method-not-token", request("GE(T", "/hello")),
    _bad("method-nul", request("GET\x00", "/hello")),
    _bad("method-empty", _raw(" /hello HTTP/1.1\r\nHost: x\r\n\r\n")),
    _bad("target-space", request("GET", "/hel lo")),
    _bad("target-control", request("GET", "/hel\x01lo")),
    _bad("target-del", request("GET", "/hel\x7flo")),
    _bad("target-nul", request("GET", "/hel\x00lo")),
    _bad("target-raw-non-ascii", request("GET", "/caf\xe9")),
    _bad("target-fragment", request("GET", "/hello#fragment")),
    _bad("target-relative", request("GET", "hello")),
    _bad("target-absolute-not-http", request("GET", "ftp://conformance.test/hello")),
    _bad("request-line-bare-lf", _raw("GET /hello HTTP/1.1\nHost: x\r\n\r\n")),
    _bad("request-line-bare-cr", _raw("GET /hello HTTP/1.1\rHost: x\r\n\r\n")),
]

# Header fields (RFC 9110 5, RFC 9112 5).
HEADER_CASES = [
    _ok("field-tab-in-value", request("GET", "/hello", "X-Tab: a\tb")),
    _ok("field-obs-text-in-value", request("GET", "/hello", "X-Latin: caf\xe9")),
    _ok("field-empty-value", request("GET", "/hello", "X-Empty:")),
    _bad("field-name-space-before-colon", request("GET", "/hello", "X-Name : value")),
    _bad("field-name-tab-before-colon", request("GET", "/hello", "X-Name\t: value")),
    _bad("field-name-not-token", request("GET", "/hello", "X(Name): value")),
    _bad("field-name-non-ascii", request("GET", "/hello", "X-N\xe4me: value")),
    _bad("field-name-empty", request("GET", "/hello", ": value")),
    _bad("field-without-colon", request("GET", "/hello", "X-Name value")),
    _bad("field-obs-fold", request("GET", "/hello", "X-Folded: a", " b")),
    _bad("field-obs-fold-tab", request("GET", "/hello", "X-Folded: a", "\tb")),
    _bad("field-value-nul", request("GET", "/hello", "X-Value: a\x00b")),
    _bad("field-value-cr", request("GET", "/hello", "X-Value: a\rb")),
    _bad("field-value-bare-lf", _raw("GET /hello HTTP/1.1\r\nHost: x\r\nX-Value: a\nX-Other: b\r\n\r\n")),
    _bad("field-value-escape", request("GET", "/hello", "X-Value: a\x1bb")),
    _bad("field-value-del", request("GET", "/hello", "X-Value: a\x7fb")),
    _bad("field-value-vertical-tab", request("GET", "/hello", "X-Value: a\x0bb")),
    _bad("head-ends-with-bare-lf", _raw("GET /hello HTTP/1.1\r\nHost: x\r\n\n")),
    _bad("host-missing-http11", request("GET", "/hello", host=None)),
    _bad("host-twice", request("GET", "/hello", "Host: conformance.test")),
    _bad("host-twice-different", request("GET", "/hello", "Host: other.test")),
    _bad("host-with-space", request("GET", "/hello", host="conformance .test")),
    _bad("host-with-path", request("GET", "/hello", host="conformance.test/path")),
    _bad("host-with-userinfo", request("GET", "/hello", host="user@conformance.test")),
    _bad("host-bad-port", request("GET", "/hello", host="conformance.test:80x")),
    _ok("host-with-port", request("GET", "/hello", host="conformance.test:8080")),
    _ok("host-ip-literal", request("GET", "/hello", host="[::1]:8080")),
    Case("host-missing-http10", request("GET", "/hello", version="HTTP/1.0", host=None), (200,),
         close=True),
]


def _case_ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]


def _pick(*ids: str) -> list[Case]:
    """The cases of the tables above with these ids (for the core suite)."""
    every = {case.id: case for case in FRAMING_CASES + CHUNK_CASES + REQUEST_LINE_CASES + HEADER_CASES}
    return [every[case_id] for case_id in ids]


# -- the suites ------------------------------------------------------------------------


class _Base:
    """Connections to ``http_server`` and the checks every case makes."""

    timeout = 10.0

    @pytest.fixture
    def http_tls_context(self) -> ssl.SSLContext | None:
        """The client's TLS context; override it (returning a context) to speak HTTPS."""
        return None

    @pytest.fixture
    def wire(self, http_server: Address, http_tls_context: ssl.SSLContext | None) -> Iterator[Any]:
        """``wire()`` opens a connection to the server (closed after the test)."""
        opened: list[Wire] = []

        def open_wire() -> Wire:
            connection = Wire(http_server, timeout=self.timeout, tls_context=http_tls_context)
            opened.append(connection)
            return connection

        yield open_wire
        for connection in opened:
            connection.close()

    def check(self, wire: Any, case: Case) -> RawResponse:
        """Send ``case`` on a new connection, then check status, echo and connection fate."""
        connection: Wire = wire()
        connection.send(case.data)
        method = case.data.lstrip(b"\r\n").split(b" ", 1)[0].decode("latin-1")
        response = connection.response(method)
        assert response.status in case.status, (
            f"{case.id}: status {response.status} {response.reason!r}, expected one of "
            f"{case.status}; body {response.body[:300]!r}")
        if case.echo is not None:
            assert json.loads(response.body)["length"] == case.echo, case.id
        if case.close:
            assert connection.closed(), f"{case.id}: the connection stayed open after {response.status}"
        elif case.close is False:
            assert not response.announces_close, f"{case.id}: the response closes the connection"
            # Still usable: a second request on it is answered.
            connection.send(request("GET", "/hello"))
            assert connection.response().body == b"hello", case.id
        return response


class HTTPCoreSuite(_Base):
    """The core of HTTP/1.1 and the framing rules (see the module docstring)."""

    def test_get(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("GET", "/hello"))
        response = connection.response()
        assert (response.status, response.body) == (200, b"hello")
        assert response.version == "HTTP/1.1"
        assert not response.announces_close

    def test_keep_alive_serves_several_requests(self, wire: Any) -> None:
        connection = wire()
        for number in range(3):
            connection.send(request("GET", f"/echo?n={number}"))
            assert json.loads(connection.response().body)["query"] == f"n={number}"
        assert connection.still_open()

    def test_pipelined_requests_are_answered_in_order(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("GET", "/echo?n=1") + request("HEAD", "/hello")
                        + request("POST", "/echo?n=3", "Content-Length: 3", body=b"abc")
                        + _chunked("2\r\nxy\r\n0\r\n\r\n") + request("GET", "/echo?n=5"))
        first = connection.response("GET")
        head = connection.response("HEAD")
        third = connection.response("POST")
        fourth = connection.response("POST")
        fifth = connection.response("GET")
        assert json.loads(first.body)["query"] == "n=1"
        assert (head.status, head.body) == (200, b"")
        assert json.loads(third.body)["body"] == "abc"
        assert json.loads(fourth.body)["body"] == "xy"
        assert json.loads(fifth.body)["query"] == "n=5"

    def test_connection_close_is_honoured(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("GET", "/hello", "Connection: close"))
        response = connection.response()
        assert response.status == 200
        assert response.announces_close
        assert connection.closed()

    def test_http10_closes_unless_asked(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("GET", "/hello", version="HTTP/1.0"))
        assert connection.response().body == b"hello"
        assert connection.closed()

    def test_expect_100_continue(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("POST", "/echo", "Content-Length: 5", "Expect: 100-continue"))
        interim = connection.head()
        assert interim.status == 100
        connection.send(b"hello")
        response = connection.response("POST")
        assert json.loads(response.body)["body"] == "hello"
        assert connection.still_open()

    def test_expect_100_continue_not_sent_to_http10(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("POST", "/echo", "Content-Length: 5", "Expect: 100-continue",
                                version="HTTP/1.0", body=b"hello"))
        response = connection.response("POST")
        assert response.status == 200, "an HTTP/1.0 client must get no interim response"
        assert json.loads(response.body)["body"] == "hello"

    def test_head_has_no_body(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("HEAD", "/hello") + request("GET", "/hello"))
        head = connection.response("HEAD")
        assert head.status == 200
        assert head.header("Content-Length") in (None, "5")
        # Had the server sent body bytes, they would be read as the next status line.
        assert connection.response("GET").body == b"hello"

    @pytest.mark.parametrize("code", [204, 304])
    def test_no_body_statuses_have_no_body(self, wire: Any, code: int) -> None:
        connection = wire()
        connection.send(request("GET", f"/status/{code}") + request("GET", "/hello"))
        response = connection.response()
        assert response.status == code
        assert response.header("Transfer-Encoding") is None
        assert connection.response().body == b"hello"

    def test_absolute_form_authority_wins_over_host(self, wire: Any) -> None:
        connection = wire()
        connection.send(request("GET", "http://right.test/echo", host="wrong.test"))
        assert json.loads(connection.response().body)["host"] == "right.test"

    def test_trailers_are_consumed_before_the_next_request(self, wire: Any) -> None:
        connection = wire()
        connection.send(_chunked("5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n") + request("GET", "/hello"))
        assert json.loads(connection.response("POST").body)["body"] == "hello"
        assert connection.response().body == b"hello"

    def test_unread_body_does_not_become_a_request(self, wire: Any) -> None:
        connection = wire()
        smuggled = request("GET", "/echo?smuggled")
        connection.send(request("POST", "/hello", f"Content-Length: {len(smuggled)}", body=smuggled)
                        + request("GET", "/echo?next"))
        assert connection.response("POST").body == b"hello"
        second = connection.response()
        assert json.loads(second.body)["query"] == "next"

    @pytest.mark.parametrize("case", _pick(
        "content-length-twice-equal", "content-length-plus-sign",
        "content-length-with-transfer-encoding", "transfer-encoding-not-chunked",
        "transfer-encoding-chunked-twice", "transfer-encoding-http10", "chunk-size-plus-sign",
        "chunk-size-bare-lf", "chunk-data-no-crlf-after", "last-chunk-then-request",
        "field-obs-fold", "host-missing-http11", "host-twice",
    ), ids=lambda case: case.id)
    def test_core_framing_error(self, wire: Any, case: Case) -> None:
        self.check(wire, case)


class HTTPConformanceSuite(HTTPCoreSuite):
    """Everything (see the module docstring); set the class attributes to the server's settings."""

    worker_threads: int | None = None
    """The server's worker threads (``server.thread_pool``): the slowloris test opens twice as many."""

    header_timeout: float | None = None
    """Seconds the server allows a request head (None: the test is skipped)."""

    body_rate_deadline: float | None = None
    """Seconds within which a body trickling at a few bytes per second is cut off (None: skip)."""

    max_request_line_size = 16 * 1024
    max_request_header_size = 500 * 1024
    max_request_header_count = 100

    @pytest.mark.parametrize("case", FRAMING_CASES, ids=_case_ids(FRAMING_CASES))
    def test_framing(self, wire: Any, case: Case) -> None:
        self.check(wire, case)

    @pytest.mark.parametrize("case", CHUNK_CASES, ids=_case_ids(CHUNK_CASES))
    def test_chunked(self, wire: Any, case: Case) -> None:
        self.check(wire, case)

    @pytest.mark.parametrize("case", REQUEST_LINE_CASES, ids=_case_ids(REQUEST_LINE_CASES))
    def test_request_line(self, wire: Any, case: Case) -> None:
        self.check(wire, case)

    @pytest.mark.parametrize("case", HEADER_CASES, ids=_case_ids(HEADER_CASES))
    def test_header_fields(self, wire: Any, case: Case) -> None:
        self.check(wire, case)

    def test_underscore_names_cannot_pass_for_hyphen_ones(self, wire: Any) -> None:
        # X_Forwarded_For and X-Forwarded-For share the WSGI key HTTP_X_FORWARDED_FOR.
        connection = wire()
        connection.send(request("POST", "/echo", "Content_Length: 3", "Transfer_Encoding: chunked",
                                "Content-Length: 5", body=b"hello"))
        response = connection.response("POST")
        assert response.status in (200, 400)
        if response.status == 200:
            assert json.loads(response.body)["body"] == "hello"

    def test_request_line_too_long(self, wire: Any) -> None:
        target = "/hello?" + "a" * (self.max_request_line_size + 10)
        self.check(wire, Case("request-line-too-long", request("GET", target), (414,)))

    def test_header_section_too_large(self, wire: Any) -> None:
        filler = "x" * 1000
        count = self.max_request_header_size // 1000 + 2
        headers = [f"X-Fill-{index}: {filler}" for index in range(count)]
        self.check(wire, Case("header-section-too-large", request("GET", "/hello", *headers), (431,)))

    def test_too_many_header_fields(self, wire: Any) -> None:
        headers = [f"X-F{index}: 1" for index in range(self.max_request_header_count + 1)]
        self.check(wire, Case("too-many-header-fields", request("GET", "/hello", *headers), (431,)))

    def test_a_head_arriving_too_slowly_is_answered_408(self, wire: Any) -> None:
        if self.header_timeout is None:
            pytest.skip("header_timeout is not set on the suite class")
        connection = wire()
        started = time.monotonic()
        connection.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        # One byte at a time: every byte is progress, but the whole head is too slow.
        while time.monotonic() - started < self.header_timeout + 5:
            connection.send(b"X")
            if connection.answered(0.2):
                break
        response = connection.response()
        elapsed = time.monotonic() - started
        assert response.status == 408
        assert connection.closed()
        assert elapsed < self.header_timeout + 3

    def test_a_body_trickling_too_slowly_is_answered_408(self, wire: Any) -> None:
        if self.body_rate_deadline is None:
            pytest.skip("body_rate_deadline is not set on the suite class")
        connection = wire()
        started = time.monotonic()
        connection.send(request("POST", "/echo", "Content-Length: 100000"))
        while time.monotonic() - started < self.body_rate_deadline + 5:
            connection.send(b"x")
            if connection.answered(0.2):
                break
        response = connection.response("POST")
        assert response.status == 408
        assert connection.closed()
        assert time.monotonic() - started < self.body_rate_deadline + 3

    def test_slowloris_does_not_starve_the_workers(self, http_server: Address,
                                                   http_tls_context: ssl.SSLContext | None,
                                                   wire: Any) -> None:
        if self.worker_threads is None:
            pytest.skip("worker_threads is not set on the suite class")
        count = 2 * self.worker_threads
        stop = threading.Event()
        slow: list[Wire] = []
        try:
            for index in range(count):
                connection = Wire(http_server, timeout=self.timeout, tls_context=http_tls_context)
                slow.append(connection)
                # Half send part of a head, half send nothing at all.
                if index % 2 == 0:
                    connection.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n")

            def dribble() -> None:
                while not stop.wait(0.2):
                    for index, connection in enumerate(slow):
                        if index % 2 == 0:
                            connection.send(b"X-Slow: 1\r\n")

            dribbler = threading.Thread(target=dribble, name="slowloris dribbler")
            dribbler.start()
            try:
                time.sleep(0.5)
                for _ in range(3):
                    started = time.monotonic()
                    connection = wire()
                    connection.send(request("GET", "/hello"))
                    assert connection.response().body == b"hello"
                    assert time.monotonic() - started < 1.0
            finally:
                stop.set()
                dribbler.join()
        finally:
            for connection in slow:
                connection.close()


class HTTPOverloadSuite(_Base):
    """A full server answers 503 with Retry-After (see the module docstring)."""

    worker_threads: int = 1
    accepted_queue_size: int = 1
    busy_seconds = 1.5

    def test_full_pool_answers_503_with_retry_after(self, wire: Any) -> None:
        busy = [wire() for _ in range(self.worker_threads + self.accepted_queue_size)]
        for connection in busy:
            connection.send(request("GET", f"/sleep?{self.busy_seconds}"))
            time.sleep(0.05)
        refused: list[RawResponse] = []
        started = time.monotonic()
        for _ in range(3):
            connection = wire()
            connection.send(request("GET", "/hello"))
            response = connection.response()
            if response.status == 503:
                refused.append(response)
                assert connection.closed()
        assert refused, "no request was refused while every worker and queue slot was busy"
        assert all((response.header("Retry-After") or "").isdigit() for response in refused)
        assert time.monotonic() - started < self.busy_seconds + 1
        for connection in busy:
            assert connection.response().body == b"slept"

