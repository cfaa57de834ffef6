"""``Daemonizer``: detach the process from its terminal with the traditional double fork.

Lifecycle (``start`` channel, priority 65 — before the PID file at 70 and the HTTP server
at 75, which starts worker threads)::

    launcher (the process the shell waits for)
      |  opens stdin/stdout/stderr targets, makes a report pipe
      |  fork #1 -------------------------> child: setsid() (new session, no terminal)
      |                                       |  fork #2 --------> daemon: dup2 the files
      |                                       |  _exit(0)          onto fds 0, 1, 2; the
      |                                                            bus goes on starting
      |  waits on the pipe: the daemon writes "started" once the bus is STARTED, or the
      |  error that stopped it; the launcher prints it and exits 0 or 1

Unlike CherryPy, whose launcher exits 0 right after the first fork whatever happens next,
the launcher's exit status says whether the daemon really started (within
``startup_timeout`` seconds; ``0`` or ``None`` gives CherryPy's behaviour). The target
files are opened *before* forking, so a bad path is an error of the launcher itself.

Threads do not survive ``fork()``: only the thread that forks goes on in the child. A
thread already running when the daemonizer starts would silently vanish, so the start is
refused with :class:`DaemonizeError` naming the threads (CherryPy only warns). Set
``allow_threads = True`` to fork anyway (the threads are then logged as a warning).

The working directory and the umask are left as they are (CherryPy also keeps the
directory, but sets the umask to 0, which makes every file the daemon creates
world-writable): relative paths in config keep working; set a umask with
``engine.drop_privileges.umask``.

Only on systems with ``fork()`` (not Windows): ``start`` raises ``DaemonizeError`` there.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from typing import IO, Any

from drupe import ConfigError, SimplePlugin, states
from drupe_process._monitor import priority

__all__ = ["DaemonizeError", "Daemonizer"]


class DaemonizeError(RuntimeError):
    """The process could not be daemonized (the message says why)."""

    startup_error = True


def _other_threads() -> list[threading.Thread]:
    current = threading.current_thread()
    return [thread for thread in threading.enumerate()
            if thread is not current and thread.is_alive()
            and not isinstance(thread, threading._DummyThread)]


def _summary(errors: list[str]) -> str:
    """One line saying why the start failed, from the error messages the bus logged."""
    prefix = "Shutting down due to error in start listener: "
    for message in errors:
        if message.startswith(prefix) and message[len(prefix):].strip():
            return message[len(prefix):].strip()
    for message in errors:
        if "Traceback (most recent call last)" in message:
            return [line for line in message.splitlines() if line.strip()][-1].strip()
    return errors[0] if errors else "the bus stopped"


class Daemonizer(SimplePlugin):
    """Daemonize the process when the bus starts (see the module docstring)."""

    def __init__(self, bus: Any, stdin: str = "/dev/null", stdout: str = "/dev/null",
                 stderr: str = "/dev/null") -> None:
        super().__init__(bus)
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.allow_threads = False
        self.startup_timeout: float | None = 60.0
        """Seconds the launcher waits for the daemon to report; ``0``/``None``: no wait."""
        self.finalized = False
        """True once this process daemonized (a second ``start`` does not fork again)."""

    @priority(65)
    def start(self) -> None:
        """Fork into the background (once per process)."""
        if self.finalized:
            self.bus.log("Already daemonized.")
            return
        if not hasattr(os, "fork"):
            raise DaemonizeError("The daemonizer needs os.fork(), which this platform lacks.")
        threads = _other_threads()
        if threads:
            names = ", ".join(repr(thread.name) for thread in threads)
            if not self.allow_threads:
                raise DaemonizeError(
                    f"Refusing to daemonize: threads are already running ({names}) and would "
                    "not survive the fork. Start them after the daemonizer (bus 'start' "
                    "priority above 65), or set engine.daemonizer.allow_threads = True.")
            self.bus.log(f"Daemonizing while threads run ({names}): they do not survive the "
                         "fork.", level=30)
        files = self._open_files()
        self.daemonize_with(files)
        self.finalized = True

    def _open_files(self) -> list[IO[Any]]:
        opened: list[IO[Any]] = []
        for key, path, mode in (("stdin", self.stdin, "r"), ("stdout", self.stdout, "a"),
                                ("stderr", self.stderr, "a")):
            try:
                opened.append(open(path, mode))  # noqa: SIM115 - handed to dup2 below
            except OSError as exc:
                for handle in opened:
                    handle.close()
                raise ConfigError(f"Config key 'engine.daemonizer.{key}': cannot open {path!r} "
                                  f"({exc.strerror or exc}).") from None
        return opened

    def daemonize_with(self, files: list[IO[Any]]) -> None:
        """Double fork; in the daemon, put ``files`` on fds 0, 1 and 2 and report back."""
        sys.stdout.flush()
        sys.stderr.flush()
        wait = bool(self.startup_timeout)
        read_end, write_end = os.pipe() if wait else (-1, -1)
        try:
            first = os.fork()
        except OSError as exc:
            raise DaemonizeError(f"The first fork failed: {exc}") from None
        if first:
            # The launcher: report what the daemon says, then leave without running the
            # atexit handlers (the engine belongs to the daemon now).
            os._exit(self._launcher(read_end, write_end, first) if wait else 0)
        if wait:
            os.close(read_end)
        os.setsid()
        try:
            second = os.fork()
        except OSError as exc:
            # Nobody is left to raise to: the launcher reads this from the pipe.
            self._report(write_end, f"failed: the second fork failed: {exc}")
            os._exit(1)
        if second:
            os._exit(0)
        for handle, target in zip(files, (0, 1, 2), strict=False):
            os.dup2(handle.fileno(), target)
            handle.close()
        self.bus.log(f"Daemonized to PID: {os.getpid()}")
        if wait:
            self._watch_startup(write_end)

    # -- the report from the daemon to the launcher -------------------------------------

    def _launcher(self, read_end: int, write_end: int, child: int) -> int:
        os.close(write_end)
        # The first child exits at once; reap it so it does not linger as a zombie.
        os.waitpid(child, 0)
        timeout = float(self.startup_timeout or 0)
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if b"".join(chunks).startswith(b"failed: "):
                    break  # it failed, and is still shutting down: report it anyway
                sys.stderr.write(f"drupe: the daemon has not finished starting after {timeout:g} s; "
                                 "it keeps running in the background.\n")
                return 0
            ready, _, _ = select.select([read_end], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        message = b"".join(chunks).decode("utf-8", "replace")
        if message.startswith("started"):
            return 0
        if message.startswith("failed: "):
            sys.stderr.write(f"drupe: the daemon failed to start: {message[8:]}\n")
        else:
            sys.stderr.write("drupe: the daemon exited before it finished starting.\n")
        return 1

    @staticmethod
    def _report(write_end: int, message: str, close: bool = True) -> None:
        """Send ``message`` to the launcher. A failure leaves the pipe open: it closes when
        the daemon process ends, after its exit handlers (the PID file's removal) ran, and
        the launcher waits for that before it reports."""
        if write_end < 0:
            return
        try:
            os.write(write_end, message.encode("utf-8", "replace"))
            if close:
                os.close(write_end)
        except OSError:
            pass

    def _watch_startup(self, write_end: int) -> None:
        """In the daemon: tell the launcher how the start ended, from a helper thread."""
        errors: list[str] = []

        def collect(message: str, level: int = 20) -> None:
            if level >= 40:
                errors.append(message)

        self.bus.subscribe("log", collect)

        def watch() -> None:
            try:
                self.bus.wait([states.STARTED, states.STOPPING, states.STOPPED, states.EXITING])
                if self.bus.state is states.STARTED:
                    self._report(write_end, "started")
                else:
                    self._report(write_end, "failed: " + _summary(errors), close=False)
            finally:
                self.bus.unsubscribe("log", collect)

        threading.Thread(target=watch, name="Daemonizer report", daemon=True).start()

    @staticmethod
    def daemonize(stdin: str = "/dev/null", stdout: str = "/dev/null", stderr: str = "/dev/null",
                  logger: Any = None) -> None:
        """CherryPy's static helper: double fork now and redirect the standard streams.

        The calling process's parent returns exit status 0 at once (no start report).
        """
        plugin = Daemonizer(_NullBus(logger), stdin, stdout, stderr)
        plugin.startup_timeout = 0
        plugin.daemonize_with(plugin._open_files())


class _NullBus:
    """Just enough of a bus for :meth:`Daemonizer.daemonize` (logging only)."""

    def __init__(self, logger: Any) -> None:
        self._logger = logger

    def log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        if self._logger is not None:
            self._logger(msg)
