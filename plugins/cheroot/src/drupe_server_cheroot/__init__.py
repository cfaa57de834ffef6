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
it uses in ``request_class`` (default :class:`DrupeHTTPRequest`, whose header lines are
read by its ``header_reader``, a :class:`HeaderParser`); subclass both to plug a stricter
parser.

The serving path — reading, parsing, the WSGI gateway, writing, keep-alive — is this
distribution's own, on cheroot's connection manager and worker pool; README.md says what
differs from stock cheroot and why.
"""

from drupe_server_cheroot._activation import ServerStartError
from drupe_server_cheroot._base import ServerBase
from drupe_server_cheroot._connection import DrupeHTTPConnection, DrupeHTTPRequest, HeaderParser
from drupe_server_cheroot._native import NativeGateway, NativeServer
from drupe_server_cheroot._settings import CHERRYPY_DEFAULTS, OPTIONS, ServerConfig, read_config
from drupe_server_cheroot._wsgi import CherootServer, WSGIGateway, WSGIGatewayU0

__all__ = [
    "CHERRYPY_DEFAULTS",
    "OPTIONS",
    "CherootServer",
    "DrupeHTTPConnection",
    "DrupeHTTPRequest",
    "HeaderParser",
    "NativeGateway",
    "NativeServer",
    "ServerBase",
    "ServerConfig",
    "ServerStartError",
    "WSGIGateway",
    "WSGIGatewayU0",
    "read_config",
]
