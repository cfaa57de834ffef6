"""Under load, with slowloris connections hanging on: nobody waits, nothing fails.

Sixteen keep-alive clients (more than the ten worker threads) request a hello-world page
for ten seconds while twenty connections send their request heads a line per second
(reopened when the server gives up on them). Every request must be answered correctly:
no connection error, no timeout, no 5xx.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import Any

import pytest

DURATION = 10.0
CLIENTS = 16
SLOWLORIS = 20


class _Slowloris:
    """Connections sending a request head one header line at a time, forever."""

    def __init__(self, address: tuple[str, int], count: int) -> None:
        self.address = address
        self.sockets: list[socket.socket] = [self._open() for _ in range(count)]
        self.reopened = 0

    def _open(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: slow\r\n")
        return sock

    def dribble(self) -> None:
        for index, sock in enumerate(self.sockets):
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                # The server gave up on this head (408): open another one.
                sock.close()
                self.sockets[index] = self._open()
                self.reopened += 1

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.mark.slow
def test_keep_alive_clients_are_served_while_slowloris_connections_hang_on(root: Any,
                                                                            serve: Any) -> None:
    address = serve(root)
    stop = threading.Event()
    lock = threading.Lock()
    answered: list[int] = []
    failures: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection(*address, timeout=5)
        served = 0
        try:
            while not stop.is_set():
                try:
                    connection.request("GET", "/")
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")
                    connection.close()
                    continue
                if response.status != 200 or body != b"Hello World!":
                    with lock:
                        failures.append(f"{response.status} {body[:100]!r}")
                else:
                    served += 1
        finally:
            connection.close()
            with lock:
                answered.append(served)

    slowloris = _Slowloris(address, SLOWLORIS)
    threads = [threading.Thread(target=client, name=f"load client {index}") for index in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + DURATION
        while time.monotonic() < deadline:
            slowloris.dribble()
            time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        slowloris.close()
    assert failures == []
    assert len(answered) == CLIENTS
    # Every client was served all along, not just at the start.
    assert min(answered) > 20, answered
