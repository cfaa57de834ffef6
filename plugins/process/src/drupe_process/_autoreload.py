"""``Autoreloader``: restart the process when one of its source files changes.

A :class:`~drupe_process.Monitor` (thread "Autoreloader", default ``frequency`` 1 s) that
stats the files of every imported module whose name matches ``match`` (a regular
expression, default ``'.*'``), plus the paths in ``files`` (config files given to
``drupe.config.update`` by name are added by the kernel). When a file's modification
time differs from the one first seen — or the file disappeared — it logs
"Restarting because <file> changed." and calls ``bus.restart()``: the bus exits, and
``engine.block()`` in the main thread re-executes the process with the same arguments.

The first snapshot is taken when the monitor starts, before the bus is STARTED, so an
edit saved just after start-up is not missed.

Modules with a relative ``__file__`` (those imported through a relative ``sys.path``
entry) are resolved against the working directory drupe-process was imported in, so that
an ``os.chdir`` later does not make every such file look deleted.
"""

from __future__ import annotations

import os
import re
import sys
from types import ModuleType
from typing import Any

from drupe_process._monitor import Monitor, priority

__all__ = ["Autoreloader"]

_STARTUP_DIRECTORY = os.getcwd()


def _archive_for_zip_module(module: Any) -> str | None:
    """The zip archive ``module`` was imported from, or None."""
    archive = getattr(getattr(module, "__loader__", None), "archive", None)
    return archive if isinstance(archive, str) and archive else None


def _make_absolute(filename: str) -> str:
    """``filename`` made absolute against the startup directory (immune to ``os.chdir``)."""
    if os.path.isabs(filename):
        return filename
    return os.path.normpath(os.path.join(_STARTUP_DIRECTORY, filename))


def _modification_time(filename: str) -> float | None:
    try:
        return os.stat(filename).st_mtime
    except OSError:
        return None


class Autoreloader(Monitor):
    """Re-execute the process when a watched file changes (see the module docstring)."""

    def __init__(self, bus: Any, frequency: float = 1, match: str = ".*") -> None:
        self.files: set[str] = set()
        self.match = match
        # filename -> modification time when first seen (None: no such file then)
        self.mtimes: dict[str, float | None] = {}
        super().__init__(bus, self.run, frequency)

    # The helpers that find a module's file, as CherryPy's Autoreloader names them
    # (private there too, but toolboxes override or call them). sysfiles() goes through
    # _file_for_module, so a subclass may change what is watched.

    @staticmethod
    def _archive_for_zip_module(module: Any) -> str | None:
        """The zip archive ``module`` was imported from, or None."""
        return _archive_for_zip_module(module)

    @classmethod
    def _file_for_file_module(cls, module: Any) -> str | None:
        """The absolute ``__file__`` of ``module``, or None (``__file__`` None or missing)."""
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename:
            return None
        return cls._make_absolute(filename)

    @classmethod
    def _file_for_module(cls, module: Any) -> str | None:
        """The file to watch for ``module``: its zip archive, else its ``__file__``."""
        return cls._archive_for_zip_module(module) or cls._file_for_file_module(module)

    @staticmethod
    def _make_absolute(filename: str) -> str:
        """``filename`` made absolute against the directory drupe-process was imported in."""
        return _make_absolute(filename)

    @priority(70)
    def start(self) -> None:
        """Take the first snapshot, then start polling."""
        if self.thread is None and self.frequency > 0:
            self.mtimes = {}
            self.run()
        super().start()

    def sysfiles(self) -> set[str]:
        """The files of the imported modules whose names match ``match``."""
        pattern = re.compile(self.match)
        found: set[str] = set()
        for name, module in list(sys.modules.items()):
            if module is None or not pattern.match(name):
                continue
            filename = self._file_for_module(module)
            if filename:
                found.add(filename)
        return found

    def run(self) -> None:
        """Compare every watched file with its first-seen time; restart on a change."""
        for filename in self.sysfiles() | self.files:
            if filename.endswith(".pyc"):
                # A module loaded from bytecode next to its source: watch the source.
                filename = filename[:-1]
            mtime = _modification_time(filename)
            if filename not in self.mtimes:
                self.mtimes[filename] = mtime
                continue
            first_seen = self.mtimes[filename]
            if first_seen is None:
                # It had no file when first seen (a bytecode-only module): nothing to watch.
                continue
            # Any difference counts: a checkout can bring back an *older* version.
            if mtime != first_seen:
                self.bus.log(f"Restarting because {filename} changed.")
                thread = self.thread
                if thread is not None:
                    thread.cancel()
                self.bus.restart()
                return
