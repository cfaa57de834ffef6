"""The default server (``server.type = "cheroot"``): cheroot serving a WSGI application.

``CherootServer(settings, app)`` is what the kernel creates on ``engine.start()``:
``settings`` is the ``drupe.Server`` holding the ``server.*`` keys, ``app`` the WSGI
application (``drupe.tree`` unless ``server.wsgi_app`` names another). Grafted foreign
WSGI applications and drupe applications are served alike, since the tree routes both.

The WSGI environ is cheroot's (PEP 3333, plus ``ACTUAL_SERVER_PROTOCOL``, ``HTTPS`` and
``SSL_*`` over TLS, ``X_REMOTE_*`` peer credentials on UNIX sockets), plus ``REMOTE_HOST``
when ``server.reverse_dns`` is on.
"""

from __future__ import annotations

from typing import Any

from cheroot import wsgi

from drupe_server_cheroot._base import ServerBase
from drupe_server_cheroot._settings import read_config
from drupe_server_cheroot._tls import build_tls_adapter

__all__ = ["CherootServer", "WSGIGateway", "WSGIGatewayU0"]


class _ReverseDNS:
    """Adds ``REMOTE_HOST`` to the environ when the server has ``reverse_dns`` on."""

    req: Any

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()  # type: ignore[misc]
        if self.req.server.reverse_dns and environ.get("REMOTE_ADDR"):
            environ["REMOTE_HOST"] = self.req.conn.remote_host_name()
        return environ


# Cheroot's stubs give Gateway.get_environ no return type; the real one returns the dict.
class WSGIGateway(_ReverseDNS, wsgi.Gateway_10):  # type: ignore[misc]
    """WSGI 1.0 (PEP 3333): ``server.wsgi_version = (1, 0)``, the default."""


class WSGIGatewayU0(_ReverseDNS, wsgi.Gateway_u0):  # type: ignore[misc]
    """Cheroot's experimental all-text WSGI: ``server.wsgi_version = ('u', 0)``."""


GATEWAYS: dict[tuple[Any, int], type[wsgi.Gateway]] = {
    (1, 0): WSGIGateway,
    ("u", 0): WSGIGatewayU0,
}


class CherootServer(ServerBase, wsgi.Server):
    """Cheroot's WSGI server, configured from a ``drupe.Server`` (the ``cheroot`` entry point)."""

    def __init__(self, settings: Any, app: Any) -> None:
        # Everything that can be wrong is checked before cheroot's constructor runs, so a
        # bad setting leaves nothing behind (cheroot registers each server in
        # logging.statistics as it is created).
        config = read_config(settings)
        tls_adapter = build_tls_adapter(config)
        wsgi.Server.__init__(
            self,
            config.bind_addr,
            app,
            numthreads=config.thread_pool,
            server_name=config.server_name,
            max=config.thread_pool_max,
            request_queue_size=config.socket_queue_size,
            # Cheroot's stubs say int for the next three; any number of seconds works.
            timeout=config.socket_timeout,  # type: ignore[arg-type]
            shutdown_timeout=config.shutdown_timeout,  # type: ignore[arg-type]
            accepted_queue_size=config.accepted_queue_size,
            accepted_queue_timeout=config.accepted_queue_timeout,  # type: ignore[arg-type]
            peercreds_enabled=config.peercreds,
            peercreds_resolve_enabled=config.peercreds_resolve,
            reuse_port=config.reuse_port,
        )
        self._configure(settings, config, tls_adapter)
        self.wsgi_version = config.wsgi_version
        self.gateway = GATEWAYS[config.wsgi_version]
