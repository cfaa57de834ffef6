"""Fixtures for the documentation tests (see README.md in this folder).

This folder is put on ``sys.path`` so the test modules can import ``seed`` and
``docs_support`` under ``--import-mode=importlib``.

Every test starts and ends with ``drupe.reset()``, runs in its own temporary working
directory (the examples write ``access.log``, ``server.conf``, ... relative to it) and
must leave no thread running.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from docs_support import (
    Served,
    free_port,
    program,
    program_on_port,
    require_free_port,
)

import drupe


def _leaked_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    deadline = time.monotonic() + 5
    while True:
        leaked = [thread for thread in threading.enumerate()
                  if thread not in before and thread.is_alive()]
        if not leaked or time.monotonic() > deadline:
            return leaked
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def pristine_drupe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reset drupe around the test, run it in ``tmp_path``, and check no thread leaks."""
    monkeypatch.chdir(tmp_path)
    before = set(threading.enumerate())
    # The examples add tools to drupe.tools and change the named environments; drupe.reset()
    # keeps both (they are code, not config), so put them back here.
    tools_before = set(vars(drupe.tools))
    environments = copy.deepcopy(drupe._cpconfig.environments)
    drupe.reset()
    yield
    drupe.reset()
    for name in set(vars(drupe.tools)) - tools_before:
        if not drupe.registry.has("drupe.tools", name):
            delattr(drupe.tools, name)
    drupe._cpconfig.environments.clear()
    drupe._cpconfig.environments.update(environments)
    leaked = _leaked_threads(before)
    assert not leaked, f"the test left threads running: {leaked}"


@pytest.fixture
def requires_http_server() -> None:
    """Skip, saying what to install, when no HTTP server is installed."""
    if not drupe.registry.has("drupe.servers", "cheroot"):
        pytest.skip("install drupe-server-cheroot to run the documentation's served examples")


@pytest.fixture
def serve(tmp_path: Path, requires_http_server: None) -> Iterator[Callable[..., Served]]:
    """Run an example program and wait until its engine has started.

    ``serve(code)`` runs ``code`` as ``__main__`` with the server's port set to a free one
    first; ``serve(code, port=8080)`` runs it as it is, on the port it names (which must be
    free); ``serve(code, port=None)`` runs it as it is, for programs that serve no port.
    It waits for ``started_line`` in the output (``None``: the test waits itself). The
    program is killed after the test if it still runs.
    """
    started: list[Served] = []

    def start(code: str, *, port: int | str | None = "free", name: str = "example.py",
              started_line: str | None = "ENGINE Bus STARTED") -> Served:
        if port == "free":
            chosen = free_port()
            running = program_on_port(tmp_path, code, chosen, name)
        else:
            chosen = port  # type: ignore[assignment]
            if chosen is not None:
                require_free_port(chosen)
            running = program(tmp_path, code, name)
        served = Served(running, chosen)
        started.append(served)
        if started_line is not None:
            running.wait_for(started_line)
        return served

    yield start
    for served in started:
        served.program.cleanup()
