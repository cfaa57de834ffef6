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

Reading a request, step by step:

1. **The head arrives** (:meth:`DrupeHTTPConnection.read_head`). A worker thread only
   gets a connection once it is readable. It takes what is buffered or one ``recv``; when
   that holds the blank line ending the head — nearly always — the head is taken in one
   piece. Otherwise the bytes received are kept on the connection, which goes back to
   cheroot's selector until more arrive: a client sending its head slowly (slowloris)
   holds no thread while it sends nothing. ``server.header_timeout`` bounds the whole
   head from its first byte (408); ``server.max_request_line_size`` (414),
   ``server.max_request_header_size`` (414 while the request line is unfinished, else
   431) bound its size, so a head is never buffered beyond them.
2. **The head is checked as a whole**: one search for bytes no head may hold (NUL and the
   other controls but HTAB, DEL), and CR and LF counted to equal the number of lines, so
   a bare CR or LF anywhere is refused. Then it is split into lines at once.
3. **The request line**: an everyday line (upper-case method, a path without ``%`` or
   ``#``, ``HTTP/1.0`` or ``HTTP/1.1``) is split by one regular expression; any other is
   checked strictly (method a token; target of visible ASCII; version ``HTTP/d.d``, with
   a major version other than 1 answered 505 and a higher minor one served as 1.1) and
   then decoded by cheroot's parser, so absolute URIs, ``*``, ``CONNECT`` and escapes keep
   cheroot's rules. In absolute form only ``http`` and ``https`` targets are accepted, and
   their authority replaces the ``Host`` header (RFC 9112 section 3.2.2).
4. **The headers** (:class:`HeaderParser`): at most ``server.max_request_header_count``
   fields (431); names are tokens, with no whitespace before the colon; obs-fold is
   refused; names holding ``_`` are dropped (they would share a WSGI environ key with the
   ``-`` spelling: ``X_Forwarded_For`` must not pass for ``X-Forwarded-For``).
5. **Framing** (:meth:`DrupeHTTPRequest.read_request_headers`): exactly one ``Host`` on
   HTTP/1.1, a valid one; exactly one ``Content-Length``, of digits only; never together
   with ``Transfer-Encoding``; ``Transfer-Encoding`` only on HTTP/1.1, with ``chunked``
   final and once (400), and no other coding (501). Every refusal closes the connection.
6. **The body** (``_body``): exactly ``Content-Length`` bytes, or strictly decoded
   chunks and trailers, at ``server.min_body_rate``. ``Expect: 100-continue`` is answered
   when the application first reads the body. A broken body is answered with its error
   (400, 408, 413) — whatever the application made of it — and the connection closed: no
   second response is ever read from a connection whose framing failed.

What else differs from cheroot's classes, and why (the contract — ``parse_request()``,
``read_request_line()``, ``read_request_headers()``, ``respond()``, ``send_headers()``,
``write()``, the ``inheaders`` / ``status`` / ``outheaders`` attributes as bytes — is
cheroot's):

* The socket is read through C-buffered files (``_socketfile``).
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
import logging
import re
import select
import socket
import sys
import threading
import time
from typing import Any

from cheroot import errors
from cheroot.makefile import MakeFile
from cheroot.server import HTTPConnection, HTTPRequest

from drupe_server_cheroot._body import NO_BODY, ChunkedBody, KnownLengthBody, RequestBodyError
from drupe_server_cheroot._socketfile import socket_file
from drupe_server_cheroot._syntax import FORBIDDEN_IN_HEAD, FORBIDDEN_IN_VALUE, bad_host, bad_target, is_token

__all__ = ["DrupeHTTPConnection", "DrupeHTTPRequest", "HeadError", "HeaderParser",
           "discard_pending_input"]

# The request line of nearly every request, in one match: method, target (path and
# query), path, query, minor version. The path has no control bytes, spaces, non-ASCII,
# '%' (escapes need decoding), '#' (a fragment is an error) or '?', and does not start
# with '//' (that would be an authority); the query has no control bytes, spaces,
# non-ASCII or '#'. Anything else goes to the general path.
_EVERYDAY_REQUEST_LINE = re.compile(
    rb"([A-Z]+) ((/(?!/)[^\x00-\x20#%?\x7f-\xff]*)(?:\?([^\x00-\x20#\x7f-\xff]*))?)"
    rb" HTTP/1\.([01])"
)
_HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")

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
# Fields that decide how the request is read or routed: one of each, or 400.
_SINGLE_HEADERS = frozenset({b"Content-Length", b"Host"})

# Host values already found valid (bounded like the names below).
_VALID_HOSTS: set[bytes] = set()
_VALID_HOSTS_MAX = 1024

# Field names already checked -> their stored form (b"" for a dropped name). Bounded so
# that a client inventing names cannot grow it without end.
_KNOWN_NAMES_MAX = 2048

# Cheroot's HTTPRequest.write sends body bytes one write at a time; the first one here
# carries the head as well when the two together are at most this big (larger ones go
# as two sends rather than copying a big block).
_COALESCE_LIMIT = 64 * 1024

# Unread request bodies are read off in pieces of this size, never whole into memory.
_DRAIN_PIECE = 64 * 1024

_STATUS_LINE_START = {"HTTP/1.1": b"HTTP/1.1 ", "HTTP/1.0": b"HTTP/1.0 "}
_NO_BODY_STATUSES = frozenset({204, 205, 304})

_TIMEOUT_MESSAGES = ("timed out", "The read operation timed out")

# What DrupeHTTPConnection._serve_request reports.
_KEEP, _PARK, _CLOSE = "keep", "park", "close"


class HeadError(Exception):
    """A request head refused before it could be parsed (too big, too slow, malformed)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message





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


class _Lines:
    """``readline()`` over the lines of a head already split (cheroot's reader protocol)."""

    def __init__(self, lines: list[bytes], start: int) -> None:
        self._lines = lines
        self._next = start

    def readline(self, size: int | None = -1) -> bytes:
        index = self._next
        self._next = index + 1
        if index < len(self._lines):
            return self._lines[index] + b"\r\n"
        return b"\r\n" if index == len(self._lines) else b""


class HeaderParser:
    """Reads header fields into a dict: cheroot's ``header_reader`` protocol, strictly.

    ``parser(rfile, headers)`` reads lines up to the empty one (cheroot's protocol); the
    server calls :meth:`parse_lines` with the lines of a head it already split and
    checked as a whole (see the module docstring). Each field is stored as
    ``headers[Title-Cased-Name] = value`` (bytes, optional whitespace around it removed).
    A repeated field that holds a comma-separated list is joined with ``", "``; a repeated
    ``Content-Length`` or ``Host`` is refused; any other repeated field keeps its last
    value. Names holding ``_`` are dropped when ``drop_underscore_names`` (the default).
    Malformed input raises ``ValueError`` with the message the client gets in its 400
    answer: a line without a colon, an empty name, a name that is not a token,
    whitespace before the colon, a line folded onto the previous one (obs-fold, obsolete
    since RFC 7230; cheroot replaced the previous value with the continuation).
    """

    drop_underscore_names = True

    def __init__(self) -> None:
        self._names: dict[bytes, bytes] = {}

    def __call__(self, rfile: Any, headers: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
        if headers is None:
            headers = {}
        lines = [b""]
        readline = rfile.readline
        while True:
            line: bytes = readline()
            if line == b"\r\n":
                break
            if not line:
                raise ValueError("Illegal end of headers.")
            if line[-2:] != b"\r\n":
                raise ValueError("HTTP requires CRLF terminators")
            line = line[:-2]
            if FORBIDDEN_IN_VALUE.search(line.replace(b"\t", b" ")):
                raise ValueError("A header line holds a control character.")
            lines.append(line)
        self.parse_lines(lines, headers)
        return headers

    def parse_lines(self, lines: list[bytes], headers: dict[bytes, bytes], start: int = 1) -> None:
        """Store the fields of ``lines[start:]`` (without their CRLF) into ``headers``."""
        names = self._names
        for index in range(start, len(lines)):
            line = lines[index]
            name, colon, value = line.partition(b":")
            # PERF: one dict lookup for a name seen before; checks only for new names.
            key = names.get(name)
            if key is None or not colon:
                key = self._check_name(name, colon, line)
            if not key:
                continue
            value = value.strip(b" \t")
            existing = headers.get(key)
            if existing is not None:
                if key in _LIST_HEADERS:
                    if existing:
                        value = existing + b", " + value
                elif key in _SINGLE_HEADERS:
                    raise ValueError(f"More than one {key.decode('ascii')} header.")
            headers[key] = value

    def _check_name(self, name: bytes, colon: bytes, line: bytes) -> bytes:
        if line[:1] in (b" ", b"\t"):
            raise ValueError("Folded header lines (obs-fold) are not accepted.")
        if not colon or not name:
            raise ValueError("Illegal header line.")
        if not is_token(name):
            if name.rstrip(b" \t") != name:
                raise ValueError("Whitespace between a header name and its colon is not allowed.")
            raise ValueError("Illegal header name.")
        key = b"" if self.drop_underscore_names and b"_" in name else name.title()
        if len(self._names) < _KNOWN_NAMES_MAX:
            self._names[name] = key
        return key


class DrupeHTTPRequest(HTTPRequest):
    """One HTTP request as cheroot parses it (the parser's extension point).

    Requests in absolute form (``GET http://host/path HTTP/1.1``) are accepted, as HTTP/1.1
    requires of servers and as CherryPy has always done: cheroot's ``proxy_mode``. See the
    module docstring for what differs from cheroot's ``HTTPRequest``.
    """

    header_reader: Any = HeaderParser()

    parked = False
    """True when the head is still incomplete: the connection waits for more of it."""

    # The response head waiting to go out with the first body block (see _send).
    _head = b""
    # Set by send_headers: a response that must not carry body bytes.
    _no_body = False
    # The lines of the head (request line first), once it has arrived.
    _lines: list[bytes] = []
    # The client's HTTP minor version (0 or 1; higher ones are served as 1).
    _minor = 0
    # The request target was in absolute form (its authority replaces Host).
    _absolute_form = False
    # The body length announced by Content-Length (0 without one).
    _length = 0
    # "Expect: 100-continue" received on a request with a body: answered at the first read.
    _expect_continue = False

    def __init__(self, server: Any, conn: Any, proxy_mode: bool = True,
                 strict_mode: bool = True) -> None:
        super().__init__(server, conn, proxy_mode=proxy_mode, strict_mode=strict_mode)

    # -- reading the head ----------------------------------------------------------------

    def parse_request(self) -> None:
        """Take the request head from the connection, check it whole, then parse it."""
        try:
            head = self.conn.read_head()
        except HeadError as exc:
            self.started_request = True
            self.simple_response(exc.status, exc.message)
            return
        if head is None:
            self.parked = True
            return
        if not head:
            # The client closed the connection between requests.
            return
        # From here on a timeout is answered 408 (see DrupeHTTPConnection).
        self.started_request = True
        lines = head[:-4].split(b"\r\n")
        if not lines[0] and len(lines) > 1:
            # RFC 9112 section 2.2: one empty line before a request line is ignored.
            del lines[0]
        # PERF: the whole head in three C passes instead of a check per field. Every CR
        # and LF must belong to a line's CRLF: the lines, plus the blank line's (and the
        # ignored empty line's).
        crlf_count = head.count(b"\r\n")
        if FORBIDDEN_IN_HEAD.search(head):
            self.simple_response("400 Bad Request", "The request head holds a control character.")
            return
        if head.count(b"\n") != crlf_count or head.count(b"\r") != crlf_count:
            self.simple_response("400 Bad Request", "HTTP requires CRLF terminators")
            return
        self._lines = lines
        line_limit = self.server.max_request_line_size
        if line_limit and len(lines[0]) > line_limit:
            self.simple_response(
                "414 Request-URI Too Long",
                "The Request-URI sent with the request exceeds the maximum allowed bytes.",
            )
            return
        if self.read_request_line() and self.read_request_headers():
            self.ready = True

    def read_request_line(self) -> bool:
        """Parse the request line; ``False`` when it was answered 4xx/5xx."""
        line = self._lines[0]
        match = _EVERYDAY_REQUEST_LINE.fullmatch(line)
        if match is None or line.startswith(b"CONNECT "):
            return self._read_unusual_request_line(line)
        method, target, path, query, minor = match.groups()
        self.method = method
        self.uri = target
        self.authority = b""
        self.path = path
        self.qs = query or b""
        if minor == b"1":
            self._minor = 1
            self.request_protocol = b"HTTP/1.1"
            # Answer in the lower of the client's version and the server's.
            self.response_protocol = "HTTP/1.1" if self.server.protocol == "HTTP/1.1" else "HTTP/1.0"
        else:
            self.request_protocol = b"HTTP/1.0"
            self.response_protocol = "HTTP/1.0"
        return True

    def _read_unusual_request_line(self, line: bytes) -> bool:
        method, _, rest = line.partition(b" ")
        target, space, version = rest.partition(b" ")
        if not space:
            self.simple_response("400 Bad Request", "Malformed Request-Line")
            return False
        if not is_token(method):
            self.simple_response("400 Bad Request", "Malformed Request-Line: the method is not a token.")
            return False
        if bad_target(target):
            self.simple_response("400 Bad Request",
                                 "Malformed Request-Line: the request target holds a byte a URI "
                                 "cannot hold (whitespace, a control, non-ASCII) or is empty.")
            return False
        match = _HTTP_VERSION.fullmatch(version)
        if match is None:
            self.simple_response("400 Bad Request", "Malformed Request-Line: bad protocol version")
            return False
        if match.group(1) != b"1":
            self.simple_response("505 HTTP Version Not Supported",
                                 "This server speaks HTTP/1.0 and HTTP/1.1.")
            return False
        # A higher minor version is served as the highest one we speak (RFC 9110 2.5).
        self._minor = 1 if match.group(2) != b"0" else 0
        version = b"HTTP/1.1" if self._minor else b"HTTP/1.0"
        # A path starting with '//' is origin-form (an empty first segment), which
        # cheroot's URI splitting would take for an authority: decode it behind one.
        double_slash = target.startswith(b"//")
        if double_slash:
            target = b"http://origin.invalid" + target
        # Cheroot's parser decodes the rare forms; it reads the line from a reader.
        self.rfile = _Lines([method + b" " + target + b" " + version], 0)
        if not super().read_request_line():  # type: ignore[no-untyped-call]
            return False
        if double_slash:
            self.uri = self.uri[len(b"http://origin.invalid"):]
            self.authority = b""
            self.scheme = b"https" if self.server.ssl_adapter is not None else b"http"
            return True
        if self.method == b"CONNECT" or not self.authority:
            return True
        scheme = self.scheme.lower()
        if scheme not in (b"http", b"https"):
            self.simple_response("400 Bad Request",
                                 "An absolute request target must be an http or https URI.")
            return False
        self.scheme = scheme
        self._absolute_form = True
        return True

    def read_request_headers(self) -> bool:
        """Read the header fields into ``inheaders``, then check the framing (see the module doc)."""
        lines = self._lines
        server = self.server
        max_count = server.max_request_header_count
        if max_count and len(lines) - 1 > max_count:
            self.simple_response("431 Request Header Fields Too Large",
                                 f"More than {max_count} header fields.")
            return False
        reader = self.header_reader
        try:
            if isinstance(reader, HeaderParser):
                reader.parse_lines(lines, self.inheaders)
            else:
                reader(_Lines(lines, 1), self.inheaders)
        except ValueError as exc:
            self.simple_response("400 Bad Request", exc.args[0])
            return False
        return self._check_framing()

    def _refuse(self, status: str, message: str) -> bool:
        self.simple_response(status, message)
        return False

    def _check_framing(self) -> bool:
        headers = self.inheaders
        http11 = self._minor >= 1

        host = headers.get(b"Host")
        if host is None:
            if http11:
                return self._refuse("400 Bad Request", "HTTP/1.1 requests must carry a Host header.")
        elif host not in _VALID_HOSTS:
            # PERF: a server sees few Host values; each is checked once.
            if bad_host(host):
                return self._refuse("400 Bad Request", "Invalid Host header.")
            if len(_VALID_HOSTS) < _VALID_HOSTS_MAX:
                _VALID_HOSTS.add(host)
        if self._absolute_form:
            if bad_host(self.authority) or not self.authority:
                return self._refuse("400 Bad Request", "Invalid authority in the request target.")
            # RFC 9112 section 3.2.2: the target's authority wins over the Host header.
            headers[b"Host"] = self.authority

        coding = headers.get(b"Transfer-Encoding")
        length = headers.get(b"Content-Length")
        self.chunked_read = False
        if coding is not None:
            if not http11:
                return self._refuse("400 Bad Request", "Transfer-Encoding is not allowed in an "
                                                       "HTTP/1.0 request.")
            if length is not None:
                return self._refuse("400 Bad Request", "A request may not carry both Content-Length "
                                                       "and Transfer-Encoding.")
            codings = [part for part in (item.strip(b" \t").lower() for item in coding.split(b","))
                       if part]
            if not codings or codings[-1] != b"chunked":
                return self._refuse("400 Bad Request", "The final transfer coding of a request must "
                                                       "be chunked.")
            if len(codings) > 1:
                if b"chunked" in codings[:-1]:
                    return self._refuse("400 Bad Request", "The chunked transfer coding was applied "
                                                           "more than once.")
                names = ", ".join(repr(name.decode("latin-1")) for name in codings[:-1])
                return self._refuse("501 Not Implemented", f"Unsupported transfer coding {names}.")
            self.chunked_read = True
        elif length is not None:
            # Digits only: int() would also take '+5', ' 5', '5_0' and '٥'.
            if not length.isdigit() or len(length) > 18:
                return self._refuse("400 Bad Request", "Malformed Content-Length Header.")
            size = int(length)
            limit = self.server.max_request_body_size
            if limit and size > limit:
                return self._refuse(
                    "413 Request Entity Too Large",
                    "The entity sent with the request exceeds the maximum allowed bytes.",
                )
            self._length = size

        connection = headers.get(b"Connection")
        if self.response_protocol == "HTTP/1.1":
            # Persistent unless the client says close.
            if connection is not None and _has_token(connection, b"close"):
                self.close_connection = True
        elif connection is None or not _has_token(connection, b"keep-alive"):
            # HTTP/1.0 on either side: persistent only when the client asks.
            self.close_connection = True

        expect = headers.get(b"Expect")
        if expect is not None:
            if expect.lower() != b"100-continue":
                return self._refuse("417 Expectation Failed", "Only 100-continue is supported.")
            # HTTP/1.0 clients know no interim answers: their expectation is ignored.
            if http11 and (self.chunked_read or self._length):
                self._expect_continue = True
        return True

    def simple_response(self, status: Any, msg: str = "") -> None:
        """Answer with a short plain-text response and close the connection.

        Used for the server's own answers (parse errors, timeouts, body errors), after
        which the connection is always closed, so the answer says so.
        """
        self.close_connection = True
        # The rest of the request may still be arriving: close gently (see close()).
        self.conn.refused = True
        body = msg.encode("latin-1", "replace") if isinstance(msg, str) else msg
        head = (f"{self.server.protocol} {status}\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n").encode("latin-1")
        try:
            self.conn.wfile.write(head + body)
        except OSError as exc:
            if exc.args[0] not in errors.socket_errors_to_ignore:
                raise

    # -- answering -----------------------------------------------------------------------

    def _send_continue(self) -> None:
        """The interim ``100 Continue``, sent when the application first reads the body."""
        try:
            self.conn.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        except OSError as exc:
            if exc.args[0] not in errors.socket_errors_to_ignore:
                raise

    def respond(self) -> None:
        """Give the body to the gateway, run it, and finish the response on the wire."""
        server = self.server
        hook = self._send_continue if self._expect_continue else None
        if self.chunked_read:
            self.rfile = ChunkedBody(
                self.conn.rfile, server.max_request_body_size,
                max_trailer_count=server.max_request_header_count,
                max_trailer_size=server.max_request_header_size,
                min_rate=server.min_body_rate, allowance=server.timeout, before_first_read=hook,
            )
        elif self._length:
            self.rfile = KnownLengthBody(self.conn.rfile, self._length, min_rate=server.min_body_rate,
                                         allowance=server.timeout, before_first_read=hook)
        else:
            # PERF: nearly every request has no body; they share one empty reader.
            self.rfile = NO_BODY
        try:
            try:
                self.server.gateway(self).respond()
            except RequestBodyError as exc:
                # The application let the body's error through: it is the answer.
                self._answer_body_error(exc, head_sent=self.sent_headers and not self._head
                                        and not self._no_body)
                return
            if self.ready:
                self.ensure_headers_sent()
            if self.chunked_write and not self._no_body:
                self._send(b"0\r\n\r\n")
        finally:
            if self._head:
                # A gateway that failed after committing to its head: send the head as
                # cheroot would have (the client then sees the response cut short).
                self._send(b"")

    def _answer_body_error(self, error: RequestBodyError, *, head_sent: bool = False) -> None:
        """Answer ``error`` instead of the application's response, and close."""
        self.close_connection = True
        if head_sent:
            # Part of the response is on the wire: dropping the connection is all that
            # is left.
            return
        self._head = b""
        self._no_body = True
        self.chunked_write = False
        self.sent_headers = True
        self.simple_response(error.status_line, error.detail)

    # -- writing ---------------------------------------------------------------------------

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
        body = self.rfile
        if (not self.close_connection and self._expect_continue
                and getattr(body, "_before_first_read", None) is not None):
            # The client waits for a 100 Continue that will not come: it may send the body
            # or not, so nothing that follows on the connection can be trusted.
            self.close_connection = True
        if not self.close_connection:
            self._read_off_request_body()
        error = getattr(body, "error", None)
        if error is not None:
            # The body was malformed, too slow or too big: that is the answer, whatever
            # the application said (it may have caught the error, or never read).
            self._answer_body_error(error)
            return

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
        except RequestBodyError:
            # Recorded in body.error: send_headers answers it.
            self.close_connection = True
        except (ValueError, OSError, errors.MaxSizeExceeded):
            # A stalled body, or a reader of a subclass's own: the connection cannot be
            # reused.
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

    fresh = True
    """Accepted and not yet handed to a worker (the server waits until it is readable)."""

    head_deadline: float | None = None
    """While a request head is incomplete: when it must be complete (``time.monotonic``)."""

    head_expired = False
    """Set by the connection manager when an incomplete head ran out of time while parked."""

    _partial_head = b""

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

    @property
    def head_pending(self) -> bool:
        """Has part of a request head arrived, and the rest not yet?"""
        return bool(self._partial_head)

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

    # -- the request head ----------------------------------------------------------------

    def read_head(self) -> bytes | None:
        """The next request head, through its blank line; see the module docstring.

        Returns ``b""`` when the client closed the connection before sending anything,
        ``None`` when part of a head arrived and the rest is not there yet (the bytes are
        kept here, and the connection should wait in the selector). Raises
        :class:`HeadError` for a head that is too big (414, 431), too slow (408) or
        malformed (400).
        """
        if not self._partial_head:
            rfile = self.rfile
            # PERF: what is buffered, or one recv; nearly always the whole head.
            data: bytes = rfile.peek(1)
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                limit = self.server.max_request_header_size
                if not limit or end + 4 <= limit:
                    return rfile.read(end + 4)  # type: ignore[no-any-return]
            elif not data:
                return b""
        return self._read_head_slowly()

    def _read_head_slowly(self) -> bytes | None:
        server = self.server
        rfile = self.rfile
        received = bytearray(self._partial_head)
        self._partial_head = b""
        limit = server.max_request_header_size or sys.maxsize
        line_limit = min(server.max_request_line_size or limit, limit)
        while True:
            deadline = self.head_deadline
            if received and (self.head_expired or (deadline is not None
                                                   and time.monotonic() >= deadline)):
                raise HeadError("408 Request Timeout", "The request head did not arrive in time.")
            data: bytes = rfile.peek(1)
            if not data:
                if received:
                    raise HeadError("400 Bad Request", "The request head ended before its blank line.")
                return b""
            # The blank line may straddle what was received before and what came now.
            tail = bytes(received[-3:])
            end = (tail + data).find(b"\r\n\r\n")
            if end >= 0:
                received += rfile.read(end + 4 - len(tail))
                self._check_head_size(received, limit, line_limit, complete=True)
                self.head_deadline = None
                return bytes(received)
            # Never more than one byte past the limit.
            received += rfile.read(min(len(data), limit + 1 - len(received)))
            self._check_head_size(received, limit, line_limit, complete=False)
            if received.count(b"\n") != received.count(b"\r\n"):
                raise HeadError("400 Bad Request", "HTTP requires CRLF terminators")
            if self.head_deadline is None:
                self.head_deadline = time.monotonic() + server.header_timeout
            if not self._next_request_arrives(0):
                # Give the thread back; the selector wakes us when more arrives.
                self._partial_head = bytes(received)
                return None

    @staticmethod
    def _check_head_size(received: bytearray, limit: int, line_limit: int, *, complete: bool) -> None:
        start = 2 if received.startswith(b"\r\n") else 0
        line_end = received.find(b"\r\n", start)
        if (line_end < 0 and len(received) - start > line_limit) or line_end - start > line_limit:
            raise HeadError("414 Request-URI Too Long",
                            "The Request-URI sent with the request exceeds the maximum allowed bytes.")
        if len(received) > limit:
            raise HeadError("431 Request Header Fields Too Large",
                            "The headers sent with the request exceed the maximum allowed bytes.")

    # -- serving ---------------------------------------------------------------------------

    def communicate(self) -> bool:
        """Serve this connection's requests; ``True`` to park it until it is readable again.

        Cheroot's ``communicate()`` serves one request. Here, once the connection has
        carried a second request (the client does reuse it), and while the server allows
        it (``worker_may_wait()``: no more open connections than worker threads; see
        ``_base``), the same worker serves the next request too — at once when it is
        already buffered (pipelining), or when it arrives within
        ``server.keep_alive_wait`` seconds — instead of handing the connection back to
        cheroot's selector thread and queue between every two requests. A connection
        whose next head is only partly there is parked too (see :meth:`read_head`).
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
        while True:
            outcome = self._serve_request(counting)
            if outcome is _CLOSE:
                return False
            if outcome is _PARK:
                return True
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

    def _serve_request(self, counting: bool) -> str:
        """Read and answer one request: keep the connection, park it, or close it."""
        req: Any = None
        try:
            req = self.RequestHandlerClass(self.server, self)
            req.parse_request()
            if req.parked:
                return _PARK
            if counting:
                self.requests_seen += 1
            if not req.ready:
                # Answered already (or the client closed): the connection ends.
                return _CLOSE
            req.respond()
            return _CLOSE if req.close_connection else _KEEP
        except OSError as exc:
            if (exc.args and exc.args[0] in _TIMEOUT_MESSAGES) or isinstance(exc, socket.timeout):
                # Between requests silence is normal; within one it is answered 408.
                if req is not None and (req.started_request or self._partial_head):
                    self._answer_error(req, "408 Request Timeout")
            elif not exc.args or exc.args[0] not in errors.socket_errors_to_ignore:
                self.server.error_log(f"socket.error {exc.args[0] if exc.args else exc!r}",
                                      level=logging.WARNING, traceback=True)
                self._answer_error(req, "500 Internal Server Error")
        except (KeyboardInterrupt, SystemExit):
            raise
        except errors.FatalSSLAlert:
            pass
        except errors.NoSSLError:
            self._plain_http_on_tls(req)
        except Exception as exc:
            self.server.error_log(repr(exc), level=logging.ERROR, traceback=True)
            self._answer_error(req, "500 Internal Server Error")
        return _CLOSE

    def _answer_error(self, req: Any, status: str) -> None:
        """Answer ``status``, unless a response to ``req`` has begun."""
        if req is None or req.sent_headers:
            return
        try:
            req.simple_response(status)
        except errors.FatalSSLAlert:
            pass
        except errors.NoSSLError:
            self._plain_http_on_tls(req)

    def _plain_http_on_tls(self, req: Any) -> None:
        # Cheroot's answer to plain HTTP on a TLS port (private, absent from its stubs).
        HTTPConnection._handle_no_ssl(self, req)  # type: ignore[attr-defined]

    def has_pending_input(self) -> bool:
        """Can a read be answered at once (buffered bytes, decrypted TLS data, readable)?"""
        return self._next_request_arrives(0)

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

    refused = False
    """An error was answered: unread request bytes may be on their way."""

    def close(self) -> None:
        """Close the socket (and stop counting it as open or idle).

        After an error answer, the socket's sending side is shut first and what the
        client already sent is read off: closing a socket with unread input makes the
        kernel send a reset, which may destroy the answer before the client reads it.
        """
        forget = getattr(self.server, "forget_connection", None)
        if forget is not None:
            forget(self)
        if self.refused and not self.linger:
            with contextlib.suppress(OSError, ValueError):
                self.socket.shutdown(socket.SHUT_WR)
            discard_pending_input(self.socket)
        super().close()


# Bytes of unread input read off (without waiting) before closing after an error.
_DISCARD_LIMIT = 256 * 1024


def discard_pending_input(sock: Any) -> None:
    """Read off, without waiting, what the client sent and nobody read (at most 256 KiB)."""
    try:
        sock.settimeout(0)
        left = _DISCARD_LIMIT
        while left > 0:
            data = sock.recv(min(left, 65536))
            if not data:
                return
            left -= len(data)
    except (OSError, ValueError):
        # Nothing more to read now (BlockingIOError, ssl.SSLWantReadError), or gone.
        return


# poll() where the platform has it (no descriptor-number limit), else select().
_poll = getattr(select, "poll", None)
