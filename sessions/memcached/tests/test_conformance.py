"""The shared session-backend suite (drupe-testing), run against a real memcached."""

from __future__ import annotations

from typing import Any

import pytest
from pymemcache.client.base import Client

from drupe_testing.conformance.sessions import SessionBackendSuite
from drupe_testing.services import MemcachedProcess


class TestMemcachedSessions(SessionBackendSuite):
    @pytest.fixture
    def session_config(self, memcached_server: MemcachedProcess) -> dict[str, Any]:
        return {"storage_type": "memcached", "servers": [memcached_server.address]}

    def corrupt_session(self, session_config: dict[str, Any], session_id: str) -> None:
        host, port = session_config["servers"][0].rsplit(":", 1)
        client = Client((host, int(port)), connect_timeout=2, timeout=2)
        try:
            assert client.set(f"drupe-session:{session_id}", b"\x80 not a session", noreply=False)
        finally:
            client.close()
