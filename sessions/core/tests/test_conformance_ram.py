"""The RAM backend against drupe-testing's session-backend conformance suite."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from drupe_testing.conformance.sessions import SessionBackendSuite


class TestRamSessions(SessionBackendSuite):
    @pytest.fixture
    def session_config(self) -> dict[str, Any]:
        return {"storage_type": "ram"}

    def corrupt_session(self, session_config: dict[str, Any], session_id: str) -> None:
        import drupe

        app = drupe.tree.apps[""]
        for store in app._drupe_session_stores.values():
            if session_id in store.cache:
                store.cache[session_id] = ("not a dict", datetime.datetime.now())
                return
        raise AssertionError("the session to corrupt is not in any RAM store")


class TestRamSessionsByDefault(TestRamSessions):
    """No storage_type at all: RAM is the default."""

    @pytest.fixture
    def session_config(self) -> dict[str, Any]:
        return {}
