"""SQL-backed sessions for drupe, on SQLAlchemy (tools.sessions.storage_type = 'sql')."""
