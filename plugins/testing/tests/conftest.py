"""Shared fixtures for drupe-testing's own tests.

Every test must leave no thread behind (the live server's worker threads included) and
no drupe state: the autouse fixture below checks threads after each test and resets
drupe around it. Tests of the plugin's fixtures that need a pristine pytest session run
an inner pytest in a subprocess (the ``inner_pytest`` fixture), so the outer session's
state cannot leak into what they check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import unittest
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import drupe


def _wait_for_leaked_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    deadline = time.monotonic() + 5
    while True:
        leaked = [thread for thread in threading.enumerate()
                  if thread not in before and thread.is_alive()]
        if not leaked or time.monotonic() > deadline:
            return leaked
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves threads running; start and end each test with a reset.

    ``CPWebCase`` classes keep one server for all their tests (started and stopped by the
    class), so their tests are left alone here; ``no_leftovers_in_module`` covers them.
    """
    if isinstance(request.instance, unittest.TestCase):
        yield
        return
    before = set(threading.enumerate())
    drupe.reset()
    drupe.log.screen = False
    yield
    drupe.reset()
    leaked = _wait_for_leaked_threads(before)
    assert not leaked, f"the test left threads running: {leaked}"


@pytest.fixture(scope="module", autouse=True)
def no_leftovers_in_module() -> Iterator[None]:
    """Fail a module whose tests (or test classes) leave threads running."""
    before = set(threading.enumerate())
    yield
    leaked = _wait_for_leaked_threads(before)
    assert not leaked, f"the module left threads running: {leaked}"


@pytest.fixture
def requires_http_server() -> None:
    """Skip a test that starts live servers itself when none is installed."""
    if not drupe.registry.has("drupe.servers", "cheroot"):
        pytest.skip("install drupe-server-cheroot to run the live-server tests")


@dataclass
class InnerRun:
    """The outcome of an inner pytest run."""

    returncode: int
    output: str

    def count(self, outcome: str) -> int:
        match = re.search(rf"(\d+) {outcome}", self.output)
        return int(match.group(1)) if match else 0


class InnerPytest:
    """Runs a test module in a fresh pytest process (warnings are errors there too)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __call__(self, source: str, *args: str, ini: str = "") -> InnerRun:
        (self.directory / "pytest.ini").write_text(
            "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n" + ini)
        module = self.directory / "test_inner.py"
        module.write_text(textwrap.dedent(source))
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rs", "--rootdir", str(self.directory),
             *args, str(module)],
            cwd=self.directory, capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        return InnerRun(completed.returncode, completed.stdout + completed.stderr)


@pytest.fixture
def inner_pytest(tmp_path: Path) -> InnerPytest:
    return InnerPytest(tmp_path)


@pytest.fixture
def run_script(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """Run a script in a fresh interpreter; its completed process."""

    def run(source: str) -> subprocess.CompletedProcess[str]:
        script = tmp_path / "script.py"
        script.write_text(textwrap.dedent(source))
        return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    return run
