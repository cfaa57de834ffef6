"""The memcached backend at the store level, against real memcached processes."""

from __future__ import annotations

import datetime
import logging
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymemcache.client.base import Client

from drupe_session_memcached import MemcachedSession, SessionStoreUnavailable
from drupe_sessions import LockTimeout
from drupe_testing.services import MemcachedProcess


def configured(servers: list[str], lock_timeout: float = 2.0, **options: Any) -> type[MemcachedSession]:
    store = type("MemcachedSession", (MemcachedSession,),
                 {"lock_timeout": lock_timeout, "timeout": 60})
    store.setup(servers=servers, **options)
    return store


def raw_client(server: MemcachedProcess) -> Client:
    return Client((server.host, server.port), connect_timeout=2, timeout=2)


def stats(server: MemcachedProcess) -> dict[bytes, Any]:
    client = raw_client(server)
    try:
        return dict(client.stats())
    finally:
        client.close()


def saved(store: type[MemcachedSession]) -> MemcachedSession:
    """A new session holding some data, saved."""
    session = store()
    session["saved"] = True
    session.save()
    return session


@pytest.fixture
def store(memcached_server: MemcachedProcess) -> Iterator[type[MemcachedSession]]:
    configured_store = configured([memcached_server.address])
    yield configured_store
    configured_store.close()


def test_round_trip_and_missing_ids(store: type[MemcachedSession]) -> None:
    session = store()
    assert not session.missing
    session["name"] = "Ann"
    session["when"] = datetime.date(2024, 1, 2)
    session.save()
    again = store(session.id)
    assert not again.missing
    assert again.id == session.id
    assert again["name"] == "Ann"
    assert again["when"] == datetime.date(2024, 1, 2)
    unknown = store("0" * 40)
    assert unknown.missing
    assert unknown.id != "0" * 40


def test_values_are_the_serializers_bytes_under_the_prefix(store: type[MemcachedSession],
                                                          memcached_server: MemcachedProcess) -> None:
    session = store()
    session["x"] = 1
    session.save()
    client = raw_client(memcached_server)
    try:
        blob = client.get(f"drupe-session:{session.id}")
    finally:
        client.close()
    data, expiration = store.serializer.loads(blob)
    assert data == {"x": 1}
    assert expiration > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=59)


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "A" * 40, "g" * 40, "a" * 39, "a" * 41,
                                    "a b\r\nflush_all", "", "x" * 300])
def test_malformed_ids_never_reach_memcached(store: type[MemcachedSession],
                                             memcached_server: MemcachedProcess, bad_id: str) -> None:
    saved(store)  # the pool's connection is open and counted already
    before = stats(memcached_server)
    session = store(bad_id)
    after = stats(memcached_server)
    assert session.missing
    assert session.id != bad_id
    # One lookup: the fresh id's (is it free?). The malformed one was never sent.
    assert after[b"cmd_get"] - before[b"cmd_get"] == 1
    assert after[b"get_misses"] - before[b"get_misses"] == 1


def test_memcached_expires_the_session(memcached_server: MemcachedProcess) -> None:
    store = configured([memcached_server.address])
    store.timeout = 1 / 60  # one second
    session = store()
    session["x"] = 1
    session.save()
    assert not store(session.id).missing
    time.sleep(2.2)
    assert store(session.id).missing
    assert len(store()) == 0
    store.close()


def test_long_timeouts_are_sent_as_absolute_times(store: type[MemcachedSession]) -> None:
    # memcached reads an expiry above 30 days as a Unix time: a relative one would be 1970.
    store.timeout = 60 * 24 * 45
    session = store()
    session["x"] = 1
    session.save()
    assert store(session.id)["x"] == 1


def test_saving_an_already_expired_session_deletes_it(store: type[MemcachedSession]) -> None:
    session = store()
    session["x"] = 1
    session.save()
    session._save(session.now() - datetime.timedelta(seconds=5))
    assert store(session.id).missing


