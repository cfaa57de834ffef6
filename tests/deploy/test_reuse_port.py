"""``server.reuse_port``: several drupe processes share one port, and all of them serve."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from deploy_support import Processes, copy_recipes, drupe_command, free_port, get, set_port, wait_for_http

pytestmark = pytest.mark.slow


def test_two_processes_on_one_port_both_serve(site: Path, processes: Processes) -> None:
    copy_recipes(site, "reuse_port.conf")
    port = free_port()
    set_port(site / "app.conf", port)
    command = drupe_command("-c", "app.conf", "-c", "reuse_port.conf", "-i", "app")
    first = processes.start(command, site)
    wait_for_http(port, process=first)
    second = processes.start(command, site)
    second.wait_for_output("ENGINE Bus STARTED")

    seen: set[str] = set()
    for _ in range(400):
        seen.add(get(port).text)   # a new connection each time: the kernel spreads them
        if len(seen) == 2:
            break
    assert seen == {f"Hello from pid {first.pid}", f"Hello from pid {second.pid}"}

    # One process stops (its port check must not wait for the port to be free); the other
    # keeps serving.
    first.send_signal(signal.SIGTERM)
    assert first.finish(timeout=15) == 0
    assert "not free" not in first.output()
    for _ in range(20):
        assert get(port).text == f"Hello from pid {second.pid}"
    second.send_signal(signal.SIGTERM)
    assert second.finish() == 0


def test_without_reuse_port_the_second_process_is_refused(site: Path, processes: Processes) -> None:
    port = free_port()
    set_port(site / "app.conf", port)
    first = processes.start(drupe_command("-c", "app.conf", "-i", "app"), site)
    wait_for_http(port, process=first)
    second = processes.start(drupe_command("-c", "app.conf", "-i", "app"), site)
    assert second.finish() == 1
    assert "already in use" in second.output()
    first.send_signal(signal.SIGTERM)
    assert first.finish() == 0
