"""The name this distribution gives ``drupe.lib.caching`` (CherryPy's ``lib.caching``).

Registered as ``lib.caching`` in the ``drupe.compat`` entry-point group: CherryPy keeps the
``expires`` tool's callable in its caching module. The cache itself (``MemoryCache``,
``get``, ``tee_output``, ...) comes from the caching tool's distribution.
"""

from drupe_tool_standard._conditional import expires

__all__ = ["expires"]
