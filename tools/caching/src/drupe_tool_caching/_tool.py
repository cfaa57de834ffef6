"""The ``caching`` tool: answer repeated GET and HEAD requests from stored responses.

Where the tool runs and what it does (CherryPy's hook points and priorities):

``before_handler``, priority 90 — :func:`get` (through ``CachingTool._wrapper``):

1. A method in ``invalid_methods`` (POST, PUT, DELETE, PATCH) drops every stored variant
   of the URL, in every store of the application, and goes on uncached.
2. Only GET and HEAD are answered from the cache; other methods pass through untouched.
   Requests with ``Range``, ``If-Range``, ``If-Match`` or ``If-Unmodified-Since`` pass
   through too (the application, or the static tool, answers those properly).
3. The request's ``Cache-Control``: ``no-cache`` (or ``Pragma: no-cache`` without
   Cache-Control) skips the stored response but stores the fresh one; ``no-store`` stores
   nothing; ``max-age=N`` accepts only a stored response at most N seconds old;
   ``min-fresh=N`` only one fresh for N more seconds; ``only-if-cached`` answers 504 when
   nothing suitable is stored. A malformed number of seconds is a 400.
4. The store is asked (it may make the request wait while an identical one computes the
   response). A hit replays the stored status, headers (with ``Age``) and body, or a 304
   when ``If-None-Match`` / ``If-Modified-Since`` match it; ``request.cached`` is True and
   the page handler is skipped. HEAD is answered from a GET's stored response.

``before_finalize``, priority 100 — :func:`tee_output`: after gzip (80) and etags (75), so
the response is stored as it is sent, the body is captured as it goes out (a stream is
captured chunk by chunk, and capture stops past ``maxobj_size``).

``on_end_request`` (failsafe) — the response is stored once it was sent completely, with its
final status line and headers, if it may be: a cacheable status (200, 203, 300, 301, 308,
404, 405, 410, 414, 501), no ``Set-Cookie``, no response ``Cache-Control: no-store``,
``private`` or ``no-cache`` (nor ``Pragma: no-cache``), not ``Vary: *``, and for a request
with ``Authorization`` only with ``public``, ``s-maxage`` or ``must-revalidate``. Requests
that waited for this one are woken either way.

Stores are per application and per store configuration (``cache_class`` and its
attributes), created on first use; their background work follows the engine (started with
it, stopped and joined when it stops).
"""

from __future__ import annotations

import datetime
import importlib
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import drupe
from drupe.lib.httputil import HeaderMap, is_token
from drupe_tool_caching._policy import (
    CACHEABLE_STATUSES,
    cache_control,
    delta_seconds,
    freshness_lifetime,
    not_modified,
)
from drupe_tool_caching._store import LOG_CONTEXT, CachedResponse, MemoryCache, request_uri

__all__ = [
    "DEFAULT_INVALID_METHODS",
    "CachingTool",
    "StoreSettings",
    "get",
    "stores",
    "tee_output",
    "tool",
]

DEFAULT_INVALID_METHODS: tuple[str, ...] = ("POST", "PUT", "DELETE", "PATCH")

# The attributes every store class is given from config, with their checks.
_NUMBERS = {
    "delay": "a number of seconds greater than 0",
    "maxobjects": "a whole number greater than 0",
    "maxobj_size": "a number of bytes greater than 0",
    "maxsize": "a number of bytes greater than 0",
    "antistampede_timeout": "a number of seconds (0 or more) or None",
    "expire_freq": "a number of seconds greater than 0",
}
_BYPASS_HEADERS = ("Range", "If-Range", "If-Match", "If-Unmodified-Since")
_CACHE = "_drupe_caching_cache"
_CAPTURE = "_drupe_caching_capture"


def _debug(message: str) -> None:
    drupe.log(message, LOG_CONTEXT)


# -- store configuration and the stores ---------------------------------------------------


class StoreSettings(NamedTuple):
    """A store configuration: the class and the attributes set on a new instance."""

    cache_class: type
    attributes: tuple[tuple[str, Any], ...]


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ("unhashable", repr(value))
    return value


