"""TimeoutMonitor: real requests through ``drupe.tree`` on a started engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from process_support import call, mount_handler, wait_until

import drupe
from drupe_process import TimeoutMonitor


@pytest.fixture
def started_engine() -> None:
    """The engine started with a fast timeout monitor, no server and no autoreloader."""
    drupe.config.update({
        "engine.autoreload.on": False,
        "engine.timeout_monitor.frequency": 0.02,
    })
    drupe.server.unsubscribe()


def slow_handler() -> str:
    """Give the response 0.05 s, then wait (at most 10 s) for somebody to time it out."""
    response = drupe.response
    response.timeout = 0.05
    deadline = time.monotonic() + 10
    while not response.timed_out and time.monotonic() < deadline:
        time.sleep(0.01)
    return "finished anyway"


def test_the_monitor_times_out_a_slow_request_which_is_answered_503(started_engine: None) -> None:
    mount_handler(slow_handler)
    drupe.engine.start()
    monitor = drupe.engine.timeout_monitor
    assert isinstance(monitor, TimeoutMonitor)
    assert monitor.thread is not None
    assert monitor.thread.name == "_TimeoutMonitor"
    result = call(drupe.tree)
    assert result.status.startswith("503 ")
    assert b"finished anyway" not in result.body
    assert monitor.servings == []


def test_requests_are_tracked_only_while_in_flight(started_engine: None) -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[Any] = []

    def handler() -> str:
        seen.append(drupe.serving.response)
        inside.set()
        release.wait(10)
        return "ok"

    mount_handler(handler)
    drupe.config.update({"engine.timeout_monitor.frequency": 3600})
    drupe.engine.start()
    monitor = drupe.engine.timeout_monitor
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(call(drupe.tree)))
    worker.start()
    try:
        assert inside.wait(10)
        assert [response for _, response in monitor.servings] == seen
    finally:
        release.set()
        worker.join(10)
    assert results[0].status.startswith("200 ")
    assert monitor.servings == []


def test_a_fast_request_is_not_timed_out(started_engine: None) -> None:
    mount_handler(lambda: "quick")
    drupe.engine.start()
    result = call(drupe.tree)
    assert result.status.startswith("200 ")
    assert result.body == b"quick"


def test_unsubscribe_as_documented_turns_the_monitor_off(started_engine: None) -> None:
    drupe.engine.timeout_monitor.unsubscribe()
    drupe.engine.start()
    assert drupe.engine.timeout_monitor.thread is None
    assert not any(thread.name == "_TimeoutMonitor" for thread in threading.enumerate())
    # Requests are not tracked either: the request channels cost nothing.
    assert not drupe.engine.has_listeners("before_request")


def test_config_on_false_turns_the_monitor_off(started_engine: None) -> None:
    drupe.config.update({"engine.timeout_monitor.on": False})
    drupe.engine.start()
    assert drupe.engine.timeout_monitor.thread is None


def test_frequency_config_key_as_in_the_documentation(workdir: Path) -> None:
    config_file = workdir / "site.conf"
    config_file.write_text("[global]\nengine.timeout_monitor.frequency: 60 * 60\n")
    assert TimeoutMonitor(drupe.Bus()).frequency == 60  # the default: once a minute
    drupe.config.update(str(config_file))
    assert drupe.engine.timeout_monitor.frequency == 3600


def test_a_frequency_set_on_a_running_engine_applies_to_its_thread(started_engine: None) -> None:
    drupe.engine.start()
    thread = drupe.engine.timeout_monitor.thread
    assert thread is not None
    assert thread.interval == 0.02
    drupe.config.update({"engine.timeout_monitor.frequency": 5})
    assert thread.interval == 5


def test_on_a_plain_bus_the_monitor_checks_what_the_request_channels_report() -> None:
    bus = drupe.Bus()
    monitor = TimeoutMonitor(bus, frequency=0.01)
    monitor.subscribe()
    bus.start()
    try:
        response = drupe.Response()
        response.timeout = 0
        # The monitor only needs the pair; a real request object is not involved.
        drupe.serving.load(object(), response)
        try:
            bus.publish("before_request")
            wait_until(lambda: response.timed_out, timeout=10, message="the monitor's check")
            bus.publish("after_request")
        finally:
            drupe.serving.clear()
        assert monitor.servings == []
    finally:
        bus.exit()
