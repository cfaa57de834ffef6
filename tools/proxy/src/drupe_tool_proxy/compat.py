"""The name this distribution gives ``drupe.lib.cptools`` (CherryPy's ``lib.cptools``).

Registered as ``lib.cptools`` in the ``drupe.compat`` entry-point group, next to the
standard tools' names: ``drupe.lib.cptools.proxy`` is the proxy tool's callable.
"""

from drupe_tool_proxy._tool import proxy

__all__ = ["proxy"]
