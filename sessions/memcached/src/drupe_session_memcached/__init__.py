"""memcached-backed sessions for drupe, on pymemcache (``tools.sessions.storage_type = 'memcached'``).

Registers ``memcached`` in the ``drupe.sessions`` entry-point group. The class is also
CherryPy's documented name, so both spellings work::

    tools.sessions.storage_type = "memcached"
    tools.sessions.storage_class = cherrypy.lib.sessions.MemcachedSession
"""

from drupe_session_memcached._store import MemcachedSession, SessionStoreUnavailable, parse_servers

__all__ = ["MemcachedSession", "SessionStoreUnavailable", "parse_servers"]
