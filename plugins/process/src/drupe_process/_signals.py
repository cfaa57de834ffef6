"""``SignalHandler``: operating-system signals turned into bus channels.

Each handled signal gets a bus channel of the same name. The OS-level handler does one
thing — publish that channel — and what the signal *means* is whatever listens there::

    SIGHUP   -> channel 'SIGHUP'  -> handle_SIGHUP: restart when daemonized, else exit
    SIGTERM  -> channel 'SIGTERM' -> bus.exit
    SIGUSR1  -> channel 'SIGUSR1' -> bus.graceful

so that ``engine.SIGHUP`` / ``engine.SIGTERM`` config entries (the kernel's ``engine``
namespace) can replace the listeners, and applications can add their own
(``engine.subscribe('SIGUSR1', rotate_logs)``).

Lifecycle: ``subscribe()`` installs the OS handlers (logging "Listening for SIGHUP." and
so on, in that order) and subscribes the default listeners; ``unsubscribe()`` puts back
the handlers that were there before and removes the listeners. Python only lets the main
thread install signal handlers, so both must be called from it; ``subscribe()`` from
another thread logs a warning and handles nothing.

When the global config already names ``engine.SIGHUP`` or ``engine.SIGTERM`` (the
``embedded`` environment sets both to ``None``), that entry wins whichever comes first:
``None`` (or an empty list) leaves that signal's OS handler alone, so the host process
keeps its own handling; a list of listeners is kept instead of the default one.

SIGHUP: a terminal that closes sends SIGHUP to its foreground processes, which should
then end; a daemon is conventionally told to reload with SIGHUP. The handler restarts
only when the process looks daemonized: its standard input is not a terminal *and* it is
no longer the process (or no longer has the parent) it was when the handler was created.
"""

from __future__ import annotations

import os
import signal as signal_module
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar

import drupe

__all__ = ["SignalHandler"]


def _signal_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for name in dir(signal_module):
        if name.startswith("SIG") and not name.startswith("SIG_"):
            number = getattr(signal_module, name)
            # SIGIOT/SIGABRT and friends share a number: keep the first (canonical) name.
            names.setdefault(int(number), name)
    return names


def _stdin_is_tty() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and os.isatty(stdin.fileno())
    except (OSError, ValueError):
        # Closed or replaced by an object without a descriptor: not a terminal.
        return False


