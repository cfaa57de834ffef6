"""Raw HTTP/1.1 on a socket, for the HTTP server conformance suite.

The suite must see exactly what a server sends — a response to ``HEAD`` that carries body
bytes, a second response after one that should have been the last, a connection left
open after a framing error — so it parses responses itself instead of trusting a
client library that would paper over them. :class:`Wire` owns one connection:
``send(bytes)``, ``response(method)`` parses the next response (status line, header
fields, then a body framed by the status and method, ``Content-Length``, chunked coding
or the end of the connection), and ``closed()`` tells whether the server closed the
connection (failing if anything but the end arrives instead).

Standard library only; nothing here imports drupe.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
from dataclasses import dataclass, field

__all__ = ["Address", "RawResponse", "Wire", "connect"]

# (host, port) of a TCP server, or the path of a UNIX socket file.
Address = tuple[str, int] | str


class ProtocolViolation(AssertionError):
    """The server sent something that is not an HTTP/1.1 response."""


@dataclass
class RawResponse:
    """One response as received: status, header fields in order, body bytes."""

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of field ``name`` (case-insensitive; repeated ones joined with ", ")."""
        values = self.header_list(name)
        return ", ".join(values) if values else None

    def header_list(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def announces_close(self) -> bool:
        """Does the response say the connection closes after it?"""
        connection = (self.header("Connection") or "").lower()
        if any(token.strip() == "close" for token in connection.split(",")):
            return True
        return self.version == "HTTP/1.0" and "keep-alive" not in connection


def connect(address: Address, *, timeout: float = 10.0,
            tls_context: ssl.SSLContext | None = None) -> socket.socket:
    """A connected socket to ``address`` (TCP, or a UNIX socket file), TLS if a context is given."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        server_name = "localhost"
    else:
        sock = socket.create_connection(address, timeout=timeout)
        server_name = address[0]
    if tls_context is not None:
        try:
            sock = tls_context.wrap_socket(sock, server_hostname=server_name)
        except BaseException:
            sock.close()
            raise
    return sock


class Wire:
    """One client connection speaking raw bytes (see the module docstring)."""

    def __init__(self, address: Address, *, timeout: float = 10.0,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.sock = connect(address, timeout=timeout, tls_context=tls_context)
        self.timeout = timeout
        self._buffer = b""
        self._eof = False

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Send ``data``; a server that already closed (and reset) the connection is tolerated."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.sock.sendall(data)

    # -- receiving ---------------------------------------------------------------------

    def _receive(self) -> bool:
        if self._eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def _line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2:]
                return line
            if not self._receive():
                raise ProtocolViolation(f"The connection ended inside a response head "
                                        f"(received {self._buffer[:200]!r}).")

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._receive():
                raise ProtocolViolation(f"The connection ended {size - len(self._buffer)} bytes "
                                        "before the end of a response body.")
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def head(self) -> RawResponse:
        """The next response head (interim ``1xx`` ones included)."""
        line = self._line()
        version, _, rest = line.decode("latin-1").partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or not (len(code) == 3 and code.isdigit()):
            raise ProtocolViolation(f"Not a status line: {line[:200]!r}")
        response = RawResponse(version, int(code), reason)
        while True:
            field_line = self._line()
            if not field_line:
                return response
            name, colon, value = field_line.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise ProtocolViolation(f"Malformed response header line {field_line!r}")
            response.headers.append((name, value.strip(" \t")))

    def response(self, method: str = "GET", *, interim: bool = False) -> RawResponse:
        """The next final response to a ``method`` request (or the next one at all, ``interim``)."""
        while True:
            response = self.head()
            if response.status >= 200 or interim:
                break
        self._read_body(response, method)
        return response

    def _read_body(self, response: RawResponse, method: str) -> None:
        status = response.status
        if method == "HEAD" or status < 200 or status in (204, 304):
            return
        coding = response.header("Transfer-Encoding")
        length = response.header("Content-Length")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                raise ProtocolViolation(f"Unexpected response Transfer-Encoding {coding!r}")
            parts = []
            while True:
                size_line = self._line().split(b";", 1)[0].strip()
                size = int(size_line, 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                parts.append(self._exactly(size))
                if self._exactly(2) != b"\r\n":
                    raise ProtocolViolation("A response chunk is not followed by CRLF.")
            response.body = b"".join(parts)
        elif length is not None:
            if not length.isdigit():
                raise ProtocolViolation(f"Bad response Content-Length {length!r}")
            response.body = self._exactly(int(length))
        else:
            while self._receive():
                pass
            response.body, self._buffer = self._buffer, b""

    def closed(self, timeout: float | None = None) -> bool:
        """Does the server close the connection (within ``timeout``) without sending more?

        Bytes arriving instead of the end are a violation: a response the client must
        never see (a second response after a framing error, say).
        """
        if self._buffer:
            raise ProtocolViolation(f"Unexpected bytes after the response: {self._buffer[:200]!r}")
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if data:
            raise ProtocolViolation(f"Unexpected bytes after the response: {data[:200]!r}")
        self._eof = True
        return True

    def answered(self, wait: float) -> bool:
        """Has the server sent something (or closed) within ``wait`` seconds?"""
        if self._buffer or self._eof:
            return True
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return True
        readable, _, _ = select.select([self.sock], [], [], wait)
        return bool(readable)

    def still_open(self, wait: float = 0.2) -> bool:
        """Is the connection still open after ``wait`` seconds of silence?"""
        if self._buffer or self._eof:
            return not self._eof
        tls = isinstance(self.sock, ssl.SSLSocket)
        self.sock.settimeout(wait)
        try:
            # TLS sockets take no flags: what arrives is kept for the next response.
            data = self.sock.recv(65536) if tls else self.sock.recv(65536, socket.MSG_PEEK)
        except (TimeoutError, ssl.SSLWantReadError):
            return True
        except ConnectionResetError:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if not data:
            self._eof = True
            return False
        if tls:
            self._buffer += data
        return True
