"""Reading and writing a connection's socket: C-buffered reads, one send per write.

Cheroot reads requests through ``cheroot.makefile``, which builds on the pure-Python
``_pyio`` module on purpose (it needs to see into the buffer), so every ``readline`` of
a request line or header runs a few dozen lines of Python. Here the reader is the C
``io.BufferedReader`` itself, over a small raw stream that calls ``recv_into`` on the
socket and counts the bytes it received:

* ``readline(limit)`` and ``read(n)`` run in C; nothing of ours runs per call;
* ``has_data()`` (cheroot's connection manager asks it before parking a keep-alive
  connection: is a pipelined request already buffered?) compares the bytes received
  with the reader's position, ``tell()``, which the C reader computes as "received minus
  still buffered"; it never touches the socket;
* ``bytes_read`` (the ``server.statistics`` counter) is that same position, less where
  the count was last set (``bytes_read = 0`` restarts it), so counting costs nothing per
  read; it is kept when the reader is closed (cheroot reads it after closing the
  connection).

Timeouts and errors are the socket's own (``TimeoutError('timed out')``, or ssl's
``'The read operation timed out'``), which is what cheroot's connection code expects.
TLS sockets work alike: ``ssl.SSLSocket.recv_into`` and ``send`` are used the same way.

The writer has no buffer at all: cheroot's writer flushed on every write anyway, so it
is ``send`` until everything went out, plus the ``bytes_written`` counter. What makes one
response a single ``send`` is the request (``_connection.py``), which writes the head
and the first body block together.

:func:`socket_file` has the signature of cheroot's ``makefile`` factories
(``makefile(sock, mode, bufsize)``), so connections and TLS adapters use it in their
place. :class:`HeaderBudget` takes the place of cheroot's ``SizeCheckWrapper`` while a
request's head is read.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable
from typing import Any

from cheroot.errors import MaxSizeExceeded

__all__ = ["HeaderBudget", "SocketReader", "SocketWriter", "socket_file"]


class _ReceivingStream(io.RawIOBase):
    """The raw stream under :class:`SocketReader`: ``recv_into``, counting bytes."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._recv_into: Callable[[Any], int] = sock.recv_into
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        try:
            count: int = self._recv_into(buffer)
        except BlockingIOError:
            # A non-blocking socket with nothing to read: the raw-stream convention.
            return None
        self.received += count
        return count

    def tell(self) -> int:
        # The C reader's tell() is this minus what it still buffers: the position of the
        # next byte a caller will get, i.e. the bytes consumed so far.
        return self.received

    def close(self) -> None:
        # Never the socket's: the connection closes its socket itself.
        self._recv_into = _closed_recv_into
        super().close()


def _closed_recv_into(buffer: Any) -> int:
    raise ValueError("I/O operation on closed socket reader.")


class SocketReader(io.BufferedReader):
    """The buffered reader of one connection (see the module docstring)."""

    def __init__(self, sock: socket.socket, bufsize: int = io.DEFAULT_BUFFER_SIZE) -> None:
        self._stream = _ReceivingStream(sock)
        super().__init__(self._stream, bufsize)
        self._bytes_read_when_closed: int | None = None
        self._counted_from = 0

    @property
    def bytes_read(self) -> int:
        """Bytes handed out since the count was last set (requests, headers and bodies)."""
        final = self._bytes_read_when_closed
        position = self.tell() if final is None else final
        return position - self._counted_from

    @bytes_read.setter
    def bytes_read(self, value: int) -> None:
        # Setting the counter (to 0: start counting afresh) as with cheroot's readers.
        position = self.tell() if self._bytes_read_when_closed is None else self._bytes_read_when_closed
        self._counted_from = position - value

    def has_data(self) -> bool:
        """True when received bytes wait in the buffer (a pipelined request)."""
        if self.closed:
            return False
        return self._stream.received > self.tell()

    def close(self) -> None:
        if self._bytes_read_when_closed is None and not self.closed:
            self._bytes_read_when_closed = self.tell()
        super().close()


class SocketWriter:
    """Sends each write at once and completely; counts ``bytes_written``."""

    def __init__(self, sock: socket.socket) -> None:
        self._send = sock.send
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        # PERF: one send() call for anything the socket buffer takes at once (every
        # small response); the loop only runs for partial sends. send(), not sendall():
        # the socket timeout then bounds each wait for the client, not the whole body,
        # as with cheroot's writer.
        size = len(data)
        sent = self._send(data)
        if sent != size:
            view = memoryview(data).cast("B")
            size = view.nbytes
            while sent < size:
                sent += self._send(view[sent:])
        self.bytes_written += size
        return size

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing is ever buffered."""

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True


def socket_file(sock: socket.socket, mode: str = "r",
                bufsize: int = io.DEFAULT_BUFFER_SIZE) -> SocketReader | SocketWriter:
    """A reader (``'r'`` in ``mode``) or writer for ``sock``: cheroot's ``makefile`` signature."""
    if "r" in mode:
        return SocketReader(sock, bufsize)
    return SocketWriter(sock)


class HeaderBudget:
    """The reader of a request's head: the request line and headers, within a byte limit.

    ``max_request_header_size`` bounds the request line and the headers together; a line
    that would go past it raises ``MaxSizeExceeded`` (answered 414 or 413) without
    reading more than one byte beyond the limit, so no line is ever buffered whole just
    to be refused. ``limit == 0`` means no limit.
    """

    __slots__ = ("_read", "_readline", "bytes_read", "limit", "rfile")

    def __init__(self, rfile: Any, limit: int) -> None:
        self.rfile = rfile
        self._readline = rfile.readline
        self._read = rfile.read
        self.limit = limit
        self.bytes_read = 0

    def _allowance(self, size: int | None) -> int:
        """How much one call may read: what was asked, capped one byte past the budget."""
        room = self.limit - self.bytes_read + 1
        if size is None or size < 0 or size > room:
            return room
        return size

    def readline(self, size: int | None = -1) -> bytes:
        limit = self.limit
        if not limit:
            line: bytes = self._readline(-1 if size is None else size)
            self.bytes_read += len(line)
            return line
        # PERF: the common call (no size) computes its allowance inline; this runs for
        # the request line and every header line.
        if size is None or size < 0:
            line = self._readline(limit - self.bytes_read + 1)
        else:
            line = self._readline(self._allowance(size))
        self.bytes_read += len(line)
        if self.bytes_read > limit:
            raise MaxSizeExceeded
        return line

    def read(self, size: int | None = -1) -> bytes:
        if not self.limit:
            data: bytes = self._read(size)
            self.bytes_read += len(data)
            return data
        data = self._read(self._allowance(size))
        self.bytes_read += len(data)
        if self.bytes_read > self.limit:
            raise MaxSizeExceeded
        return data

    def close(self) -> None:
        self.rfile.close()
