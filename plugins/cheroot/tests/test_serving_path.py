"""The serving path over real sockets: request parsing, the WSGI gateway, the writer.

What this distribution does differently from stock cheroot (see README.md) is checked
byte by byte: requests are written by hand on a raw socket, and responses are read with
the standard library's HTTP parser. A foreign WSGI application grafted on ``drupe.tree``
exercises the gateway's corners (``write()``, ``exc_info``, wrong lengths, responses
without a body); drupe applications exercise the everyday path.
"""

from __future__ import annotations

import http.client
import io
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import drupe

Address = tuple[str, int]
StartResponse = Callable[..., Any]


# -- a foreign WSGI application --------------------------------------------------------


class Foreign:
    """A WSGI callable with one behaviour per path; records what the server did."""

    def __init__(self) -> None:
        self.closed: list[str] = []
        self.environs: list[dict[str, Any]] = []
        self.errors: list[tuple[BaseException, BaseException]] = []

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.environs.append(environ)
        path = environ["PATH_INFO"]
        handler = getattr(self, "page_" + path.strip("/").replace("-", "_"), None)
        if handler is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return []
        return handler(environ, start_response)  # type: ignore[no-any-return]

    def page_hello(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]

    def page_write(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        write(b"abc")
        write(b"def")
        return [b"ghi"]

    def page_unframed(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"abc", b"", b"def"]

    def page_lazy(self, environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        # A generator: start_response runs at the first next(), as PEP 3333 allows.
        start_response("200 OK", [("Content-Length", "4")])
        yield b"la"
        yield b"zy"

    def page_closing(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        foreign = self

        class Body:
            def __iter__(self) -> Iterator[bytes]:
                yield b"body"

            def close(self) -> None:
                foreign.closed.append(environ["PATH_INFO"])

        start_response("200 OK", [("Content-Length", "4")])
        return Body()

    def page_exc_info(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/html"), ("X-First", "1")])
        try:
            raise KeyError("boom")
        except KeyError:
            start_response("500 Oops", [("Content-Type", "text/plain"), ("Content-Length", "4")],
                           sys.exc_info())
        return [b"oops"]

    def page_exc_info_late(self, environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "20")])
        yield b"first part"
        try:
            raise KeyError("late")
        except KeyError as exc:
            try:
                start_response("500 Oops", [], sys.exc_info())
            except KeyError as reraised:
                self.errors.append((exc, reraised))
                raise

    def page_too_long(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "3")])
        return [b"abcdef"]

    def page_too_long_later(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "5")])
        return [b"abc", b"defgh"]

    def page_too_short(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "10")])
        return [b"abc"]

    def page_no_content(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("204 No Content", [])
        return [b"must not be sent"]

    def page_not_modified(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("304 Not Modified", [("Content-Length", "8"), ("ETag", '"x"')])
        return []

    def page_split(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("X-Value", "a\r\nX-Injected: yes"), ("Content-Length", "1")])
        return [b"x"]

    def page_silent(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return [b"start_response never called"]

    def page_text(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "4")])
        return ["text"]  # type: ignore[list-item]

    def page_bad_status(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("OK", [])
        return []

    def page_close(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "2"), ("Connection", "close")])
        return [b"ok"]

    def page_dated(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "2"), ("Date", "Thu, 01 Jan 1970 00:00:00 GMT"),
                                  ("Server", "foreign")])
        return [b"ok"]

    def page_read(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        answer = f"{len(body)}:{body[:20]!r}".encode()
        start_response("200 OK", [("Content-Length", str(len(answer)))])
        return [answer]

    def page_ignore_body(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "7")])
        return [b"ignored"]

    def page_environ(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]


@pytest.fixture
def foreign() -> Foreign:
    return Foreign()


@pytest.fixture
def serve_foreign(foreign: Foreign, root: Any, serve: Callable[..., Address]) -> Callable[..., Address]:
    """``serve_foreign(**settings)``: the drupe root at ``/`` and :class:`Foreign` at ``/w``."""

    def start(**settings: Any) -> Address:
        drupe.tree.graft(foreign, "/w")
        return serve(root, **settings)

    return start


# -- talking on the wire ---------------------------------------------------------------