def _resolve_class(value: Any, key: str) -> type:
    if isinstance(value, str):
        module_name, _, name = value.rpartition(".")
        try:
            value = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise drupe.ConfigError(f"Config key {key!r}: cannot import {value!r} ({exc}).")
    if not isinstance(value, type):
        raise drupe.ConfigError(f"Config key {key!r}: expected a class (or its dotted name), "
                                f"not {value!r}.")
    missing = [name for name in ("get", "put", "delete", "clear")
               if not callable(getattr(value, name, None))]
    if missing:
        raise drupe.ConfigError(f"Config key {key!r}: {value.__qualname__} lacks the store "
                                f"method(s) {', '.join(missing)} (see the CacheStore protocol).")
    return value


def _check_number(name: str, value: Any, key: str) -> Any:
    if isinstance(value, datetime.timedelta) and name in ("delay", "antistampede_timeout",
                                                          "expire_freq"):
        value = value.total_seconds()
    if name == "antistampede_timeout" and value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and name in ("maxobjects", "maxobj_size", "maxsize"):
        ok = isinstance(value, int) and value > 0
    elif ok and name == "antistampede_timeout":
        ok = value >= 0
    elif ok:
        ok = value > 0
    if not ok:
        raise drupe.ConfigError(f"Config key {key!r}: expected {_NUMBERS[name]}, not {value!r}.")
    return value


class _Stores:
    """The stores of each application, created on first use and run with the engine."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_app: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()
        self._no_app: dict[Any, Any] = {}

    def _caches(self, app: Any) -> dict[Any, Any]:
        if app is None:
            return self._no_app
        caches = self._by_app.get(app)
        if caches is None:
            caches = self._by_app[app] = {}
        return caches

    def cache_for(self, app: Any, settings: StoreSettings) -> Any:
        """The store ``settings`` describe for ``app`` (made on first use)."""
        key = (settings.cache_class, tuple((name, _hashable(value))
                                           for name, value in settings.attributes))
        caches = self._by_app.get(app) if app is not None else self._no_app
        if caches is not None:
            cache = caches.get(key)
            if cache is not None:
                return cache
        with self._lock:
            caches = self._caches(app)
            cache = caches.get(key)
            if cache is None:
                cache = settings.cache_class()
                for name, value in settings.attributes:
                    setattr(cache, name, value)
                caches[key] = cache
                self._follow_engine()
                if drupe.engine.state in (drupe.states.STARTING, drupe.states.STARTED):
                    _call(cache, "start")
        return cache

    def of_app(self, app: Any) -> list[Any]:
        """Every store made for ``app`` so far."""
        with self._lock:
            caches = self._by_app.get(app) if app is not None else self._no_app
            return list(caches.values()) if caches else []

    def all(self) -> list[Any]:
        with self._lock:
            return [cache for caches in [self._no_app, *self._by_app.values()]
                    for cache in caches.values()]

    def _follow_engine(self) -> None:
        engine = drupe.engine
        if self.engine_started not in engine.listeners.get("start", ()):
            engine.subscribe("start", self.engine_started)
        if self.engine_stopped not in engine.listeners.get("stop", ()):
            engine.subscribe("stop", self.engine_stopped)

    def engine_started(self) -> None:
        """Bus ``start`` listener: start the background work of the mounted applications' stores.

        Stores of applications no longer mounted (a ``drupe.reset()`` or a remount left
        them behind, waiting for garbage collection) are not restarted; an application
        served without being mounted starts its stores on its first request instead.
        """
        mounted = {id(app) for app in drupe.tree.apps.values()}
        with self._lock:
            caches = [cache for app, by_key in self._by_app.items() if id(app) in mounted
                      for cache in by_key.values()]
            caches.extend(self._no_app.values())
        for cache in caches:
            _call(cache, "start")

    def engine_stopped(self) -> None:
        """Bus ``stop`` listener: stop every store's background work (threads joined)."""
        for cache in self.all():
            _call(cache, "stop")


