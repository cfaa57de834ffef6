"""Cache stores: the protocol the caching tool speaks, and the in-memory store.

**The protocol** (:class:`CacheStore`) is CherryPy's, so a ``cache_class`` written for
CherryPy works unchanged: the methods act on *the current request*
(``drupe.serving.request``), which names the resource (its URL) and the values of the
request headers a stored response varies on.

``get()``
    The stored response for the current request, as a :class:`CachedResponse`
    ``(status, headers, body, created)``, or ``None``. It may block a while (the
    anti-stampede wait). Only fresh responses are returned.
``put(variant, size)``
    Store the current response (``variant``) for the current request; ``size`` is its
    size in bytes. A store may decline (too big, not fresh, ...).
``delete()``
    Drop every stored variant of the current request's resource.
``clear()``
    Drop everything.

Optional, called when present: ``release()`` (the current request will not ``put()``
after all; wake anyone waiting for it), ``start()`` / ``stop()`` (the engine started /
stopped: begin / end background work such as an expiry thread). The tool creates the
store with no arguments and sets each remaining ``tools.caching.<name>`` value as an
attribute, as CherryPy does; such a name must be an attribute of the class.

**MemoryCache** keeps responses in a dict, keyed by URL and by the values of the request
headers named in the stored response's ``Vary``; it is thread-safe (one lock, never held
while waiting), bounded (``maxobjects``, ``maxobj_size``, ``maxsize``: the least recently
used responses are evicted to make room), expires responses after ``delay`` seconds or
their own freshness lifetime, whichever is shorter, and keeps a stampede of identical
requests from all computing the same response: the first miss computes, the others wait
for it up to ``antistampede_timeout`` seconds and then compute themselves.

Lifecycle of the expiry sweep: expired responses are never returned and are dropped when
met; in addition, while the engine runs, a daemon thread sweeps them out every
``expire_freq`` seconds (``start()``), and it is stopped and joined when the engine stops
(``stop()``). Without a running engine (an in-process test client, a foreign WSGI host
that does not drive the bus) no thread exists: ``put()`` sweeps, at most every
``expire_freq`` seconds.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple, Protocol, runtime_checkable

import drupe
from drupe.lib.httputil import HeaderMap
from drupe_tool_caching._policy import freshness_lifetime, vary_names

__all__ = [
    "AntiStampedeCache",
    "Cache",
    "CacheStore",
    "CachedResponse",
    "MemoryCache",
    "request_uri",
]

LOG_CONTEXT = "TOOLS.CACHING"


class CachedResponse(NamedTuple):
    """A stored response: unpacks as CherryPy's ``(status, headers, body, created)``."""

    status: str
    headers: HeaderMap
    body: bytes
    created: float


@runtime_checkable
class CacheStore(Protocol):
    """What ``tools.caching.cache_class`` must make (see the module docstring)."""

    def get(self) -> CachedResponse | None: ...

    def put(self, variant: CachedResponse, size: int) -> None: ...

    def delete(self) -> None: ...

    def clear(self) -> None: ...


class Cache:
    """CherryPy's base class for stores: the four methods of :class:`CacheStore`."""

    def get(self) -> CachedResponse | None:
        """The current request's stored response, or None."""
        raise NotImplementedError

    def put(self, variant: CachedResponse, size: int) -> None:
        """Store the current response for the current request."""
        raise NotImplementedError

    def delete(self) -> None:
        """Drop every stored variant of the current request's resource."""
        raise NotImplementedError

    def clear(self) -> None:
        """Drop everything."""
        raise NotImplementedError


def request_uri(request: Any) -> str:
    """The resource a request names: its absolute URL (scheme and host lower-cased) and query."""
    base = str(request.base)
    scheme, sep, authority = base.partition("://")
    base = f"{scheme.lower()}{sep}{authority.lower()}" if sep else base.lower()
    uri = f"{base}{request.script_name or ''}{request.path_info or ''}"
    if request.query_string:
        uri += "?" + request.query_string
    return uri


class AntiStampedeCache(dict[Any, Any]):
    """CherryPy's dict that makes concurrent readers of a missing key wait for one writer.

    ``wait(key, timeout)``: the value for ``key``; if another thread is computing it, wait
    up to ``timeout`` seconds for it. On a miss (or a timed-out wait) a marker is left so
    that the next readers wait for *this* caller, who is expected to set the value.
    ``timeout=None`` neither waits nor leaves a marker. Setting a value wakes the waiters.
    (:class:`MemoryCache` does the same per variant with its own bookkeeping; this class
    is kept for code written against CherryPy.)
    """

    def wait(self, key: Any, timeout: float | None = 5, debug: bool = False) -> Any:
        value = self.get(key)
        if isinstance(value, _Pending):
            if timeout is None:
                return None
            if debug:
                drupe.log(f"Waiting up to {timeout} s for another thread.", LOG_CONTEXT)
            value.event.wait(timeout)
            if value.result is not None:
                return value.result
            dict.__setitem__(self, key, _Pending())
            return None
        if value is None and timeout is not None:
            dict.__setitem__(self, key, _Pending())
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        previous = self.get(key)
        dict.__setitem__(self, key, value)
        if isinstance(previous, _Pending):
            previous.result = value
            previous.event.set()


