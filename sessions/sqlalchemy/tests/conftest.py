"""Fixtures for the SQL backend's tests: SQLite files, the PostgreSQL test database, a
counter application.

``sql_url`` is parametrized over both databases: a SQLite file in the test's temporary
directory, and PostgreSQL (``DRUPE_TEST_POSTGRESQL_URL``, default
postgresql+psycopg://postgres@127.0.0.1:5432/test; skipped, saying how to provide it,
when it is not reachable). ``sql_options`` adds a table name unique to the test, and the
table is dropped afterwards. Every test starts and ends with ``drupe.reset()``, disposes
of the backend's engines, and must leave no thread behind.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import drupe
from drupe_session_sqlalchemy import SQLSession
from drupe_testing import sessionkit
from drupe_testing.services import ServiceUnavailable, postgresql_url


@pytest.fixture(autouse=True)
def clean_drupe(drupe_reset: None) -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    SQLSession.dispose_all()
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on (each test that uses it runs on both)."""
    return str(request.param)


@pytest.fixture
def sql_url(database: str, tmp_path: Path) -> str:
    if database == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    try:
        return postgresql_url()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def sql_options(sql_url: str) -> Iterator[dict[str, Any]]:
    """``url`` and a ``table`` of the test's own (dropped afterwards, with its lock table)."""
    table = f"drupe_test_{secrets.token_hex(6)}"
    yield {"url": sql_url, "table": table}
    SQLSession.dispose_all()
    engine = sa.create_engine(sql_url)
    try:
        with engine.begin() as connection:
            for name in (f"{table}_locks", table):
                connection.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))
    finally:
        engine.dispose()
