"""``drupe._cpnative_server``: CherryPy's ``cherrypy._cpnative_server`` names.

The kernel's compatibility facade ``drupe._cpnative_server`` finds this module through the
``drupe.compat`` entry-point group. CherryPy's documented use works unchanged::

    from drupe._cpnative_server import CPHTTPServer
    drupe.server.httpserver = CPHTTPServer(drupe.server)
    drupe.quickstart(Root(), '/')

The server runs the applications of ``drupe.tree`` without WSGI (see
``drupe_server_cheroot._native``); a foreign WSGI application grafted on the tree answers
with a server error.
"""

from __future__ import annotations

from typing import Any

import drupe
from drupe_server_cheroot._native import NativeGateway, NativeServer

__all__ = ["CPHTTPServer", "NativeGateway"]


class CPHTTPServer(NativeServer):
    """The native server configured from ``server_adapter`` (CherryPy's signature)."""

    def __init__(self, server_adapter: Any = None) -> None:
        if server_adapter is None:
            server_adapter = drupe.server
        super().__init__(server_adapter, drupe.tree)
