"""The shared session-backend suite (drupe-testing), on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from drupe_testing.conformance.sessions import SessionBackendSuite


class TestSQLSessions(SessionBackendSuite):
    @pytest.fixture
    def session_config(self, sql_options: dict[str, Any]) -> dict[str, Any]:
        return {"storage_type": "sql", **sql_options}

    def corrupt_session(self, session_config: dict[str, Any], session_id: str) -> None:
        engine = sa.create_engine(session_config["url"])
        table = sa.table(session_config["table"], sa.column("id"), sa.column("data"))
        try:
            with engine.begin() as connection:
                updated = connection.execute(sa.update(table).where(table.c.id == session_id)
                                             .values(data=b"\x80 not a session")).rowcount
            assert updated == 1
        finally:
            engine.dispose()
