"""The connection's socket files: the C-buffered reader, the writer, the header budget.

Real sockets (``socket.socketpair``), no server: what cheroot relies on from a
connection's ``rfile`` / ``wfile`` — ``readline(limit)``, ``read(n)``, ``has_data()`` that
never touches the socket, ``bytes_read`` / ``bytes_written`` for ``server.statistics``,
the socket's own timeout errors — and the byte limit on a request's head.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from cheroot.errors import MaxSizeExceeded

from drupe_server_cheroot._socketfile import (
    HeaderBudget,
    SocketReader,
    SocketWriter,
    socket_file,
)
from drupe_server_cheroot._tls import TLSAdapter


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server) connected sockets; the server side times out after 0.3 s."""
    client, server = socket.socketpair()
    server.settimeout(0.3)
    yield client, server
    client.close()
    server.close()


def test_the_reader_is_the_c_buffered_reader(pair: tuple[socket.socket, socket.socket]) -> None:
    _, server = pair
    reader = SocketReader(server)
    # No Python-level readline/read of ours: the C implementations run.
    assert type(reader).readline is io.BufferedReader.readline
    assert type(reader).read is io.BufferedReader.read
    reader.close()


def test_lines_and_blocks_are_read_within_their_limits(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody")
    assert reader.readline(5) == b"GET /"
    assert reader.readline() == b" HTTP/1.1\r\n"
    assert reader.readline(100) == b"Host: x\r\n"
    assert reader.readline() == b"\r\n"
    assert reader.read(4) == b"body"
    reader.close()


def test_bytes_read_counts_what_was_handed_out(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server, 16)
    client.sendall(b"x" * 40 + b"\r\n" + b"y" * 100)
    assert reader.bytes_read == 0
    assert reader.readline() == b"x" * 40 + b"\r\n"
    assert reader.bytes_read == 42
    assert reader.read(60) == b"y" * 60  # larger than the buffer: read past it
    assert reader.bytes_read == 102
    reader.close()
    # Cheroot's worker reads the counter after the connection has been closed.
    assert reader.bytes_read == 102


def test_has_data_tells_buffered_bytes_without_reading(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server)
    started = time.monotonic()
    assert reader.has_data() is False
    # Nothing was sent: answering must not have waited for the socket's timeout.
    assert time.monotonic() - started < 0.2
    client.sendall(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    assert reader.readline() == b"GET /1 HTTP/1.1\r\n"
    assert reader.readline() == b"\r\n"
    # The pipelined second request sits in the buffer.
    assert reader.has_data() is True
    assert reader.readline() == b"GET /2 HTTP/1.1\r\n"
    assert reader.readline() == b"\r\n"
    assert reader.has_data() is False
    reader.close()
    assert reader.has_data() is False


def test_a_silent_client_is_the_sockets_timeout(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server)
    client.sendall(b"GET / HTT")
    with pytest.raises(TimeoutError) as caught:
        reader.readline()
    # Cheroot recognises a timeout by this message (and answers 408).
    assert caught.value.args[0] == "timed out"
    reader.close()


def test_end_of_stream_is_an_empty_read(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server)
    client.sendall(b"partial")
    client.shutdown(socket.SHUT_WR)
    assert reader.readline() == b"partial"
    assert reader.readline() == b""
    reader.close()
    # Closing the reader leaves the socket to its connection.
    assert server.fileno() != -1


def test_the_writer_sends_everything_and_counts_it(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    writer = SocketWriter(server)
    payload = bytes(range(256)) * 4096  # 1 MiB: many partial sends
    received = bytearray()

    def receive() -> None:
        while len(received) < len(payload):
            chunk = client.recv(65536)
            if not chunk:
                return
            received.extend(chunk)

    receiver = threading.Thread(target=receive)
    receiver.start()
    server.settimeout(10)
    assert writer.write(b"head") == 4
    assert writer.write(memoryview(payload)[4:]) == len(payload) - 4
    receiver.join(10)
    assert bytes(received) == b"head" + payload[4:]
    assert writer.bytes_written == len(payload)
    with pytest.raises(TypeError):
        writer.write("text")  # type: ignore[arg-type]
    writer.close()
    assert writer.closed


def test_socket_file_has_cheroots_makefile_signature(pair: tuple[socket.socket, socket.socket]) -> None:
    _, server = pair
    reader = socket_file(server, "rb", 8192)
    writer = socket_file(server, "wb", 8192)
    assert isinstance(reader, SocketReader)
    assert isinstance(writer, SocketWriter)
    reader.close()


def test_tls_connections_get_the_same_files(pair: tuple[socket.socket, socket.socket]) -> None:
    _, server = pair
    adapter = TLSAdapter.__new__(TLSAdapter)
    reader = adapter.makefile(server, "rb")
    assert isinstance(reader, SocketReader)
    assert isinstance(adapter.makefile(server, "wb"), SocketWriter)
    reader.close()


@pytest.mark.parametrize("limit", [10, 11, 12, 23])
def test_the_header_budget_allows_exactly_its_limit(pair: tuple[socket.socket, socket.socket],
                                                    limit: int) -> None:
    client, server = pair
    reader = SocketReader(server)
    client.sendall(b"0123456789\r\n" + b"abcdefghij\r\n" + b"rest")
    budget = HeaderBudget(reader, limit)
    if limit < 12:
        with pytest.raises(MaxSizeExceeded):
            budget.readline()
        # At most one byte past the limit was taken from the connection.
        assert reader.bytes_read == limit + 1
    else:
        assert budget.readline() == b"0123456789\r\n"
        with pytest.raises(MaxSizeExceeded):
            budget.readline()
        assert reader.bytes_read == limit + 1
    reader.close()


def test_a_head_of_exactly_the_limit_is_accepted(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server)
    head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    client.sendall(head + b"next")
    budget = HeaderBudget(reader, len(head))
    lines = [budget.readline(), budget.readline(), budget.readline()]
    assert b"".join(lines) == head
    assert budget.bytes_read == len(head)
    with pytest.raises(MaxSizeExceeded):
        budget.readline()
    reader.close()


def test_a_zero_budget_means_no_limit(pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = pair
    reader = SocketReader(server)
    line = b"X-Long: " + b"y" * 100_000 + b"\r\n"
    sender = threading.Thread(target=client.sendall, args=(line,))
    sender.start()
    server.settimeout(10)
    budget = HeaderBudget(reader, 0)
    assert budget.readline() == line
    assert budget.bytes_read == len(line)
    sender.join(10)
    reader.close()
