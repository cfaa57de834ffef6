"""The contracts between the kernel and its plugins, as ``typing.Protocol`` classes.

Each protocol says what an object in an entry-point group must offer. They are
structural: a plugin does not inherit from them (though it may, for documentation). The
kernel checks the essentials when it loads a plugin and names the plugin, its
distribution and version when something is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

__all__ = [
    "BodyProcessor",
    "BusPlugin",
    "Dispatcher",
    "HTTPServer",
    "PlanDispatcher",
    "ServerAdapter",
    "SessionStore",
    "Tool",
    "WSGIApplication",
]

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
"""A PEP 3333 application: ``app(environ, start_response) -> iterable of bytes``."""


@runtime_checkable
class Tool(Protocol):
    """What the ``drupe.tools`` group holds (in practice: a ``drupe.Tool`` instance).

    ``_point`` is the hook point (``None`` for error tools), ``_priority`` the default
    priority, ``_name`` the config name (set when the tool is put in a toolbox) and
    ``namespace`` the toolbox's namespace. ``_setup()`` is called when a request plan is
    built for a path where the tool is on; it reads its arguments with
    ``_merged_args()`` and attaches callables with ``drupe.request.hooks.attach``.
    Calling the tool with keyword arguments returns a decorator that turns it on in a
    handler's ``_cp_config``.
    """

    _point: str | None
    _priority: float
    _name: str | None
    namespace: str
    callable: Callable[..., Any]

    def _setup(self) -> None: ...

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]: ...


@runtime_checkable
class Dispatcher(Protocol):
    """CherryPy's dispatcher contract (the ``drupe.dispatchers`` group holds classes).

    Called with the path relative to the application, it sets ``request.handler`` (a
    callable taking no arguments, or ``None``), ``request.config`` (the merged flat
    config for the path) and ``request.is_index``.

    A short name in config (``request.dispatch = "method"``) makes an instance with no
    arguments; a class that needs arguments defines the classmethod
    ``from_short_name(key)``, which the kernel calls instead (with the config key) and
    which may raise ``drupe.ConfigError`` saying an instance is required.
    """

    def __call__(self, path_info: str) -> None: ...


@runtime_checkable
class PlanDispatcher(Protocol):
    """A dispatcher whose results the kernel may cache (subclass ``drupe.DispatcherBase``).

    ``plan_key`` returns a hashable shared by all requests that resolve alike (``None``
    to opt out of caching); ``resolve`` returns a ``drupe.Resolution``.
    """

    def plan_key(self, request: Any, path_info: str) -> Hashable | None: ...

    def resolve(self, request: Any, path_info: str) -> Any: ...

    def __call__(self, path_info: str) -> None: ...


@runtime_checkable
class HTTPServer(Protocol):
    """The server object a ``ServerAdapter`` runs (the Server API page's contract).

    ``start()`` blocks while serving (it runs in its own thread). ``ready`` becomes true
    once the socket listens. ``stop()`` blocks until every worker thread has ended and
    the socket is released. ``bound_addr``, when present, is the address actually bound
    (``(host, port)`` or a socket path); ``scheme`` is ``"http"`` or ``"https"``.
    """

    ready: bool

    def start(self) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class ServerAdapter(Protocol):
    """What the ``drupe.servers`` group holds: a class making an ``HTTPServer``.

    ``server_class(settings, app)``: ``settings`` is the ``drupe.Server`` whose
    attributes are the ``server.*`` config keys (``socket_host``, ``socket_port``,
    ``socket_file``, ``thread_pool``, ``ssl_certificate``, ...); ``app`` is the WSGI
    application to serve (``drupe.tree`` by default). ``options`` maps the extra
    ``server.*`` keys this server understands to their defaults; any other unknown key is
    a startup error.
    """

    options: ClassVar[Mapping[str, Any]]

    def __call__(self, settings: Any, app: WSGIApplication) -> HTTPServer: ...


@runtime_checkable
class BusPlugin(Protocol):
    """What the ``drupe.engine`` group holds: a class taking the bus.

    ``plugin_class(bus)`` creates the plugin (it becomes ``drupe.engine.<name>``);
    ``subscribe()`` attaches its methods to bus channels (``drupe.SimplePlugin`` does it
    by method name: ``start``, ``stop``, ``graceful``, ``exit``, ``main``, ...),
    ``unsubscribe()`` detaches them. ``engine.<name>.on = True`` in config calls
    ``subscribe()``; other ``engine.<name>.<attr>`` keys set attributes.
    """

    def __init__(self, bus: Any) -> None: ...

    def subscribe(self) -> None: ...

    def unsubscribe(self) -> None: ...


@runtime_checkable
class SessionStore(Protocol):
    """What the ``drupe.sessions`` group holds: a session class (``storage_type``).

    A session is a dict-like object for one session id (drupe-sessions' ``Session`` base
    class implements this protocol; backends subclass it). ``setup(**options)`` is called
    once per configured store and engine run with the backend's own ``tools.sessions.*``
    options. Constructing a session validates the client's id (40 lowercase hex
    characters) and replaces an unknown one with a fresh id; ``load()`` reads the data
    lazily (an expired or undecodable session is empty), ``save()`` writes it with the
    expiry time and releases the lock, ``delete()`` removes it. ``acquire_lock()`` /
    ``release_lock()`` lock the id across threads (and processes, for shared stores),
    giving up after ``lock_timeout`` seconds with ``LockTimeout`` (an ``HTTPError``
    answered with 503 and ``Retry-After``). ``clean_up()`` deletes expired sessions.
    """

    id: str
    locked: bool

    def load(self) -> None: ...

    def save(self) -> None: ...

    def delete(self) -> None: ...

    def acquire_lock(self) -> None: ...

    def release_lock(self) -> None: ...

    def clean_up(self) -> None: ...


@runtime_checkable
class BodyProcessor(Protocol):
    """A request-body processor (registered by media type).

    Called with the entity (``request.body`` or a multipart part); reads it
    (``entity.fp``, ``entity.fullvalue()``) and fills ``entity.params`` (merged into
    ``request.params``) or stores what it parsed on the request. Raises
    ``drupe.HTTPError`` (400, 413, 415) for bad input.
    """

    def __call__(self, entity: Any) -> None: ...
