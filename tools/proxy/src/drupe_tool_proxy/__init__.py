"""drupe-tool-proxy: the client's address, scheme and Host as a trusted reverse proxy reports them.

This distribution registers two entry points:

* ``proxy`` in ``drupe.tools`` -> :data:`tool`, a :class:`ProxyTool` (a ``drupe.Tool`` at
  ``before_request_body``, priority 30, CherryPy's). ``tools.proxy.on = True`` in config,
  or ``@drupe.tools.proxy()`` on a page handler, loads it.
* ``lib.cptools`` in ``drupe.compat`` -> :mod:`drupe_tool_proxy.compat`, which gives
  ``drupe.lib.cptools`` (CherryPy's ``cherrypy.lib.cptools``) its ``proxy``.

The rules live in ``_tool`` (what is believed, what is rewritten), ``_trust`` (the
``trusted`` setting) and ``_forwarding`` (parsing X-Forwarded-For lists, RFC 7239
``Forwarded``, hosts and schemes).
"""

from __future__ import annotations

from drupe_tool_proxy._forwarding import Node, parse_forwarded, parse_node
from drupe_tool_proxy._tool import ProxyTool, choose_client, proxy, tool
from drupe_tool_proxy._trust import DEFAULT_TRUSTED, Trusted, trusted_networks

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TRUSTED",
    "Node",
    "ProxyTool",
    "Trusted",
    "__version__",
    "choose_client",
    "parse_forwarded",
    "parse_node",
    "proxy",
    "tool",
    "trusted_networks",
]
