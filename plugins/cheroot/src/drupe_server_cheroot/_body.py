"""Request bodies: exact framing, bounded chunked decoding, a minimum transfer rate.

Cheroot's body readers (``KnownLengthRFile``, ``ChunkedRFile``) are subclassed here,
because as shipped they are lenient where leniency lets one request be read as two:

* a chunk size is anything ``int(text, 16)`` accepts (``+5``, ``0x5``, ``0_5``, ``-1``,
  surrounding whitespace), of any length;
* a chunk line may end with a bare LF, and extensions are not looked at;
* after the last chunk, the trailer section and its final CRLF are left on the
  connection, to be parsed as the next request;
* a body ending early (the client closed) looks like a complete one;
* iterating over the known-length reader reads past the body.

:class:`ChunkedBody` accepts exactly RFC 9112's chunked coding: hexadecimal chunk sizes
of at most 16 digits, well-formed and bounded extensions, CRLF after every chunk's data,
and a trailer section of at most ``server.max_request_header_count`` valid field lines
(read, checked and kept in ``trailers``, so the connection is positioned at the next
request). :class:`KnownLengthBody` reads exactly ``Content-Length`` bytes.

Both enforce ``server.min_body_rate``: once a read has to wait for the network, the
body must keep arriving at that many bytes per second on average, after an allowance of
``server.socket_timeout`` seconds; a client trickling its body slower holds a worker
thread no longer than that. (A client that stops sending is caught by the socket
timeout itself.)

Every failure raises :class:`RequestBodyError` — a :class:`drupe.HTTPError` (400, 408 or
413), so a drupe application answers it as it answers any HTTP error, with no traceback
in the log — and records it in the reader's ``error``: whatever the application then
does, the server answers with that status and closes the connection (see
``DrupeHTTPRequest``), since the rest of the connection cannot be trusted.

Both readers can also send the interim ``100 Continue`` answer on the first read
(``before_first_read``), the way PEP 3333 prefers: a client that asked for it sends the
body only when the application wants it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from cheroot.server import ChunkedRFile, KnownLengthRFile

import drupe
from drupe_server_cheroot._syntax import CHUNK_EXTENSIONS, FORBIDDEN_IN_VALUE, HEX_DIGITS, is_token

__all__ = ["NO_BODY", "ChunkedBody", "KnownLengthBody", "RequestBodyError"]

_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Request Entity Too Large",
            431: "Request Header Fields Too Large"}

# A chunk-size line (size and extensions) longer than this is refused: no client needs
# more, and the line is held in memory while it is read.
CHUNK_LINE_LIMIT = 4096
# More hexadecimal digits than this cannot be a size anybody sends (16 digits is 2**64).
_CHUNK_SIZE_DIGITS = 16


class RequestBodyError(drupe.HTTPError):
    """The request body cannot be read: broken framing (400), too slow (408), too big (413).

    ``status_line`` (``"400 Bad Request"``) and ``detail`` are what the server answers.
    """

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)
        self.status_line = f"{code} {_REASONS[code]}"
        self.detail = detail


class _Pace:
    """The minimum-rate check of one body (see the module docstring)."""

    __slots__ = ("allowance", "min_rate", "started")

    def __init__(self, min_rate: int, allowance: float) -> None:
        self.min_rate = min_rate
        self.allowance = allowance
        self.started: float | None = None

    def check(self, received: int) -> None:
        """About to wait for more bytes, ``received`` so far: is the client too slow?"""
        if not self.min_rate:
            return
        now = time.monotonic()
        started = self.started
        if started is None:
            # The clock starts at the first wait, not when the body was announced: the
            # application may have worked a while before reading.
            self.started = now
        elif now - started > self.allowance + received / self.min_rate:
            raise RequestBodyError(408, f"The request body arrived slower than "
                                        f"{self.min_rate} bytes per second.")


class _Reading:
    """What both readers share: failure bookkeeping, the first-read hook, exact reads."""

    rfile: Any
    error: RequestBodyError | None = None
    _min_rate = 0
    _allowance = 10.0
    # Created at the first wait for the network (PERF: most bodies never wait).
    _pace: _Pace | None = None
    _before_first_read: Callable[[], None] | None = None

    def _check_pace(self, received: int) -> None:
        pace = self._pace
        if pace is None:
            if not self._min_rate:
                return
            pace = self._pace = _Pace(self._min_rate, self._allowance)
        try:
            pace.check(received)
        except RequestBodyError as exc:
            self.error = exc
            raise

    def _fail(self, code: int, detail: str) -> RequestBodyError:
        error = RequestBodyError(code, detail)
        self.error = error
        return error

    def _first_read(self) -> None:
        hook = self._before_first_read
        if hook is not None:
            self._before_first_read = None
            hook()

    def _read_exactly(self, size: int, received: int) -> bytes:
        """``size`` bytes (``received`` so far of the body: for the rate), or a 400 at EOF."""
        rfile = self.rfile
        data: bytes = rfile.read1(size)
        if len(data) == size:
            # PERF: the whole piece was buffered or came in one receive.
            return data
        parts = [data]
        got = len(data)
        while got < size:
            if not data:
                raise self._fail(400, "The request body ended before its announced end.")
            self._check_pace(received + got)
            data = rfile.read1(size - got)
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def _read_line(self, limit: int, received: int) -> bytes:
        """A line of at most ``limit`` bytes (LF included); the line may lack its LF at EOF."""
        rfile = self.rfile
        parts: list[bytes] = []
        got = 0
        while True:
            data: bytes = rfile.peek(1)
            if not data:
                break
            take = min(len(data), limit - got)
            newline = data.find(b"\n", 0, take)
            if newline >= 0:
                take = newline + 1
            parts.append(rfile.read(take))
            got += take
            if newline >= 0 or got >= limit:
                break
            self._check_pace(received + got)
        return b"".join(parts)


class KnownLengthBody(_Reading, KnownLengthRFile):
    """Exactly ``Content-Length`` bytes of request body (``wsgi.input``)."""

    def __init__(self, rfile: Any, content_length: int, *, min_rate: int = 0,
                 allowance: float = 10.0, before_first_read: Callable[[], None] | None = None) -> None:
        super().__init__(rfile, content_length)
        self.length = content_length
        self._min_rate = min_rate
        self._allowance = allowance
        self._before_first_read = before_first_read

    def read(self, size: int | None = None) -> bytes:
        if self.error is not None:
            raise self.error
        remaining: int = self.remaining
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        elif size == 0:
            return b""
        if self._before_first_read is not None:
            self._first_read()
        data = self._read_exactly(size, self.length - remaining)
        self.remaining = remaining - size
        return data

    def readline(self, size: int | None = None) -> bytes:
        if self.error is not None:
            raise self.error
        remaining: int = self.remaining
        if remaining <= 0:
            return b""
        limit = remaining if size is None or size < 0 else min(size, remaining)
        if limit == 0:
            return b""
        if self._before_first_read is not None:
            self._first_read()
        line = self._read_line(limit, self.length - remaining)
        if not line.endswith(b"\n") and len(line) < limit:
            raise self._fail(400, "The request body ended before its Content-Length.")
        self.remaining = remaining - len(line)
        return line

    def readlines(self, sizehint: int = 0) -> list[bytes]:
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < sizehint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        # Cheroot's reader iterates the connection itself, past the end of the body.
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__


class ChunkedBody(_Reading, ChunkedRFile):
    """A ``Transfer-Encoding: chunked`` request body, decoded strictly (``wsgi.input``)."""

    def __init__(self, rfile: Any, maxlen: int, *, max_trailer_count: int = 100,
                 max_trailer_size: int = 64 * 1024, min_rate: int = 0, allowance: float = 10.0,
                 before_first_read: Callable[[], None] | None = None) -> None:
        super().__init__(rfile, maxlen)
        self.max_trailer_count = max_trailer_count
        self.max_trailer_size = max_trailer_size
        self.trailers: dict[bytes, bytes] = {}
        """The trailer fields that followed the last chunk (names title-cased)."""
        self._min_rate = min_rate
        self._allowance = allowance
        self._before_first_read = before_first_read

    def _fetch(self) -> None:
        if self.closed:
            return
        if self.error is not None:
            raise self.error
        if self._before_first_read is not None:
            self._first_read()
        line = self._read_line(CHUNK_LINE_LIMIT, self.bytes_read)
        self._count(len(line))
        if not line.endswith(b"\r\n"):
            if not line:
                raise self._fail(400, "The chunked request body ended before its last chunk.")
            if len(line) >= CHUNK_LINE_LIMIT:
                raise self._fail(400, "A chunk-size line of the request body is too long.")
            raise self._fail(400, "A chunk-size line of the request body does not end with CRLF.")
        size_text, semicolon, extensions = line[:-2].partition(b";")
        if semicolon:
            size_text = size_text.rstrip(b" \t")
            if not CHUNK_EXTENSIONS.fullmatch(b";" + extensions):
                raise self._fail(400, "Malformed chunk extension in the request body.")
        if not size_text or len(size_text) > _CHUNK_SIZE_DIGITS or size_text.strip(HEX_DIGITS):
            raise self._fail(400, f"Bad chunk size {size_text[:_CHUNK_SIZE_DIGITS + 1]!r} in the "
                                  "request body (hexadecimal digits only).")
        size = int(size_text, 16)
        if size == 0:
            self._read_trailers()
            self.closed = True
            return
        if self.maxlen and self.bytes_read + size > self.maxlen:
            raise self._fail(413, "The entity sent with the request exceeds the maximum "
                                  "allowed bytes.")
        chunk = self._read_exactly(size, self.bytes_read)
        self._count(size)
        terminator = self._read_exactly(2, self.bytes_read)
        self._count(2)
        if terminator != b"\r\n":
            raise self._fail(400, "A chunk of the request body is not followed by CRLF.")
        self.buffer += chunk

    def _count(self, size: int) -> None:
        self.bytes_read += size
        if self.maxlen and self.bytes_read > self.maxlen:
            raise self._fail(413, "The entity sent with the request exceeds the maximum "
                                  "allowed bytes.")

    def _read_trailers(self) -> None:
        """Read the trailer section (and its final CRLF) after the last chunk."""
        size = 0
        count = 0
        limit = self.max_trailer_size or CHUNK_LINE_LIMIT * 16
        while True:
            line = self._read_line(limit - size + 1, self.bytes_read)
            self._count(len(line))
            size += len(line)
            if line == b"\r\n":
                return
            if size > limit:
                raise self._fail(431, "The trailer fields of the request body are too large.")
            if not line.endswith(b"\r\n"):
                raise self._fail(400, "The trailer section of the request body is incomplete or "
                                      "does not use CRLF.")
            count += 1
            if self.max_trailer_count and count > self.max_trailer_count:
                raise self._fail(431, "The request body has too many trailer fields.")
            name, colon, value = line[:-2].partition(b":")
            if not colon or not is_token(name):
                raise self._fail(400, "Malformed trailer field in the request body.")
            value = value.strip(b" \t")
            if FORBIDDEN_IN_VALUE.search(value):
                raise self._fail(400, "A trailer field of the request body holds a control "
                                      "character.")
            self.trailers[name.title()] = value

    def read_trailer_lines(self) -> Iterator[bytes]:  # type: ignore[override]  # cheroot's stub says None
        """The trailer fields as ``b"Name: value\\r\\n"`` lines (cheroot's interface)."""
        if not self.closed:
            raise ValueError("Cannot read trailers until the request body has been read.")
        for name, value in self.trailers.items():
            yield name + b": " + value + b"\r\n"

    def close(self) -> None:
        # Cheroot closes the connection's reader here; the connection owns it.
        pass


NO_BODY = KnownLengthBody(None, 0)
"""The body of every request without one (it holds no state that could change)."""
