"""memcached-backed sessions for drupe, on pymemcache (tools.sessions.storage_type = 'memcached')."""
