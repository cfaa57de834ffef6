"""The engine bus: a process-wide state machine with publish/subscribe channels.

The bus knows nothing about HTTP. Servers, the autoreloader, signal handling, daemonizing,
PID files and any application code that owns a resource (a connection pool, a background
thread) subscribe to its channels and follow its life::

                 start()                 stop()                  exit()
      STOPPED ----------> STARTING ---> STARTED ----------> STOPPING ---> STOPPED ---> EXITING
         ^       'start' published          |     'stop' published            'exit' published
         |                                  |
         +------------ graceful(): 'graceful' published, state unchanged

Channels: ``start``, ``stop``, ``graceful``, ``exit``, ``main`` (published periodically by
:meth:`Bus.block` from the main thread) and ``log``; any other name is a user channel,
created on first subscription. Listeners run in ascending numeric priority (default 50;
a callback's own ``priority`` attribute is used when none is given); listeners of equal
priority run in the order they subscribed. ``publish`` calls
every listener even when some fail, then raises :class:`ChannelFailures` holding all the
failures.

A failing ``start`` listener stops the bus and re-raises the error: unlike CherryPy, the
bus never calls ``os._exit`` on its own, so a failed start can be tested in-process and
reported by the command that started it. A *startup error* (an exception with a true
``startup_error`` attribute, such as ``ConfigError``) on ``start`` also skips the remaining
``start`` listeners, so that an invalid configuration starts nothing.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Bus", "ChannelFailures", "SimplePlugin", "states"]


class _State:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"states.{self.name}"


class _StateEnum:
    """The bus states. ``bus.states`` and ``drupe.engine.states`` point here."""

    STOPPED = _State("STOPPED")
    STARTING = _State("STARTING")
    STARTED = _State("STARTED")
    STOPPING = _State("STOPPING")
    EXITING = _State("EXITING")

    def __setattr__(self, key: str, value: Any) -> None:
        if isinstance(value, _State):
            value.name = key
        object.__setattr__(self, key, value)


states = _StateEnum()


class ChannelFailures(Exception):
    """Every exception raised by the listeners of one ``publish`` call."""

    delimiter = "\n"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._exceptions: list[BaseException] = []

    def handle_exception(self) -> None:
        """Record the exception currently being handled."""
        exc = sys.exc_info()[1]
        if exc is not None:
            self._exceptions.append(exc)

    def get_instances(self) -> list[BaseException]:
        """The recorded exceptions, in listener order."""
        return self._exceptions[:]

    def __str__(self) -> str:
        return self.delimiter.join(repr(exc) for exc in self._exceptions)

    def __bool__(self) -> bool:
        return bool(self._exceptions)


_BUILTIN_CHANNELS = ("start", "stop", "exit", "graceful", "log", "main")
_EX_SOFTWARE = 70


class Bus:
    """Process state and the channels plugins subscribe to."""

    states = states
    state: Any = states.STOPPED
    execv = False
    max_cloexec_files: int | None = None

    def __init__(self) -> None:
        self.execv = False
        self.state = states.STOPPED
        self.listeners: dict[str, set[Callable[..., Any]]] = {
            channel: set() for channel in _BUILTIN_CHANNELS
        }
        self._priorities: dict[tuple[str, Callable[..., Any]], float] = {}
        self._subscribed_order: dict[tuple[str, Callable[..., Any]], int] = {}
        self._subscriptions = 0
        # PERF: a few channels are published on every request; sorting their listeners
        # each time would cost more than calling them. The cache is dropped whenever a
        # subscription changes.
        self._ordered: dict[str, list[Callable[..., Any]]] = {}
        self._state_lock = threading.Condition()
        self._exiting = False
        self._exit_requested = False
        self._atexit_registered = False

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, channel: str, callback: Callable[..., Any] | None = None,
                  priority: float | None = None) -> Any:
        """Add ``callback`` to ``channel``; without a callback, return a decorator."""
        if callback is None:
            def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
                self.subscribe(channel, func, priority=priority)
                return func

            return decorator
        listeners = self.listeners.setdefault(channel, set())
        listeners.add(callback)
        if priority is None:
            priority = getattr(callback, "priority", 50)
        self._priorities[(channel, callback)] = priority
        if (channel, callback) not in self._subscribed_order:
            self._subscriptions += 1
            self._subscribed_order[(channel, callback)] = self._subscriptions
        self._ordered.pop(channel, None)
        return callback

    def unsubscribe(self, channel: str, callback: Callable[..., Any]) -> None:
        """Remove ``callback`` from ``channel`` (no error when it was not subscribed)."""
        listeners = self.listeners.get(channel)
        if listeners and callback in listeners:
            listeners.discard(callback)
            self._priorities.pop((channel, callback), None)
            self._subscribed_order.pop((channel, callback), None)
        self._ordered.pop(channel, None)

    def has_listeners(self, channel: str) -> bool:
        """True when ``channel`` has at least one listener (a cheap check for hot paths)."""
        return bool(self.listeners.get(channel))

    def _listeners_in_order(self, channel: str) -> list[Callable[..., Any]]:
        ordered = self._ordered.get(channel)
        listeners = self.listeners.get(channel, ())
        if ordered is None or len(ordered) != len(listeners):
            priorities = self._priorities
            order = self._subscribed_order
            ordered = sorted(
                listeners,
                key=lambda cb: (priorities.get((channel, cb), 50), order.get((channel, cb), 0)),
            )
            self._ordered[channel] = ordered
        return ordered

    def publish(self, channel: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call every listener of ``channel``; return their results in order.

        All listeners run even when some raise; the failures are then raised together as
        :class:`ChannelFailures`. ``KeyboardInterrupt`` and ``SystemExit`` propagate at once.
        """
        if not self.listeners.get(channel):
            return []
        # PERF: a few channels are published on every request; the failure collector is
        # only allocated when a listener actually fails.
        failures: ChannelFailures | None = None
        output: list[Any] = []
        for listener in self._listeners_in_order(channel):
            try:
                output.append(listener(*args, **kwargs))
            except KeyboardInterrupt:
                raise
            except SystemExit as exc:
                # A failure before the exit must not turn into a clean exit status.
                if failures and exc.code == 0:
                    exc.code = 1
                raise
            except Exception as exc:
                if failures is None:
                    failures = ChannelFailures()
                failures.handle_exception()
                startup_error = getattr(exc, "startup_error", False)
                if channel != "log":
                    # A startup error's message says everything (start() logs it).
                    self.log(f"Error in {channel!r} listener {listener!r}", level=40,
                             traceback=not startup_error)
                if startup_error and channel == "start":
                    # Invalid configuration: start nothing else (no server binds a port).
                    break
        if failures:
            raise failures
        return output

    # -- state changes -----------------------------------------------------------------

    def _set_state(self, state: Any) -> None:
        with self._state_lock:
            self.state = state
            self._state_lock.notify_all()

    def start(self) -> None:
        """STOPPED -> STARTING -> STARTED. A failing listener stops the bus and re-raises."""
        self._set_state(states.STARTING)
        self.log("Bus STARTING")
        if not self._atexit_registered:
            atexit.register(self._clean_exit)
            self._atexit_registered = True
        try:
            self.publish("start")
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            error = sys.exc_info()[1]
            if isinstance(error, ChannelFailures) and len(error.get_instances()) == 1:
                # Re-raise what the listener raised (a ConfigError, say), not the wrapper.
                error = error.get_instances()[0]
            if getattr(error, "startup_error", False):
                # A configuration problem: its message says everything; no traceback.
                self.log(f"Shutting down due to error in start listener: {error}", level=40)
            else:
                self.log("Shutting down due to error in start listener:", level=40, traceback=True)
            try:
                self.stop()
            except Exception:
                self.log("Error while stopping after a failed start:", level=40, traceback=True)
            self._exit_if_requested()
            assert error is not None
            raise error
        self._set_state(states.STARTED)
        self.log("Bus STARTED")
        self._exit_if_requested()

    def _exit_if_requested(self) -> None:
        if self._exit_requested:
            self._exit_requested = False
            self.exit()

    def stop(self) -> None:
        """Publish ``stop``; the bus ends in STOPPED."""
        self._set_state(states.STOPPING)
        self.log("Bus STOPPING")
        try:
            self.publish("stop")
        finally:
            self._set_state(states.STOPPED)
            self.log("Bus STOPPED")

    def exit(self) -> None:
        """Stop, then publish ``exit``: the process is about to end (or re-exec).

        A second call while an exit is under way (a repeated SIGTERM, Ctrl-C during
        shutdown) returns at once: the shutdown runs once. A call while the bus is STARTING
        (a signal during start-up) is carried out when :meth:`start` returns.
        """
        with self._state_lock:
            if self._exiting:
                return
            deferred = self.state is states.STARTING
            if deferred:
                self._exit_requested = True
            else:
                self._exiting = True
        if deferred:
            # A signal handler runs in the main thread, usually inside start() itself:
            # stopping now would run 'stop' while 'start' listeners are half done, and
            # start() would then set STARTED on an exited bus. Exit once start() returns.
            self.log("Exit requested while the bus is starting: exiting once it has started.")
            return
        try:
            self._do_exit()
        finally:
            self._exiting = False

    def _do_exit(self) -> None:
        try:
            self.stop()
            self._set_state(states.EXITING)
            self.log("Bus EXITING")
            self.publish("exit")
            self.log("Bus EXITED")
        except Exception:
            # The process is shutting down; there is nobody left to report to but the log.
            self.log("Error while exiting the bus:", level=40, traceback=True)
            self._set_state(states.EXITING)

    def graceful(self) -> None:
        """Ask subscribers to reload (publish ``graceful``) without stopping."""
        self.log("Bus graceful")
        self.publish("graceful")

    def restart(self) -> None:
        """Exit, then have :meth:`block` (in the main thread) re-execute the process."""
        self.execv = True
        self.exit()

    def _clean_exit(self) -> None:
        if self.state not in (states.STOPPED, states.EXITING):
            self.log(f"The main thread is exiting, but the Bus is in the {self.state!r} "
                     "state; shutting it down...", level=30)
            self.exit()

    # -- waiting -------------------------------------------------------------------------

    def wait(self, state: Any, interval: float = 0.1, channel: str | None = None) -> None:
        """Block until the bus reaches ``state`` (or one of a list of states).

        While waiting, ``channel`` (if given) is published every ``interval`` seconds.
        """
        wanted = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        while self.state not in wanted:
            if channel:
                time.sleep(interval)
                self.publish(channel)
            else:
                with self._state_lock:
                    if self.state not in wanted:
                        self._state_lock.wait(interval)

    def block(self, interval: float = 0.1) -> None:
        """Wait, publishing ``main``, until the bus exits; then join the other threads.

        Call from the main thread. Ctrl-C (``KeyboardInterrupt``) exits the bus. After a
        :meth:`restart`, the process re-executes itself here.
        """
        try:
            self.wait(states.EXITING, interval=interval, channel="main")
        except (KeyboardInterrupt, OSError):
            self.log("Keyboard Interrupt: shutting down bus")
            self.exit()
        except SystemExit:
            self.log("SystemExit raised: shutting down bus")
            self.exit()
            raise
        self.log("Waiting for child threads to terminate...")
        for thread in threading.enumerate():
            if (
                thread is not threading.current_thread()
                and thread is not threading.main_thread()
                and not thread.daemon
                and not isinstance(thread, threading._DummyThread)
            ):
                self.log(f"Waiting for thread {thread.name}.")
                thread.join()
        if self.execv:
            self._do_execv()

    def start_with_callback(self, func: Callable[..., Any], args: tuple[Any, ...] | None = None,
                            kwargs: dict[str, Any] | None = None) -> threading.Thread:
        """Start the bus and run ``func`` in a new thread once it is STARTED."""
        call_args = args or ()
        call_kwargs = kwargs or {}

        def _callback() -> None:
            self.wait(states.STARTED)
            func(*call_args, **call_kwargs)

        thread = threading.Thread(target=_callback, name="Bus callback")
        thread.start()
        self.start()
        return thread

    def _do_execv(self) -> None:
        """Replace this process with a fresh copy of itself (same interpreter, same argv)."""
        args = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
        self.log("Re-spawning " + " ".join(args))
        self._set_cloexec()
        os.execv(sys.executable, [sys.executable, *args[1:]])

    def _set_cloexec(self) -> None:
        """Mark inherited descriptors close-on-exec so the new process starts clean."""
        limit = self.max_cloexec_files
        if limit is None:
            try:
                limit = os.sysconf("SC_OPEN_MAX")
            except (ValueError, OSError):
                limit = 1024
        # Sockets passed by a service manager (systemd socket activation: LISTEN_FDS
        # descriptors from fd 3, for this pid) must reach the new process image.
        passed = os.environ.get("LISTEN_FDS", "")
        keep = int(passed) if passed.isdigit() and os.environ.get("LISTEN_PID") == str(os.getpid()) else 0
        for fd in range(3 + keep, min(limit, 65536)):
            try:
                os.set_inheritable(fd, False)
            except OSError:
                continue

    # -- logging -------------------------------------------------------------------------

    def log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """Publish ``msg`` on the ``log`` channel (with the current traceback if asked)."""
        if traceback:
            exc = sys.exc_info()[1]
            if exc is not None:
                import traceback as tb_module

                msg += "\n" + "".join(tb_module.format_exception(type(exc), exc, exc.__traceback__))
        self.publish("log", msg, level)


class SimplePlugin:
    """Base class for bus plugins: subscribes each method named like a channel.

    ``subscribe()`` attaches every method whose name is a channel of the bus (``start``,
    ``stop``, ``exit``, ``graceful``, ``main`` and any channel already created, such as
    ``acquire_thread``); ``unsubscribe()`` removes them.
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def subscribe(self) -> None:
        """Register this plugin's channel methods with the bus."""
        for channel in list(self.bus.listeners):
            method = getattr(self, channel, None)
            if method is not None and callable(method):
                self.bus.subscribe(channel, method)

    def unsubscribe(self) -> None:
        """Remove this plugin's channel methods from the bus."""
        for channel in list(self.bus.listeners):
            method = getattr(self, channel, None)
            if method is not None and callable(method):
                self.bus.unsubscribe(channel, method)
