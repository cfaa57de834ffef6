"""The engine bus: states, channels, priorities, failures, waiting and plugins."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kernel_support import error_lines, error_text

import drupe
from drupe import states


class Recorder:
    """A bus with a log listener that keeps what the bus logged."""

    def __init__(self) -> None:
        self.bus = drupe.Bus()
        self.logs: list[tuple[str, int]] = []
        self.bus.subscribe("log", lambda msg, level: self.logs.append((msg, level)))

    def messages(self) -> list[str]:
        return [msg for msg, _ in self.logs]


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


# ---------------------------------------------------------------------------
# States


def test_a_new_bus_is_stopped() -> None:
    assert drupe.Bus().state is states.STOPPED
    assert drupe.engine.states is states


def test_start_stop_exit_walk_through_the_states(rec: Recorder) -> None:
    bus = rec.bus
    seen: list[tuple[str, Any]] = []
    bus.subscribe("start", lambda: seen.append(("start", bus.state)))
    bus.subscribe("stop", lambda: seen.append(("stop", bus.state)))
    bus.subscribe("exit", lambda: seen.append(("exit", bus.state)))

    bus.start()
    assert bus.state is states.STARTED
    bus.stop()
    assert bus.state is states.STOPPED
    bus.exit()
    assert bus.state is states.EXITING
    # exit() stops again (as CherryPy's bus does), then publishes 'exit'.
    assert seen == [("start", states.STARTING), ("stop", states.STOPPING),
                    ("stop", states.STOPPING), ("exit", states.EXITING)]
    assert rec.messages()[:4] == ["Bus STARTING", "Bus STARTED", "Bus STOPPING", "Bus STOPPED"]
    assert rec.messages()[-2:] == ["Bus EXITING", "Bus EXITED"]


def test_exit_from_started_stops_first(rec: Recorder) -> None:
    bus = rec.bus
    order: list[str] = []
    bus.subscribe("stop", lambda: order.append("stop"))
    bus.subscribe("exit", lambda: order.append("exit"))
    bus.start()
    bus.exit()
    assert order == ["stop", "exit"]
    assert bus.state is states.EXITING


def test_state_repr_names_the_state() -> None:
    assert repr(states.STARTED) == "states.STARTED"


def test_graceful_publishes_without_changing_state(rec: Recorder) -> None:
    bus = rec.bus
    calls: list[Any] = []
    bus.subscribe("graceful", lambda: calls.append(bus.state))
    bus.start()
    bus.graceful()
    assert calls == [states.STARTED]
    assert bus.state is states.STARTED
    assert "Bus graceful" in rec.messages()
    bus.exit()


# ---------------------------------------------------------------------------
# Channels and priorities


def test_listeners_run_in_priority_order(rec: Recorder) -> None:
    bus = rec.bus
    order: list[str] = []

    def late() -> None:
        order.append("late")

    def early() -> None:
        order.append("early")

    def middle() -> None:
        order.append("middle")

    bus.subscribe("start", late, priority=90)
    bus.subscribe("start", middle)
    bus.subscribe("start", early, priority=10)
    bus.publish("start")
    assert order == ["early", "middle", "late"]


def test_a_callbacks_own_priority_attribute_is_used(rec: Recorder) -> None:
    bus = rec.bus
    order: list[str] = []

    def first() -> None:
        order.append("first")

    first.priority = 5  # type: ignore[attr-defined]

    def second() -> None:
        order.append("second")

    def overridden() -> None:
        order.append("overridden")

    overridden.priority = 1  # type: ignore[attr-defined]

    bus.subscribe("main", second)
    bus.subscribe("main", first)
    bus.subscribe("main", overridden, priority=99)
    bus.publish("main")
    assert order == ["first", "second", "overridden"]


def test_subscribe_as_a_decorator_returns_the_function(rec: Recorder) -> None:
    bus = rec.bus

    @bus.subscribe("main", priority=20)
    def listener() -> str:
        return "called"

    assert callable(listener)
    assert bus.publish("main") == ["called"]


def test_publish_returns_results_and_passes_arguments(rec: Recorder) -> None:
    bus = rec.bus
    bus.subscribe("compute", lambda x, y=0: x + y, priority=1)
    bus.subscribe("compute", lambda x, y=0: x * y, priority=2)
    assert bus.publish("compute", 3, y=4) == [7, 12]


def test_user_channels_are_created_on_subscription(rec: Recorder) -> None:
    bus = rec.bus
    assert not bus.has_listeners("my_channel")
    assert bus.publish("my_channel") == []  # nobody listens: nothing happens
    received: list[str] = []
    bus.subscribe("my_channel", received.append)
    assert bus.has_listeners("my_channel")
    bus.publish("my_channel", "hello")
    assert received == ["hello"]


def test_unsubscribe(rec: Recorder) -> None:
    bus = rec.bus
    calls: list[int] = []

    def listener() -> None:
        calls.append(1)

    bus.subscribe("main", listener)
    bus.publish("main")
    bus.unsubscribe("main", listener)
    bus.publish("main")
    assert calls == [1]
    assert not bus.has_listeners("main")
    bus.unsubscribe("main", listener)  # not subscribed any more: no error
    bus.unsubscribe("never_created", listener)


def test_has_listeners_is_false_for_empty_builtin_channels() -> None:
    bus = drupe.Bus()
    assert not bus.has_listeners("start")
    bus.subscribe("start", lambda: None)
    assert bus.has_listeners("start")


def test_resubscribing_changes_the_priority(rec: Recorder) -> None:
    bus = rec.bus
    order: list[str] = []

    def a() -> None:
        order.append("a")

    def b() -> None:
        order.append("b")

    bus.subscribe("main", a, priority=10)
    bus.subscribe("main", b, priority=20)
    bus.publish("main")
    bus.subscribe("main", a, priority=30)
    bus.publish("main")
    assert order == ["a", "b", "b", "a"]


# ---------------------------------------------------------------------------
# Failures


def test_publish_calls_every_listener_then_raises_all_failures(rec: Recorder) -> None:
    bus = rec.bus
    called: list[str] = []

    def fails_first() -> None:
        called.append("first")
        raise ValueError("one")

    def works() -> str:
        called.append("works")
        return "ok"

    def fails_last() -> None:
        called.append("last")
        raise KeyError("two")

    bus.subscribe("main", fails_first, priority=1)
    bus.subscribe("main", works, priority=2)
    bus.subscribe("main", fails_last, priority=3)
    with pytest.raises(drupe.ChannelFailures) as info:
        bus.publish("main")
    assert called == ["first", "works", "last"]
    failures = info.value.get_instances()
    assert [type(exc) for exc in failures] == [ValueError, KeyError]
    assert bool(info.value)
    assert "ValueError('one')" in str(info.value)
    assert "KeyError('two')" in str(info.value)
    # Each failure was logged with its traceback.
    logged = [msg for msg, level in rec.logs if level == 40]
    assert len(logged) == 2
    assert "Traceback" in logged[0]
    assert "fails_first" in logged[0]


def test_channel_failures_is_falsy_when_empty() -> None:
    assert not drupe.ChannelFailures()
    assert drupe.ChannelFailures().get_instances() == []


def test_keyboard_interrupt_propagates_at_once(rec: Recorder) -> None:
    bus = rec.bus
    after: list[int] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    bus.subscribe("main", interrupt, priority=1)
    bus.subscribe("main", lambda: after.append(1), priority=2)
    with pytest.raises(KeyboardInterrupt):
        bus.publish("main")
    assert after == []


def test_system_exit_after_a_failure_is_not_a_clean_exit(rec: Recorder) -> None:
    bus = rec.bus

    def fails() -> None:
        raise ValueError("broken")

    def leaves() -> None:
        raise SystemExit(0)

    bus.subscribe("main", fails, priority=1)
    bus.subscribe("main", leaves, priority=2)
    with pytest.raises(SystemExit) as info:
        bus.publish("main")
    assert info.value.code == 1


def test_a_failing_start_listener_stops_the_bus_and_reraises(rec: Recorder) -> None:
    bus = rec.bus
    stopped: list[Any] = []

    def broken() -> None:
        raise RuntimeError("cannot start")

    bus.subscribe("start", broken)
    bus.subscribe("stop", lambda: stopped.append(bus.state))
    with pytest.raises(RuntimeError, match="cannot start"):
        bus.start()
    assert bus.state is states.STOPPED
    assert stopped == [states.STOPPING]
    shutting = [msg for msg in rec.messages() if msg.startswith("Shutting down due to error")]
    assert len(shutting) == 1
    assert "Traceback" in shutting[0]


def test_a_startup_error_is_logged_without_traceback(rec: Recorder) -> None:
    bus = rec.bus

    def misconfigured() -> None:
        raise drupe.ConfigError("Config key 'tools.x.on': no such tool")

    bus.subscribe("start", misconfigured)
    with pytest.raises(drupe.ConfigError, match="no such tool"):
        bus.start()
    shutting = [msg for msg in rec.messages() if msg.startswith("Shutting down due to error")]
    assert shutting == [
        "Shutting down due to error in start listener: Config key 'tools.x.on': no such tool"]
    assert bus.state is states.STOPPED


def test_engine_start_failure_is_logged_to_the_error_log(drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.server.unsubscribe()

    def broken() -> None:
        raise drupe.ConfigError("Config key 'a.b': broken on purpose")

    drupe.engine.subscribe("start", broken)
    try:
        with pytest.raises(drupe.ConfigError):
            drupe.engine.start()
    finally:
        drupe.engine.unsubscribe("start", broken)
    text = error_text(drupe_logs)
    assert "ENGINE Shutting down due to error in start listener: Config key 'a.b'" in text
    assert "Traceback" not in text
    assert any("ENGINE Bus STOPPED" in line for line in error_lines(drupe_logs))


def test_exit_swallows_and_logs_listener_errors(rec: Recorder) -> None:
    bus = rec.bus

    def broken_exit() -> None:
        raise OSError("exit failed")

    bus.subscribe("exit", broken_exit)
    bus.start()
    bus.exit()
    assert bus.state is states.EXITING
    assert any("Error while exiting the bus" in msg for msg in rec.messages())


# ---------------------------------------------------------------------------
# Waiting


@pytest.mark.timeout(10)
def test_wait_returns_when_another_thread_changes_state(rec: Recorder) -> None:
    bus = rec.bus
    reached = threading.Event()

    def waiter() -> None:
        bus.wait(states.STARTED, interval=0.01)
        reached.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    assert not reached.is_set()
    bus.start()
    thread.join(5)
    assert reached.is_set()
    bus.exit()


@pytest.mark.timeout(10)
def test_wait_accepts_several_states_and_publishes_a_channel(rec: Recorder) -> None:
    bus = rec.bus
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            bus.exit()

    bus.subscribe("tick", tick)
    bus.start()
    bus.wait([states.STOPPED, states.EXITING], interval=0.001, channel="tick")
    assert len(ticks) == 3
    assert bus.state is states.EXITING


@pytest.mark.timeout(10)
def test_block_in_a_thread_returns_when_another_thread_exits(rec: Recorder) -> None:
    bus = rec.bus
    main_ticks = threading.Event()
    bus.subscribe("main", main_ticks.set)
    bus.start()
    blocker = threading.Thread(target=bus.block, kwargs={"interval": 0.01})
    blocker.start()
    assert main_ticks.wait(5), "block() did not publish 'main'"
    assert blocker.is_alive()
    bus.exit()
    blocker.join(5)
    assert not blocker.is_alive()
    assert bus.state is states.EXITING
    assert "Waiting for child threads to terminate..." in rec.messages()


@pytest.mark.timeout(10)
def test_block_waits_for_non_daemon_threads(rec: Recorder) -> None:
    bus = rec.bus
    release = threading.Event()
    worker = threading.Thread(target=release.wait, args=(5,), name="slow worker")
    worker.start()
    bus.start()
    bus.exit()
    threading.Timer(0.1, release.set).start()
    started = time.monotonic()
    bus.block(interval=0.01)
    assert time.monotonic() - started >= 0.05
    assert not worker.is_alive()
    assert "Waiting for thread slow worker." in rec.messages()


@pytest.mark.timeout(10)
def test_block_exits_the_bus_on_keyboard_interrupt(rec: Recorder) -> None:
    bus = rec.bus

    def interrupt() -> None:
        raise KeyboardInterrupt

    bus.subscribe("main", interrupt)
    bus.start()
    bus.block(interval=0.001)
    assert bus.state is states.EXITING
    assert "Keyboard Interrupt: shutting down bus" in rec.messages()


@pytest.mark.timeout(10)
def test_start_with_callback_runs_the_function_once_started(rec: Recorder) -> None:
    bus = rec.bus
    seen: list[Any] = []
    thread = bus.start_with_callback(lambda a, b=0: seen.append((a, b, bus.state)),
                                     args=(1,), kwargs={"b": 2})
    thread.join(5)
    assert seen == [(1, 2, states.STARTED)]
    bus.exit()


# ---------------------------------------------------------------------------
# Plugins


class Counter(drupe.SimplePlugin):
    def __init__(self, bus: drupe.Bus) -> None:
        super().__init__(bus)
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def graceful(self) -> None:
        self.calls.append("graceful")

    def acquire_thread(self) -> None:
        self.calls.append("acquire_thread")

    def helper(self) -> None:  # not a channel: never subscribed
        self.calls.append("helper")


def test_simple_plugin_subscribes_methods_named_like_channels(rec: Recorder) -> None:
    bus = rec.bus
    bus.subscribe("acquire_thread", lambda: None)  # the channel exists before subscribe()
    plugin = Counter(bus)
    plugin.subscribe()
    bus.start()
    bus.graceful()
    bus.publish("acquire_thread")
    bus.publish("helper")
    bus.stop()
    assert plugin.calls == ["start", "graceful", "acquire_thread", "stop"]

    plugin.unsubscribe()
    bus.start()
    bus.stop()
    assert plugin.calls == ["start", "graceful", "acquire_thread", "stop"]


def test_simple_plugin_method_priority_attribute(rec: Recorder) -> None:
    bus = rec.bus
    order: list[str] = []

    class Early(drupe.SimplePlugin):
        def start(self) -> None:
            order.append("early")

        start.priority = 10  # type: ignore[attr-defined]

    bus.subscribe("start", lambda: order.append("default"))
    Early(bus).subscribe()
    bus.start()
    assert order == ["early", "default"]
    bus.exit()


def test_process_paths_expose_the_bus() -> None:
    from drupe.process import wspbus

    assert drupe.process.bus is drupe.engine
    assert wspbus.Bus is drupe.Bus
    assert drupe.process.plugins.SimplePlugin is drupe.SimplePlugin


def test_engine_has_the_per_request_channels() -> None:
    assert "before_request" in drupe.engine.listeners
    assert "after_request" in drupe.engine.listeners


def test_engine_channels_run_around_each_request() -> None:
    from kernel_support import call, mount

    class Root:
        @drupe.expose
        def index(self) -> str:
            return "hi"

    mount(Root())
    seen: list[str] = []

    def before() -> None:
        seen.append("before:" + drupe.request.path_info)

    def after() -> None:
        seen.append("after")

    drupe.engine.subscribe("before_request", before)
    drupe.engine.subscribe("after_request", after)
    try:
        assert call(path="/").text == "hi"
    finally:
        drupe.engine.unsubscribe("before_request", before)
        drupe.engine.unsubscribe("after_request", after)
    assert seen == ["before:/", "after"]


def test_a_startup_error_skips_the_remaining_start_listeners(rec: Recorder) -> None:
    bus = rec.bus
    ran: list[str] = []

    def validate() -> None:
        ran.append("validate")
        raise drupe.ConfigError("bad key")

    bus.subscribe("start", validate, priority=10)
    bus.subscribe("start", lambda: ran.append("server"), priority=75)
    bus.subscribe("stop", lambda: ran.append("stop"))
    with pytest.raises(drupe.ConfigError):
        bus.start()
    assert ran == ["validate", "stop"]


def test_other_start_failures_still_run_every_listener(rec: Recorder) -> None:
    bus = rec.bus
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise OSError("disk full")

    def also_broken() -> None:
        ran.append("also broken")
        raise ValueError("second")

    bus.subscribe("start", broken, priority=10)
    bus.subscribe("start", also_broken, priority=20)
    bus.subscribe("start", lambda: ran.append("later"), priority=30)
    with pytest.raises(drupe.ChannelFailures) as info:
        bus.start()
    assert ran == ["broken", "also broken", "later"]
    assert [type(exc) for exc in info.value.get_instances()] == [OSError, ValueError]
    assert bus.state is states.STOPPED


def test_an_exit_requested_during_an_exit_runs_once() -> None:
    bus = drupe.Bus()
    stops: list[str] = []

    def stop() -> None:
        stops.append("stop")
        # A second SIGTERM arriving while the bus shuts down.
        bus.exit()

    bus.subscribe("stop", stop)
    bus.start()
    bus.exit()
    assert stops == ["stop"]
    assert bus.state is drupe.states.EXITING
