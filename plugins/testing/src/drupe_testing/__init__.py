"""drupe-testing: test drupe applications and drupe plugins with real parts.

Three tools, from the cheapest to the most real:

* :class:`Client` — an in-process WSGI client: requests go straight into an application
  (a ``drupe.Application``, ``drupe.tree`` or any WSGI callable) with a correct PEP 3333
  environ, no socket involved. It keeps cookies (:class:`CookieJar`) and returns a
  :class:`Response`.
* :class:`LiveServer` — ``drupe.engine`` started with a real HTTP server on a free
  loopback port; its requests cross real sockets (:class:`WireClient`), so server
  behaviour (framing, keep-alive, raw malformed bytes) is tested too.
* ``drupe.test.helper.CPWebCase`` (:mod:`drupe_testing.helper`) — CherryPy's test class,
  so CherryPy test suites run against drupe.

The pytest plugin (:mod:`drupe_testing.plugin`) offers them as the fixtures ``client``,
``live_server`` and ``drupe_reset``. :mod:`drupe_testing.conformance` will hold the
suites every dispatcher, server and session backend distribution runs.

Importing this package does not import drupe: the plugin is loaded by every pytest run
and must stay inert until a fixture is used.
"""

from drupe_testing._client import Client, WSGIProtocolError
from drupe_testing._cookies import Cookie, CookieJar
from drupe_testing._headers import Headers
from drupe_testing._live import LiveServer, ServerUnavailable, port_accepts_connections
from drupe_testing._prepare import PreparedRequest, prepare
from drupe_testing._response import Response
from drupe_testing._wire import WireClient, encode_request

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Cookie",
    "CookieJar",
    "Headers",
    "LiveServer",
    "PreparedRequest",
    "Response",
    "ServerUnavailable",
    "WSGIProtocolError",
    "WireClient",
    "__version__",
    "encode_request",
    "port_accepts_connections",
    "prepare",
]
