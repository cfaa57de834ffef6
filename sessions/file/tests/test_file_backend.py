"""The file backend's own tests: planted files, the clean-up, locks across processes and two
server processes sharing one storage_path."""

from __future__ import annotations

import datetime
import http.client
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_session_file import FileSession
from drupe_sessions import LockTimeout, generate_id
from drupe_testing.conformance.sessions import SessionBackendSuite


def configured(path: Path, **options: Any) -> type[FileSession]:
    cls = type("FileSession", (FileSession,), dict(options))
    cls.setup(storage_path=str(path))
    return cls


def test_setup_requires_a_usable_storage_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.storage_path is required"):
        type("F", (FileSession,), {}).setup()
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="storage_path"):
        type("F", (FileSession,), {}).setup(storage_path=str(a_file))
    with pytest.raises(ValueError, match=r"tools\.sessions\.servers is not an option"):
        type("F", (FileSession,), {}).setup(storage_path=str(tmp_path), servers=["x"])
    cls = configured(tmp_path / "new" / "dir")
    assert os.path.isdir(tmp_path / "new" / "dir")
    assert cls.storage_path == str(tmp_path / "new" / "dir")


def test_saved_file_is_private_json(tmp_path: Path) -> None:
    cls = configured(tmp_path)
    session = cls()
    session["greeting"] = "hello"
    session.save()
    path = tmp_path / f"session-{session.id}"
    assert path.stat().st_mode & 0o777 == 0o600
    assert b'"greeting":"hello"' in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no lock or temp file left
    again = cls(session.id)
    assert again["greeting"] == "hello"
    assert len(again) == 1


def test_a_planted_symlink_is_not_followed(tmp_path: Path, drupe_error_log: list[str]) -> None:
    storage = tmp_path / "store"
    cls = configured(storage)
    secret = tmp_path / "secret"
    secret.write_text("do not read")
    session_id = generate_id()
    (storage / f"session-{session_id}").symlink_to(secret)
    session = cls(session_id)
    assert session.get("x") is None
    assert any("symbolic link" in line for line in drupe_error_log)
    session["x"] = 1
    session.save()  # replaces the link, never writes through it
    assert secret.read_text() == "do not read"
    assert not (storage / f"session-{session_id}").is_symlink()


def test_clean_up_survives_corrupt_files(tmp_path: Path, drupe_error_log: list[str]) -> None:
    cls = configured(tmp_path)
    live = cls()
    live["keep"] = True
    live.save()
    expired = cls()
    expired["old"] = True
    expired.save()
    blob = cls.serializer.dumps({"old": True}, datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc))
    (tmp_path / f"session-{expired.id}").write_bytes(blob)
    garbage = generate_id()
    (tmp_path / f"session-{garbage}").write_bytes(b"\x00\xffgarbage")
    (tmp_path / "session-not-an-id").write_bytes(b"left alone")
    orphan_lock = tmp_path / f"session-{generate_id()}.lock"
    orphan_lock.write_bytes(b"")
    cls().clean_up()
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {f"session-{live.id}", "session-not-an-id"}
    assert any("undecodable" in line for line in drupe_error_log)


def test_lock_is_bounded_and_released(tmp_path: Path) -> None:
    cls = configured(tmp_path, lock_timeout=0.3)
    first = cls()
    first["a"] = 1
    first.save()
    holder = cls(first.id)
    holder.acquire_lock()
    try:
        waiter = cls(first.id)
        started = time.monotonic()
        with pytest.raises(LockTimeout) as raised:
            waiter.acquire_lock()
        assert 0.25 <= time.monotonic() - started < 2
        assert raised.value.code == 503
        assert not waiter.locked
    finally:
        holder.release_lock()
    waiter.acquire_lock()
    waiter.release_lock()
    assert not list(tmp_path.glob("*.lock"))


