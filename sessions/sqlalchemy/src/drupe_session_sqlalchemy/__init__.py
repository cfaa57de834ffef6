"""SQL-backed sessions for drupe, on SQLAlchemy (``tools.sessions.storage_type = 'sql'``).

Registers ``sql`` in the ``drupe.sessions`` entry-point group::

    tools.sessions.storage_type = "sql"
    tools.sessions.url = "postgresql+psycopg://app@db.example/app"   # or sqlite:////path/sessions.db
    tools.sessions.table = "drupe_sessions"                          # the default
"""

from drupe_session_sqlalchemy._store import SessionStoreUnavailable, SQLSession, SqlSession

__all__ = ["SQLSession", "SessionStoreUnavailable", "SqlSession"]
