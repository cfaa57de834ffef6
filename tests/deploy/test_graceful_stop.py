"""Graceful stop: SIGTERM finishes the requests in flight, closes idle keep-alive
connections at once, refuses new connections, and gives up after
``server.shutdown_timeout`` seconds; ``/readyz`` answers 503 once stopping starts."""

from __future__ import annotations

import http.client
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from deploy_support import Processes, drupe_command, free_port, set_port, wait_for_http

pytestmark = pytest.mark.slow


def slow_request(port: int, seconds: float, results: list[object]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/slow?seconds={seconds}")
        response = connection.getresponse()
        results.append((response.status, response.read().decode()))
    except Exception as exc:
        results.append(exc)
    finally:
        connection.close()


def test_sigterm_drains_requests_in_flight_and_drops_idle_connections(site: Path,
                                                                     processes: Processes) -> None:
    port = free_port()
    set_port(site / "app.conf", port)
    server = processes.start(drupe_command("-c", "app.conf", "-i", "app"), site)
    wait_for_http(port, process=server)

    # An idle keep-alive connection: one request served, then nothing.
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("GET", "/")
    first = idle.getresponse()
    first.read()
    assert first.status == 200
    assert not first.will_close

    results: list[object] = []
    worker = threading.Thread(target=slow_request, args=(port, 2, results))
    worker.start()
    time.sleep(0.5)                      # the slow request is in its handler now
    stopping_at = time.monotonic()
    server.send_signal(signal.SIGTERM)

    # The idle connection is closed by the server long before the slow request ends.
    assert idle.sock is not None
    idle.sock.settimeout(10)
    assert idle.sock.recv(1) == b""
    assert time.monotonic() - stopping_at < 1.5
    idle.close()

    worker.join(30)
    assert results == [(200, f"slept 2 s in pid {server.pid}")]
    assert server.finish() == 0
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_requests_longer_than_shutdown_timeout_are_cut(site: Path, processes: Processes) -> None:
    """A handler still running after ``server.shutdown_timeout`` does not hold the stop:
    its connection is shut (the client gets no answer) and the process exits."""
    port = free_port()
    set_port(site / "app.conf", port)
    (site / "short.conf").write_text("[global]\nserver.shutdown_timeout: 1\n")
    server = processes.start(drupe_command("-c", "app.conf", "-c", "short.conf", "-i", "app"), site)
    wait_for_http(port, process=server)
    results: list[object] = []
    worker = threading.Thread(target=slow_request, args=(port, 4, results))
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        assert server.finish(timeout=15) == 0
        # Stopped within the timeout (plus the accept loop's half-second wake-up).
        assert time.monotonic() - started < 2.5
    finally:
        worker.join(30)
    assert len(results) == 1
    assert not (isinstance(results[0], tuple) and results[0][0] == 200)
