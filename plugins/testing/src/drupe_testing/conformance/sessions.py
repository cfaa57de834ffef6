"""The session-backend conformance suite: what every ``drupe.sessions`` backend must do.

Use it from a backend's tests by subclassing :class:`SessionBackendSuite` and giving it
the backend's configuration::

    import pytest
    from drupe_testing.conformance.sessions import SessionBackendSuite

    class TestFileSessions(SessionBackendSuite):
        @pytest.fixture
        def session_config(self, tmp_path):
            # tools.sessions.* keys without the prefix ("on" is added by the suite)
            return {"storage_type": "file", "storage_path": str(tmp_path)}

        def corrupt_session(self, session_config, session_id):
            # Plant undecodable data for session_id in the store (optional: the default
            # skips the corrupt-data test, saying why).
            path = f"{session_config['storage_path']}/session-{session_id}"
            with open(path, "wb") as handle:
                handle.write(b"\\x80 not a session")

That is the whole interface:

* ``session_config`` (fixture, required): the backend's ``tools.sessions.*`` options. It
  may depend on other fixtures (a ``tmp_path``, a memcached server, a database URL) and
  may ``pytest.skip`` when a service is missing.
* ``corrupt_session(session_config, session_id)`` (method, optional): overwrite the stored
  data of ``session_id`` with bytes the serializer cannot decode.
* ``supports_len`` (class attribute, default True): False when the backend cannot count
  its sessions (``len(session)`` raises NotImplementedError, as memcached's does).

The suite mounts its own small application (with ``drupe_reset`` around each test) and
tests, through real requests — in-process, and over a real socket with the live server
where timing and concurrency matter: data round trips (with the serializer's tagged types),
new / unknown / malformed ids (a fresh id each time, nothing reaches the store), cookie
attributes (defaults and configured), ``Vary: Cookie``, ``regenerate()``,
``expire()``, ``delete()``, expiry after ``timeout``, ``clean_up()``, the lock
(``lock_timeout`` -> 503 with ``Retry-After``), 20 threads x 25 increments of one
session's counter giving exactly 500, and corrupt data read as an empty session and logged.
It needs drupe-sessions, the default dispatcher and, for the live-server tests, an HTTP
server (drupe-server-cheroot); those tests are skipped, saying what to install, without one.
"""

from __future__ import annotations

import datetime
import decimal
import http.client
import json
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

__all__ = ["SessionBackendSuite", "SuiteRoot"]

_ID = re.compile(r"[0-9a-f]{40}\Z")

# Short enough to wait for in a test, long enough for a few requests in a row.
BRIEF_TIMEOUT_SECONDS = 1.0
LOCK_TIMEOUT_SECONDS = 0.5


