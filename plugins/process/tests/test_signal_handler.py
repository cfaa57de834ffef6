"""SignalHandler: real signals, in this process (on a private bus) and in a subprocess."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest
from process_support import Child, wait_until

import drupe
from drupe_process import SignalHandler

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals only")


class Log:
    def __init__(self, bus: Any) -> None:
        self.messages: list[str] = []
        bus.subscribe("log", self)

    def __call__(self, message: str, level: int = 20) -> None:
        self.messages.append(message)


@pytest.fixture
def bus() -> Any:
    bus = drupe.Bus()
    yield bus
    if bus.state is not drupe.states.STOPPED:
        bus.exit()


def raise_and_wait(signum: int, seen: Callable[[], Any]) -> None:
    """Send ``signum`` to this process; Python runs the handler in the main thread soon."""
    os.kill(os.getpid(), signum)
    wait_until(seen, timeout=5, message=f"the handler of signal {signum}")


# -- in this process -------------------------------------------------------------------


def test_subscribe_installs_handlers_and_logs_them_in_the_documented_order(bus: Any) -> None:
    log = Log(bus)
    handler = SignalHandler(bus)
    handler.subscribe()
    try:
        assert log.messages == ["Listening for SIGHUP.", "Listening for SIGTERM.",
                                "Listening for SIGUSR1."]
        for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1):
            assert signal.getsignal(signum) == handler._handle_signal
        assert bus.listeners["SIGHUP"] == {handler.handle_SIGHUP}
        assert bus.listeners["SIGTERM"] == {bus.exit}
        assert bus.listeners["SIGUSR1"] == {bus.graceful}
    finally:
        handler.unsubscribe()


def test_sigusr1_publishes_its_channel_and_graceful(bus: Any) -> None:
    graceful: list[str] = []
    bus.subscribe("graceful", lambda: graceful.append("graceful"))
    log = Log(bus)
    handler = SignalHandler(bus)
    handler.subscribe()
    try:
        raise_and_wait(signal.SIGUSR1, lambda: graceful)
    finally:
        handler.unsubscribe()
    assert graceful == ["graceful"]
    assert "Caught signal SIGUSR1." in log.messages


def test_unsubscribe_restores_the_previous_handlers_and_removes_the_listeners(bus: Any) -> None:
    def previous(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGUSR1, previous)
    handler = SignalHandler(bus)
    handler.subscribe()
    handler.subscribe()  # twice: our own handler must not become "the previous one"
    handler.unsubscribe()
    assert signal.getsignal(signal.SIGUSR1) is previous
    assert not bus.listeners["SIGUSR1"]
    assert not bus.listeners["SIGHUP"]


def test_set_handler_takes_names_or_numbers_and_subscribes_a_listener(bus: Any) -> None:
    received: list[str] = []
    handler = SignalHandler(bus)
    handler.set_handler("SIGUSR2", lambda: received.append("by name"))
    try:
        raise_and_wait(signal.SIGUSR2, lambda: received)
        handler.set_handler(signal.SIGUSR2)
        assert signal.getsignal(signal.SIGUSR2) == handler._handle_signal
    finally:
        handler.unsubscribe()
    assert received == ["by name"]
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL


@pytest.mark.parametrize("name", ["SIGNOPE", "SIG_DFL", "exit", 0x7FFF])
def test_set_handler_rejects_what_is_not_a_signal(bus: Any, name: Any) -> None:
    with pytest.raises(ValueError, match="No such signal"):
        SignalHandler(bus).set_handler(name)


def test_a_signal_nobody_listens_to_is_logged_and_ignored(bus: Any) -> None:
    log = Log(bus)
    handler = SignalHandler(bus)
    handler.set_handler("SIGUSR2")
    try:
        raise_and_wait(signal.SIGUSR2, lambda: any("Nobody listens" in m for m in log.messages))
    finally:
        handler.unsubscribe()


def test_a_failing_listener_does_not_escape_the_signal_handler(bus: Any) -> None:
    log = Log(bus)
    calls: list[str] = []

    def broken() -> None:
        calls.append("called")
        raise RuntimeError("listener failure")

    handler = SignalHandler(bus)
    handler.set_handler("SIGUSR2", broken)
    try:
        raise_and_wait(signal.SIGUSR2, lambda: calls)
    finally:
        handler.unsubscribe()
    assert any("RuntimeError: listener failure" in message for message in log.messages)


def test_outside_the_main_thread_subscribe_warns_and_set_handler_raises(bus: Any) -> None:
    log = Log(bus)
    handler = SignalHandler(bus)
    before = signal.getsignal(signal.SIGTERM)
    errors: list[BaseException] = []

    def in_a_thread() -> None:
        handler.subscribe()
        try:
            handler.set_handler("SIGTERM")
        except ValueError as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_a_thread, name="not-main")
    thread.start()
    thread.join(5)
    assert signal.getsignal(signal.SIGTERM) is before
    assert any("only be installed from the main thread" in m and "'not-main'" in m
               for m in log.messages)
    assert len(errors) == 1
    assert "main thread" in str(errors[0])


def test_sighup_exits_unless_daemonized(bus: Any) -> None:
    handler = SignalHandler(bus)
    assert not handler._is_daemonized()
    bus.start()
    handler.handle_SIGHUP()
    assert bus.state is drupe.states.EXITING
    assert not bus.execv


def test_engine_config_set_before_subscribing_decides_the_listeners() -> None:
    """``engine.SIGTERM: None`` leaves SIGTERM alone; a list replaces the default listener."""
    custom: list[str] = []

    def listener() -> None:
        custom.append("custom")

    before = signal.getsignal(signal.SIGTERM)
    drupe.config.update({"engine.SIGTERM": None, "engine.SIGHUP": [listener]})
    handler = SignalHandler(drupe.engine)
    handler.subscribe()
    try:
        assert signal.getsignal(signal.SIGTERM) is before
        assert drupe.engine.listeners["SIGHUP"] == {listener}
        raise_and_wait(signal.SIGHUP, lambda: custom)
    finally:
        handler.unsubscribe()
        drupe.engine.unsubscribe("SIGHUP", listener)
    assert drupe.engine.state is drupe.states.STOPPED


def test_engine_config_set_after_subscribing_replaces_the_listeners() -> None:
    custom: list[str] = []

    def listener() -> None:
        custom.append("custom")

    handler = SignalHandler(drupe.engine)
    handler.subscribe()
    try:
        assert drupe.engine.listeners["SIGHUP"] == {handler.handle_SIGHUP}
        drupe.config.update({"engine.SIGHUP": [listener]})
        raise_and_wait(signal.SIGHUP, lambda: custom)
    finally:
        handler.unsubscribe()
        drupe.engine.unsubscribe("SIGHUP", listener)
    assert drupe.engine.state is drupe.states.STOPPED
    assert not drupe.engine.listeners["SIGTERM"]


def test_engine_signals_subscribe_uses_the_engine_plugin() -> None:
    handler = drupe.engine.signal_handler
    assert isinstance(handler, SignalHandler)
    assert handler.bus is drupe.engine
    drupe.engine.signals.subscribe()
    try:
        assert signal.getsignal(signal.SIGTERM) == handler._handle_signal
    finally:
        drupe.engine.signals.unsubscribe()
    assert signal.getsignal(signal.SIGTERM) != handler._handle_signal


# -- in a subprocess -------------------------------------------------------------------

ENGINE_STARTUP = [
    "ENGINE Listening for SIGHUP.",
    "ENGINE Listening for SIGTERM.",
    "ENGINE Listening for SIGUSR1.",
    "ENGINE Bus STARTING",
    "ENGINE Started monitor thread 'Autoreloader'.",
    "ENGINE Started monitor thread '_TimeoutMonitor'.",
    "ENGINE Bus STARTED",
]


def engine_lines(output: str) -> list[str]:
    """The ENGINE lines without their timestamps."""
    return [line.split("] ", 1)[1] for line in output.splitlines() if "] ENGINE " in line]


@pytest.mark.slow
def test_quickstart_prints_the_documented_engine_lines_and_exits_on_sigterm(
        spawn: Callable[..., Child]) -> None:
    child = spawn()
    output = child.wait_started()
    assert engine_lines(output)[:len(ENGINE_STARTUP)] == ENGINE_STARTUP
    child.send(signal.SIGTERM)
    assert child.wait() == 0
    output = child.output()
    assert "ENGINE Caught signal SIGTERM." in output
    assert "ENGINE Bus EXITED" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_ctrl_c_shuts_the_bus_down_cleanly(spawn: Callable[..., Child]) -> None:
    child = spawn()
    child.wait_started()
    child.send(signal.SIGINT)
    assert child.wait() == 0
    output = child.output()
    assert "ENGINE Keyboard Interrupt: shutting down bus" in output
    assert "ENGINE Bus EXITED" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_sigusr1_publishes_graceful_and_the_process_keeps_running(
        spawn: Callable[..., Child]) -> None:
    child = spawn()
    child.wait_started()
    child.send(signal.SIGUSR1)
    child.wait_for_output("ENGINE Graceful listener called.")
    assert child.process.poll() is None
    child.send(signal.SIGTERM)
    assert child.wait() == 0
    assert "ENGINE Caught signal SIGUSR1." in child.output()
    assert "ENGINE Bus graceful" in child.output()


@pytest.mark.slow
def test_sighup_exits_a_process_that_is_not_daemonized(spawn: Callable[..., Child]) -> None:
    child = spawn()
    child.wait_started()
    child.send(signal.SIGHUP)
    assert child.wait() == 0
    assert "not daemonized: exiting" in child.output()
    assert len(child.starts()) == 1


@pytest.mark.slow
def test_sighup_restarts_a_daemonized_process(spawn: Callable[..., Child]) -> None:
    child = spawn(fork=True)
    child.wait_started()
    (worker,) = child.starts()
    assert worker != child.process.pid
    child.send(signal.SIGHUP, pid=worker)
    assert child.wait_for_starts(2) == [worker, worker]  # re-executed in place
    child.wait_started(2)
    assert "ENGINE SIGHUP received while daemonized: restarting." in child.output()
    assert "ENGINE Re-spawning" in child.output()
    child.send(signal.SIGTERM, pid=worker)
    assert child.wait() == 0


@pytest.mark.slow
def test_engine_sighup_config_replaces_the_default_listener(spawn: Callable[..., Child]) -> None:
    child = spawn(custom_sighup=True)
    child.wait_started()
    child.send(signal.SIGHUP)
    assert child.wait() == 0
    output = child.output()
    assert "ENGINE Custom SIGHUP listener called." in output
    assert "SIGHUP received" not in output


@pytest.mark.parametrize(("setting", "restarts"), [(True, True), (False, False)])
def test_sighup_restarts_overrides_the_daemon_guess(bus: Any, setting: bool, restarts: bool) -> None:
    handler = SignalHandler(bus)
    handler.sighup_restarts = setting
    bus.start()
    handler.handle_SIGHUP()
    assert bus.execv is restarts
    assert bus.state is drupe.states.EXITING
    bus.execv = False