def test_corrupt_and_planted_values_are_empty_sessions(store: type[MemcachedSession],
                                                       memcached_server: MemcachedProcess,
                                                       drupe_error_log: list[str],
                                                       tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> Any:
            return (marker.write_text, ("pickle ran",))

    session = store()
    session["x"] = 1
    session.save()
    client = raw_client(memcached_server)
    try:
        for planted, flags in [(b"\x80 garbage", 0), (pickle.dumps({"x": Exploit()}), 1),
                               (b'{"data": {}, "expires": "soon"}', 0)]:
            client.set(f"drupe-session:{session.id}", planted, noreply=False, flags=flags)
            drupe_error_log.clear()
            loaded = store(session.id)
            assert loaded.get("x") is None
            assert any("TOOLS.SESSIONS" in m and "not a valid session" in m for m in drupe_error_log)
    finally:
        client.close()
    assert not marker.exists()


def test_lock_is_exclusive_and_bounded(store: type[MemcachedSession]) -> None:
    first = saved(store)
    first.acquire_lock()
    assert first.locked
    first.acquire_lock()  # no-op when held
    waiting = store(first.id)
    waiting.lock_timeout = 0.3
    started = time.monotonic()
    with pytest.raises(LockTimeout):
        waiting.acquire_lock()
    assert 0.25 <= time.monotonic() - started < 1.5
    assert not waiting.locked
    first.release_lock()
    assert not first.locked
    first.release_lock()  # no-op when not held
    waiting.acquire_lock()
    waiting.release_lock()


def test_a_dead_holders_lock_expires(memcached_server: MemcachedProcess,
                                     drupe_error_log: list[str]) -> None:
    store = configured([memcached_server.address], lock_expiry=1)
    # Another process: a class configured alike, with its own in-process locks.
    elsewhere = configured([memcached_server.address], lock_expiry=1)
    holder = saved(elsewhere)
    holder.acquire_lock()  # and never releases it in time, as if its process died
    taker = store(holder.id)
    taker.lock_timeout = 5
    started = time.monotonic()
    taker.acquire_lock()
    assert 0.5 <= time.monotonic() - started < 3.5
    # The late holder must not remove the lock now held by another request.
    holder.release_lock()
    assert any("expired while held" in message for message in drupe_error_log)
    third = store(holder.id)
    third.lock_timeout = 0.2
    with pytest.raises(LockTimeout):
        third.acquire_lock()
    taker.release_lock()
    store.close()
    elsewhere.close()


def test_len_counts_sessions_on_every_server_not_locks() -> None:
    with MemcachedProcess() as one, MemcachedProcess() as two:
        store = configured([one.address, two.address])
        sessions = []
        for number in range(24):
            session = store()
            session["n"] = number
            session.save()
            sessions.append(session)
        sessions[0].acquire_lock()
        assert len(store()) == 24
        # Rendezvous hashing spreads the keys over both servers.
        assert stats(one)[b"curr_items"] > 0
        assert stats(two)[b"curr_items"] > 0
        for number, session in enumerate(sessions):
            assert store(session.id)["n"] == number
        sessions[0].release_lock()
        store.close()


def test_a_failing_server_fails_only_its_sessions(drupe_error_log: list[str]) -> None:
    with MemcachedProcess() as one, MemcachedProcess() as two:
        store = configured([one.address, two.address], connect_timeout=0.5, socket_timeout=0.5)
        ids = []
        for _ in range(20):
            ids.append(saved(store).id)
        on_two = [session_id for session_id in ids
                  if store._pools().for_key(f"drupe-session:{session_id}")[0] == two.address]
        on_one = [session_id for session_id in ids if session_id not in on_two]
        assert on_one
        assert on_two
        two.stop()
        for session_id in on_one:
            assert not store(session_id).missing
        for session_id in on_two:
            with pytest.raises(SessionStoreUnavailable):
                store(session_id)
        assert any(two.address in message and "failed while looking up" in message
                   for message in drupe_error_log)
        # Back up (empty): its sessions are unknown now, not an error.
        two.start()
        assert store(on_two[0]).missing
        store.close()


def test_unreachable_and_silent_servers_fail_fast(drupe_error_log: list[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused_port = closed.getsockname()[1]
    with socket.socket() as silent:
        # Accepts connections (the backlog) and never answers: a wedged server.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        for port in (refused_port, silent.getsockname()[1]):
            store = configured([f"127.0.0.1:{port}"], connect_timeout=0.5, socket_timeout=0.5)
            started = time.monotonic()
            with pytest.raises(SessionStoreUnavailable) as raised:
                store("1" * 40)
            assert time.monotonic() - started < 2.5
            assert raised.value.code == 503
            store.close()
    assert len([m for m in drupe_error_log if "failed while looking up" in m]) == 2


def test_regenerate_moves_the_data(store: type[MemcachedSession]) -> None:
    session = store()
    session["x"] = 1
    session.save()
    old_id = session.id
    session.acquire_lock()
    session.regenerate()
    assert session.locked
    assert session.id != old_id
    session.save()
    assert store(old_id).missing
    assert store(session.id)["x"] == 1


def test_delete_and_clean_up(store: type[MemcachedSession]) -> None:
    session = store()
    session["x"] = 1
    session.save()
    assert len(store()) == 1
    store().clean_up()  # nothing to do: memcached expires sessions
    assert len(store()) == 1
    session.delete()
    assert store(session.id).missing
    assert len(store()) == 0


def test_key_prefix_separates_applications(memcached_server: MemcachedProcess) -> None:
    first = configured([memcached_server.address], key_prefix="app1:")
    second = configured([memcached_server.address], key_prefix="app2:")
    session = first()
    session["x"] = 1
    session.save()
    assert second(session.id).missing
    assert len(first()) == 1
    assert len(second()) == 0
    first.close()
    second.close()


def test_debug_logs(memcached_server: MemcachedProcess, caplog: pytest.LogCaptureFixture) -> None:
    store = configured([memcached_server.address])
    store.debug = True
    with caplog.at_level(logging.INFO):
        session = store()
        session.acquire_lock()
        session.release_lock()
    assert "Lock acquired" in caplog.text
    assert "Lock released" in caplog.text
    store.close()