def _call(cache: Any, method: str) -> None:
    function = getattr(cache, method, None)
    if callable(function):
        function()


stores = _Stores()
"""Every store the tool made, per application."""


# -- the request side -----------------------------------------------------------------------


def _store_settings(kwargs: dict[str, Any], key_prefix: str = "tools.caching") -> StoreSettings:
    arguments = dict(kwargs)
    cache_class = _resolve_class(arguments.pop("cache_class", MemoryCache),
                                 f"{key_prefix}.cache_class")
    attributes: list[tuple[str, Any]] = []
    for name, value in sorted(arguments.items()):
        key = f"{key_prefix}.{name}"
        if name in _NUMBERS:
            value = _check_number(name, value, key)
        elif not hasattr(cache_class, name):
            import difflib

            known = sorted({*_NUMBERS, "cache_class", "invalid_methods", "debug",
                            *(attr for attr in dir(cache_class) if not attr.startswith("_"))})
            matches = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" Did you mean {matches[0]!r}?" if matches else ""
            raise drupe.ConfigError(f"Config key {key!r}: the caching tool takes no argument "
                                    f"{name!r}, and {cache_class.__qualname__} has no such "
                                    f"attribute.{hint}")
        attributes.append((name, value))
    return StoreSettings(cache_class, tuple(attributes))


def _check_methods(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise drupe.ConfigError(f"Config key {key!r}: expected a list of method names such as "
                                f"['POST', 'PUT', 'DELETE'], not {value!r}.")
    methods = tuple(value)
    for method in methods:
        if not isinstance(method, str) or not is_token(method):
            raise drupe.ConfigError(f"Config key {key!r}: {method!r} is not a method name.")
    return methods


def _miss(request: Any, cache: Any, will_store: bool, debug: bool, why: str) -> bool:
    request.cached = False
    request.cacheable = will_store
    if will_store:
        request.hooks.attach("on_end_request", _finish, failsafe=True, priority=10,
                             cache=cache, debug=debug)
    if debug:
        _debug(why)
    return False


def lookup(cache: Any, invalid_methods: Iterable[str] = DEFAULT_INVALID_METHODS,
           debug: bool = False) -> bool:
    """Answer the current request from ``cache`` if it may be; True when it was.

    See the module docstring for the rules. A request that may store its response gets the
    ``on_end_request`` hook that stores it; the caller attaches :func:`tee_output`.
    """
    request = drupe.serving.request
    response = drupe.serving.response
    method = request.method
    request.cached = False
    request.cacheable = False
    setattr(request, _CACHE, cache)
    if method in invalid_methods:
        for each in stores.of_app(request.app) or [cache]:
            each.delete()
        if debug:
            _debug(f"{method} drops the stored responses of {request_uri(request)}.")
        return False
    if method not in ("GET", "HEAD"):
        if debug:
            _debug(f"{method} requests are not cached.")
        return False
    headers = request.headers
    for name in _BYPASS_HEADERS:
        if name in headers:
            if debug:
                _debug(f"The request has {name}: not answered from the cache, not stored.")
            return False
    raw_directives = headers.get("Cache-Control")
    directives = cache_control(raw_directives)
    try:
        max_age = delta_seconds(directives, "max-age")
        min_fresh = delta_seconds(directives, "min-fresh")
    except ValueError as exc:
        raise drupe.HTTPError(400, f"Invalid Cache-Control request header: {exc}")
    will_store = method == "GET" and "no-store" not in directives
    no_cache = "no-cache" in directives or (
        raw_directives is None and "no-cache" in [v.lower() for v in headers.values("Pragma")])
    if no_cache:
        return _miss(request, cache, will_store, debug,
                     "The request asks for a fresh response (no-cache).")

    request.cacheable = will_store  # the store reads it: only such a request makes others wait
    variant = cache.get()
    if variant is None:
        if "only-if-cached" in directives:
            _call(cache, "release")
            raise drupe.HTTPError(504, "The request says only-if-cached, and no stored response "
                                       "matches it.")
        return _miss(request, cache, will_store, debug, "Nothing stored for this request.")

    status, stored_headers, body, created = variant
    age = max(0, int(response.time - created))
    if max_age is not None and age > max_age:
        return _miss(request, cache, will_store, debug,
                     f"The stored response is {age} s old; the request accepts {max_age} s.")
    if min_fresh is not None:
        lifetime = freshness_lifetime(stored_headers, created,
                                      float(getattr(cache, "delay", MemoryCache.delay)))
        if created + lifetime - response.time < min_fresh:
            return _miss(request, cache, will_store, debug,
                         f"The stored response is not fresh for {min_fresh} more seconds.")

    request.cached = True
    request.cacheable = False
    replayed = HeaderMap()
    for name, value in dict.items(stored_headers):
        dict.__setitem__(replayed, name, value)
    replayed.protocol = response.headers.protocol
    dict.__setitem__(replayed, "Age", str(age))
    response.headers = replayed
    if str(status)[:1] == "2" and not_modified(stored_headers, headers):
        if hasattr(cache, "tot_non_modified"):
            cache.tot_non_modified += 1
        if debug:
            _debug("The stored response matches the request's validators: 304.")
        raise drupe.HTTPRedirect([], 304)
    response.status = status
    response.body = [body]
    if debug:
        _debug(f"Answered from the cache ({age} s old).")
    return True


def get(invalid_methods: Iterable[str] = DEFAULT_INVALID_METHODS, debug: bool = False,
        **kwargs: Any) -> bool:
    """CherryPy's ``caching.get``: answer from the cache; True when the response came from it.

    ``kwargs`` configure the store (``cache_class``, ``delay``, ``maxsize``, ...), which is
    the application's store for that configuration.
    """
    settings = _store_settings(kwargs)
    cache = stores.cache_for(drupe.serving.request.app, settings)
    return lookup(cache, _check_methods(invalid_methods, "tools.caching.invalid_methods"), debug)


class _Capture:
    """The body as it went out, up to ``limit`` bytes."""

    __slots__ = ("chunks", "complete", "limit", "size", "too_big")

    def __init__(self, limit: int | None) -> None:
        self.chunks: list[Any] = []
        self.size = 0
        self.limit = limit
        self.complete = False
        self.too_big = False

    def add(self, chunk: Any) -> None:
        if self.too_big:
            return
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            self.too_big = True
            self.chunks = []
        else:
            self.chunks.append(chunk)

    def body(self) -> bytes:
        # The kernel sends str chunks as UTF-8 (the encode tool has made them bytes before).
        return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
                        for chunk in self.chunks)


