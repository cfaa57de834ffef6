"""drupe-tool-caching: the ``caching`` tool, an HTTP response cache with a pluggable store.

This distribution registers three entry points:

* ``caching`` in ``drupe.tools`` -> :data:`tool`, a :class:`CachingTool` (a ``drupe.Tool``
  at ``before_handler``, priority 90, which also stores responses from ``before_finalize``
  at 100). ``tools.caching.on = True`` in config, or ``@drupe.tools.caching()``, loads it.
* ``lib.caching`` in ``drupe.compat`` -> :mod:`drupe_tool_caching.compat`: CherryPy's
  ``cherrypy.lib.caching`` names (``get``, ``tee_output``, ``Cache``, ``MemoryCache``,
  ``AntiStampedeCache``). Its ``expires`` is drupe-tool-standard's, re-exported.
* ``_cptools`` in ``drupe.compat`` -> :mod:`drupe_tool_caching.compat_cptools`:
  ``drupe._cptools.CachingTool``.

``_tool`` holds the request side (when to answer from the cache, what to store),
``_store`` the store protocol and the in-memory store, ``_policy`` the RFC 9111 rules.
"""

from __future__ import annotations

from drupe_tool_caching._policy import CACHEABLE_STATUSES
from drupe_tool_caching._store import (
    AntiStampedeCache,
    Cache,
    CachedResponse,
    CacheStore,
    MemoryCache,
    request_uri,
)
from drupe_tool_caching._tool import (
    DEFAULT_INVALID_METHODS,
    CachingTool,
    StoreSettings,
    get,
    lookup,
    stores,
    tee_output,
    tool,
)

__version__ = "0.1.0"

__all__ = [
    "CACHEABLE_STATUSES",
    "DEFAULT_INVALID_METHODS",
    "AntiStampedeCache",
    "Cache",
    "CacheStore",
    "CachedResponse",
    "CachingTool",
    "MemoryCache",
    "StoreSettings",
    "__version__",
    "get",
    "lookup",
    "request_uri",
    "stores",
    "tee_output",
    "tool",
]
