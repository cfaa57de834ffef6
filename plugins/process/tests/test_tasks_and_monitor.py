"""BackgroundTask, PerpetualTimer and Monitor, on real threads and a real Bus."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from process_support import wait_until

import drupe
from drupe_process import BackgroundTask, Monitor, PerpetualTimer


class Recorder:
    """A bus ``log`` listener and a callback that counts its calls."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, int]] = []
        self.calls = 0
        self.threads: list[threading.Thread] = []

    def log(self, message: str, level: int = 20) -> None:
        self.messages.append((message, level))

    def text(self) -> str:
        return "\n".join(message for message, _ in self.messages)

    def callback(self) -> None:
        self.calls += 1
        self.threads.append(threading.current_thread())


@pytest.fixture
def bus() -> Any:
    bus = drupe.Bus()
    yield bus
    if bus.state is not drupe.states.STOPPED:
        bus.exit()


@pytest.fixture
def recorder(bus: Any) -> Recorder:
    recorder = Recorder()
    bus.subscribe("log", recorder.log)
    return recorder


# -- BackgroundTask ------------------------------------------------------------------


def test_background_task_repeats_until_cancelled(recorder: Recorder) -> None:
    task = BackgroundTask(0.01, recorder.callback)
    assert task.daemon
    task.start()
    wait_until(lambda: recorder.calls >= 3, message="three calls")
    was_running = task.running
    task.cancel()
    task.join(5)
    assert not task.is_alive()
    assert was_running
    assert not task.running
    calls = recorder.calls
    time.sleep(0.05)
    assert recorder.calls == calls


def test_background_task_passes_its_arguments() -> None:
    seen: list[tuple[Any, ...]] = []
    done = threading.Event()

    def job(*args: Any, **kwargs: Any) -> None:
        seen.append((args, kwargs))
        done.set()

    task = BackgroundTask(0.01, job, args=[1, 2], kwargs={"three": 3})
    task.start()
    try:
        assert done.wait(5)
    finally:
        task.cancel()
        task.join(5)
    assert seen[0] == ((1, 2), {"three": 3})


def test_cancel_ends_a_long_wait_at_once(recorder: Recorder) -> None:
    task = BackgroundTask(3600, recorder.callback)
    task.start()
    started = time.monotonic()
    task.cancel()
    task.join(5)
    assert not task.is_alive()
    assert time.monotonic() - started < 2
    assert recorder.calls == 0


def test_cancel_before_start_means_no_call(recorder: Recorder) -> None:
    task = BackgroundTask(0, recorder.callback)
    task.cancel()
    task.start()
    task.join(5)
    assert not task.is_alive()
    assert recorder.calls == 0


def test_a_new_interval_applies_to_the_current_wait(recorder: Recorder) -> None:
    task = BackgroundTask(3600, recorder.callback)
    task.start()
    try:
        task.interval = 0.01
        wait_until(lambda: recorder.calls >= 2, timeout=5, message="calls at the new interval")
    finally:
        task.cancel()
        task.join(5)
    assert task.interval == 0.01


def test_a_failing_function_is_logged_on_the_bus_and_stops_the_task(
        bus: Any, recorder: Recorder) -> None:
    def broken() -> None:
        recorder.calls += 1
        raise ValueError("boom")

    task = BackgroundTask(0.01, broken, bus=bus)
    task.start()
    task.join(5)
    assert not task.is_alive()
    assert recorder.calls == 1
    assert not task.running
    (message, level), = recorder.messages
    assert level == 40
    assert "Error in background task thread function" in message
    assert "ValueError: boom" in message


def test_without_a_bus_the_failure_reaches_the_thread_excepthook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(args.exc_value))

    def broken() -> None:
        raise ValueError("nobody logs me")

    task = BackgroundTask(0.01, broken)
    task.start()
    task.join(5)
    assert not task.is_alive()
    assert len(reported) == 1
    assert isinstance(reported[0], ValueError)


# -- PerpetualTimer --------------------------------------------------------------------


def test_perpetual_timer_fires_repeatedly_until_cancelled(recorder: Recorder) -> None:
    timer = PerpetualTimer(0.01, recorder.callback)
    timer.start()
    wait_until(lambda: recorder.calls >= 3, message="three timer calls")
    timer.cancel()
    timer.join(5)
    assert not timer.is_alive()


