"""Fixtures for the memcached backend's tests: a real memcached, a counter application.

``memcached_server`` (from drupe-testing) starts ``memcached`` on a free loopback port for
one test and stops it afterwards; the test is skipped, saying what to install, when the
binary is missing. Every test starts and ends with ``drupe.reset()``, closes the backend's
connections, and must leave no thread behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_session_memcached import MemcachedSession
from drupe_testing import sessionkit
from drupe_testing.services import memcached_server


@pytest.fixture(autouse=True)
def clean_drupe(drupe_reset: None) -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    MemcachedSession.close_all()
    drupe.reset()
    deadline = time.monotonic() + 5
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"the test left threads running: {leaked}"


@pytest.fixture
def mount_counter() -> Callable[..., drupe.Application]:
    """``mount_counter(**tools_sessions_options)``: the counter app at ``/`` with sessions on."""
    return sessionkit.mount_counter


@pytest.fixture
def get() -> Callable[..., tuple[int, str, str | None]]:
    """``get(port, path, cookie=None)`` -> (status, body, ``name=value`` of Set-Cookie)."""
    return sessionkit.get_once


@pytest.fixture
def hammer() -> Callable[..., list[str]]:
    """``hammer(ports, cookie, threads=20, per_thread=25)`` -> the problems seen."""
    return sessionkit.hammer


@pytest.fixture
def counter_script(tmp_path: Path) -> Path:
    """The counter application as a program: ``python counter.py <port> <config json>``."""
    path = tmp_path / "counter.py"
    path.write_text(sessionkit.COUNTER_APP, encoding="utf-8")
    return path
