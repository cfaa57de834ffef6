"""The file backend against drupe-testing's session-backend conformance suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from drupe_testing.conformance.sessions import SessionBackendSuite


class TestFileSessions(SessionBackendSuite):
    @pytest.fixture
    def session_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"storage_type": "file", "storage_path": str(tmp_path / "sessions")}

    def corrupt_session(self, session_config: dict[str, Any], session_id: str) -> None:
        path = os.path.join(session_config["storage_path"], f"session-{session_id}")
        assert os.path.exists(path)
        with open(path, "wb") as handle:
            handle.write(b"\x80\x04 this is not a session")


class TestFileSessionsByClass(SessionBackendSuite):
    """The documentation's form: tools.sessions.storage_class = lib.sessions.FileSession."""

    @pytest.fixture
    def session_config(self, tmp_path: Path) -> dict[str, Any]:
        import drupe.lib.sessions

        return {"storage_class": drupe.lib.sessions.FileSession, "storage_path": str(tmp_path)}

    def corrupt_session(self, session_config: dict[str, Any], session_id: str) -> None:
        path = os.path.join(session_config["storage_path"], f"session-{session_id}")
        with open(path, "wb") as handle:
            handle.write(b'{"v":1,"expires":"not a date","data":{}}')