def test_lock_across_processes(tmp_path: Path) -> None:
    """A lock held by another process bounds this one's wait too (fcntl.flock)."""
    session_id = generate_id()
    lock_path = tmp_path / f"session-{session_id}.lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(lock_path)!r}, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(3)
        os.unlink({str(lock_path)!r})
        fcntl.flock(fd, fcntl.LOCK_UN)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        cls = configured(tmp_path, lock_timeout=0.3)
        session = cls.__new__(cls)
        session._id = session_id
        session.id_observers = []
        session.locked = False
        with pytest.raises(LockTimeout):
            session.acquire_lock()
        session.lock_timeout = 10.0  # type: ignore[misc]
        started = time.monotonic()
        session.acquire_lock()  # succeeds once the other process lets go
        assert time.monotonic() - started < 5
        session.release_lock()
    finally:
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


SERVER = """\
import sys
import time

import drupe


class Root:
    @drupe.expose
    def incr(self):
        count = drupe.session.get("count", 0) + 1
        drupe.session["count"] = count
        return str(count)

    @drupe.expose
    def slow(self):
        drupe.session["slow"] = True
        time.sleep(2)
        return "done"


drupe.config.update({"server.socket_host": "127.0.0.1", "server.socket_port": int(sys.argv[1]),
                     "log.screen": False, "server.thread_pool": 12})
if drupe.registry.has("drupe.engine", "autoreload"):
    drupe.config.update({"engine.autoreload.on": False})
drupe.tree.mount(Root(), "/", {
    "/": {"tools.sessions.on": True, "tools.sessions.storage_type": "file",
          "tools.sessions.storage_path": sys.argv[2]},
    "/slow": {"tools.sessions.lock_timeout": 0.5},
    "/incr": {"tools.sessions.lock_timeout": 30},
})
drupe.engine.start()
print("READY", flush=True)
drupe.engine.block()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[list[str]]:
    """Two server processes sharing one storage_path; their base URLs."""
    if not drupe.registry.has("drupe.servers", "cheroot"):
        pytest.skip("install drupe-server-cheroot to run servers in processes")
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    storage = tmp_path / "sessions"
    processes = []
    urls = []
    try:
        for _ in range(2):
            port = _free_port()
            process = subprocess.Popen([sys.executable, str(script), str(port), str(storage)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            processes.append(process)
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.strip() == "READY", line + process.stdout.read()
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()


def _get(url: str, path: str, session_id: str | None = None) -> tuple[int, str, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": f"session_id={session_id}"} if session_id else {})
        response = connection.getresponse()
        return response.status, response.read().decode(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def _cookie(headers: dict[str, str]) -> str:
    return headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]


def test_two_processes_share_sessions_and_locks(two_servers: list[str]) -> None:
    first, second = two_servers
    status, body, headers = _get(first, "/incr")
    session_id = _cookie(headers)
    assert (status, body) == (200, "1")
    assert _get(second, "/incr", session_id)[1] == "2"

    # 20 threads x 25 increments, half through each process: exactly 500 more.
    errors: list[BaseException] = []

    def run(url: str) -> None:
        try:
            SessionBackendSuite.hammer(url, session_id, threads=10, increments=25)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(url,)) for url in two_servers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(180)
    assert not errors, errors
    assert _get(first, "/incr", session_id)[1] == "503"

    # A lock held through one process bounds a request through the other: 503.
    results: dict[str, Any] = {}
    holder = threading.Thread(target=lambda: results.update(slow=_get(first, "/slow", session_id)))
    holder.start()
    time.sleep(0.5)
    status, _, headers = _get(second, "/slow", session_id)
    holder.join(10)
    assert status == 503
    assert headers.get("retry-after") == "1"
    assert results["slow"][0] == 200


def test_corrupt_file_logged_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cls = configured(tmp_path)
    session_id = generate_id()
    (tmp_path / f"session-{session_id}").write_bytes(b"not json at all")
    with caplog.at_level(logging.WARNING):
        session = cls(session_id)
        assert dict(session.items()) == {}
    assert any(record.levelno == logging.WARNING and "could not be decoded" in record.getMessage()
               for record in caplog.records)