class _Pending:
    """A marker: someone is computing this value (``result`` once they have)."""

    __slots__ = ("event", "result")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: Any = None


class _Entry:
    __slots__ = ("expires", "key", "size", "variant")

    def __init__(self, key: tuple[str, tuple[str, ...], tuple[str | None, ...]],
                 variant: CachedResponse, size: int, expires: float) -> None:
        self.key = key
        self.variant = variant
        self.size = size
        self.expires = expires


_VariantKey = tuple[str, tuple[str, ...], tuple[str | None, ...]]
_PendingKey = tuple[str, tuple[str, ...] | None, tuple[str | None, ...]]
_PENDING_ATTRIBUTE = "_drupe_caching_pending"


class MemoryCache(Cache):
    """The default store: in memory, Vary-aware, bounded, thread-safe (module docstring)."""

    maxobjects = 1000
    """The most responses kept; the least recently used go first."""
    maxobj_size = 100000
    """The largest response kept, in bytes (body and headers)."""
    maxsize = 10000000
    """The most bytes kept in all."""
    delay = 600.0
    """The longest a response is kept, in seconds (its own max-age/Expires may be shorter)."""
    antistampede_timeout: float | None = 5.0
    """How long a request waits for an identical one to compute the response; None or 0: never."""
    expire_freq = 0.1
    """Seconds between expiry sweeps."""
    debug = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._sweeper_stop: threading.Event | None = None
        self._variants: dict[str, dict[tuple[str, ...], dict[tuple[str | None, ...], _Entry]]] = {}
        self._recent: OrderedDict[_VariantKey, _Entry] = OrderedDict()
        self._expiry_heap: list[tuple[float, int, _Entry]] = []
        self._pending: dict[_PendingKey, threading.Event] = {}
        self._sequence = itertools.count()
        self._last_sweep = 0.0
        self.cursize = 0
        self.tot_puts = self.tot_gets = self.tot_hist = self.tot_expires = 0
        self.tot_non_modified = self.tot_evictions = 0

    # -- CherryPy's protocol, on the current request ------------------------------------

    def get(self) -> CachedResponse | None:
        """The fresh stored response for the current request, after waiting if one is being made."""
        request = drupe.serving.request
        uri = request_uri(request)
        headers = request.headers
        # Only a request that will store its response may make others wait for it.
        will_fill = request.method == "GET" and bool(getattr(request, "cacheable", True))
        with self._lock:
            self.tot_gets += 1
            entry = self._lookup(uri, headers)
            if entry is not None:
                self.tot_hist += 1
                return entry.variant
            pending_key = self._pending_key(uri, headers)
            event = self._pending.get(pending_key)
            if event is None:
                if will_fill:
                    self._claim(request, pending_key)
                return None
        timeout = self.antistampede_timeout
        if timeout:
            if self.debug:
                drupe.log(f"{uri}: another request is computing it; waiting up to {timeout} s.",
                          LOG_CONTEXT)
            event.wait(timeout)
        with self._lock:
            entry = self._lookup(uri, headers)
            if entry is not None:
                self.tot_hist += 1
                return entry.variant
            if will_fill:
                pending_key = self._pending_key(uri, headers)
                current = self._pending.get(pending_key)
                if current is None or current is event:
                    self._claim(request, pending_key)
        if self.debug:
            drupe.log(f"{uri}: computing it here.", LOG_CONTEXT)
        return None

    def put(self, variant: CachedResponse, size: int) -> None:
        """Store ``variant`` for the current request, unless it is too big or not fresh."""
        request = drupe.serving.request
        try:
            names = vary_names(variant.headers.get("Vary"))
            lifetime = freshness_lifetime(variant.headers, variant.created, float(self.delay))
            reason = None
            if names is None:
                reason = "it varies on '*'"
            elif lifetime <= 0:
                reason = "it is not fresh"
            elif size > self.maxobj_size or size > self.maxsize:
                reason = f"{size} bytes is over the limit"
            uri = request_uri(request)
            if reason is not None or names is None:
                if self.debug:
                    drupe.log(f"{uri}: not stored, {reason}.", LOG_CONTEXT)
                return
            values = tuple(request.headers.get(name) for name in names)
            key: _VariantKey = (uri, names, values)
            now = time.time()
            with self._lock:
                old = self._recent.pop(key, None)
                if old is not None:
                    self._forget(old)
                while self._recent and (self.cursize + size > self.maxsize
                                        or len(self._recent) >= self.maxobjects):
                    _, evicted = self._recent.popitem(last=False)
                    self._forget(evicted)
                    self.tot_evictions += 1
                if self.maxobjects < 1:
                    return
                entry = _Entry(key, variant, size, variant.created + lifetime)
                by_names = self._variants.setdefault(uri, {})
                # The newest Vary set first: _pending_key() keys waiters on it.
                by_values = by_names.pop(names, {})
                by_names_new = {names: by_values, **by_names}
                self._variants[uri] = by_names_new
                by_values[values] = entry
                self._recent[key] = entry
                heapq.heappush(self._expiry_heap, (entry.expires, next(self._sequence), entry))
                if len(self._expiry_heap) > 4 * len(self._recent) + 1024:
                    # Replaced responses leave stale heap items behind: compact now and then.
                    self._expiry_heap = [item for item in self._expiry_heap
                                         if self._recent.get(item[2].key) is item[2]]
                    heapq.heapify(self._expiry_heap)
                self.cursize += size
                self.tot_puts += 1
                if now - self._last_sweep >= self.expire_freq:
                    self._sweep_locked(now)
            if self.debug:
                drupe.log(f"{uri}: stored {size} bytes for {lifetime:g} s.", LOG_CONTEXT)
        finally:
            self.release()

    def delete(self) -> None:
        """Drop every stored variant of the current request's resource."""
        self.delete_uri(request_uri(drupe.serving.request))

    def clear(self) -> None:
        """Drop everything and wake every waiting request."""
        with self._lock:
            for event in self._pending.values():
                event.set()
            self._pending.clear()
            self._variants.clear()
            self._recent.clear()
            self._expiry_heap.clear()
            self.cursize = 0

    def release(self) -> None:
        """The current request will not store anything: let those waiting for it go on."""
        request = drupe.serving.request
        claim = request.__dict__.pop(_PENDING_ATTRIBUTE, None)
        if claim is None or claim[0] is not self:
            return
        _, pending_key, event = claim
        with self._lock:
            if self._pending.get(pending_key) is event:
                del self._pending[pending_key]
        event.set()

    # -- explicit operations --------------------------------------------------------------

    def delete_uri(self, uri: str) -> None:
        """Drop every stored variant of ``uri`` (see :func:`request_uri`)."""
        with self._lock:
            by_names = self._variants.pop(uri, None)
            if by_names:
                for by_values in by_names.values():
                    for entry in by_values.values():
                        if self._recent.pop(entry.key, None) is entry:
                            self.cursize -= entry.size

    def sweep(self) -> None:
        """Drop every expired response now."""
        with self._lock:
            self._sweep_locked(time.time())

    def __len__(self) -> int:
        return len(self._recent)

    def start(self) -> None:
        """Run the expiry sweep in a daemon thread until :meth:`stop` (the engine calls both)."""
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            stop = threading.Event()
            thread = threading.Thread(target=self._sweep_until, args=(stop,),
                                      name="drupe-caching-expiry", daemon=True)
            self._sweeper, self._sweeper_stop = thread, stop
        thread.start()

    def stop(self) -> None:
        """Stop the expiry thread and wait for it to end."""
        with self._lock:
            thread, stop = self._sweeper, self._sweeper_stop
            self._sweeper = self._sweeper_stop = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    # -- internals (the lock is held) -------------------------------------------------------

    def _sweep_until(self, stop: threading.Event) -> None:
        while not stop.wait(max(float(self.expire_freq), 0.001)):
            try:
                self.sweep()
            except Exception:  # never let the thread die silently with the cache growing
                drupe.log("The cache expiry sweep failed:", LOG_CONTEXT, severity=40, traceback=True)

    def _lookup(self, uri: str, headers: Any) -> _Entry | None:
        by_names = self._variants.get(uri)
        if not by_names:
            return None
        now = time.time()
        for names, by_values in list(by_names.items()):
            entry = by_values.get(tuple(headers.get(name) for name in names))
            if entry is None:
                continue
            if entry.expires <= now:
                self._recent.pop(entry.key, None)
                self._forget(entry)
                self.tot_expires += 1
                continue
            self._recent.move_to_end(entry.key)
            return entry
        return None

    def _pending_key(self, uri: str, headers: Any) -> _PendingKey:
        by_names = self._variants.get(uri)
        if not by_names:
            return (uri, None, ())
        names = next(iter(by_names))
        return (uri, names, tuple(headers.get(name) for name in names))

    def _claim(self, request: Any, pending_key: _PendingKey) -> None:
        event = threading.Event()
        self._pending[pending_key] = event
        setattr(request, _PENDING_ATTRIBUTE, (self, pending_key, event))

    def _forget(self, entry: _Entry) -> None:
        """Remove ``entry`` from the per-URL index and the size total (not from _recent)."""
        uri, names, values = entry.key
        by_names = self._variants.get(uri)
        if by_names is not None:
            by_values = by_names.get(names)
            if by_values is not None and by_values.get(values) is entry:
                del by_values[values]
                self.cursize -= entry.size
                if not by_values:
                    del by_names[names]
                if not by_names:
                    del self._variants[uri]

    def _sweep_locked(self, now: float) -> None:
        self._last_sweep = now
        heap = self._expiry_heap
        while heap and heap[0][0] <= now:
            _, _, entry = heapq.heappop(heap)
            if self._recent.get(entry.key) is entry:
                del self._recent[entry.key]
                self._forget(entry)
                self.tot_expires += 1
