"""Reading ``server.*`` settings: one validated snapshot per server object.

The kernel hands a server adapter a ``drupe.Server``, whose attributes are the
``server.*`` config keys as the user wrote them. Cheroot would accept many bad values
silently (a ``thread_pool`` of 0 becomes 1) or fail later with a message that does not
say which key was wrong (a missing certificate file surfaces as ``FileNotFoundError``
from deep inside ``ssl``). So everything is read once, here, when the server object is
created (in ``engine.start()``, before any thread or socket exists), and every problem
becomes a :class:`drupe.ConfigError` that names ``server.<key>``.

The result, :class:`ServerConfig`, is a frozen snapshot: changing ``drupe.server``
afterwards affects the next server object, not a running one.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from collections.abc import Mapping
from typing import Any

import drupe

__all__ = ["CHERRYPY_DEFAULTS", "OPTIONS", "ServerConfig", "read_config"]

# Every ``server.*`` key with CherryPy's default, from the kernel: a settings object that
# lacks one (a hand-made object given to ``CPWSGIServer``) still yields a working server.
CHERRYPY_DEFAULTS: Mapping[str, Any] = drupe.Server.defaults

# The extra ``server.*`` keys this server understands (the kernel rejects any other
# unknown key at startup). Declared on the server classes as ``options``.
OPTIONS: Mapping[str, Any] = {
    # The oldest TLS version accepted. TLS 1.0 and 1.1 are broken; Python's own default
    # depends on the version and the system's OpenSSL policy, so say it explicitly.
    "ssl_minimum_version": "TLSv1_2",
    # SO_REUSEPORT: several processes may listen on the same port (the kernel spreads
    # connections among them). Not allowed with port 0.
    "reuse_port": False,
    # How many idle keep-alive connections are kept open; ``None`` for no limit.
    "keep_alive_conn_limit": 10,
    # Seconds a worker thread waits on its keep-alive connection for the next request
    # before handing the connection back to cheroot's selector (only while there are no
    # more open connections than worker threads); 0 hands it back at once, as cheroot does.
    "keep_alive_wait": 0.005,
    # Slow clients. Seconds a request head (request line and headers) may take to arrive,
    # counted from its first byte; a head still incomplete then is answered 408.
    "header_timeout": 10,
    # Bytes per second a request body must average once the application reads it, after an
    # allowance of server.socket_timeout seconds; slower bodies are answered 408. 0: no
    # minimum.
    "min_body_rate": 500,
    # Bytes allowed for the request line alone (414 beyond); 0: only the
    # max_request_header_size limit applies.
    "max_request_line_size": 16 * 1024,
    # Header fields allowed in a request head, and trailer fields after a chunked body
    # (431 beyond); 0: no limit.
    "max_request_header_count": 100,
    # Seconds a client answered 503 (the accepted-connection queue is full) is told to wait
    # before trying again: the Retry-After header.
    "retry_after": 5,
}

_PROTOCOLS = ("HTTP/1.0", "HTTP/1.1")
_WSGI_VERSIONS = ((1, 0), ("u", 0))


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """The validated ``server.*`` settings of one server object."""

    bind_addr: tuple[str, int] | str
    server_name: str | None
    socket_queue_size: int
    socket_timeout: float
    accepted_queue_size: int
    accepted_queue_timeout: float | None
    shutdown_timeout: float | None
    protocol_version: str
    thread_pool: int
    thread_pool_max: int
    max_request_header_size: int
    max_request_body_size: int
    nodelay: bool
    peercreds: bool
    peercreds_resolve: bool
    statistics: bool
    reverse_dns: bool
    wsgi_version: tuple[Any, int]
    ssl_module: str
    ssl_certificate: str | None
    ssl_private_key: str | None
    ssl_certificate_chain: str | None
    ssl_ciphers: str | None
    ssl_context: ssl.SSLContext | None
    # ``None`` means "leave the context's own minimum alone" (a prebuilt ssl_context
    # whose owner did not ask for a minimum explicitly).
    ssl_minimum_version: ssl.TLSVersion | None
    reuse_port: bool
    keep_alive_conn_limit: int | None
    keep_alive_wait: float
    header_timeout: float
    min_body_rate: int
    max_request_line_size: int
    max_request_header_count: int
    retry_after: int
    bus: Any

    @property
    def tls(self) -> bool:
        """True when the server speaks HTTPS."""
        return self.ssl_context is not None or self.ssl_certificate is not None


def _error(key: str, problem: str) -> drupe.ConfigError:
    return drupe.ConfigError(f"Config key 'server.{key}': {problem}")


class _Reader:
    """Reads one key at a time from a ``drupe.Server``, with typed checks."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def raw(self, key: str) -> Any:
        if key in CHERRYPY_DEFAULTS:
            return getattr(self.settings, key, CHERRYPY_DEFAULTS[key])
        return getattr(self.settings, key, OPTIONS[key])

    def explicitly_set(self, key: str) -> bool:
        # Extra keys exist on a drupe.Server only once config has set them.
        return key in vars(self.settings)

    def integer(self, key: str, minimum: int, *, also: tuple[int, ...] = (),
                meaning: str = "") -> int:
        value = self.raw(key)
        if value is None and key.startswith("max_request_"):
            # CherryPy treats a missing limit as "no limit".
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or (
                value < minimum and value not in also):
            allowed = f"an integer >= {minimum}"
            if also:
                allowed += " or " + " or ".join(str(item) for item in also)
            raise _error(key, f"must be {allowed}{meaning}, not {value!r}.")
        return value

    def seconds(self, key: str, *, positive: bool = False) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                value <= 0 if positive else value < 0):
            wanted = "> 0" if positive else ">= 0"
            raise _error(key, f"must be a number of seconds {wanted}, not {value!r}.")
        return float(value)

    def optional_seconds(self, key: str) -> float | None:
        if self.raw(key) is None:
            # cheroot then waits without limit.
            return None
        try:
            return self.seconds(key)
        except drupe.ConfigError:
            raise _error(key, f"must be a number of seconds >= 0 or None (wait without "
                              f"limit), not {self.raw(key)!r}.") from None

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, (bool, int)):
            raise _error(key, f"must be True or False, not {value!r}.")
        return bool(value)

    def optional_text(self, key: str) -> str | None:
        value = self.raw(key)
        if value is None or value == "":
            return None
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise _error(key, f"must be a string, not {value!r}.")
        return value

    def existing_file(self, key: str) -> str | None:
        path = self.optional_text(key)
        if path is None:
            return None
        if not os.path.isfile(path):
            problem = "is a directory" if os.path.isdir(path) else "does not exist"
            raise _error(key, f"the file {path!r} {problem}.")
        if not os.access(path, os.R_OK):
            raise _error(key, f"the file {path!r} is not readable by this process.")
        return path


