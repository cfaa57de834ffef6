"""``drupe._cpwsgi_server``: CherryPy's ``cherrypy._cpwsgi_server`` names.

The kernel's compatibility facade ``drupe._cpwsgi_server`` finds this module through the
``drupe.compat`` entry-point group. ``CPWSGIServer(server_adapter)`` is the default
server configured from a ``drupe.Server`` (``drupe.server`` when omitted) and serving
``drupe.tree`` (or the server's ``wsgi_app``), as in CherryPy::

    from drupe._cpwsgi_server import CPWSGIServer
    drupe.server.httpserver = CPWSGIServer(drupe.server)
"""

from __future__ import annotations

from typing import Any

import drupe
from drupe_server_cheroot._connection import DrupeHTTPRequest
from drupe_server_cheroot._wsgi import CherootServer

__all__ = ["CPWSGIHTTPRequest", "CPWSGIServer"]

CPWSGIHTTPRequest = DrupeHTTPRequest


class CPWSGIServer(CherootServer):
    """Cheroot's WSGI server configured from ``server_adapter`` (CherryPy's signature)."""

    def __init__(self, server_adapter: Any = None) -> None:
        if server_adapter is None:
            server_adapter = drupe.server
        app = getattr(server_adapter, "wsgi_app", None) or drupe.tree
        super().__init__(server_adapter, app)
