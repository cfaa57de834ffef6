"""ThreadManager: requests from real threads through ``drupe.tree``."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from process_support import call, mount_handler

import drupe
from drupe_process import ThreadManager


@pytest.fixture
def thread_events() -> Any:
    """``start_thread`` / ``stop_thread`` publications on drupe.engine, in order."""
    events: list[tuple[str, int, str]] = []

    def started(index: int) -> None:
        events.append(("start", index, threading.current_thread().name))

    def stopped(index: int) -> None:
        events.append(("stop", index, threading.current_thread().name))

    # Threads seen by earlier tests are forgotten (and the channels exist from now on).
    drupe.engine.thread_manager.stop()
    drupe.engine.subscribe("start_thread", started)
    drupe.engine.subscribe("stop_thread", stopped)
    yield events
    drupe.engine.unsubscribe("start_thread", started)
    drupe.engine.unsubscribe("stop_thread", stopped)


def serve_from_threads(names: list[str], requests_per_thread: int) -> None:
    statuses: list[str] = []
    # All workers stay alive until all are done: a thread that ended may hand its
    # identifier to the next one, which the manager (rightly) could not tell apart.
    all_done = threading.Barrier(len(names), timeout=10)

    def worker() -> None:
        for _ in range(requests_per_thread):
            statuses.append(call(drupe.tree).status)
        all_done.wait()

    threads = [threading.Thread(target=worker, name=name) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert statuses == ["200 OK"] * (len(names) * requests_per_thread)


def test_start_thread_is_published_once_per_thread(thread_events: list[Any]) -> None:
    mount_handler(lambda: "hello")
    serve_from_threads(["worker-1", "worker-2", "worker-3"], requests_per_thread=4)
    assert sorted(name for _, _, name in thread_events) == ["worker-1", "worker-2", "worker-3"]
    assert {kind for kind, _, _ in thread_events} == {"start"}
    assert sorted(index for _, index, _ in thread_events) == [1, 2, 3]
    manager = drupe.engine.thread_manager
    assert sorted(manager.threads.values()) == [1, 2, 3]


def test_stopping_the_engine_publishes_stop_thread_for_every_thread(
        thread_events: list[Any]) -> None:
    drupe.config.update({"engine.autoreload.on": False, "engine.timeout_monitor.on": False})
    drupe.server.unsubscribe()
    mount_handler(lambda: "hello")
    drupe.engine.start()
    serve_from_threads(["worker-a", "worker-b"], requests_per_thread=2)
    thread_events.clear()
    drupe.engine.stop()
    assert sorted(thread_events) == [("stop", 1, "MainThread"), ("stop", 2, "MainThread")]
    assert drupe.engine.thread_manager.threads == {}


def test_config_on_false_stops_the_acquire_thread_publication(thread_events: list[Any]) -> None:
    drupe.config.update({"engine.thread_manager.on": False})
    assert not drupe.engine.has_listeners("acquire_thread")
    mount_handler(lambda: "hello")
    assert call(drupe.tree).status == "200 OK"
    assert thread_events == []


def test_release_thread_and_graceful_on_a_plain_bus() -> None:
    bus = drupe.Bus()
    manager = ThreadManager(bus)
    manager.subscribe()
    events: list[tuple[str, int]] = []
    bus.subscribe("start_thread", lambda index: events.append(("start", index)))
    bus.subscribe("stop_thread", lambda index: events.append(("stop", index)))

    bus.publish("acquire_thread")
    bus.publish("acquire_thread")
    assert events == [("start", 1)]
    bus.publish("release_thread")
    assert events == [("start", 1), ("stop", 1)]
    bus.publish("release_thread")  # not acquired any more: nothing to stop
    assert events == [("start", 1), ("stop", 1)]

    bus.publish("acquire_thread")
    assert events[-1] == ("start", 2)  # an index is not handed out twice
    bus.graceful()
    assert events[-1] == ("stop", 2)
    assert manager.threads == {}
    bus.publish("acquire_thread")
    assert events[-1] == ("start", 1)  # every thread was forgotten: numbering restarts
    manager.unsubscribe()
    bus.publish("release_thread")
    assert events[-1] == ("start", 1)
