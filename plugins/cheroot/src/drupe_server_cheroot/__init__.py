"""drupe-server-cheroot: drupe's default HTTP server, built on cheroot.

What it registers (see README.md for every setting):

* ``drupe.servers`` / ``cheroot``: :class:`CherootServer`, created by the kernel on
  ``engine.start()`` as ``CherootServer(drupe.server, drupe.tree)`` when
  ``server.type = "cheroot"`` (the default). It serves WSGI, over TCP or a UNIX socket
  file, with TLS through Python's ssl module, and serves the socket handed over by
  systemd socket activation instead of binding one.
* ``drupe.compat`` / ``_cpwsgi_server`` and ``_cpnative_server``: CherryPy's module
  paths ``_cpwsgi_server.CPWSGIServer`` and ``_cpnative_server.CPHTTPServer`` (the native
  server, which runs drupe applications without WSGI).

Extension point: the request parser. Each server class names the cheroot request class
it uses in ``request_class`` (default :class:`DrupeHTTPRequest`); subclass both to plug a
stricter parser.
"""

from drupe_server_cheroot._activation import ServerStartError
from drupe_server_cheroot._base import ServerBase
from drupe_server_cheroot._connection import DrupeHTTPConnection, DrupeHTTPRequest
from drupe_server_cheroot._native import NativeGateway, NativeServer
from drupe_server_cheroot._settings import CHERRYPY_DEFAULTS, OPTIONS, ServerConfig, read_config
from drupe_server_cheroot._wsgi import CherootServer, WSGIGateway, WSGIGatewayU0

__all__ = [
    "CHERRYPY_DEFAULTS",
    "OPTIONS",
    "CherootServer",
    "DrupeHTTPConnection",
    "DrupeHTTPRequest",
    "NativeGateway",
    "NativeServer",
    "ServerBase",
    "ServerConfig",
    "ServerStartError",
    "WSGIGateway",
    "WSGIGatewayU0",
    "read_config",
]
