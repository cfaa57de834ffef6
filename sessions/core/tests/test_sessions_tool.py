"""The sessions tool beyond the conformance suite: config errors, the clean-up thread, the
pickle serializer end to end, streaming, session_auth."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import drupe
import drupe.lib.sessions
from drupe_sessions import RamSession, Session
from drupe_testing import Client, LiveServer

pytestmark = pytest.mark.drupe_reset


class Root:
    @drupe.expose
    def incr(self) -> str:
        drupe.session["count"] = drupe.session.get("count", 0) + 1
        return str(drupe.session["count"])

    @drupe.expose
    def stream(self) -> Iterator[str]:
        def body() -> Iterator[str]:
            yield "a"
            drupe.session["streamed"] = drupe.session.get("streamed", 0) + 1
            yield str(drupe.session["streamed"])
        return body()

    stream._cp_config = {"response.stream": True}  # type: ignore[attr-defined]

    @drupe.expose
    def protected(self) -> str:
        return f"hello {drupe.request.login}"


def start_error(config: dict[str, Any]) -> str:
    drupe.tree.mount(Root(), "/", {"/": config})
    with pytest.raises(Exception) as raised:
        drupe.engine.start()
    drupe.engine.exit()
    return str(raised.value)


@pytest.mark.parametrize(("config", "expected"), [
    ({"tools.sessions.locking": "late"}, "tools.sessions.locking"),
    ({"tools.sessions.timeout": -1}, "tools.sessions.timeout"),
    ({"tools.sessions.lock_timeout": "soon"}, "tools.sessions.lock_timeout"),
    ({"tools.sessions.samesite": "None"}, "tools.sessions.samesite"),
    ({"tools.sessions.name": "bad name"}, "tools.sessions.name"),
    ({"tools.sessions.storage_type": "nosuch"}, "tools.sessions.storage_type"),
    ({"tools.sessions.storage_class": dict}, "tools.sessions.storage_class"),
    ({"tools.sessions.serializer": "pickle"}, "tools.sessions.signing_key"),
    ({"tools.sessions.storage_pth": "/tmp"}, "tools.sessions.storage_pth"),
    ({"tools.session_auth.login_scren": "x"}, "tools.session_auth.login_scren"),
])
def test_bad_config_stops_the_engine_naming_the_key(config: dict[str, Any], expected: str) -> None:
    message = start_error({"tools.sessions.on": True, **config})
    assert expected in message


def test_a_missing_backend_names_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = drupe.registry
    real_has, real_load = registry.has, registry.load

    def has(group: str, name: str) -> bool:
        return False if (group, name) == ("drupe.sessions", "file") else real_has(group, name)

    def load(group: str, name: str, key: str | None = None) -> Any:
        if (group, name) == ("drupe.sessions", "file"):
            raise registry.missing(group, name, key)
        return real_load(group, name, key)

    monkeypatch.setattr(registry, "has", has)
    monkeypatch.setattr(registry, "load", load)
    message = start_error({"tools.sessions.on": True, "tools.sessions.storage_type": "file"})
    assert "tools.sessions.storage_type" in message
    assert "pip install drupe-session-file" in message
    with pytest.raises(ImportError, match="pip install drupe-session-file"):
        from drupe_sessions.compat import FileSession


def test_compat_module_names() -> None:
    assert drupe.lib.sessions.Session is Session
    assert drupe.lib.sessions.RamSession is RamSession
    for name in ("init", "save", "close", "expire", "set_response_cookie"):
        assert callable(getattr(drupe.lib.sessions, name))
    from drupe.lib.locking import LockTimeout

    assert issubclass(LockTimeout, drupe.HTTPError)
    assert drupe.tools.sessions.point == "before_request_body"
    assert drupe.tools.session_auth.point == "before_handler"


def test_storage_class_given_as_a_subclass() -> None:
    class MyRam(RamSession):
        pass

    drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True, "tools.sessions.storage_class": MyRam}})
    client = Client(drupe.tree)
    assert [client.get("/incr").text for _ in range(3)] == ["1", "2", "3"]


def test_pickle_serializer_end_to_end() -> None:
    drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True, "tools.sessions.serializer": "pickle",
                                         "tools.sessions.signing_key": "s" * 32}})
    client = Client(drupe.tree)
    assert [client.get("/incr").text for _ in range(2)] == ["1", "2"]


def test_streamed_response_saves_after_the_body() -> None:
    drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True}})
    client = Client(drupe.tree)
    assert client.get("/stream").text == "a1"
    assert client.get("/stream").text == "a2"


def test_clean_up_runs_in_an_engine_managed_thread() -> None:
    drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True, "tools.sessions.timeout": 0.5 / 60,
                                         "tools.sessions.clean_freq": 0.3 / 60}})
    app = drupe.tree.apps[""]
    with LiveServer() as server:
        assert server.get("/incr").text == "1"
        (store,) = app._drupe_session_stores.values()
        assert len(store.cache) == 1
        names = [t.name for t in threading.enumerate()]
        assert any(name.startswith("drupe-sessions clean-up") for name in names), names
        deadline = time.monotonic() + 5
        while store.cache and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.cache == {}
    assert not any(t.name.startswith("drupe-sessions clean-up") for t in threading.enumerate())


def check(username: str, password: str) -> str | None:
    return None if (username, password) == ("ann", "secret") else "Wrong <b>password</b>"


def test_session_auth_login_flow() -> None:
    drupe.tree.mount(Root(), "/", {"/": {
        "tools.sessions.on": True, "tools.session_auth.on": True,
        "tools.session_auth.check_username_and_password": check,
    }})
    client = Client(drupe.tree)
    page = client.get("/protected")
    assert page.status == 200
    assert 'action="do_login"' in page.text
    anonymous_id = client.cookies["session_id"]
    assert client.get("/do_login").status == 405
    assert client.post("/do_login", data={"username": "ann"}).status == 400
    wrong = client.post("/do_login", data={"username": "<ann>", "password": "x", "from_page": "/protected"})
    assert "Wrong &lt;b&gt;password&lt;/b&gt;" in wrong.text
    assert "&lt;ann&gt;" in wrong.text
    good = client.post("/do_login", data={"username": "ann", "password": "secret",
                                          "from_page": "/protected"})
    assert good.status == 303
    assert good.headers["Location"].endswith("/protected")
    assert client.cookies["session_id"] != anonymous_id  # no fixation
    assert client.get("/protected").text == "hello ann"
    away = client.post("/do_logout", data={"from_page": "https://evil.example/"})
    assert away.status == 303
    assert away.headers["Location"] == "http://localhost/"
    assert 'action="do_login"' in client.get("/protected").text
