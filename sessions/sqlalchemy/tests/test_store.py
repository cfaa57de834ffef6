"""The SQL backend at the store level, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import datetime
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from drupe_session_sqlalchemy import SessionStoreUnavailable, SQLSession
from drupe_sessions import LockTimeout


def configured(lock_timeout: float = 2.0, **options: Any) -> type[SQLSession]:
    store = type("SQLSession", (SQLSession,), {"lock_timeout": lock_timeout, "timeout": 60})
    store.setup(**options)
    return store


def saved(store: type[SQLSession], **data: Any) -> SQLSession:
    session = store()
    session.update(data or {"saved": True})
    session.save()
    return session


def rows(store: type[SQLSession], table: str | None = None) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(store._url)  # type: ignore[arg-type]
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                sa.text(f'SELECT * FROM "{table or store.table}" ORDER BY 1'))]
    finally:
        engine.dispose()


@pytest.fixture
def store(sql_options: dict[str, Any]) -> Iterator[type[SQLSession]]:
    configured_store = configured(**sql_options)
    yield configured_store
    configured_store.dispose()


def test_round_trip_and_missing_ids(store: type[SQLSession]) -> None:
    session = saved(store, name="Ann", when=datetime.date(2024, 1, 2))
    again = store(session.id)
    assert not again.missing
    assert again["name"] == "Ann"
    assert again["when"] == datetime.date(2024, 1, 2)
    again["name"] = "Bob"
    again.save()  # an update of the row, not a second row
    assert store(session.id)["name"] == "Bob"
    assert len(rows(store)) == 1
    unknown = store("0" * 40)
    assert unknown.missing
    assert unknown.id != "0" * 40


def test_table_is_created_on_first_use(sql_options: dict[str, Any]) -> None:
    store = configured(**sql_options)
    engine = sa.create_engine(sql_options["url"])
    try:
        assert not sa.inspect(engine).has_table(sql_options["table"])
        store()
        inspector = sa.inspect(engine)
        assert inspector.has_table(sql_options["table"])
        columns = {column["name"] for column in inspector.get_columns(sql_options["table"])}
        assert columns == {"id", "data", "expires_at"}
    finally:
        engine.dispose()
        store.dispose()


def test_a_foreign_table_of_that_name_is_a_logged_503(sql_options: dict[str, Any],
                                                      drupe_error_log: list[str]) -> None:
    engine = sa.create_engine(sql_options["url"])
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE TABLE "{sql_options["table"]}" (name TEXT)'))
    finally:
        engine.dispose()
    store = configured(**sql_options)
    with pytest.raises(SessionStoreUnavailable):
        store()
    assert any("is not a drupe session table" in message for message in drupe_error_log)
    store.dispose()


@pytest.mark.parametrize("bad_id", ["x' OR '1'='1", "A" * 40, "g" * 40, "a" * 39, "", "x" * 300])
def test_malformed_ids_never_reach_the_database(store: type[SQLSession], bad_id: str) -> None:
    saved(store)
    sent: list[str] = []
    engine = store._engine
    assert engine is not None

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any) -> None:
        sent.append(f"{statement} {parameters!r}")

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        session = store(bad_id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert session.missing
    assert session.id != bad_id
    assert sent  # the fresh id was looked up
    assert not any(bad_id and bad_id in statement for statement in sent)


def test_corrupt_and_planted_values_are_empty_sessions(store: type[SQLSession], database: str,
                                                       drupe_error_log: list[str]) -> None:
    session = saved(store, x=1)
    table = sa.table(store.table, sa.column("id"), sa.column("data"))
    planted: list[Any] = [b"\x80 garbage", b'{"data": {}, "expires": "soon"}']
    if database == "sqlite":
        planted.append("text where bytes belong")  # SQLite stores what it is given
    engine = sa.create_engine(store._url)  # type: ignore[arg-type]
    try:
        for value in planted:
            with engine.begin() as connection:
                connection.execute(sa.update(table).where(table.c.id == session.id).values(data=value))
            drupe_error_log.clear()
            assert store(session.id).get("x") is None
            assert any("TOOLS.SESSIONS" in message for message in drupe_error_log), drupe_error_log
    finally:
        engine.dispose()


def test_clean_up_deletes_expired_rows_only(store: type[SQLSession], drupe_error_log: list[str]) -> None:
    live = saved(store)
    expired = saved(store)
    expired._save(expired.now() - datetime.timedelta(seconds=1))
    assert len(store()) == 2
    assert store(expired.id).missing  # expired means absent, before any clean-up
    store().clean_up()
    assert [row[0] for row in rows(store)] == [live.id]
    assert len(store()) == 1
    assert not drupe_error_log


def test_lock_is_exclusive_and_bounded(store: type[SQLSession]) -> None:
    first = saved(store)
    first.acquire_lock()
    first.acquire_lock()  # no-op when held
    waiting = store(first.id)
    waiting.lock_timeout = 0.3
    started = time.monotonic()
    with pytest.raises(LockTimeout):
        waiting.acquire_lock()
    assert 0.25 <= time.monotonic() - started < 1.5
    assert not waiting.locked
    # Other sessions are not blocked by it.
    other = saved(store)
    other.lock_timeout = 0.3
    other.acquire_lock()
    other.release_lock()
    first.release_lock()
    first.release_lock()  # no-op when not held
    waiting.acquire_lock()
    waiting.release_lock()


def test_a_waiter_gets_the_lock_when_it_is_released(store: type[SQLSession]) -> None:
    holder = saved(store, count=1)
    holder.acquire_lock()
    results: list[Any] = []

    def wait_and_read() -> None:
        waiter = store(holder.id)
        waiter.acquire_lock()
        results.append(waiter["count"])
        waiter.release_lock()

    thread = threading.Thread(target=wait_and_read)
    thread.start()
    time.sleep(0.3)
    assert not results
    holder["count"] = 2
    holder.save()  # writes and releases
    thread.join(10)
    assert results == [2]


def test_lock_of_an_id_without_a_row(store: type[SQLSession]) -> None:
    # A fresh session is locked before it has data: the lock must hold all the same.
    fresh = store()
    fresh.acquire_lock()
    rival = store()
    rival.id = fresh.id  # as a second request for the same new id would
    rival.lock_timeout = 0.3
    with pytest.raises(LockTimeout):
        rival.acquire_lock()
    fresh.release_lock()  # never saved: nothing may stay behind
    assert rows(store) == []
    assert len(store()) == 0
    rival.acquire_lock()
    rival["x"] = 1
    rival.save()
    assert store(fresh.id)["x"] == 1


def test_regenerate_and_delete_under_the_lock(store: type[SQLSession]) -> None:
    session = saved(store, x=1)
    old_id = session.id
    session.acquire_lock()
    session.regenerate()  # deletes the old row in the lock's transaction, locks the new id
    assert session.locked
    assert session.id != old_id
    session.save()
    assert store(old_id).missing
    assert store(session.id)["x"] == 1
    other = saved(store)
    other.acquire_lock()
    other.delete()
    other.release_lock()
    assert store(other.id).missing


def test_sqlite_lock_rows_of_dead_holders_expire(tmp_path: Path, drupe_error_log: list[str]) -> None:
    store = configured(url=f"sqlite:///{tmp_path}/s.db", lock_expiry=1)
    # Another process: a class configured alike, with its own in-process locks.
    elsewhere = configured(url=f"sqlite:///{tmp_path}/s.db", lock_expiry=1)
    holder = saved(elsewhere)
    holder.acquire_lock()  # and never releases it in time, as if its process died
    taker = store(holder.id)
    taker.lock_timeout = 5
    started = time.monotonic()
    taker.acquire_lock()
    assert 0.5 <= time.monotonic() - started < 3.5
    holder.release_lock()  # too late: it must not remove the taker's lock
    assert any("expired while held" in message for message in drupe_error_log)
    third = store(holder.id)
    third.lock_timeout = 0.2
    with pytest.raises(LockTimeout):
        third.acquire_lock()
    taker.release_lock()
    store().clean_up()
    assert rows(store, f"{store.table}_locks") == []
    store.dispose()
    elsewhere.dispose()


def test_postgresql_lock_dies_with_its_connection(sql_options: dict[str, Any], database: str) -> None:
    if database != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    store = configured(**sql_options)
    elsewhere = configured(**sql_options)  # another process, in effect
    holder = saved(elsewhere)
    holder.acquire_lock()
    assert holder._lock_connection is not None
    holder._lock_connection.invalidate()  # the connection is gone, as with a dead process
    taker = store(holder.id)
    taker.lock_timeout = 2
    taker.acquire_lock()
    taker.release_lock()
    store.dispose()
    elsewhere.dispose()


def test_unreachable_database_fails_fast(drupe_error_log: list[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    store = configured(url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable) as raised:
        store("1" * 40)
    assert raised.value.code == 503
    assert time.monotonic() - started < 5
    assert any("The session database" in message for message in drupe_error_log)
    store.dispose()


def test_an_unwritable_sqlite_file_is_a_logged_503(tmp_path: Path, drupe_error_log: list[str]) -> None:
    store = configured(url=f"sqlite:///{tmp_path}/missing-directory/s.db")
    with pytest.raises(SessionStoreUnavailable):
        store()
    assert any("creating the table" in message for message in drupe_error_log)
    store.dispose()


def test_the_engine_is_disposed_when_the_engine_stops(sql_options: dict[str, Any]) -> None:
    import drupe

    store = configured(**sql_options)
    saved(store)
    assert store._engine is not None
    drupe.engine.publish("stop")
    assert store._engine is None
    assert store(saved(store).id)["saved"] is True  # a later use creates it again
    store.dispose()
