"""A real socket client for live servers: our bytes out, the standard parser in.

Requests are written by hand (:func:`encode_request`) so that a test controls every
byte: any method, any request target, any protocol string, header values that no
well-behaved client library would send. Responses are read by the standard library's
``http.client.HTTPResponse``, a parser that has met every server on the internet; it
handles ``Content-Length``, chunked bodies, ``HEAD``, interim ``100 Continue`` answers and
tells whether the server will close the connection.

:func:`exchange` does one request/response round trip on a connected socket.
:class:`WireClient` owns a connection: one per request by default, or one kept open
across requests (``persistent=True``), reopened when the server closes it.
"""

from __future__ import annotations

import http.client
import socket
from types import TracebackType

from drupe_testing._prepare import PreparedRequest
from drupe_testing._response import Response

__all__ = ["WireClient", "client_host", "encode_request", "exchange", "read_until_closed"]


def client_host(host: str) -> str:
    """Where a client connects to reach a server bound to ``host`` (any-address -> loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "::0", "::0.0.0.0"):
        return "::1"
    return host


def encode_request(prepared: PreparedRequest) -> bytes:
    """The request exactly as it goes on the wire (latin-1 text, as HTTP/1.1 defines it)."""
    lines = [
        prepared.method.encode("latin-1") + b" " + prepared.target + b" "
        + prepared.protocol.encode("latin-1")
    ]
    lines.extend(name.encode("latin-1") + b": " + value.encode("latin-1")
                 for name, value in prepared.headers)
    return b"\r\n".join(lines) + b"\r\n\r\n" + (prepared.body or b"")


def exchange(sock: socket.socket, prepared: PreparedRequest) -> tuple[Response, bool]:
    """Send ``prepared`` on ``sock``, read one response; ``(response, server_will_close)``."""
    sock.sendall(encode_request(prepared))
    raw = http.client.HTTPResponse(sock, method=prepared.method)
    try:
        raw.begin()
        body = raw.read()
        # HTTPResponse folds the version into an int (10, 11); say it the usual way.
        protocol = f"HTTP/{raw.version // 10}.{raw.version % 10}"
        response = Response(f"{raw.status} {raw.reason}", raw.getheaders(), body, protocol=protocol)
        will_close = bool(raw.will_close)
    finally:
        raw.close()
    return response, will_close


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes the connection."""
    received: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(received)
        received.append(chunk)


class WireClient:
    """HTTP/1.x over a real TCP connection to ``host:port``.

    Without ``persistent`` each request gets its own connection, closed after the
    response. With it, one connection is reused until the server says it will close it;
    the next request then opens a new one (``connections_opened`` counts them, so a test
    can tell keep-alive from reconnecting).
    """

    def __init__(self, host: str, port: int, *, timeout: float = 10.0, persistent: bool = False) -> None:
        self.host = client_host(host)
        self.port = port
        self.timeout = timeout
        self.persistent = persistent
        self.connections_opened = 0
        self._sock: socket.socket | None = None

    def connect(self) -> socket.socket:
        """A new connected socket (the caller closes it)."""
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        # Requests are written in one sendall; no reason to let Nagle delay the last part.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections_opened += 1
        return sock

    def send(self, prepared: PreparedRequest) -> Response:
        """One round trip; the response."""
        sock = self._sock if self.persistent and self._sock is not None else self.connect()
        keep = False
        try:
            response, will_close = exchange(sock, prepared)
            keep = self.persistent and not will_close
        finally:
            if keep:
                self._sock = sock
            else:
                sock.close()
                if sock is self._sock:
                    self._sock = None
        return response

    def raw(self, data: bytes, *, half_close: bool = True) -> bytes:
        """Send ``data`` on a new connection and return every byte the server answers.

        With ``half_close`` (the default) the sending side is shut down after ``data``, so
        the server sees the end of the stream and closes once it has answered; without
        it the server must close by itself (after a ``Connection: close``, an error, or its
        timeout). A server that does neither raises ``TimeoutError`` after ``timeout``.
        """
        sock = self.connect()
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            return read_until_closed(sock)
        finally:
            sock.close()

    def close(self) -> None:
        """Close the kept connection, if any."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