def _typed_values() -> dict[str, Any]:
    return {
        "text": "héllo \u2603",
        "integer": 2**40,
        "float": 1.25,
        "flag": True,
        "nothing": None,
        "list": [1, "two", [3.0]],
        "dict": {"nested": {"deep": [1, 2]}},
        "int_keys": {1: "one", 2: "two"},
        "tuple": (1, "a"),
        "set": {1, 2, 3},
        "bytes": b"\x00\xff binary",
        "datetime": datetime.datetime(2024, 5, 17, 12, 30, tzinfo=datetime.timezone.utc),
        "date": datetime.date(2024, 5, 17),
        "decimal": decimal.Decimal("12.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "looks_like_a_tag": {"__drupe_bytes__": "not really"},
    }


def _make_root() -> Any:
    import drupe

    class Lock:
        @drupe.expose
        def slow(self, seconds: str = "1.5") -> str:
            drupe.session["slow"] = True
            time.sleep(float(seconds))
            return "slow done"

        @drupe.expose
        def fast(self) -> str:
            drupe.session["fast"] = drupe.session.get("fast", 0) + 1
            return "fast done"

    class Brief:
        @drupe.expose
        def incr(self) -> str:
            count = drupe.session.get("count", 0) + 1
            drupe.session["count"] = count
            return str(count)

        @drupe.expose
        def clean(self) -> str:
            session = drupe.serving.session
            try:
                before: int | None = len(session)
            except NotImplementedError:
                before = None
            session.clean_up()
            try:
                after: int | None = len(session)
            except NotImplementedError:
                after = None
            return json.dumps({"before": before, "after": after})

        @drupe.expose
        def exists(self, id: str) -> str:
            other = type(drupe.serving.session)(id)
            return "missing" if other.missing else "exists"

    class Root:
        lock = Lock()
        brief = Brief()
        cookie = Brief()

        @drupe.expose
        def index(self) -> str:
            return "no session used"

        @drupe.expose
        def set(self, key: str, value: str) -> str:
            drupe.session[key] = value
            return "ok"

        @drupe.expose
        def get(self, key: str) -> str:
            return json.dumps(drupe.session.get(key))

        @drupe.expose
        def incr(self) -> str:
            count = drupe.session.get("count", 0) + 1
            drupe.session["count"] = count
            return str(count)

        @drupe.expose
        def store_types(self) -> str:
            drupe.session.update(_typed_values())
            return "ok"

        @drupe.expose
        def check_types(self) -> str:
            expected = _typed_values()
            wrong = [key for key, value in expected.items()
                     if drupe.session.get(key) != value or type(drupe.session.get(key)) is not type(value)]
            return "ok" if not wrong else "different: " + ", ".join(wrong)

        @drupe.expose
        def regenerate(self) -> str:
            drupe.session["before_regenerate"] = "kept"
            drupe.session.regenerate()
            return "ok"

        @drupe.expose
        def expire(self) -> str:
            import drupe.lib.sessions

            drupe.lib.sessions.expire()
            return "expired"

        @drupe.expose
        def delete(self) -> str:
            drupe.session.delete()
            return "deleted"

        @drupe.expose
        def explicit(self) -> str:
            drupe.session.acquire_lock()
            drupe.session["explicit"] = drupe.session.get("explicit", 0) + 1
            return str(drupe.session["explicit"])

    return Root()


SuiteRoot = _make_root


def _session_cookie(response: Any, name: str = "session_id") -> str | None:
    for value in response.headers.get_all("Set-Cookie"):
        first = value.split(";", 1)[0]
        cookie_name, _, cookie_value = first.partition("=")
        if cookie_name.strip() == name:
            return str(cookie_value).strip()
    return None


def _attributes(response: Any, name: str = "session_id") -> dict[str, str]:
    for value in response.headers.get_all("Set-Cookie"):
        parts = [part.strip() for part in value.split(";")]
        if parts[0].partition("=")[0] == name:
            result = {}
            for part in parts[1:]:
                key, _, attr_value = part.partition("=")
                result[key.lower()] = attr_value
            return result
    raise AssertionError(f"no {name} cookie in {response.headers.get_all('Set-Cookie')}")


class SessionBackendSuite:
    """The tests every session backend passes (see the module docstring)."""

    supports_len = True

    # -- what a backend's test class provides -------------------------------------------

    @pytest.fixture
    def session_config(self) -> dict[str, Any]:
        raise NotImplementedError("override the session_config fixture in your test class")

    def corrupt_session(self, session_config: dict[str, Any], session_id: str) -> None:
        pytest.skip(f"{type(self).__name__} does not define corrupt_session(): the backend "
                    "gives the suite no way to plant undecodable data")

    # -- the application under test -----------------------------------------------------

    @pytest.fixture
    def session_app(self, drupe_reset: None, session_config: dict[str, Any]) -> Any:
        import drupe

        base = {"tools.sessions.on": True}
        base.update({f"tools.sessions.{key}": value for key, value in session_config.items()})
        config = {
            "/": base,
            "/lock": {"tools.sessions.lock_timeout": LOCK_TIMEOUT_SECONDS},
            "/brief": {"tools.sessions.timeout": BRIEF_TIMEOUT_SECONDS / 60},
            "/cookie": {
                "tools.sessions.name": "sid",
                "tools.sessions.path": "/cookie",
                "tools.sessions.domain": "example.test",
                "tools.sessions.secure": True,
                "tools.sessions.httponly": True,
                "tools.sessions.samesite": "Strict",
                "tools.sessions.persistent": False,
            },
            "/explicit": {"tools.sessions.locking": "explicit"},
        }
        return drupe.tree.mount(_make_root(), "/", config)

    # -- ids and cookies ----------------------------------------------------------------

    def test_new_session_gets_a_fresh_id(self, session_app: Any, client: Any) -> None:
        response = client.get("/set", params={"key": "a", "value": "1"})
        assert response.status == 200
        session_id = _session_cookie(response)
        assert session_id is not None
        assert _ID.match(session_id)
        other = type(client)(session_app).get("/set", params={"key": "a", "value": "2"})
        assert _session_cookie(other) not in (None, session_id)

    def test_round_trip(self, session_app: Any, client: Any) -> None:
        assert client.get("/set", params={"key": "name", "value": "Ann"}).text == "ok"
        assert client.get("/get", params={"key": "name"}).json() == "Ann"
        assert client.get("/store_types").text == "ok"
        assert client.get("/check_types").text == "ok"
        assert client.get("/get", params={"key": "name"}).json() == "Ann"

    def test_unknown_id_is_replaced(self, session_app: Any, client: Any) -> None:
        unknown = "0123456789abcdef0123456789abcdef01234567"
        response = client.get("/get", params={"key": "a"}, headers={"Cookie": f"session_id={unknown}"})
        assert response.status == 200
        assert response.json() is None
        new_id = _session_cookie(response)
        assert new_id is not None
        assert _ID.match(new_id)
        assert new_id != unknown
        check = client.get("/brief/exists", params={"id": unknown})
        assert check.text == "missing"

    @pytest.mark.parametrize("bad_id", [
        "../../../../etc/passwd",
        "0123456789ABCDEF0123456789ABCDEF01234567",
        "0123456789abcdef",
        "0123456789abcdef0123456789abcdef012345678",
        "g123456789abcdef0123456789abcdef01234567",
        "%2e%2e%2f",
        "x" * 5000,
    ])
    def test_malformed_id_is_refused(self, session_app: Any, client: Any, bad_id: str) -> None:
        response = client.get("/set", params={"key": "a", "value": "1"},
                              headers={"Cookie": f"session_id={bad_id}"})
        assert response.status == 200
        new_id = _session_cookie(response)
        assert new_id is not None
        assert _ID.match(new_id)
        assert new_id != bad_id

    def test_default_cookie_attributes(self, session_app: Any, client: Any) -> None:
        response = client.get("/incr")
        attributes = _attributes(response)
        assert attributes["path"] == "/"
        assert attributes["max-age"] == "3600"
        assert "httponly" in attributes
        assert attributes["samesite"] == "Lax"
        assert "secure" not in attributes
        assert "domain" not in attributes

    def test_configured_cookie_attributes(self, session_app: Any, client: Any) -> None:
        response = client.get("https://example.test/cookie/incr")
        assert response.status == 200
        attributes = _attributes(response, "sid")
        assert attributes["path"] == "/cookie"
        assert attributes["domain"] == "example.test"
        assert "secure" in attributes
        assert "httponly" in attributes
        assert attributes["samesite"] == "Strict"
        assert "max-age" not in attributes
        assert "expires" not in attributes
        assert _session_cookie(response, "session_id") is None

    def test_vary_cookie_when_the_session_is_read(self, session_app: Any, client: Any) -> None:
        client.get("/set", params={"key": "a", "value": "1"})
        response = client.get("/get", params={"key": "a"})
        vary = {part.strip().lower() for part in response.headers.get("Vary", "").split(",")}
        assert "cookie" in vary

    # -- regenerate, expire, delete -----------------------------------------------------

    def test_regenerate(self, session_app: Any, client: Any) -> None:
        first = _session_cookie(client.get("/set", params={"key": "a", "value": "1"}))
        response = client.get("/regenerate")
        second = _session_cookie(response)
        assert second is not None
        assert _ID.match(second)
        assert second != first
        assert client.get("/get", params={"key": "a"}).json() == "1"
        assert client.get("/get", params={"key": "before_regenerate"}).json() == "kept"
        assert client.get("/brief/exists", params={"id": first}).text == "missing"
        stale = client.get("/get", params={"key": "a"}, headers={"Cookie": f"session_id={first}"})
        assert stale.json() is None
        assert _session_cookie(stale) not in (first, second)

    def test_expire(self, session_app: Any, client: Any) -> None:
        first = _session_cookie(client.get("/set", params={"key": "a", "value": "1"}))
        response = client.get("/expire")
        assert response.status == 200
        attributes = _attributes(response)
        assert attributes.get("max-age") == "0"
        assert "session_id" not in client.cookies
        assert client.get("/brief/exists", params={"id": first}).text == "missing"
        replay = client.get("/get", params={"key": "a"}, headers={"Cookie": f"session_id={first}"})
        assert replay.json() is None

    def test_delete(self, session_app: Any, client: Any) -> None:
        first = _session_cookie(client.get("/set", params={"key": "a", "value": "1"}))
        assert client.get("/delete").text == "deleted"
        assert client.get("/brief/exists", params={"id": first}).text == "missing"
        assert client.get("/get", params={"key": "a"}).json() is None

    # -- expiry and clean-up ------------------------------------------------------------

    def test_expiry(self, session_app: Any, client: Any) -> None:
        first = _session_cookie(client.get("/brief/incr"))
        assert client.get("/brief/incr").text == "2"
        time.sleep(BRIEF_TIMEOUT_SECONDS + 1.1)
        response = client.get("/brief/incr")
        assert response.text == "1"
        assert _session_cookie(response) != first

    def test_clean_up(self, session_app: Any, client: Any) -> None:
        ids = []
        for _ in range(3):
            fresh = type(client)(session_app)
            ids.append(_session_cookie(fresh.get("/brief/incr")))
        time.sleep(BRIEF_TIMEOUT_SECONDS + 1.1)
        result = type(client)(session_app).get("/brief/clean").json()
        for session_id in ids:
            assert client.get("/brief/exists", params={"id": session_id}).text == "missing"
        if self.supports_len:
            assert result["before"] is not None
            assert result["before"] >= 0
            assert result["after"] == 0

    # -- corrupt data -------------------------------------------------------------------

    def test_corrupt_data_is_an_empty_session(self, session_app: Any, client: Any,
                                              session_config: dict[str, Any],
                                              drupe_error_log: list[str]) -> None:
        session_id = _session_cookie(client.get("/set", params={"key": "a", "value": "1"}))
        assert session_id is not None
        self.corrupt_session(session_config, session_id)
        response = client.get("/get", params={"key": "a"})
        assert response.status == 200
        assert response.json() is None
        assert any("TOOLS.SESSIONS" in message for message in drupe_error_log), drupe_error_log
        # The session works again afterwards.
        assert client.get("/set", params={"key": "a", "value": "2"}).text == "ok"
        assert client.get("/get", params={"key": "a"}).json() == "2"

    # -- locking (real sockets) ---------------------------------------------------------

    def test_lock_timeout_answers_503(self, session_app: Any, live_server: Any) -> None:
        session_id = _session_cookie(live_server.get("/lock/fast"))
        assert session_id is not None
        cookie = {"Cookie": f"session_id={session_id}"}
        results: dict[str, Any] = {}

        def slow() -> None:
            results["slow"] = live_server.get("/lock/slow", params={"seconds": "2"}, headers=cookie)

        holder = threading.Thread(target=slow)
        holder.start()
        try:
            time.sleep(0.4)
            started = time.monotonic()
            blocked = live_server.get("/lock/fast", headers=cookie)
            waited = time.monotonic() - started
        finally:
            holder.join(10)
        assert blocked.status == 503, blocked.text
        assert blocked.headers.get("Retry-After", "").isdigit()
        assert LOCK_TIMEOUT_SECONDS * 0.8 <= waited < LOCK_TIMEOUT_SECONDS + 1.5
        assert results["slow"].status == 200
        assert live_server.get("/lock/fast", headers=cookie).status == 200

    def test_explicit_locking(self, session_app: Any, client: Any) -> None:
        assert client.get("/explicit").text == "1"
        assert client.get("/explicit").text == "2"

    def test_concurrent_increments(self, session_app: Any, live_server: Any) -> None:
        """20 threads x 25 increments of one session's counter give exactly 500."""
        first = live_server.get("/incr")
        session_id = _session_cookie(first)
        assert first.text == "1"
        assert session_id is not None
        self.hammer(live_server.url, session_id, threads=20, increments=25)
        assert live_server.get("/incr", headers={"Cookie": f"session_id={session_id}"}).text == "502"

    @staticmethod
    def hammer(url: str, session_id: str, threads: int, increments: int,
               path: str = "/incr") -> list[str]:
        """GET ``path`` ``threads`` x ``increments`` times with ``session_id``, in parallel.

        Each request on a new connection; fails if any answer is not 200. Public so that a
        backend's tests can hammer several servers sharing one store.
        """
        parts = urlsplit(url)
        errors: list[str] = []
        start = threading.Barrier(threads)

        def work() -> None:
            try:
                start.wait(10)
                for _ in range(increments):
                    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                            timeout=30)
                    try:
                        connection.request("GET", path, headers={"Cookie": f"session_id={session_id}"})
                        answer = connection.getresponse()
                        body = answer.read()
                        if answer.status != 200:
                            errors.append(f"{answer.status} {body[:200]!r}")
                    finally:
                        connection.close()
            except Exception as exc:  # reported below
                errors.append(repr(exc))

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert not any(worker.is_alive() for worker in workers), "a client thread hung"
        assert not errors, errors[:5]
        return errors
