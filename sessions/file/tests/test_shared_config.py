"""One configuration for RAM and file sessions: ``storage_path`` set once, the backend chosen
with ``storage_class`` and switched at run time (what CherryPy's own session tests do)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import drupe
import drupe.lib.sessions
from drupe_session_file import FileSession
from drupe_sessions import RamSession
from drupe_testing import Client, LiveServer

pytestmark = pytest.mark.drupe_reset


def make_root(storage_path: Path) -> Any:
    @drupe.config(**{"tools.sessions.on": True, "tools.sessions.storage_class": RamSession,
                     "tools.sessions.storage_path": str(storage_path)})
    class Root:
        @drupe.expose
        def incr(self) -> str:
            drupe.session["count"] = drupe.session.get("count", 0) + 1
            return f"{type(drupe.serving.session).__mro__[2].__name__} {drupe.session['count']}"

        @drupe.expose
        def length(self) -> str:
            return str(len(drupe.session))

        @drupe.expose
        @drupe.config(**{"tools.sessions.on": False})
        def use(self, name: str) -> str:
            type(self)._cp_config["tools.sessions.storage_class"] = getattr(drupe.lib.sessions, name)
            return "ok"

    return Root()


def session_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if not p.name.endswith(".lock"))


def test_storage_path_is_ignored_by_ram_and_used_by_file(tmp_path: Path) -> None:
    drupe.tree.mount(make_root(tmp_path))
    client = Client(drupe.tree)
    assert [client.get("/incr").text for _ in range(2)] == ["RamSession 1", "RamSession 2"]
    assert session_files(tmp_path) == []
    assert client.get("/use", params={"name": "FileSession"}).text == "ok"
    assert client.get("/incr").text == "FileSession 1"
    assert client.get("/incr").text == "FileSession 2"
    assert session_files(tmp_path) == [f"session-{client.cookies['session_id']}"]
    assert client.get("/length").text == "1"
    assert client.get("/use", params={"name": "RamSession"}).text == "ok"
    assert client.get("/incr").text == "RamSession 1"
    assert client.get("/length").text == "2"  # the RAM store kept the first session


def test_engine_start_accepts_the_shared_config(tmp_path: Path) -> None:
    # storage_path in the application's config, checked whole at engine start.
    drupe.tree.mount(make_root(tmp_path), "/", {"/": {"tools.sessions.on": True,
                                                      "tools.sessions.storage_path": str(tmp_path)}})
    with LiveServer() as server:
        assert server.get("/incr").text == "RamSession 1"


def test_a_misspelt_storage_path_names_the_key_and_the_known_options(tmp_path: Path) -> None:
    drupe.tree.mount(make_root(tmp_path), "/", {"/": {"tools.sessions.on": True,
                                                      "tools.sessions.storge_path": str(tmp_path)}})
    with pytest.raises(drupe.ConfigError) as raised:
        drupe.engine.start()
    drupe.engine.exit()
    message = str(raised.value)
    assert "'tools.sessions.storge_path'" in message
    assert "Did you mean 'tools.sessions.storage_path'?" in message
    assert "storage_path (FileSession ('file'))" in message


def test_file_session_declares_its_option() -> None:
    assert FileSession.option_names == frozenset({"storage_path"})