class _Unclosable(io.BytesIO):
    """The recorded bytes; HTTPResponse closes its file after each response."""

    def close(self) -> None:
        pass


class _Bytes:
    """Enough of a socket for http.client.HTTPResponse to parse recorded bytes."""

    def __init__(self, data: bytes) -> None:
        self.file = _Unclosable(data)

    def makefile(self, mode: str) -> io.BytesIO:
        return self.file


def parse(data: bytes, methods: Iterable[str] = ("GET",)) -> list[http.client.HTTPResponse]:
    """The responses in ``data``, one per method (read in order, bodies read)."""
    source = _Bytes(data)
    responses = []
    for method in methods:
        response = http.client.HTTPResponse(source, method=method)  # type: ignore[arg-type]
        response.begin()
        response.body = response.read()  # type: ignore[attr-defined]
        responses.append(response)
    return responses


def exchange(address: Address, data: bytes, *, half_close: bool = True, timeout: float = 10) -> bytes:
    """Send ``data``; everything the server answers until it closes the connection."""
    client = socket.create_connection(address, timeout=timeout)
    try:
        client.sendall(data)
        if half_close:
            client.shutdown(socket.SHUT_WR)
        received = []
        while True:
            chunk = client.recv(65536)
            if not chunk:
                return b"".join(received)
            received.append(chunk)
    finally:
        client.close()


