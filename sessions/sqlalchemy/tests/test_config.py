"""Configuration of the SQL backend: every bad value is refused naming its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_session_sqlalchemy import SQLSession


def configured(**options: Any) -> type[SQLSession]:
    store = type("SQLSession", (SQLSession,), {})
    store.setup(**options)
    return store


def test_url_is_required() -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.url is required"):
        configured()


@pytest.mark.parametrize("url", ["not a url", "sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:x?mode=memory&uri=true", 42])
def test_bad_urls_are_refused(url: Any) -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.url"):
        configured(url=url)


def test_unknown_dialect_and_missing_driver_are_named() -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.url: SQLAlchemy has no dialect"):
        configured(url="nosuchdb://host/db")
    with pytest.raises(ValueError, match=r"tools\.sessions\.url: the database driver"):
        configured(url="postgresql+pg8000://host/db")


@pytest.mark.parametrize(("key", "value"), [
    ("table", ""), ("table", "1abc"), ("table", "drop table x;"), ("table", "a" * 58), ("table", 3),
    ("connect_timeout", 0), ("connect_timeout", "5"), ("lock_expiry", -1), ("lock_expiry", True),
    ("engine_options", "pool_size=5"), ("engine_options", {1: 2}),
])
def test_bad_options_are_refused(tmp_path: Path, key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"tools\.sessions\.{key}"):
        configured(url=f"sqlite:///{tmp_path}/s.db", **{key: value})


def test_bad_engine_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.engine_options"):
        configured(url=f"sqlite:///{tmp_path}/s.db", engine_options={"no_such_option": 1})


def test_unknown_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.servers"):
        configured(url=f"sqlite:///{tmp_path}/s.db", servers=["x"])


def test_setup_configures_the_subclass_only(tmp_path: Path) -> None:
    store = configured(url=f"sqlite:///{tmp_path}/s.db", table="app_sessions", lock_expiry=5)
    assert store.table == "app_sessions"
    assert store.lock_expiry == 5.0
    assert SQLSession.table == "drupe_sessions"
    assert SQLSession.url is None
    assert not (tmp_path / "s.db").exists()  # nothing is created before the first use
    store.dispose()


def test_the_password_is_not_kept_in_the_shown_url() -> None:
    store = configured(url="postgresql+psycopg://app:s3cret@db.invalid/app")
    assert "s3cret" not in str(store.url)
    store.dispose()


def test_registered_names() -> None:
    import drupe.lib.sessions as lib_sessions

    assert drupe.registry.load("drupe.sessions", "sql") is SQLSession
    assert lib_sessions.SqlSession is SQLSession


def test_bad_config_stops_the_engine_naming_the_key() -> None:
    from drupe_testing import LiveServer

    class Root:
        @drupe.expose
        def index(self) -> str:
            return "unused"

    drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True,
                                         "tools.sessions.storage_type": "sql"}})
    server = LiveServer()
    with pytest.raises(Exception, match=r"tools\.sessions\.url"):
        server.start()
    assert not server.running