def test_perpetual_timer_logs_a_failure_on_its_bus_and_stops(bus: Any, recorder: Recorder) -> None:
    def broken() -> None:
        raise RuntimeError("timer failure")

    timer = PerpetualTimer(0.01, broken, bus=bus)
    timer.start()
    timer.join(5)
    assert not timer.is_alive()
    assert "Error in perpetual timer thread function" in recorder.text()
    assert "RuntimeError: timer failure" in recorder.text()


# -- Monitor -------------------------------------------------------------------------


def test_monitor_runs_its_callback_while_the_bus_is_started(bus: Any, recorder: Recorder) -> None:
    monitor = Monitor(bus, recorder.callback, frequency=0.01, name="Watcher")
    monitor.subscribe()
    bus.start()
    wait_until(lambda: recorder.calls >= 2, message="monitor calls")
    thread = monitor.thread
    assert thread is not None
    assert thread.name == "Watcher"
    assert recorder.threads[0] is thread
    assert "Started monitor thread 'Watcher'." in recorder.text()
    bus.stop()
    assert monitor.thread is None
    assert not thread.is_alive()
    assert "Stopped thread 'Watcher'." in recorder.text()


def test_monitor_thread_is_named_after_the_class_by_default(bus: Any) -> None:
    class Purger(Monitor):
        pass

    monitor = Purger(bus, lambda: None, frequency=60)
    assert monitor.thread_name == "Purger"


def test_monitor_subscribes_start_at_priority_70(bus: Any) -> None:
    order: list[str] = []
    bus.subscribe("start", lambda: order.append("69"), priority=69)
    bus.subscribe("start", lambda: order.append("71"), priority=71)
    monitor = Monitor(bus, lambda: None, frequency=60)
    bus.subscribe("start", lambda: order.append("monitor" if monitor.thread else "no thread"),
                  priority=70.5)
    monitor.subscribe()
    bus.start()
    assert order == ["69", "monitor", "71"]


def test_graceful_replaces_a_running_thread(bus: Any, recorder: Recorder) -> None:
    monitor = Monitor(bus, recorder.callback, frequency=60)
    monitor.subscribe()
    bus.start()
    first = monitor.thread
    bus.graceful()
    second = monitor.thread
    assert first is not None
    assert second is not None
    assert second is not first
    assert not first.is_alive()
    assert second.is_alive()


def test_graceful_does_not_start_a_stopped_monitor(bus: Any) -> None:
    monitor = Monitor(bus, lambda: None, frequency=60)
    monitor.subscribe()
    bus.graceful()
    assert monitor.thread is None


def test_frequency_zero_means_no_thread(bus: Any, recorder: Recorder) -> None:
    monitor = Monitor(bus, recorder.callback, frequency=0)
    monitor.subscribe()
    bus.start()
    assert monitor.thread is None
    assert "Started monitor thread" not in recorder.text()


def test_setting_the_frequency_of_a_running_monitor_applies_at_once(
        bus: Any, recorder: Recorder) -> None:
    monitor = Monitor(bus, recorder.callback, frequency=3600)
    monitor.subscribe()
    bus.start()
    monitor.frequency = 0.01
    wait_until(lambda: recorder.calls >= 2, timeout=5, message="calls at the new frequency")
    monitor.frequency = 0
    assert monitor.thread is None


def test_subscribing_to_a_started_bus_starts_the_thread_and_unsubscribing_stops_it(
        bus: Any) -> None:
    bus.start()
    monitor = Monitor(bus, lambda: None, frequency=60)
    monitor.subscribe()
    thread = monitor.thread
    assert thread is not None
    assert thread.is_alive()
    monitor.unsubscribe()
    assert monitor.thread is None
    assert not thread.is_alive()
    assert monitor.start not in bus.listeners["start"]


def test_a_monitor_may_stop_the_bus_from_its_own_thread(bus: Any) -> None:
    """The autoreloader does this: stop() must not try to join the current thread."""
    monitor = Monitor(bus, bus.exit, frequency=0.01)
    monitor.subscribe()
    bus.start()
    wait_until(lambda: bus.state is drupe.states.EXITING, message="the bus to exit")
    assert monitor.thread is None
