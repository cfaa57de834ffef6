"""The memcached backend (``storage_type = 'memcached'``): sessions shared by every process
that talks to the same memcached servers.

Layout in memcached, for a session id ``<id>`` (40 lowercase hex characters, checked
before any key is built) and the ``key_prefix`` (default ``drupe-session:``)::

    <prefix><id>         the serializer's bytes, with memcached's TTL set to the session's
                         expiration time: memcached forgets expired sessions by itself,
                         so clean_up() has nothing to do and no clean-up thread is needed
    <prefix>lock:<id>    the lock: a random token stored with ``add`` (atomic: it fails
                         when the key exists), expiring after ``lock_expiry`` seconds so a
                         crashed process cannot hold a session forever

Servers: each key lives on one server, chosen by rendezvous hashing over the configured
list (pymemcache's own ``RendezvousHash``, the hasher of its ``HashClient``, so keys land
where a ``HashClient`` over the same list would put them). Unlike ``HashClient``, a
failing server is never skipped or replaced: ``HashClient`` would return empty results
for it while it retries and then move its keys to the other servers, which for sessions
means data that silently vanishes and comes back stale, and a lock key that moves while
it is held. Here a failing server makes the requests whose sessions live on it fail with
503 (and a log line) until it answers again; the others are unaffected.

Each server has a pool of connections (pymemcache's ``PooledClient``, thread-safe) with
connect and read timeouts, so a dead or wedged server costs a request at most
``connect_timeout`` + ``socket_timeout`` seconds, never a hang.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NoReturn, TypeVar

# pymemcache ships no type information (no py.typed); its names are used as Any here.
from pymemcache.client.base import PooledClient  # type: ignore[import-untyped]
from pymemcache.client.rendezvous import RendezvousHash  # type: ignore[import-untyped]
from pymemcache.exceptions import (  # type: ignore[import-untyped]
    MemcacheError,
    MemcacheServerError,
    MemcacheUnexpectedCloseError,
)

import drupe
from drupe_sessions import LOG_CONTEXT, IdLocks, LockTimeout, Session, redacted, valid_id

__all__ = ["MemcachedSession", "SessionStoreUnavailable", "parse_servers"]

DEFAULT_SERVERS = ("127.0.0.1:11211",)
DEFAULT_PORT = 11211
#: memcached reads an expiry above 30 days as an absolute Unix time.
_RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600
_PREFIX_PATTERN = re.compile(r"[!-~]{1,150}\Z")  # printable ASCII, no space, short
_HOST_PATTERN = re.compile(r"[A-Za-z0-9._-]+\Z")

_Result = TypeVar("_Result")


class SessionStoreUnavailable(drupe.HTTPError):
    """memcached could not be reached or failed: 503 with ``Retry-After``.

    The details (which server, what failed) go to the error log, not to the client.
    """

    retry_after = 5

    def __init__(self, message: str = "The session store is unavailable; please retry shortly.") -> None:
        super().__init__(503, message)

    def set_response(self) -> None:
        super().set_response()
        drupe.serving.response.headers["Retry-After"] = str(self.retry_after)


class _RawBytes:
    """A pymemcache serde that stores bytes as they are and never decodes anything.

    pymemcache can be told to unpickle values by their flags; this one ignores the flags
    (a planted value with a "pickled" flag comes back as plain bytes for the serializer
    to refuse).
    """

    def serialize(self, key: bytes, value: bytes) -> tuple[bytes, int]:
        return value, 0

    def deserialize(self, key: bytes, value: bytes, flags: int) -> bytes:
        return value


_RAW = _RawBytes()
_STALE_CONNECTION = (MemcacheUnexpectedCloseError, BrokenPipeError, ConnectionResetError)


def parse_servers(value: Any, key: str = "tools.sessions.servers") -> list[tuple[str, int] | str]:
    """``servers`` as pymemcache server specs; ValueError naming ``key`` when malformed.

    Accepts a list (or tuple) of strings, or one string with addresses separated by
    commas or spaces. Each address is ``host:port``, ``host`` (port 11211), ``[v6]:port``,
    ``unix:/path`` or ``/path`` (a UNIX socket).
    """
    if isinstance(value, str):
        items: Sequence[Any] = [part for part in re.split(r"[\s,]+", value) if part]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError(f"{key} must be a list of 'host:port' strings, not {value!r}")
    if not items:
        raise ValueError(f"{key} must name at least one memcached server")
    specs: list[tuple[str, int] | str] = []
    for item in items:
        spec = _parse_server(item, key)
        if spec in specs:
            raise ValueError(f"{key} lists {item!r} twice")
        specs.append(spec)
    return specs


def _parse_server(item: Any, key: str) -> tuple[str, int] | str:
    if not isinstance(item, str) or not item.strip():
        raise ValueError(f"{key}: {item!r} is not a memcached address ('host:port')")
    text = item.strip()
    if text.startswith(("unix:", "/")):
        path = text[5:] if text.startswith("unix:") else text
        if not path.startswith("/"):
            raise ValueError(f"{key}: {item!r}: a UNIX socket path must be absolute")
        return path
    port_text: str | None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            raise ValueError(f"{key}: {item!r} is not a memcached address ('[v6]:port')")
        port_text = rest[1:] if rest else None
        valid_host = re.fullmatch(r"[0-9A-Fa-f:.]+", host) is not None
    else:
        host, colon, port_text_or_empty = text.rpartition(":")
        if not colon:
            host, port_text = text, None
        else:
            port_text = port_text_or_empty
        valid_host = _HOST_PATTERN.match(host) is not None
    if not valid_host:
        raise ValueError(f"{key}: {item!r} is not a memcached address ('host:port')")
    if port_text is None:
        return (host, DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{key}: {item!r} has no valid port (1-65535)")
    return (host, int(port_text))


def _node_name(spec: tuple[str, int] | str) -> str:
    # HashClient names nodes "host:port" (or the socket path); so do we, for equal placement.
    return f"{spec[0]}:{spec[1]}" if isinstance(spec, tuple) else spec


class _Servers:
    """One connection pool per memcached server and the rendezvous hash choosing between them."""

    def __init__(self, specs: list[tuple[str, int] | str], connect_timeout: float,
                 socket_timeout: float, max_pool_size: int | None) -> None:
        self.hasher = RendezvousHash()
        self.clients: dict[str, PooledClient] = {}
        for spec in specs:
            name = _node_name(spec)
            self.hasher.add_node(name)
            self.clients[name] = PooledClient(
                spec, serde=_RAW, connect_timeout=connect_timeout, timeout=socket_timeout,
                no_delay=True, max_pool_size=max_pool_size, default_noreply=False,
                encoding="ascii",
            )

    def for_key(self, key: str) -> tuple[str, PooledClient]:
        name: str = self.hasher.get_node(key)
        return name, self.clients[name]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


class MemcachedSession(Session):
    """Sessions in memcached, shared across processes and hosts (see the module docstring).

    Options (``tools.sessions.<key>``): ``servers``, ``key_prefix``, ``connect_timeout``,
    ``socket_timeout``, ``lock_expiry``, ``max_pool_size``.
    """

    servers: ClassVar[list[tuple[str, int] | str]] = [("127.0.0.1", DEFAULT_PORT)]
    key_prefix: ClassVar[str] = "drupe-session:"
    connect_timeout: ClassVar[float] = 2.0
    socket_timeout: ClassVar[float] = 2.0
    lock_expiry: ClassVar[float] = 60.0
    max_pool_size: ClassVar[int | None] = None
    option_names: ClassVar[frozenset[str] | None] = frozenset({
        "servers", "key_prefix", "connect_timeout", "socket_timeout", "lock_expiry", "max_pool_size"})
    _servers: ClassVar[_Servers | None] = None
    _servers_guard: ClassVar[threading.Lock] = threading.Lock()
    _local_locks: ClassVar[IdLocks] = IdLocks()

    _lock_key: str | None = None
    _lock_token: bytes | None = None
    _retried: bool = False
    _locked_id: str | None = None

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        """Read this backend's options (ValueError naming the key) and start afresh."""
        options = dict(kwargs)
        servers = parse_servers(options.pop("servers", list(DEFAULT_SERVERS)))
        key_prefix = options.pop("key_prefix", cls.key_prefix)
        if not isinstance(key_prefix, str) or not _PREFIX_PATTERN.match(key_prefix):
            raise ValueError("tools.sessions.key_prefix must be 1-150 printable ASCII characters "
                             f"without spaces, not {key_prefix!r}")
        timeouts = {}
        for name in ("connect_timeout", "socket_timeout", "lock_expiry"):
            value = options.pop(name, getattr(cls, name))
            if isinstance(value, datetime.timedelta):
                value = value.total_seconds()
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
                    or math.isinf(value):
                raise ValueError(f"tools.sessions.{name} must be a positive number of seconds, "
                                 f"not {value!r}")
            timeouts[name] = float(value)
        max_pool_size = options.pop("max_pool_size", cls.max_pool_size)
        if max_pool_size is not None and (isinstance(max_pool_size, bool)
                                          or not isinstance(max_pool_size, int) or max_pool_size < 1):
            raise ValueError("tools.sessions.max_pool_size must be a positive integer or None, "
                             f"not {max_pool_size!r}")
        super().setup(**options)  # refuses the keys left over, naming them
        cls.close()
        cls.servers = servers
        cls.key_prefix = key_prefix
        cls.connect_timeout = timeouts["connect_timeout"]
        cls.socket_timeout = timeouts["socket_timeout"]
        cls.lock_expiry = timeouts["lock_expiry"]
        cls.max_pool_size = max_pool_size
        cls._servers_guard = threading.Lock()
        cls._local_locks = IdLocks()
        # memcached expires sessions itself: a clean-up thread would have nothing to do.
        cls.clean_freq = 0
        # Connections belong to one engine run: close them when it stops (after the HTTP
        # servers, priority 50, have finished their requests).
        drupe.engine.subscribe("stop", cls.close, priority=80)

    @classmethod
    def close(cls) -> None:
        """Close every pooled connection (the next use opens new ones)."""
        drupe.engine.unsubscribe("stop", cls.close)
        with cls._servers_guard:
            servers, cls._servers = cls._servers, None
        if servers is not None:
            servers.close()

    @classmethod
    def close_all(cls) -> None:
        """Close the connections of this class and of every configured subclass of it."""
        for subclass in cls.__subclasses__():
            subclass.close_all()
        cls.close()

    @classmethod
    def _pools(cls) -> _Servers:
        servers = cls._servers
        if servers is None:
            with cls._servers_guard:
                servers = cls._servers
                if servers is None:
                    servers = cls._servers = _Servers(cls.servers, cls.connect_timeout,
                                                      cls.socket_timeout, cls.max_pool_size)
        return servers

    # -- keys and calls -----------------------------------------------------------------

    def _data_key(self, session_id: str | None = None) -> str:
        session_id = self.id if session_id is None else session_id
        if not valid_id(session_id):  # the base class checks too; never trust one layer
            raise ValueError("malformed session id")
        return self.key_prefix + session_id

    def _lock_key_for(self, session_id: str) -> str:
        if not valid_id(session_id):
            raise ValueError("malformed session id")
        return self.key_prefix + "lock:" + session_id

    def _call(self, key: str, action: str, operation: Callable[[PooledClient], _Result]) -> _Result:
        """Run ``operation`` on the server holding ``key``; failures become a logged 503."""
        name, client = self._pools().for_key(key)
        self._retried = False
        try:
            try:
                return operation(client)
            except _STALE_CONNECTION:
                # A pooled connection the server closed (say, memcached restarted): the
                # pool dropped it; one more try opens a fresh one.
                self._retried = True
                return operation(client)
        except (OSError, MemcacheError) as exc:
            self._unavailable(name, action, exc)

    def _unavailable(self, server: str, action: str, exc: BaseException) -> NoReturn:
        if isinstance(exc, MemcacheServerError) and b"too large" in str(exc).encode():
            detail = ("the session data is larger than memcached accepts (its -I item size "
                      "limit); store less in the session")
        else:
            detail = f"{type(exc).__name__}: {exc}"
        drupe.log(f"memcached server {server} failed while {action} session "
                  f"{redacted(self._id)}: {detail}", LOG_CONTEXT, severity=logging.ERROR)
        raise SessionStoreUnavailable() from exc

    # -- storage ------------------------------------------------------------------------

    def _exists(self) -> bool:
        key = self._data_key()
        blob = self._call(key, "looking up", lambda client: client.get(key))
        if blob is None:
            return False
        # memcached's clock ticks in whole seconds, so an item may outlive its session by
        # up to a second: an expired session does not exist, whatever memcached says.
        try:
            return bool(self.serializer.loads(bytes(blob))[1] > self.now())
        except ValueError:
            return True  # undecodable: load() reports it and gives an empty session

    def _load(self) -> tuple[dict[str, Any], datetime.datetime] | None:
        key = self._data_key()
        blob = self._call(key, "loading", lambda client: client.get(key))
        if blob is None:
            return None
        try:
            return self.serializer.loads(bytes(blob))
        except ValueError as exc:
            self.log(f"Session {redacted(self.id)}: memcached holds data that is not a valid "
                     f"session ({exc}); treating it as an empty session.", logging.WARNING)
            return None

    def _save(self, expiration_time: datetime.datetime) -> None:
        key = self._data_key()
        blob = self.serializer.dumps(self._data, expiration_time)
        seconds = math.ceil((expiration_time - self.now()).total_seconds())
        if seconds <= 0:  # already expired: storing it would only resurrect it briefly
            self._call(key, "deleting", lambda client: client.delete(key, noreply=False))
            return
        # memcached reads large relative expiries as Unix times; give those absolutely.
        expire = seconds if seconds <= _RELATIVE_EXPIRY_LIMIT else math.ceil(expiration_time.timestamp())
        self._call(key, "saving", lambda client: client.set(key, blob, expire=expire, noreply=False))

    def _delete(self) -> None:
        key = self._data_key()
        self._call(key, "deleting", lambda client: client.delete(key, noreply=False))

    # -- locking ------------------------------------------------------------------------

    def acquire_lock(self) -> None:
        """Take the lock key with ``add``; poll until ``lock_timeout``, then LockTimeout."""
        if self.locked:
            return
        session_id = self.id
        key = self._lock_key_for(session_id)
        token = secrets.token_hex(16).encode("ascii")
        expire = max(1, math.ceil(self.lock_expiry))
        deadline = time.monotonic() + self.lock_timeout
        # The threads of this process queue on an in-process lock first, so only one of
        # them at a time polls memcached.
        if not self._local_locks.acquire(session_id, self.lock_timeout):
            raise self._timed_out(session_id)
        try:
            self._add_lock_key(session_id, key, token, expire, deadline)
        except BaseException:
            self._local_locks.release(session_id)
            raise
        self._lock_key = key
        self._lock_token = token
        self._locked_id = session_id
        self.locked = True
        if self.debug:
            self.log(f"Lock acquired for session {redacted(session_id)}.")

    def _timed_out(self, session_id: str) -> LockTimeout:
        return LockTimeout(
            f"Session {redacted(session_id)} stayed locked by another request for "
            f"{self.lock_timeout:g} s (tools.sessions.lock_timeout).", self.lock_timeout)

    def _add_lock_key(self, session_id: str, key: str, token: bytes, expire: int,
                      deadline: float) -> None:
        pause = 0.002
        while True:
            added = self._call(key, "locking",
                               lambda client: client.add(key, token, expire=expire, noreply=False))
            # After a retry, "not stored" may mean that our own first try got through.
            if added or (self._retried and self._call(key, "locking", lambda c: c.get(key)) == token):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(session_id)
            # Back off (2 ms doubling to 50 ms): quick hand-overs, little load when contended.
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)

    def release_lock(self) -> None:
        """Delete the lock key if it is still ours (it may have expired meanwhile)."""
        if not self.locked:
            return
        key, token, locked_id = self._lock_key, self._lock_token, self._locked_id
        self.locked = False
        self._lock_key = self._lock_token = self._locked_id = None
        try:
            self._delete_lock_key(key, token)
        finally:
            if locked_id is not None:
                self._local_locks.release(locked_id)
        if self.debug:
            self.log(f"Lock released for session {redacted(self._id)}.")

    def _delete_lock_key(self, key: str | None, token: bytes | None) -> None:
        if key is None or token is None:
            return
        try:
            current = self._call(key, "unlocking", lambda client: client.get(key))
            if current == token:
                self._call(key, "unlocking", lambda client: client.delete(key, noreply=False))
            else:
                self.log(f"The lock of session {redacted(self._id)} expired while held (the "
                         f"request took longer than tools.sessions.lock_expiry = "
                         f"{self.lock_expiry:g} s); another request may have used it meanwhile.",
                         logging.WARNING)
        except SessionStoreUnavailable:
            # Logged already; the lock key expires on its own after lock_expiry.
            return

    # -- housekeeping -------------------------------------------------------------------

    def clean_up(self) -> None:
        """Nothing to do: memcached drops expired sessions itself (their TTL)."""

    def __len__(self) -> int:
        """The number of live sessions on all servers (an O(n) key dump: for tests/admin).

        Uses memcached's ``lru_crawler metadump all`` (memcached 1.4.31 or later, LRU
        crawler enabled, the default since 1.5); expired items are not listed.
        """
        pattern = re.compile(re.escape(self.key_prefix) + r"[0-9a-f]{40}\Z")
        now = time.time()
        count = 0
        for name, client in self._pools().clients.items():
            dump = self._metadump(name, client)
            for line in dump.decode("ascii", "replace").splitlines():
                fields = dict(field.partition("=")[::2] for field in line.split(" "))
                key = urllib.parse.unquote(fields.get("key", ""))
                expiry = fields.get("exp", "-1")
                # exp is the item's expiry in Unix seconds (-1: none); memcached lists items
                # up to a second past it (its clock ticks in whole seconds).
                live = not expiry.lstrip("-").isdigit() or int(expiry) < 0 or int(expiry) > now
                if pattern.match(key) and live:
                    count += 1
        return count

    def _metadump(self, name: str, client: PooledClient) -> bytes:
        try:
            dump: bytes = client.raw_command("lru_crawler metadump all", "END\r\n")
        except (OSError, MemcacheError) as exc:
            raise RuntimeError(
                f"memcached server {name} did not list its keys ({type(exc).__name__}: {exc}); "
                "len() needs memcached 1.4.31 or later with the LRU crawler enabled"
            ) from exc
        return dump