def get(path: str, *headers: str, method: str = "GET", protocol: str = "HTTP/1.1",
        body: bytes = b"") -> bytes:
    lines = [f"{method} {path} {protocol}", "Host: test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- parsing requests ------------------------------------------------------------------


def test_the_environ_is_pep_3333s_and_cheroots(serve_foreign: Any, foreign: Foreign) -> None:
    address = serve_foreign()
    data = exchange(address, get("/w/environ?b=%41&c=d?e", "Content-Type: text/x",
                                 "Accept: a", "Accept: b", "X-Mixed-Name: 1", "X_Mixed_Name: 2"))
    assert parse(data)[0].status == 200
    environ = foreign.environs[-1]
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == "/w"
    assert environ["PATH_INFO"] == "/environ"
    assert environ["QUERY_STRING"] == "b=%41&c=d?e"
    assert environ["REQUEST_URI"] == "/w/environ?b=%41&c=d?e"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["ACTUAL_SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["CONTENT_TYPE"] == "text/x"
    assert "HTTP_CONTENT_TYPE" not in environ
    # Repeated list-valued headers are joined; names become HTTP_* keys.
    assert environ["HTTP_ACCEPT"] == "a, b"
    # A name spelt with '_' would share its key with the '-' spelling: it is dropped.
    assert environ["HTTP_X_MIXED_NAME"] == "1"
    assert environ["HTTP_HOST"] == "test"
    # Every key PEP 3333 requires.
    parse(exchange(address, get("/w/environ")))
    environ = foreign.environs[-1]
    for key in ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
                "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT",
                "SERVER_SOFTWARE"):
        assert isinstance(environ[key], str), key
    assert environ["SERVER_PORT"] == str(address[1])
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is False
    assert environ["wsgi.errors"] is sys.stderr
    assert hasattr(environ["wsgi.input"], "read")
    assert "CONTENT_LENGTH" not in environ


def test_each_request_of_a_connection_gets_its_own_environ(serve_foreign: Any, foreign: Foreign) -> None:
    address = serve_foreign()
    data = exchange(address, get("/w/environ?n=1", "X-One: 1") + get("/w/environ?n=2"))
    assert [response.status for response in parse(data, ["GET", "GET"])] == [200, 200]
    first, second = foreign.environs[-2:]
    assert first is not second
    assert (first["QUERY_STRING"], second["QUERY_STRING"]) == ("n=1", "n=2")
    assert "HTTP_X_ONE" in first
    assert "HTTP_X_ONE" not in second
    assert first["REMOTE_PORT"] == second["REMOTE_PORT"]


def test_the_all_text_dialect_decodes_path_and_query(serve_foreign: Any, foreign: Foreign) -> None:
    address = serve_foreign(wsgi_version=("u", 0))
    parse(exchange(address, get("/w/caf%C3%A9?q=%C3%A9")))
    environ = foreign.environs[-1]
    assert environ["wsgi.version"] == ("u", 0)
    assert environ["wsgi.url_encoding"] == "utf-8"
    assert environ["PATH_INFO"] == "/café"
    assert environ["QUERY_STRING"] == "q=%C3%A9"
    # Not UTF-8: latin-1, and the environ says so.
    parse(exchange(address, get("/w/%FF")))
    environ = foreign.environs[-1]
    assert environ["wsgi.url_encoding"] == "ISO-8859-1"
    assert environ["PATH_INFO"] == "/\xff"


# The forms the fast path leaves to cheroot's parser, with cheroot's answers.
UNUSUAL_REQUEST_LINES = [
    ("GET http://test/echo?a=1 HTTP/1.1", 200, b"[('a', '1')]"),
    ("GET /echo?a=%41 HTTP/1.1", 200, b"[('a', 'A')]"),
    ("GET /ech%6F HTTP/1.1", 200, b"[]"),
    ("OPTIONS * HTTP/1.1", 404, None),
    ("GET /a#fragment HTTP/1.1", 400, b"Illegal #fragment in Request-URI."),
    ("get / HTTP/1.1", 400, None),
    ("GET / HTTP/2.0", 505, None),
    ("GET / HTTP/1.x", 400, b"Malformed Request-Line: bad protocol version"),
    ("GET / FTP/1.1", 400, b"Malformed Request-Line: bad protocol version"),
    ("GET  / HTTP/1.1", 400, None),
    ("GET relative HTTP/1.1", 400, None),
    ("CONNECT /x HTTP/1.1", 400, None),
]


def test_unusual_request_lines_keep_cheroots_rules(root: Any, serve: Any) -> None:
    address = serve(root)
    for request_line, status, body in UNUSUAL_REQUEST_LINES:
        response = parse(exchange(address, f"{request_line}\r\nHost: test\r\n\r\n".encode()))[0]
        assert response.status == status, request_line
        if body is not None:
            assert response.body == body, request_line  # type: ignore[attr-defined]


def test_one_empty_line_before_a_request_is_skipped(root: Any, serve: Any) -> None:
    address = serve(root)
    assert parse(exchange(address, b"\r\n" + get("/")))[0].status == 200
    assert parse(exchange(address, b"\r\n\r\n" + get("/")))[0].status == 400


def test_malformed_headers_are_refused(root: Any, serve: Any) -> None:
    address = serve(root)
    for header, message in (
        ("X-Folded: a\r\n b", b"Folded header lines (obs-fold) are not accepted."),
        (": no name", b"Illegal header line."),
        ("No colon", b"Illegal header line."),
    ):
        response = parse(exchange(address, get("/", header)))[0]
        assert (response.status, response.body) == (400, message)  # type: ignore[attr-defined]
    response = parse(exchange(address, b"GET / HTTP/1.1\r\nHost: test\n\r\n"))[0]
    assert (response.status, response.body) == (400, b"HTTP requires CRLF terminators")  # type: ignore[attr-defined]


def test_the_header_limit_counts_request_line_and_headers(root: Any, serve: Any) -> None:
    address = serve(root, max_request_header_size=100)
    head = get("/", "Connection: close")
    filler = "X-Fill: " + "f" * (100 - len(head) - len("X-Fill: \r\n"))
    exact = get("/", "Connection: close", filler)
    assert len(exact) == 100
    assert parse(exchange(address, exact))[0].status == 200
    over = get("/", "Connection: close", filler + "f")
    assert parse(exchange(address, over))[0].status == 431
    long_line = f"GET /{'a' * 100} HTTP/1.1\r\n\r\n".encode()
    assert parse(exchange(address, long_line))[0].status == 414


def test_pipelined_requests_are_answered_in_order(root: Any, serve: Any) -> None:
    address = serve(root)
    data = exchange(address, get("/echo?n=1") + get("/echo?n=2", method="HEAD") + get("/echo?n=3"))
    first, second, third = parse(data, ["GET", "HEAD", "GET"])
    assert first.body == b"[('n', '1')]"  # type: ignore[attr-defined]
    assert second.status == 200
    assert second.body == b""  # type: ignore[attr-defined]
    assert third.body == b"[('n', '3')]"  # type: ignore[attr-defined]


def test_expect_100_continue_gets_an_interim_answer(serve_foreign: Any) -> None:
    address = serve_foreign()
    client = socket.create_connection(address, timeout=10)
    try:
        client.sendall(get("/w/read", "Content-Length: 5", "Expect: 100-Continue", method="POST"))
        interim = client.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        client.sendall(b"hello")
        client.shutdown(socket.SHUT_WR)
        rest = b""
        while chunk := client.recv(4096):
            rest += chunk
    finally:
        client.close()
    response = parse(rest, ["POST"])[0]
    assert response.body == b"5:b'hello'"  # type: ignore[attr-defined]


def test_request_bodies_known_length_and_chunked(serve_foreign: Any, foreign: Foreign) -> None:
    address = serve_foreign()
    sized = parse(exchange(address, get("/w/read", "Content-Length: 5", method="POST", body=b"hello")),
                  ["POST"])[0]
    assert sized.body == b"5:b'hello'"  # type: ignore[attr-defined]
    chunked = get("/w/read", "Transfer-Encoding: chunked", method="POST",
                  body=b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    response = parse(exchange(address, chunked), ["POST"])[0]
    assert response.body == b"7:b'abcdefg'"  # type: ignore[attr-defined]
    assert foreign.environs[-1]["wsgi.input_terminated"] is True


@pytest.mark.parametrize("body_headers", [
    ("Content-Length: 11",),
    ("Transfer-Encoding: chunked",),
])
def test_an_unread_body_does_not_spoil_the_next_request(serve_foreign: Any,
                                                        body_headers: tuple[str, ...]) -> None:
    address = serve_foreign()
    body = b"hello world" if body_headers[0].startswith("Content") else b"b\r\nhello world\r\n0\r\n\r\n"
    data = exchange(address, get("/w/ignore-body", *body_headers, method="POST", body=body)
                    + get("/w/read", "Content-Length: 3", method="POST", body=b"abc"))
    first, second = parse(data, ["POST", "POST"])
    assert first.body == b"ignored"  # type: ignore[attr-defined]
    assert second.body == b"3:b'abc'"  # type: ignore[attr-defined]


def test_client_connection_options_are_case_insensitive_tokens(root: Any, serve: Any) -> None:
    address = serve(root)
    # HTTP/1.1 and "Close" in a list: the server closes after answering.
    response = parse(exchange(address, get("/", "Connection: foo, Close"), half_close=False))[0]
    assert response.getheader("Connection") == "close"
    # HTTP/1.0 asking for keep-alive in lower case keeps the connection.
    data = exchange(address, get("/", "Connection: keep-alive", protocol="HTTP/1.0")
                    + get("/", protocol="HTTP/1.0"))
    first, second = parse(data, ["GET", "GET"])
    assert first.getheader("Connection") == "Keep-Alive"
    assert first.getheader("Keep-Alive") == "timeout=10"
    assert second.body == b"Hello World!"  # type: ignore[attr-defined]


# -- the WSGI gateway and the writer ---------------------------------------------------


def test_a_small_response_is_one_send(root: Any, serve: Any) -> None:
    address = serve(root)
    client = socket.create_connection(address, timeout=10)
    try:
        client.sendall(get("/"))
        # Head and body arrive together: the first recv holds the whole response.
        data = client.recv(65536)
    finally:
        client.close()
    assert data.endswith(b"\r\n\r\nHello World!")
    assert parse(data)[0].status == 200


def test_every_form_of_body_is_sent(serve_foreign: Any, foreign: Foreign) -> None:
    address = serve_foreign()
    # write() calls, then the returned iterable.
    assert parse(exchange(address, get("/w/write")))[0].body == b"abcdefghi"  # type: ignore[attr-defined]
    # A generator calling start_response at its first step.
    assert parse(exchange(address, get("/w/lazy")))[0].body == b"lazy"  # type: ignore[attr-defined]
    # An iterable with close(), which is called.
    assert parse(exchange(address, get("/w/closing")))[0].body == b"body"  # type: ignore[attr-defined]
    assert foreign.closed == ["/closing"]
    # No length: chunked in HTTP/1.1 (empty blocks skipped) ...
    data = exchange(address, get("/w/unframed"))
    assert b"Transfer-Encoding: chunked" in data
    assert data.endswith(b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
    assert parse(data)[0].body == b"abcdef"  # type: ignore[attr-defined]
    # ... and ended by closing the connection in HTTP/1.0.
    old = exchange(address, get("/w/unframed", protocol="HTTP/1.0"), half_close=False)
    assert b"Transfer-Encoding" not in old
    assert old.endswith(b"\r\n\r\nabcdef")


def test_exc_info_before_the_head_replaces_status_and_headers(serve_foreign: Any) -> None:
    address = serve_foreign()
    response = parse(exchange(address, get("/w/exc-info")))[0]
    assert response.status == 500
    assert response.reason == "Oops"
    assert response.getheader("X-First") is None
    assert response.getheaders().count(("Content-Type", "text/plain")) == 1
    assert response.body == b"oops"  # type: ignore[attr-defined]


def test_exc_info_after_the_head_is_reraised(serve_foreign: Any, foreign: Foreign,
                                             log_messages: list[str]) -> None:
    address = serve_foreign()
    data = exchange(address, get("/w/exc-info-late"), half_close=False)
    # The head and the first block went out; then the connection was dropped.
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"\r\n\r\nfirst part")
    [(raised, reraised)] = foreign.errors
    assert reraised is raised
    assert any("KeyError" in message for message in log_messages)


def test_a_body_that_contradicts_its_length_ends_the_connection(serve_foreign: Any,
                                                                log_messages: list[str]) -> None:
    address = serve_foreign()
    data = exchange(address, get("/w/too-long"), half_close=False)
    # Longer, nothing sent yet: a 500, and nothing of the application's response.
    assert parse(data)[0].status == 500
    assert b"abc" not in data
    later = exchange(address, get("/w/too-long-later"), half_close=False)
    # Longer, part of it out: cut at the declared length, then the connection is dropped.
    assert later.endswith(b"\r\n\r\nabcde")
    # Shorter: the connection is closed at once (the client must not wait for the rest).
    started = time.monotonic()
    short = exchange(address, get("/w/too-short"), half_close=False)
    assert time.monotonic() - started < 5
    assert short.endswith(b"\r\n\r\nabc")
    assert any("shorter than its Content-Length" in message for message in log_messages)


def test_responses_that_cannot_have_a_body_get_none(serve_foreign: Any) -> None:
    address = serve_foreign()
    data = exchange(address, get("/w/no-content") + get("/w/not-modified")
                    + get("/w/unframed", method="HEAD") + get("/w/hello"))
    assert b"must not be sent" not in data
    assert b"abc" not in data
    no_content, not_modified, head, hello = parse(data, ["GET", "GET", "HEAD", "GET"])
    assert (no_content.status, not_modified.status, head.status) == (204, 304, 200)
    assert not_modified.getheader("Content-Length") == "8"
    # HEAD without a length is neither chunked nor a reason to close.
    assert head.getheader("Transfer-Encoding") is None
    assert hello.body == b"hello"  # type: ignore[attr-defined]


def test_a_broken_response_becomes_a_500(serve_foreign: Any) -> None:
    address = serve_foreign()
    for page in ("split", "silent", "text", "bad-status"):
        data = exchange(address, get(f"/w/{page}"), half_close=False)
        assert parse(data)[0].status == 500, page
        assert b"X-Injected" not in data
        assert b"never called" not in data


def test_headers_the_application_sets_are_respected(serve_foreign: Any) -> None:
    address = serve_foreign()
    # Its Connection: close closes (the server must close by itself: no half-close).
    data = exchange(address, get("/w/close") + get("/w/hello"), half_close=False)
    assert parse(data)[0].body == b"ok"  # type: ignore[attr-defined]
    assert b"hello" not in data
    # Its Date and Server are kept; missing ones are added.
    dated = parse(exchange(address, get("/w/dated")))[0]
    assert dated.getheader("Date") == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert dated.getheader("Server") == "foreign"
    plain = parse(exchange(address, get("/w/hello")))[0]
    assert plain.getheader("Date", "").endswith(" GMT")
    assert plain.getheader("Server") == "127.0.0.1"


# -- connections -----------------------------------------------------------------------


def _persistent(address: Address) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(*address, timeout=10)


def test_a_keep_alive_connection_serves_many_requests(root: Any, serve: Any) -> None:
    address = serve(root)
    server = drupe.server.httpserver
    connection = _persistent(address)
    try:
        for number in range(20):
            connection.request("GET", f"/echo?n={number}")
            assert connection.getresponse().read() == f"[('n', '{number}')]".encode()
        # Served by one connection: the client never had to reconnect.
        assert len(server._open_connections) == 1
    finally:
        connection.close()


def test_without_the_wait_every_request_goes_through_cheroots_selector(root: Any, serve: Any) -> None:
    address = serve(root, keep_alive_wait=0)
    server = drupe.server.httpserver
    assert not server.worker_may_wait()
    connection = _persistent(address)
    try:
        for _ in range(5):
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"Hello World!"
    finally:
        connection.close()


def test_workers_wait_only_while_threads_outnumber_connections(root: Any, serve: Any) -> None:
    address = serve(root, thread_pool=2)
    server = drupe.server.httpserver
    assert server.worker_may_wait()
    connections = [_persistent(address) for _ in range(3)]
    try:
        for connection in connections:
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"Hello World!"
        assert len(server._open_connections) == 3
        assert not server.worker_may_wait()
        # Three clients on two threads: each still gets answers, taking turns.
        for _ in range(3):
            for connection in connections:
                connection.request("GET", "/")
                assert connection.getresponse().read() == b"Hello World!"
    finally:
        for connection in connections:
            connection.close()
    deadline = time.monotonic() + 5
    while server._open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server._open_connections
    assert server.worker_may_wait()


def test_the_keep_alive_limit_counts_idle_connections(root: Any, serve: Any) -> None:
    address = serve(root, keep_alive_conn_limit=1, keep_alive_wait=0)
    server = drupe.server.httpserver
    first, second = _persistent(address), _persistent(address)
    try:
        first.request("GET", "/")
        response = first.getresponse()
        response.read()
        assert response.getheader("Connection") is None
        deadline = time.monotonic() + 5
        while len(server._idle_connections) != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server._idle_connections) == 1
        assert not server.can_add_keepalive_connection
        second.request("GET", "/")
        response = second.getresponse()
        response.read()
        assert response.getheader("Connection") == "close"
    finally:
        first.close()
        second.close()
    # Closed connections leave the books.
    deadline = time.monotonic() + 5
    while (server._idle_connections or server._open_connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server._idle_connections
    assert not server._open_connections
    assert server.can_add_keepalive_connection


def test_statistics_count_bytes_read_and_written(root: Any, serve: Any) -> None:
    address = serve(root, statistics=True)
    server = drupe.server.httpserver
    requests = get("/echo?a=1") + get("/", "Connection: close")
    data = exchange(address, requests, half_close=False)
    assert len(parse(data, ["GET", "GET"])) == 2
    drupe.engine.stop()
    stats = server.stats
    assert stats["Bytes Read"](stats) == len(requests)
    assert stats["Bytes Written"](stats) == len(data)


def test_a_stalled_request_is_answered_408_and_closed(root: Any, serve: Any) -> None:
    address = serve(root, socket_timeout=0.3)
    data = exchange(address, b"GET / HTTP/1.1\r\nHost: te", half_close=False)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout")


def test_waiting_for_the_next_request_is_not_work_time(root: Any, serve: Any) -> None:
    address = serve(root, statistics=True, keep_alive_wait=2)
    server = drupe.server.httpserver
    connection = _persistent(address)
    try:
        for pause in (0, 0, 0.4):
            time.sleep(pause)
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"Hello World!"
    finally:
        connection.close()
    drupe.engine.stop()
    stats = server.stats
    # Cheroot counts every attempt to read a request, so the client's closing (and the
    # kernel's probe of the port at start) may add one each.
    assert 3 <= stats["Requests"](stats) <= 5
    # The worker waited 0.4 s for the third request; that is not counted as work.
    assert stats["Work Time"](stats) < 0.3