class _TeeIterator:
    """Passes a streamed body on unchanged, copying it into a :class:`_Capture`."""

    def __init__(self, body: Any, capture: _Capture) -> None:
        self._body = body
        self._iterator: Iterator[Any] = iter(body)
        self._capture = capture

    def __iter__(self) -> _TeeIterator:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._iterator)
        except StopIteration:
            self._capture.complete = True
            raise
        if chunk:
            self._capture.add(chunk)
        return chunk

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


def tee_output() -> None:
    """Capture the response body as it is sent, for storing at the end of the request."""
    request = drupe.serving.request
    response = drupe.serving.response
    cache = request.__dict__.get(_CACHE)
    if cache is None or not getattr(request, "cacheable", False):
        return
    limit = getattr(cache, "maxobj_size", None)
    capture = _Capture(limit if isinstance(limit, int) else None)
    setattr(request, _CAPTURE, capture)
    body = response.body
    if type(body) is list:
        for chunk in body:
            if chunk:
                capture.add(chunk)
        capture.complete = True
    else:
        response.body = _TeeIterator(body, capture)


def _variant(request: Any, response: Any, capture: _Capture | None) -> tuple[CachedResponse | None, int, str]:
    if capture is None:
        return None, 0, "the response did not reach before_finalize"
    if capture.too_big:
        return None, 0, "the body is bigger than maxobj_size"
    if not capture.complete:
        return None, 0, "the body was not sent completely"
    header_list = response.header_list
    if header_list is None:
        return None, 0, "the response was not finalized"
    status = str(response.status)
    try:
        code = int(status[:3])
    except ValueError:
        return None, 0, f"the status {status!r} is invalid"
    if code not in CACHEABLE_STATUSES:
        return None, 0, f"a {code} response is not cacheable"
    headers = HeaderMap()
    size = 0
    for name, value in header_list:
        if name.lower() == "set-cookie":
            return None, 0, "the response sets a cookie"
        size += len(name) + len(value) + 4
        existing = dict.get(headers, name.title())
        dict.__setitem__(headers, name.title(), f"{existing}, {value}" if existing else value)
    directives = cache_control(dict.get(headers, "Cache-Control"))
    for directive in ("no-store", "private", "no-cache"):
        if directive in directives:
            return None, 0, f"the response says Cache-Control: {directive}"
    if "no-cache" in [value.lower() for value in headers.values("Pragma")]:
        return None, 0, "the response says Pragma: no-cache"
    if "Authorization" in request.headers and not any(
            directive in directives for directive in ("public", "s-maxage", "must-revalidate")):
        return None, 0, ("the request carried credentials and the response is not marked "
                         "public, s-maxage or must-revalidate")
    body = capture.body()
    return CachedResponse(status, headers, body, response.time), size + len(body), ""


