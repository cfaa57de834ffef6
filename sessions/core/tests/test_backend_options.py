"""Backend options shared by one configuration: an option another installed backend knows
is left out for the backend in use (switching ``storage_class`` at run time, as CherryPy's
own tests do); a key no installed backend knows stops the engine naming it. Also the
``drupe.lib.cptools`` names and the ``clean_thread`` attribute."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import drupe
import drupe.lib.cptools
from drupe_sessions import RamSession, Session
from drupe_sessions._auth import SessionAuth, session_auth
from drupe_sessions._tool import backend_options, installed_backend_options
from drupe_testing import Client, LiveServer

pytestmark = pytest.mark.drupe_reset


class ShelfSession(RamSession):
    """A RAM backend with one option of its own, ``shelf`` (registered as 'shelf')."""

    option_names: ClassVar[frozenset[str] | None] = frozenset({"shelf"})
    shelf: ClassVar[str | None] = None

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        shelf = kwargs.pop("shelf", None)
        if not isinstance(shelf, str):
            raise ValueError(f"tools.sessions.shelf must be a name, not {shelf!r}")
        super().setup(**kwargs)
        cls.shelf = shelf


class UndeclaredSession(RamSession):
    """A backend written before ``option_names``: its setup() sees the unclaimed keys."""

    option_names: ClassVar[frozenset[str] | None] = None
    seen: ClassVar[dict[str, Any]] = {}

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        UndeclaredSession.seen = dict(kwargs)
        kwargs.pop("colour", None)
        super().setup(**kwargs)


@pytest.fixture
def shelf_backend(drupe_reset: None) -> Iterator[None]:
    # After drupe_reset, which forgets in-process registrations.
    drupe.registry.register("drupe.sessions", "shelf", ShelfSession)
    try:
        yield
    finally:
        drupe.registry.unregister("drupe.sessions", "shelf")


def make_root(**config: Any) -> Any:
    """A fresh application root whose class carries the sessions config (as CherryPy's
    test does), so a test may change it in place."""

    @drupe.config(**{"tools.sessions.on": True, "tools.sessions.storage_class": RamSession}, **config)
    class Root:
        @drupe.expose
        def incr(self) -> str:
            drupe.session["count"] = drupe.session.get("count", 0) + 1
            return f"{type(drupe.serving.session).__mro__[2].__name__} {drupe.session['count']}"

        @drupe.expose
        def shelf(self) -> str:
            return str(getattr(type(drupe.serving.session), "shelf", None))

        @drupe.expose
        @drupe.config(**{"tools.sessions.on": False})
        def use(self, name: str) -> str:
            cls = {"ram": RamSession, "shelf": ShelfSession}[name]
            type(self)._cp_config.update({"tools.sessions.storage_class": cls})  # type: ignore[attr-defined]
            return "ok"

    return Root()


def test_an_option_of_another_installed_backend_is_ignored_with_a_debug_log(
        shelf_backend: None, drupe_error_log: list[str]) -> None:
    logger = drupe.log.error_log
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        # The engine-start check sees the application's config (not _cp_config).
        drupe.tree.mount(make_root(), "/", {"/": {"tools.sessions.on": True, "tools.sessions.shelf": "top"}})
        with LiveServer() as server:
            assert server.get("/incr").text == "RamSession 1"
            assert server.get("/shelf").text == "None"
    finally:
        logger.setLevel(level)
    assert any("tools.sessions.shelf is an option of ShelfSession ('shelf'), not of RamSession"
               in message for message in drupe_error_log), drupe_error_log


def test_switching_storage_class_at_run_time(shelf_backend: None) -> None:
    drupe.tree.mount(make_root(**{"tools.sessions.shelf": "top"}))
    client = Client(drupe.tree)
    assert client.get("/incr").text == "RamSession 1"
    assert client.get("/incr").text == "RamSession 2"
    assert client.get("/use", params={"name": "shelf"}).text == "ok"
    # The plans follow the in-place change of the class's _cp_config; the new backend
    # gets its option, and its store starts empty.
    assert client.get("/shelf").text == "top"
    assert client.get("/incr").text == "ShelfSession 1"
    assert client.get("/use", params={"name": "ram"}).text == "ok"
    assert client.get("/incr").text == "RamSession 1"  # the cookie held the shelf's id
    assert client.get("/incr").text == "RamSession 2"


@pytest.mark.parametrize("installed", [True, False])
def test_a_key_no_installed_backend_knows_stops_the_engine(
        request: pytest.FixtureRequest, installed: bool) -> None:
    if installed:
        request.getfixturevalue("shelf_backend")
    drupe.tree.mount(make_root(), "/", {"/": {"tools.sessions.on": True, "tools.sessions.shlef": "x"}})
    with pytest.raises(drupe.ConfigError) as raised:
        drupe.engine.start()
    drupe.engine.exit()
    message = str(raised.value)
    assert "'tools.sessions.shlef'" in message
    assert "no installed session" in message or "any installed session backend" in message
    assert "The tool's options:" in message
    assert "storage_class" in message
    if installed:
        assert "Did you mean 'tools.sessions.shelf'?" in message
        assert "shelf (ShelfSession ('shelf'))" in message


def test_backend_options_directly(shelf_backend: None) -> None:
    assert backend_options(ShelfSession, {"shelf": "a"}) == {"shelf": "a"}
    assert backend_options(RamSession, {"shelf": "a"}) == {}
    with pytest.raises(drupe.ConfigError, match=r"'tools\.sessions\.nope'"):
        backend_options(RamSession, {"shelf": "a", "nope": 1})
    known = installed_backend_options()
    assert known["shelf"] == ["ShelfSession ('shelf')"]
    # A backend that does not list its options gets every key no other backend claims,
    # and its setup() decides.
    assert backend_options(UndeclaredSession, {"shelf": "a", "colour": "red"}) == {"colour": "red"}


def test_a_backend_without_option_names_still_checks_its_own(shelf_backend: None) -> None:
    drupe.tree.mount(make_root(), "/", {"/": {"tools.sessions.storage_class": UndeclaredSession,
                                         "tools.sessions.colour": "red"}})
    client = Client(drupe.tree)
    assert client.get("/incr").text == "UndeclaredSession 1"
    assert UndeclaredSession.seen == {"colour": "red"}
    drupe.tree.mount(make_root(), "/b", {"/": {"tools.sessions.on": True,
                                          "tools.sessions.storage_class": UndeclaredSession,
                                          "tools.sessions.size": 3}})
    with pytest.raises(drupe.ConfigError, match=r"tools\.sessions\.size is not an option"):
        drupe.engine.start()
    drupe.engine.exit()


def test_the_base_classes_declare_their_options() -> None:
    assert RamSession.option_names == frozenset()
    assert Session.option_names is None


def test_session_auth_in_lib_cptools() -> None:
    assert drupe.lib.cptools.SessionAuth is SessionAuth
    assert drupe.lib.cptools.session_auth is session_auth
    page = drupe.lib.cptools.SessionAuth().login_screen(None, username="nobody", password="x")
    assert isinstance(page, bytes)
    assert b'value="nobody"' in page


def test_clean_thread_is_the_running_clean_up() -> None:
    drupe.tree.mount(make_root(), "/", {"/": {"tools.sessions.clean_freq": 1}})
    app = drupe.tree.apps[""]
    assert RamSession.clean_thread is None
    with LiveServer() as server:
        assert server.get("/incr").text == "RamSession 1"
        (store,) = app._drupe_session_stores.values()
        thread = store.clean_thread
        assert isinstance(thread, threading.Thread)
        assert thread.is_alive()
        thread.stop()  # CherryPy's clean_thread.stop(); unsubscribe() is harmless
        thread.unsubscribe()
        assert not thread.is_alive()
        assert store.clean_thread is None
        assert server.get("/incr").text == "RamSession 2"
        deadline = time.monotonic() + 5
        while store.clean_thread is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.clean_thread is not thread
        assert store.clean_thread.is_alive()
    assert store.clean_thread is None
    assert RamSession.clean_thread is None
