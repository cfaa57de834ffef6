"""``PIDFile``: write the process id to a file on start, remove it on exit.

Lifecycle: ``start`` (priority 70: after the daemonizer at 65, so the file holds the
daemon's pid, and before the server at 75) writes the file; ``exit`` removes it — only
when it still holds this process's pid, so a file another process took over is never
deleted.

A PID file that names a live process (other than this one) stops the start with
:class:`PIDFileError`: two copies of one service must not run at once. A file naming a
process that no longer runs, or holding no number at all, is *stale* (left by a crash or
a power cut): it is replaced, and the log says so. The file is created with ``link()``
from a temporary file beside it, so it appears at once with its content and two processes
starting together cannot both think they own it.

The path is made absolute when the plugin starts, so that a later ``os.chdir`` does not
make ``exit`` look in the wrong place. A pid can be reused by an unrelated process after a
crash; the check cannot tell that apart from a running copy of the service (remove the
file by hand then, or have systemd/supervisord track the process instead).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from drupe import ConfigError, SimplePlugin
from drupe_process._monitor import priority

__all__ = ["PIDFile", "PIDFileError", "pid_is_running", "read_pid"]


class PIDFileError(RuntimeError):
    """The PID file names a running process, or cannot be written."""

    startup_error = True


def read_pid(path: str) -> int | None:
    """The pid written in ``path``; ``None`` for a missing, empty or garbled file."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read(64).strip()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def pid_is_running(pid: int) -> bool:
    """True when a process with this id exists (even one of another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PIDFile(SimplePlugin):
    """Maintain a PID file while the bus runs (see the module docstring)."""

    def __init__(self, bus: Any, pidfile: str | os.PathLike[str] | None = None) -> None:
        super().__init__(bus)
        self.pidfile = pidfile
        self.finalized = False
        """True once this process wrote the file."""
        self._written: str | None = None

    @priority(70)
    def start(self) -> None:
        """Write this process's pid (refusing when another live process holds the file)."""
        if not self.pidfile:
            raise ConfigError("Config key 'engine.pidfile.pidfile': the PID file plugin is on, but "
                              "no file is set (engine.pidfile.pidfile = '/run/myapp.pid').")
        path = os.path.abspath(os.fspath(self.pidfile))
        pid = os.getpid()
        if self.finalized and self._written == path and read_pid(path) == pid:
            self.bus.log(f"PID {pid} already written to {path!r}.")
            return
        self._create(path, pid)
        self._written = path
        self.finalized = True
        self.bus.log(f"PID {pid} written to {path!r}.")

    def _create(self, path: str, pid: int) -> None:
        directory = os.path.dirname(path)
        temporary = os.path.join(directory, f".{os.path.basename(path)}.{pid}.tmp")
        try:
            with open(temporary, "w", encoding="ascii") as handle:
                handle.write(f"{pid}\n")
        except OSError as exc:
            raise PIDFileError(f"Cannot write the PID file {path!r} (engine.pidfile.pidfile): "
                               f"{exc.strerror or exc}.") from None
        try:
            for _attempt in range(3):
                try:
                    # link() fails when the name exists: the file appears complete, once.
                    os.link(temporary, path)
                    return
                except FileExistsError:
                    pass
                holder = read_pid(path)
                if holder == pid:
                    # Ours (a re-executed process keeps its pid): rewrite it.
                    os.replace(temporary, path)
                    return
                if holder is not None and pid_is_running(holder):
                    raise PIDFileError(
                        f"The PID file {path!r} names process {holder}, which is running: is "
                        "another copy of this service started? Stop it, or remove the file if "
                        "that process is not this service.")
                what = f"process {holder} is not running" if holder else "it holds no process id"
                self.bus.log(f"Replacing the stale PID file {path!r} ({what}).", level=30)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            raise PIDFileError(f"Could not create the PID file {path!r}: another process keeps "
                               "creating it.")
        except OSError as exc:
            raise PIDFileError(f"Cannot write the PID file {path!r} (engine.pidfile.pidfile): "
                               f"{exc.strerror or exc}.") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def exit(self) -> None:
        """Remove the file if it still holds this process's pid."""
        path = self._written
        if path is None:
            return
        self._written = None
        self.finalized = False
        if read_pid(path) != os.getpid():
            self.bus.log(f"PID file {path!r} no longer holds our pid; left in place.", level=30)
            return
        try:
            os.remove(path)
        except OSError as exc:
            self.bus.log(f"Could not remove the PID file {path!r}: {exc}", level=30)
            return
        self.bus.log(f"PID file removed: {path!r}.")
