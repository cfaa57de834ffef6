"""The HTTP connection and request classes: where the bytes of a request are parsed.

Cheroot reads requests with two classes: an ``HTTPConnection`` per accepted socket, whose
``communicate()`` creates one ``HTTPRequest`` per request on it (several with
keep-alive), and the ``HTTPRequest``, which parses the request line, the headers and the
body framing before handing over to the gateway (WSGI or native), then writes the
response the gateway gives it.

The hook point is the server's ``request_class`` attribute: :class:`DrupeHTTPConnection`
asks its server which request class to use for every request, so a stricter parser is
plugged by subclassing :class:`DrupeHTTPRequest` (overriding ``read_request_line``,
``read_request_headers``, ``header_reader`` or ``respond``) and naming the subclass::

    class StrictRequest(DrupeHTTPRequest):
        def read_request_headers(self) -> bool: ...

    class StrictServer(CherootServer):
        request_class = StrictRequest

Connection-level behaviour (timeouts, what happens between requests) is changed the same
way through the server's ``ConnectionClass``, cheroot's own hook.

What differs from cheroot's classes, and why (the contract — ``parse_request()``,
``read_request_line()``, ``read_request_headers()``, ``respond()``, ``send_headers()``,
``write()``, the ``inheaders`` / ``status`` / ``outheaders`` attributes as bytes — is
cheroot's):

* The socket is read through C-buffered files (``_socketfile``), the head of a request
  within ``server.max_request_header_size`` (:class:`~._socketfile.HeaderBudget`).
* A request line of the everyday shape — an upper-case method, a path without ``%`` or
  ``#``, ``HTTP/1.0`` or ``HTTP/1.1`` — is split by one regular expression; any other
  line is handed, unchanged, to cheroot's parser, so the rules for the rare forms
  (absolute URIs, ``*``, ``CONNECT``, escapes, malformed lines) stay cheroot's.
* Headers are read by :class:`HeaderParser`: cheroot's rules, plus two refusals (a line
  folded onto the previous one, an empty header name) that cheroot mis-parses.
* The response head is written together with the first block of the body: a small
  response is one ``send``. Nothing that must reach the client waits: the head is held
  only until the gateway's first write or the end of the response.
* Responses to ``HEAD`` and ``1xx`` / ``204`` / ``205`` / ``304`` responses never carry
  body bytes, whatever the gateway writes; a ``Connection: close`` from the application
  closes the connection; ``Connection`` and ``Expect`` request headers are compared as
  the case-insensitive token lists they are; an unread request body — chunked included
  — is read off (in pieces) so the connection can serve the next request.
* :meth:`DrupeHTTPConnection.communicate` serves a kept-alive connection's next
  requests itself while the server allows it (``server.keep_alive_wait``; see
  ``_base``), and restarts the ``server.statistics`` counters of the connection at each
  hand-off, so that cheroot's workers count each request and byte once.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import select
import socket
import threading
import time
from typing import Any

from cheroot import errors
from cheroot.makefile import MakeFile
from cheroot.server import ChunkedRFile, HTTPConnection, HTTPRequest, KnownLengthRFile

from drupe_server_cheroot._socketfile import HeaderBudget, socket_file

__all__ = ["DrupeHTTPConnection", "DrupeHTTPRequest", "HeaderParser"]

# The request line of nearly every request, in one match: method, target (path and
# query), path, query, minor version. The path has no control bytes, spaces, non-ASCII,
# '%' (escapes need decoding), '#' (a fragment is an error) or '?', and does not start
# with '//' (that would be an authority); the query has no control bytes, spaces,
# non-ASCII or '#'. Anything else goes to cheroot's general parser.
_EVERYDAY_REQUEST_LINE = re.compile(
    rb"([A-Z]+) ((/(?!/)[^\x00-\x20#%?\x7f-\xff]*)(?:\?([^\x00-\x20#\x7f-\xff]*))?)"
    rb" HTTP/1\.([01])\r\n"
)

# Repeated header fields whose values are comma-separated lists: joined with ", ".
# Cheroot's set of names, in the title case names are stored in (cheroot's own
# comparison misses 'TE' and 'WWW-Authenticate', which it stores as 'Te' and
# 'Www-Authenticate').
_LIST_HEADERS = frozenset(name.encode("ascii").title() for name in (
    "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges",
    "Allow", "Cache-Control", "Connection", "Content-Encoding", "Content-Language",
    "Expect", "If-Match", "If-None-Match", "Pragma", "Proxy-Authenticate", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Vary", "Via", "Warning", "WWW-Authenticate",
))

# Cheroot's HTTPRequest.write sends body bytes one write at a time; the first one here
# carries the head as well when the two together are at most this big (larger ones go
# as two sends rather than copying a big block).
_COALESCE_LIMIT = 64 * 1024

# Unread request bodies are read off in pieces of this size, never whole into memory.
_DRAIN_PIECE = 64 * 1024

_STATUS_LINE_START = {"HTTP/1.1": b"HTTP/1.1 ", "HTTP/1.0": b"HTTP/1.0 "}
_NO_BODY_STATUSES = frozenset({204, 205, 304})


class _HTTPDate:
    """The ``Date`` header value, formatted once per second (for applications without one)."""

    def __init__(self) -> None:
        # (second, value) in one tuple: threads replace it whole, never half of it.
        self._latest = (-1, b"")

    def __call__(self) -> bytes:
        now = int(time.time())
        second, value = self._latest
        if now != second:
            # PERF: formatdate costs a few µs; a second's requests share one value.
            value = email.utils.formatdate(now, usegmt=True).encode("ascii")
            self._latest = (now, value)
        return value


_http_date = _HTTPDate()


def _has_token(value: bytes, token: bytes) -> bool:
    """Does the comma-separated header ``value`` hold ``token`` (case-insensitive)?"""
    value = value.lower()
    if value == token:
        return True
    return any(part.strip() == token for part in value.split(b","))


class _Replay:
    """A reader that returns an already-read line first, then reads on from ``rfile``."""

    def __init__(self, line: bytes, rfile: Any) -> None:
        self._line: bytes | None = line
        self._rfile = rfile

    def readline(self, size: int | None = -1) -> bytes:
        line = self._line
        if line is None:
            return self._rfile.readline(size)  # type: ignore[no-any-return]
        if size is not None and 0 <= size < len(line):
            self._line = line[size:]
            return line[:size]
        self._line = None
        return line

    def read(self, size: int | None = -1) -> bytes:
        line = self._line
        if line is None:
            return self._rfile.read(size)  # type: ignore[no-any-return]
        if size is not None and 0 <= size < len(line):
            return self.readline(size)
        self._line = None
        rest: bytes = self._rfile.read(size - len(line) if size is not None and size >= 0 else size)
        return line + rest


class HeaderParser:
    """Reads header lines into a dict: cheroot's ``header_reader`` protocol.

    ``parser(rfile, headers)`` reads lines up to the empty one and stores each field as
    ``headers[Title-Cased-Name] = stripped value`` (bytes). A repeated field that holds a
    comma-separated list is joined with ``", "``; any other repeated field keeps its last
    value. Malformed input raises ``ValueError`` with the message the client gets in its
    400 answer: a line without CRLF, without a colon, with an empty name, or folded onto
    the previous line (obsolete since RFC 7230; RFC 9112 lets a server refuse it, and
    cheroot would silently replace the previous value with the continuation).
    """

    def __call__(self, rfile: Any, headers: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
        if headers is None:
            headers = {}
        readline = rfile.readline
        while True:
            line: bytes = readline()
            if line == b"\r\n":
                return headers
            if not line:
                raise ValueError("Illegal end of headers.")
            if line[-2:] != b"\r\n":
                raise ValueError("HTTP requires CRLF terminators")
            if line[0] in (32, 9):
                raise ValueError("Folded header lines (obs-fold) are not accepted.")
            name, colon, value = line.partition(b":")
            name = name.strip()
            if not colon or not name:
                raise ValueError("Illegal header line.")
            name = name.title()
            value = value.strip()
            if name in _LIST_HEADERS:
                existing = headers.get(name)
                if existing:
                    value = existing + b", " + value
            headers[name] = value


class DrupeHTTPRequest(HTTPRequest):
    """One HTTP request as cheroot parses it (the parser's extension point).

    Requests in absolute form (``GET http://host/path HTTP/1.1``) are accepted, as HTTP/1.1
    requires of servers and as CherryPy has always done: cheroot's ``proxy_mode``. See the
    module docstring for what differs from cheroot's ``HTTPRequest``.
    """

    header_reader: Any = HeaderParser()

    # The response head waiting to go out with the first body block (see _send).
    _head = b""
    # Set by send_headers: a response that must not carry body bytes.
    _no_body = False

    def __init__(self, server: Any, conn: Any, proxy_mode: bool = True,
                 strict_mode: bool = True) -> None:
        super().__init__(server, conn, proxy_mode=proxy_mode, strict_mode=strict_mode)

    # -- reading the head ----------------------------------------------------------------

    def parse_request(self) -> None:
        """Read the request line and headers, within ``server.max_request_header_size``."""
        self.rfile = HeaderBudget(self.conn.rfile, self.server.max_request_header_size)
        try:
            ok = self.read_request_line()
        except errors.MaxSizeExceeded:
            self.simple_response(
                "414 Request-URI Too Long",
                "The Request-URI sent with the request exceeds the maximum allowed bytes.",
            )
            return
        if not ok:
            return
        try:
            ok = self.read_request_headers()
        except errors.MaxSizeExceeded:
            self.simple_response(
                "413 Request Entity Too Large",
                "The headers sent with the request exceed the maximum allowed bytes.",
            )
            return
        if ok:
            self.ready = True

    def read_request_line(self) -> bool:
        """Parse the request line; ``False`` when there is none or it was answered 4xx/5xx."""
        line: bytes = self.rfile.readline()
        # From here on a timeout is answered 408 (see cheroot's communicate()).
        self.started_request = True
        if not line:
            return False
        match = _EVERYDAY_REQUEST_LINE.fullmatch(line)
        if match is None or line.startswith(b"CONNECT "):
            return self._read_unusual_request_line(line)
        method, target, path, query, minor = match.groups()
        self.method = method
        self.uri = target
        self.authority = b""
        self.path = path
        self.qs = query or b""
        self.request_protocol = b"HTTP/1.1" if minor == b"1" else b"HTTP/1.0"
        # Answer in the lower of the client's version and the server's.
        if minor == b"1" and self.server.protocol == "HTTP/1.1":
            self.response_protocol = "HTTP/1.1"
        else:
            self.response_protocol = "HTTP/1.0"
        return True

    def _read_unusual_request_line(self, line: bytes) -> bool:
        # Cheroot's parser reads the line itself: give it the one already read, then the
        # connection (the bytes count against the same header budget either way).
        budget = self.rfile
        self.rfile = _Replay(line, budget)
        try:
            return bool(super().read_request_line())  # type: ignore[no-untyped-call]
        finally:
            self.rfile = budget

    def read_request_headers(self) -> bool:
        """Read the headers into ``inheaders`` and work out the body framing and keep-alive."""
        try:
            self.header_reader(self.rfile, self.inheaders)
        except ValueError as exc:
            self.simple_response("400 Bad Request", exc.args[0])
            return False
        headers = self.inheaders
        length = headers.get(b"Content-Length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                self.simple_response("400 Bad Request", "Malformed Content-Length Header.")
                return False
            limit = self.server.max_request_body_size
            if limit and size > limit:
                self.simple_response(
                    "413 Request Entity Too Large",
                    "The entity sent with the request exceeds the maximum allowed bytes.",
                )
                return False

        http11 = self.response_protocol == "HTTP/1.1"
        connection = headers.get(b"Connection")
        if http11:
            # Persistent unless the client says close.
            if connection is not None and _has_token(connection, b"close"):
                self.close_connection = True
        elif connection is None or not _has_token(connection, b"keep-alive"):
            # HTTP/1.0 on either side: persistent only when the client asks.
            self.close_connection = True

        self.chunked_read = False
        if http11:
            coding = headers.get(b"Transfer-Encoding")
            if coding is not None:
                codings = [part.strip().lower() for part in coding.split(b",") if part.strip()]
                for name in codings:
                    if name != b"chunked":
                        # Even next to chunked, a coding we cannot undo is refused.
                        self.simple_response("501 Unimplemented")
                        self.close_connection = True
                        return False
                self.chunked_read = bool(codings)

        expect = headers.get(b"Expect")
        if expect is not None and expect.lower() == b"100-continue":
            # PEP 3333 asks servers to support expect/continue; answering at once is the
            # simplest of its three ways. Not simple_response: an interim answer has no
            # headers of its own.
            try:
                self.conn.wfile.write(self.server.protocol.encode("ascii")
                                      + b" 100 Continue\r\n\r\n")
            except OSError as exc:
                if exc.args[0] not in errors.socket_errors_to_ignore:
                    raise
        return True

    # -- answering -----------------------------------------------------------------------

    def respond(self) -> None:
        """Give the body to the gateway, run it, and finish the response on the wire."""
        limit = self.server.max_request_body_size
        if self.chunked_read:
            self.rfile = ChunkedRFile(self.conn.rfile, limit)
        else:
            length = int(self.inheaders.get(b"Content-Length", 0))
            if limit and length > limit:
                # Only reachable when a subclass's read_request_headers let it through.
                if not self.sent_headers:
                    self.simple_response(
                        "413 Request Entity Too Large",
                        "The entity sent with the request exceeds the maximum allowed bytes.",
                    )
                return
            self.rfile = KnownLengthRFile(self.conn.rfile, length)
        try:
            self.server.gateway(self).respond()
            if self.ready:
                self.ensure_headers_sent()
            if self.chunked_write and not self._no_body:
                self._send(b"0\r\n\r\n")
        finally:
            if self._head:
                # A gateway that failed after committing to its head: send the head as
                # cheroot would have (the client then sees the response cut short).
                self._send(b"")

    def send_headers(self) -> None:
        """Compose the response head from ``status`` and ``outheaders`` (bytes).

        As in cheroot: chunked encoding (HTTP/1.1) or closing the connection frames a
        body without ``Content-Length``; the keep-alive limit may close the connection;
        ``Connection``, ``Date`` and ``Server`` headers are added when missing. The head is
        not written here but with the first body block (or at the end of the response).
        """
        headers = self.outheaders
        # Cheroot's stubs say str; by the time a head is composed it holds bytes.
        status: bytes = self.status  # type: ignore[assignment]
        try:
            code = int(status[:3])
        except (TypeError, ValueError):
            # Nothing is on the wire yet: let cheroot answer 500 instead.
            self.sent_headers = False
            raise ValueError(f"The response status {status!r} does not start with a code.") from None
        names = {name.lower() for name, _ in headers}
        method = self.method
        self._no_body = no_body = code < 200 or code in _NO_BODY_STATUSES or method == b"HEAD"

        if code == 413:
            # The rest of the request may still be on its way: stop reading it.
            self.close_connection = True
        elif b"content-length" not in names and not no_body:
            if self.response_protocol == "HTTP/1.1":
                self.chunked_write = True
                headers.append((b"Transfer-Encoding", b"chunked"))
            else:
                # Closing the connection is the only end-of-body marker left.
                self.close_connection = True

        if b"connection" in names:
            for name, value in headers:
                if name.lower() == b"connection" and _has_token(value, b"close"):
                    # The application announced a close: do close.
                    self.close_connection = True
        if not self.close_connection and not self.server.can_add_keepalive_connection:
            self.close_connection = True
        if not self.close_connection:
            self._read_off_request_body()

        if b"connection" not in names:
            if self.response_protocol == "HTTP/1.1":
                if self.close_connection:
                    headers.append((b"Connection", b"close"))
            elif not self.close_connection:
                headers.append((b"Connection", b"Keep-Alive"))
                headers.append((b"Keep-Alive", f"timeout={self.server.timeout:g}".encode("ascii")))
        if b"date" not in names:
            headers.append((b"Date", _http_date()))
        if b"server" not in names:
            headers.append((b"Server", self.server.server_name.encode("latin-1")))

        # PERF: one join for the whole head.
        protocol: str = self.server.protocol
        parts: list[bytes] = [_STATUS_LINE_START.get(protocol) or protocol.encode("ascii") + b" ",
                              status, b"\r\n"]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        parts.append(b"\r\n")
        head = b"".join(parts)
        # Response splitting: a CR or LF inside the status or a header would start a line
        # of its own. Each line ends with exactly one CRLF, so counting them is enough.
        lines = len(headers) + 2
        if head.count(b"\n") != lines or head.count(b"\r") != lines:
            # Nothing is on the wire yet: let cheroot answer 500 instead.
            self.sent_headers = False
            raise ValueError("The response status or a response header contains a line break.")
        self._head = head

    def _read_off_request_body(self) -> None:
        """Consume what the application left of the request body (see the module doc)."""
        body = self.rfile
        if self.chunked_read:
            if getattr(body, "closed", True):
                return
        elif not getattr(body, "remaining", 0):
            return
        try:
            while body.read(_DRAIN_PIECE):
                pass
        except (ValueError, OSError, errors.MaxSizeExceeded):
            # A malformed, oversized or stalled body: the connection cannot be reused.
            self.close_connection = True

    def write(self, chunk: bytes) -> None:
        """Send a block of the body (chunk-encoded when ``chunked_write``)."""
        if not chunk or self._no_body:
            return
        if self.chunked_write:
            size_line = b"%x\r\n" % len(chunk)
            if len(chunk) <= _COALESCE_LIMIT:
                self._send(b"".join((size_line, chunk, b"\r\n")))
                return
            self._send(size_line)
            self.conn.wfile.write(chunk)
            self.conn.wfile.write(b"\r\n")
            return
        self._send(chunk)

    def _send(self, data: bytes) -> None:
        """Write ``data``, preceded by the response head if it has not gone out yet."""
        head = self._head
        if head:
            self._head = b""
            if len(data) <= _COALESCE_LIMIT:
                # PERF: head and first block in one send (one syscall, one segment).
                data = head + data
            else:
                self.conn.wfile.write(head)
        if data:
            self.conn.wfile.write(data)


class DrupeHTTPConnection(HTTPConnection):
    """An accepted socket; builds requests with the server's ``request_class``.

    Its ``rfile`` / ``wfile`` are the C-buffered socket files of ``_socketfile`` instead
    of cheroot's ``_pyio`` ones (an explicitly different ``makefile`` is honoured).
    """

    # Resolved lazily for `server.reverse_dns`, once per connection: a client sends many
    # requests on one keep-alive connection, and a DNS round trip per request would be
    # the slowest part of serving them.
    _remote_host_name: str | None = None

    requests_served = 0
    """Requests answered on this connection so far (kept open after them)."""

    wsgi_environ_base: tuple[Any, dict[str, Any]] | None = None
    """The WSGI gateway's per-connection environ entries (built at the first request)."""

    def __init__(self, server: Any, sock: Any, makefile: Any = MakeFile) -> None:
        if makefile is MakeFile:
            # Cheroot's connection manager always passes its own _pyio-based factory.
            makefile = socket_file
        super().__init__(server, sock, makefile)

    @property
    def RequestHandlerClass(self) -> type[HTTPRequest]:
        # Cheroot reads this class attribute in communicate(); asking the server instead
        # lets one attribute on the server class choose the parser for every connection.
        return self.server.request_class  # type: ignore[no-any-return]

    def remote_host_name(self) -> str:
        """The client's host name by reverse DNS (its address when it has none)."""
        name = self._remote_host_name
        if name is None:
            address = self.remote_addr or ""
            name = address
            if address:
                # No name (or no DNS at all) is normal: the address stands in for it.
                with contextlib.suppress(OSError, UnicodeError):
                    name = socket.gethostbyaddr(address)[0]
            self._remote_host_name = name
        return name

    def communicate(self) -> bool:
        """Serve this connection's requests; ``True`` to park it until its next request.

        Cheroot's ``communicate()`` serves one request. Here, once the connection has
        carried a second request (the client does reuse it), and while the server allows
        it (``worker_may_wait()``: no more open connections than worker threads; see
        ``_base``), the same worker serves the next request too — at once when it is
        already buffered (pipelining), or when it arrives within
        ``server.keep_alive_wait`` seconds — instead of handing the connection back to
        cheroot's selector thread and queue between every two requests.
        """
        server = self.server
        counting = server.stats["Enabled"]
        if counting:
            # Cheroot's worker adds these connection counters to its totals each time
            # communicate() returns; restarting them here counts a kept-alive
            # connection's requests and bytes once, not again at every hand-off.
            self.requests_seen = 0
            self.rfile.bytes_read = 0
            self.wfile.bytes_written = 0
        may_wait = getattr(server, "worker_may_wait", None)
        while super().communicate():  # type: ignore[no-untyped-call]
            self.requests_served += 1
            if may_wait is None or self.requests_served < 2 or not may_wait():
                return True
            if counting:
                started = time.time()
                arrived = self._next_request_arrives(server.keep_alive_wait)
                # Waiting is not work: keep it out of the worker's "Work Time".
                worker = threading.current_thread()
                if getattr(worker, "start_time", None) is not None:
                    worker.start_time += time.time() - started  # type: ignore[attr-defined]
            else:
                arrived = self._next_request_arrives(server.keep_alive_wait)
            if not arrived:
                return True
        return False

    def _next_request_arrives(self, timeout: float) -> bool:
        """Is (or becomes, within ``timeout`` seconds) the connection readable?"""
        if self.rfile.has_data():
            return True
        sock = self.socket
        pending = getattr(sock, "pending", None)
        if pending is not None and pending():
            # TLS: a record already decrypted by the ssl module, invisible to poll().
            return True
        # Readable also means closed by the client: communicate() then ends cleanly.
        if _poll is not None:
            poller = _poll()
            poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(timeout * 1000))
        readable, _, _ = select.select([sock], [], [], timeout)
        return bool(readable)

    def close(self) -> None:
        """Close the socket (and stop counting it as open or idle)."""
        forget = getattr(self.server, "forget_connection", None)
        if forget is not None:
            forget(self)
        super().close()


# poll() where the platform has it (no descriptor-number limit), else select().
_poll = getattr(select, "poll", None)