def _bind_addr(reader: _Reader) -> tuple[tuple[str, int] | str, str | None]:
    socket_file = reader.optional_text("socket_file")
    if socket_file is not None:
        return socket_file, socket_file
    host = reader.raw("socket_host")
    if not isinstance(host, str) or not host:
        raise _error("socket_host", f"must be a host name or IP address ('0.0.0.0' or '::' for "
                                    f"every interface), not {host!r}.")
    port = reader.raw("socket_port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise _error("socket_port", f"must be an integer from 0 (any free port) to 65535, not {port!r}.")
    return (host, port), host


def _tls_version(reader: _Reader, context_given: bool) -> ssl.TLSVersion | None:
    key = "ssl_minimum_version"
    if context_given and not reader.explicitly_set(key):
        # A prebuilt context is used as its owner configured it.
        return None
    value = reader.raw(key)
    if isinstance(value, ssl.TLSVersion):
        return value
    if isinstance(value, str):
        name = value.strip().replace(".", "_")
        if name in ssl.TLSVersion.__members__:
            return ssl.TLSVersion[name]
    choices = ", ".join(repr(name) for name in ssl.TLSVersion.__members__)
    raise _error(key, f"must be an ssl.TLSVersion or one of {choices}, not {value!r}.")


def _ssl_module(reader: _Reader) -> str:
    value = reader.raw("ssl_module") or "builtin"
    if value == "builtin":
        return value
    if isinstance(value, str) and value.lower() == "pyopenssl":
        raise _error(
            "ssl_module",
            "'pyopenssl' is not available: drupe-server-cheroot speaks TLS through Python's "
            "own ssl module only. Set server.ssl_module = 'builtin' (nothing to install; "
            "server.ssl_certificate, server.ssl_private_key and server.ssl_certificate_chain "
            "keep their meaning) or pass a prebuilt ssl.SSLContext as server.ssl_context. "
            "To serve TLS through pyOpenSSL, install a drupe server distribution that "
            "provides it and select it with server.type.",
        )
    raise _error(
        "ssl_module",
        f"unknown TLS module {value!r}. drupe-server-cheroot supports 'builtin' (Python's "
        "ssl module, nothing to install). For another TLS library, install a drupe server "
        "distribution that supports it and select it with server.type.",
    )


def read_config(settings: Any) -> ServerConfig:
    """Validate the ``server.*`` attributes of ``settings`` (a ``drupe.Server``)."""
    reader = _Reader(settings)
    bind_addr, server_name = _bind_addr(reader)

    thread_pool = reader.integer("thread_pool", 1, meaning=" (the number of worker threads)")
    thread_pool_max = reader.integer("thread_pool_max", 1, also=(-1,),
                                     meaning=" (-1 means no upper limit)")
    if thread_pool_max != -1 and thread_pool_max < thread_pool:
        raise _error("thread_pool_max", f"{thread_pool_max} is smaller than server.thread_pool "
                                        f"({thread_pool}); use -1 for no upper limit.")

    protocol = reader.raw("protocol_version")
    if protocol not in _PROTOCOLS:
        raise _error("protocol_version", f"must be 'HTTP/1.1' or 'HTTP/1.0', not {protocol!r}.")

    wsgi_version = reader.raw("wsgi_version")
    if isinstance(wsgi_version, list):
        wsgi_version = tuple(wsgi_version)
    if wsgi_version not in _WSGI_VERSIONS:
        raise _error("wsgi_version", f"must be (1, 0) or ('u', 0), not {wsgi_version!r}.")

    reuse_port = reader.flag("reuse_port")
    if reuse_port and isinstance(bind_addr, tuple) and bind_addr[1] == 0:
        raise _error("reuse_port", "cannot share an ephemeral port: set server.socket_port to a "
                                   "fixed port, or turn reuse_port off.")
    if reuse_port and isinstance(bind_addr, str):
        raise _error("reuse_port", "applies to TCP ports only, not to server.socket_file.")

    keep_alive_limit = reader.raw("keep_alive_conn_limit")
    if keep_alive_limit is not None:
        keep_alive_limit = reader.integer("keep_alive_conn_limit", 0,
                                          meaning=" (or None for no limit)")

    ssl_module = _ssl_module(reader)
    context = reader.raw("ssl_context")
    if context is not None and not isinstance(context, ssl.SSLContext):
        raise _error("ssl_context", f"must be an ssl.SSLContext (Python's ssl module), not "
                                    f"{type(context).__name__}.")
    certificate = reader.existing_file("ssl_certificate")
    private_key = reader.existing_file("ssl_private_key")
    chain = reader.existing_file("ssl_certificate_chain")
    if context is None and certificate is None:
        for key, value in (("ssl_private_key", private_key), ("ssl_certificate_chain", chain)):
            if value is not None:
                raise _error(key, "is set but server.ssl_certificate is not; HTTPS needs the "
                                  "certificate (or a prebuilt server.ssl_context).")
    ciphers = reader.optional_text("ssl_ciphers")

    peercreds = reader.flag("peercreds")
    return ServerConfig(
        bind_addr=bind_addr,
        server_name=server_name,
        socket_queue_size=reader.integer("socket_queue_size", 0, meaning=" (the listen backlog)"),
        socket_timeout=reader.seconds("socket_timeout", positive=True),
        accepted_queue_size=reader.integer("accepted_queue_size", 1, also=(-1, 0),
                                           meaning=" (-1 or 0 means no limit)"),
        accepted_queue_timeout=reader.optional_seconds("accepted_queue_timeout"),
        shutdown_timeout=reader.optional_seconds("shutdown_timeout"),
        protocol_version=protocol,
        thread_pool=thread_pool,
        thread_pool_max=thread_pool_max,
        max_request_header_size=reader.integer("max_request_header_size", 0,
                                               meaning=" (0 means no limit)"),
        max_request_body_size=reader.integer("max_request_body_size", 0,
                                             meaning=" (0 means no limit)"),
        nodelay=reader.flag("nodelay"),
        peercreds=peercreds,
        # Names can only be looked up for credentials that were read in the first place.
        peercreds_resolve=reader.flag("peercreds_resolve") and peercreds,
        statistics=reader.flag("statistics"),
        reverse_dns=reader.flag("reverse_dns"),
        wsgi_version=wsgi_version,
        ssl_module=ssl_module,
        ssl_certificate=certificate,
        ssl_private_key=private_key,
        ssl_certificate_chain=chain,
        ssl_ciphers=ciphers,
        ssl_context=context,
        ssl_minimum_version=_tls_version(reader, context is not None),
        reuse_port=reuse_port,
        keep_alive_conn_limit=keep_alive_limit,
        keep_alive_wait=reader.seconds("keep_alive_wait"),
        header_timeout=reader.seconds("header_timeout", positive=True),
        min_body_rate=reader.integer("min_body_rate", 0, meaning=" (bytes per second; 0 means no minimum)"),
        max_request_line_size=reader.integer("max_request_line_size", 0,
                                             meaning=" (0 means only max_request_header_size applies)"),
        max_request_header_count=reader.integer("max_request_header_count", 0,
                                                meaning=" (0 means no limit)"),
        retry_after=reader.integer("retry_after", 0, meaning=" (seconds)"),
        bus=getattr(settings, "bus", None),
    )
