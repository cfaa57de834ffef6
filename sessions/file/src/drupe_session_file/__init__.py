"""File-backed sessions for drupe (tools.sessions.storage_type = 'file')."""