def _finish(cache: Any, debug: bool = False) -> None:
    """``on_end_request``: store the response that was sent, if it may be; wake any waiters."""
    request = drupe.serving.request
    response = drupe.serving.response
    capture = request.__dict__.pop(_CAPTURE, None)
    try:
        variant, size, reason = _variant(request, response, capture)
        if variant is not None:
            cache.put(variant, size)
        elif debug:
            _debug(f"Not stored: {reason}.")
    except Exception:
        drupe.log("Could not store the response in the cache:", LOG_CONTEXT, severity=40,
                  traceback=True)
    finally:
        _call(cache, "release")


class CachingTool(drupe.Tool):
    """The ``caching`` tool: :func:`get` at ``before_handler`` 90, :func:`tee_output` at
    ``before_finalize`` 100, the store at ``on_end_request``.

    Its arguments are checked when a handler is decorated, at engine start and when a
    path's plan is built; errors name the config key.
    """

    def __init__(self, callable: Callable[..., Any] = get, priority: float = 90) -> None:
        super().__init__("before_handler", callable, priority=priority)

    def _key(self, argument: str) -> str:
        return f"{self.namespace}.{self.name or 'caching'}.{argument}"

    def _checked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        arguments = dict(arguments)
        methods = _check_methods(arguments.pop("invalid_methods", DEFAULT_INVALID_METHODS),
                                 self._key("invalid_methods"))
        debug = arguments.pop("debug", False)
        if not isinstance(debug, bool):
            raise drupe.ConfigError(f"Config key {self._key('debug')!r}: expected True or False, "
                                    f"not {debug!r}.")
        settings = _store_settings(arguments, f"{self.namespace}.{self.name or 'caching'}")
        if debug:
            settings = StoreSettings(settings.cache_class, (*settings.attributes, ("debug", True)))
        return {"invalid_methods": methods, "debug": debug, "settings": settings}

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate config values (the kernel calls this at engine start)."""
        self._checked({key: value for key, value in settings.items()
                       if key not in ("on", "priority")})

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Decorator use; bad arguments fail here, at import time, not on a request."""
        self._checked(kwargs)
        return super().__call__(*args, **kwargs)

    def _wrapper(self, invalid_methods: tuple[str, ...], debug: bool, settings: StoreSettings) -> None:
        request = drupe.serving.request
        cache = stores.cache_for(request.app, settings)
        if lookup(cache, invalid_methods, debug):
            request.handler = None
        elif request.cacheable:
            request.hooks.attach("before_finalize", tee_output, priority=100)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        if priority is None:
            priority = self.priority
        drupe.request.hooks.attach(self.point, self._wrapper, priority=priority,
                                   **self._checked(arguments))


tool = CachingTool()
"""The instance registered as ``caching`` in the ``drupe.tools`` entry-point group."""