class SignalHandler:
    """Publish a bus channel for each handled OS signal (see the module docstring)."""

    signals: ClassVar[dict[int, str]] = _signal_names()
    """Signal numbers to names, for this platform."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        # The order is the order of the "Listening for ..." lines at startup.
        self.handlers: dict[str, Callable[..., Any]] = {
            "SIGHUP": self.handle_SIGHUP,
            "SIGTERM": bus.exit,
            "SIGUSR1": bus.graceful,
        }
        # signal number -> the handler that was installed before ours
        self._previous_handlers: dict[int, Any] = {}
        # channel -> the listener set_handler subscribed there (removed by unsubscribe)
        self._listeners: dict[str, Callable[..., Any]] = {}
        self._original_pid = os.getpid()
        self._original_ppid = os.getppid()
        self.sighup_restarts: bool | None = None
        """What SIGHUP does: ``None`` decides by :meth:`_is_daemonized` (CherryPy's rule),
        ``True`` always restarts, ``False`` always exits. The ``drupe`` command sets it to
        ``True`` when standard input is not a terminal (systemd, supervisord, ``-d``)."""

    # -- installing --------------------------------------------------------------------

    def subscribe(self) -> None:
        """Install the OS handlers for every entry of ``handlers``.

        Signals this platform lacks are skipped silently (``handlers`` may list more).
        """
        if threading.current_thread() is not threading.main_thread():
            self.bus.log("Signal handlers can only be installed from the main thread; "
                         f"SignalHandler.subscribe() was called from thread "
                         f"{threading.current_thread().name!r}, so signals are not handled.",
                         level=30)
            return
        for name, default_listener in self.handlers.items():
            listener: Callable[..., Any] | None = default_listener
            configured, configured_listeners = self._configured(name)
            if configured:
                if not configured_listeners:
                    self.bus.log(f"Not listening for {name}: config 'engine.{name}' is "
                                 f"{configured_listeners!r}.")
                    continue
                # The config's listeners are on the channel already; ours would be extra.
                listener = None
            try:
                self.set_handler(name, listener)
            except ValueError:
                continue

    def _configured(self, name: str) -> tuple[bool, Any]:
        """Whether the global config sets ``engine.<name>`` for this bus, and to what."""
        if self.bus is not drupe.engine:
            return False, None
        key = f"engine.{name}"
        if key not in drupe.config:
            return False, None
        return True, drupe.config[key]

    def set_handler(self, signal: int | str, listener: Callable[..., Any] | None = None) -> None:
        """Handle ``signal`` (a number or a name such as ``'SIGUSR2'``) by publishing it.

        ``listener``, if given, is subscribed to the signal's channel. Raises
        ``ValueError`` when the platform has no such signal or when called outside the
        main thread.
        """
        if isinstance(signal, str):
            number = getattr(signal_module, signal, None)
            # SIG_DFL / SIG_IGN are handler values, not signals.
            if signal.startswith("SIG_") or not isinstance(number, signal_module.Signals):
                raise ValueError(f"No such signal on this platform: {signal!r}")
            name = signal
        else:
            try:
                name = self.signals[signal]
            except KeyError:
                raise ValueError(f"No such signal on this platform: {signal!r}")
            number = signal
        if threading.current_thread() is not threading.main_thread():
            raise ValueError(f"Cannot handle {name} from thread "
                             f"{threading.current_thread().name!r}: Python installs signal "
                             "handlers only from the main thread.")
        previous = signal_module.signal(number, self._handle_signal)
        # Subscribing twice must not record our own handler as the one to restore.
        if number not in self._previous_handlers and previous != self._handle_signal:
            self._previous_handlers[number] = previous
        self.bus.log(f"Listening for {name}.")
        if listener is not None:
            self.bus.subscribe(name, listener)
            self._listeners[name] = listener

    def _handle_signal(self, signum: int, frame: Any = None) -> None:
        """The OS-level handler: publish the signal's channel."""
        name = self.signals.get(signum, str(signum))
        self.bus.log(f"Caught signal {name}.")
        if not self.bus.has_listeners(name):
            self.bus.log(f"Nobody listens on channel {name!r}; the signal is ignored.", level=30)
            return
        try:
            self.bus.publish(name)
        except Exception:
            # The bus logged each failing listener. Raising here would surface in
            # whatever the main thread happened to be running (usually engine.block()).
            return

    # -- removing ----------------------------------------------------------------------

    def unsubscribe(self) -> None:
        """Put back the OS handlers found when subscribing; remove our listeners."""
        for number, previous in list(self._previous_handlers.items()):
            name = self.signals.get(number, str(number))
            if previous is None:
                # Installed by something other than Python: the closest is the default.
                previous = signal_module.SIG_DFL
            try:
                signal_module.signal(number, previous)
            except ValueError:
                self.bus.log(f"Unable to restore the {name} handler {previous!r} (this must "
                             "run in the main thread).", level=40, traceback=True)
                continue
            self.bus.log(f"Restored the {name} handler {previous!r}.")
            del self._previous_handlers[number]
        for name, listener in list(self._listeners.items()):
            self.bus.unsubscribe(name, listener)
            del self._listeners[name]

    # -- the default SIGHUP listener -------------------------------------------------

    def _is_daemonized(self) -> bool:
        """No terminal on stdin, and not the process (or parent) we started as."""
        moved = os.getpid() != self._original_pid or os.getppid() != self._original_ppid
        return moved and not _stdin_is_tty()

    def handle_SIGHUP(self) -> None:
        """Restart the process when it is daemonized (or ``sighup_restarts``); else exit."""
        if self.sighup_restarts:
            self.bus.log("SIGHUP received: restarting.")
            self.bus.restart()
        elif self.sighup_restarts is None and self._is_daemonized():
            self.bus.log("SIGHUP received while daemonized: restarting.")
            self.bus.restart()
        elif self.sighup_restarts is False:
            self.bus.log("SIGHUP received (engine.signal_handler.sighup_restarts is False): "
                         "exiting.")
            self.bus.exit()
        else:
            self.bus.log("SIGHUP received and the process is not daemonized: exiting.")
            self.bus.exit()
