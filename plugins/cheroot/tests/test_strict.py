"""Strict parsing beyond the conformance suite: the extension points keep the rules.

The suite (``test_conformance.py``) checks the wire behaviour; these tests check what a
subclass or an application sees: a foreign header reader still gets strict framing,
trailers reach the application, an unanswered ``Expect: 100-continue`` closes the
connection, and the native server parses as strictly as the WSGI one.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable
from typing import Any

import cheroot.server
import pytest

import drupe
from drupe_server_cheroot import CherootServer, DrupeHTTPRequest

Address = tuple[str, int]


def _exchange(address: Address, data: bytes) -> bytes:
    client = socket.create_connection(address, timeout=10)
    try:
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        received = []
        while chunk := client.recv(65536):
            received.append(chunk)
        return b"".join(received)
    finally:
        client.close()


class Recorder:
    """A WSGI application that reads the body and remembers what it saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        body = b"" if environ["PATH_INFO"] == "/ignore" else stream.read()
        self.seen.append({"body": body, "trailers": dict(getattr(stream, "trailers", {})),
                          "environ": environ})
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def test_trailers_reach_the_application(recorder: Recorder, serve: Any) -> None:
    drupe.tree.graft(recorder, "/w")
    address = serve()
    reply = _exchange(address, b"POST /w/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert recorder.seen[-1]["body"] == b"abc"
    assert recorder.seen[-1]["trailers"] == {b"X-Sum": b"42"}


def test_an_unanswered_expectation_closes_the_connection(recorder: Recorder, serve: Any) -> None:
    # The application answers without reading: no 100 Continue goes out, and the client
    # may or may not send the body, so the connection cannot serve another request.
    drupe.tree.graft(recorder, "/w")
    address = serve()
    reply = _exchange(address, b"POST /w/ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                               b"Expect: 100-continue\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"100 Continue" not in reply
    assert b"Connection: close\r\n" in reply


def test_a_body_error_the_application_swallows_is_still_answered(serve: Any) -> None:
    def swallowing(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with contextlib.suppress(Exception):
            environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    drupe.tree.graft(swallowing, "/w")
    address = serve()
    reply = _exchange(address, b"POST /w/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"+3\r\nabc\r\n0\r\n\r\n" + b"GET /w/x HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # One answer only: the pipelined request after the broken body is never read.
    assert reply.count(b"HTTP/1.1 ") == 1


def test_a_drupe_handler_reading_a_broken_body_gets_a_400(serve: Any) -> None:
    class Root:
        @drupe.expose
        def upload(self) -> str:
            return str(len(drupe.request.body.read()))

    address = serve(Root())
    reply = _exchange(address, b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.endswith(b"A chunk-size line of the request body does not end with CRLF.")


def test_a_foreign_header_reader_keeps_the_framing_rules(recorder: Recorder, serve: Any) -> None:
    class CherootReaderRequest(DrupeHTTPRequest):
        header_reader = cheroot.server.HeaderReader()

    class CherootReaderServer(CherootServer):
        request_class = CherootReaderRequest

    drupe.registry.register("drupe.servers", "cheroot-reader-test", CherootReaderServer)
    try:
        drupe.tree.graft(recorder, "/w")
        address = serve(type="cheroot-reader-test")
        good = _exchange(address, b"GET /w/x HTTP/1.1\r\nHost: t\r\nX-A: 1\r\nAccept: a\r\n"
                                  b"Accept: b\r\n\r\n")
        assert good.startswith(b"HTTP/1.1 200 OK")
        environ = recorder.seen[-1]["environ"]
        assert (environ["HTTP_X_A"], environ["HTTP_ACCEPT"]) == ("1", "a, b")
        bad = _exchange(address, b"POST /w/x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        controls = _exchange(address, b"GET /w/x HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n")
        assert controls.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    finally:
        drupe.engine.exit()
        drupe.registry.unregister("drupe.servers", "cheroot-reader-test")


def test_the_native_server_parses_as_strictly(serve: Any) -> None:
    from drupe_server_cheroot import NativeServer

    class Root:
        @drupe.expose
        def index(self) -> str:
            return "native"

    drupe.registry.register("drupe.servers", "native-strict-test", NativeServer)
    try:
        address = serve(Root(), type="native-strict-test")
        assert _exchange(address, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").endswith(b"native")
        reply = _exchange(address, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                                   b"Content-Length: 1\r\n\r\nxx")
        assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert reply.endswith(b"More than one Content-Length header.")
    finally:
        drupe.engine.exit()
        drupe.registry.unregister("drupe.servers", "native-strict-test")
