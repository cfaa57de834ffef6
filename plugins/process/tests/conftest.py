"""Fixtures for drupe-process's tests: a clean drupe and no leftovers around every test.

Every test must leave no thread, process, signal handler or file behind: the autouse
fixture below resets drupe, restores the signal handlers and the log/checker switches a
test may have changed, and fails the test if a thread it started is still alive. Helpers
shared by the test modules live in ``process_support`` (this folder is put on
``sys.path`` so the modules can import it under ``--import-mode=importlib``).
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from process_support import Child

import drupe

_SIGNALS = [getattr(signal, name) for name in ("SIGHUP", "SIGTERM", "SIGUSR1", "SIGINT")
            if hasattr(signal, name)]


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    handlers = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    threads_before = set(threading.enumerate())
    screen, checker_on = drupe.log.screen, drupe.checker.on
    try:
        yield
    finally:
        drupe.reset()
        # Config namespaces set attributes that config.reset() does not take back.
        drupe.log.screen, drupe.checker.on = screen, checker_on
        for signum, handler in handlers.items():
            if handler is not None:
                signal.signal(signum, handler)

        def leftovers() -> list[threading.Thread]:
            return [thread for thread in threading.enumerate()
                    if thread not in threads_before and thread.is_alive()]

        deadline = time.monotonic() + 5
        while leftovers() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not leftovers(), f"threads left behind: {leftovers()}"


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A temporary directory, removed after the test (tmp_path would be kept)."""
    path = Path(tempfile.mkdtemp(prefix="drupe-process-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def spawn(workdir: Path) -> Iterator[Callable[..., Child]]:
    """Start ``child_program.py`` with options; every child is killed after the test."""
    children: list[Child] = []

    def start(**options: Any) -> Child:
        child = Child(workdir, options)
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            child.cleanup()


@pytest.fixture
def engine_log() -> Iterator[list[str]]:
    """The messages ``drupe.engine`` logs during the test."""
    messages: list[str] = []

    def collect(message: str, level: int = 20) -> None:
        messages.append(message)

    drupe.engine.subscribe("log", collect)
    try:
        yield messages
    finally:
        drupe.engine.unsubscribe("log", collect)
