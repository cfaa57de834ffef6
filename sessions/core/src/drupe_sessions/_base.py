"""The Session base class every storage backend subclasses, and session ids.

A session is a dict-like object bound to one session id. Its life within a request:

1. the sessions tool builds it with the id from the request cookie (``Session(id)``).
   An id that is not well formed (:func:`valid_id`) never reaches the storage; an id the
   storage does not hold is replaced by a fresh one (no session fixation: a client cannot
   choose its session id);
2. with ``locking = 'implicit'`` (or ``'early'``) the tool calls :meth:`acquire_lock`;
3. the first read or write of data calls :meth:`load` (lazily, so it happens under the
   lock). Data that expired, or that the backend could not decode, gives an empty session
   (an expired id is also replaced by a fresh one);
4. at ``before_finalize`` the tool calls :meth:`save`, which writes the data if it was
   loaded (pushing the expiration time ``timeout`` minutes ahead) and releases the lock;
   at ``on_end_request`` a lock still held is released whatever happened.

A backend implements ``setup``, ``_exists``, ``_load``, ``_save``, ``_delete``,
``acquire_lock``, ``release_lock``, ``clean_up`` and ``__len__`` (the contract in
``README.md``). It stores the bytes of :attr:`Session.serializer` and never unpickles or
evaluates anything itself.
"""

from __future__ import annotations

import datetime
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import drupe
from drupe_sessions._serializer import JSONSerializer, Serializer

__all__ = ["DEFAULT_LOCK_TIMEOUT", "LockTimeout", "Session", "generate_id", "valid_id"]

LOG_CONTEXT = "TOOLS.SESSIONS"
ID_BYTES = 20
ID_LENGTH = 2 * ID_BYTES
_ID_PATTERN = re.compile(rf"[0-9a-f]{{{ID_LENGTH}}}\Z")

#: Seconds a request waits for a session lock when ``lock_timeout`` is not configured.
#: CherryPy waits forever; a bounded wait turns a stuck request into a 503 for the others.
DEFAULT_LOCK_TIMEOUT = 30.0


def generate_id() -> str:
    """A new session id: 40 lowercase hex characters (160 bits from ``secrets``)."""
    return secrets.token_hex(ID_BYTES)


def valid_id(session_id: Any) -> bool:
    """True when ``session_id`` has the form of an id drupe generates (40 lowercase hex).

    Anything else (other characters, other lengths, non-strings) is invalid and must never
    reach a storage: it could be a path, a memcached command or a SQL fragment.
    """
    return type(session_id) is str and _ID_PATTERN.match(session_id) is not None


def redacted(session_id: str | None) -> str:
    """A session id shortened for logs (a full id in a log file is a credential)."""
    if not session_id:
        return repr(session_id)
    return session_id[:8] + "..."


class LockTimeout(drupe.HTTPError):
    """A session lock could not be acquired within ``lock_timeout`` seconds.

    It is an ``HTTPError``: raised during a request (by the tool's lock hook, or by an
    application calling ``acquire_lock()`` itself), it is answered with
    ``503 Service Unavailable`` and ``Retry-After`` instead of a request waiting forever.
    ``detail`` (logged, not shown to the client) says which session and how long.
    """

    retry_after = 1

    def __init__(self, detail: str = "", lock_timeout: float | None = None) -> None:
        super().__init__(503, "The session is busy with another request; please try again.")
        self.detail = detail or "A session lock could not be acquired in time."
        self.lock_timeout = lock_timeout

    def __str__(self) -> str:
        return self.detail

    def set_response(self) -> None:
        drupe.log(self.detail, LOG_CONTEXT, severity=logging.WARNING)
        super().set_response()
        drupe.serving.response.headers["Retry-After"] = str(self.retry_after)


def seconds(value: Any, key: str, allow_zero: bool = False) -> float:
    """``value`` (a number or timedelta) as positive seconds, else ValueError naming ``key``."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{key} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{key} must be {'zero or ' if allow_zero else ''}positive, not {value!r}")
    return float(value)


class Session:
    """A dict-like session bound to one id; subclasses store it somewhere.

    Class attributes are the configuration (the sessions tool sets them on a per-config
    subclass before calling :meth:`setup`): ``timeout`` (minutes the data lives after its
    last save), ``lock_timeout`` (seconds to wait for the lock), ``clean_freq`` (minutes
    between clean-ups, 0 for none), ``debug`` (log under ``TOOLS.SESSIONS``) and
    ``serializer``.
    """

    timeout: ClassVar[float] = 60
    lock_timeout: ClassVar[float] = DEFAULT_LOCK_TIMEOUT
    clean_freq: ClassVar[float] = 5
    debug: ClassVar[bool] = False
    serializer: ClassVar[Serializer] = JSONSerializer()
    #: The names of this backend's own ``tools.sessions.*`` options (what :meth:`setup`
    #: takes). The sessions tool passes a backend only these; a key another installed
    #: backend knows is left out (one config may switch backends with ``storage_class``),
    #: and a key no installed backend knows is a ConfigError. None (the default, for
    #: backends written before this existed): the backend does not say, and its
    #: ``setup()`` gets every key that is not another backend's.
    option_names: ClassVar[frozenset[str] | None] = None
    #: The clean-up thread of a configured storage class while it runs (see ``_cleanup``);
    #: None on the classes applications name.
    clean_thread: ClassVar[Any] = None

    # Instance state (class-level defaults, as CherryPy documents them).
    locked: bool = False
    loaded: bool = False
    missing: bool = False
    regenerated: bool = False
    originalid: str | None = None

    def __init__(self, id: str | None = None, **kwargs: Any) -> None:
        self.id_observers: list[Callable[[str], Any]] = []
        self._data: dict[str, Any] = {}
        self._id: str | None = None
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.originalid = id
        self.missing = False
        self.locked = False
        self.loaded = False
        self.regenerated = False
        if id is None:
            self._regenerate()
        elif not valid_id(id):
            if self.debug:
                self.log(f"Malformed session id {id[:16]!r}... refused; starting a new session."
                         if isinstance(id, str) else "Malformed session id refused.")
            self.missing = True
            self._regenerate()
        else:
            self._id = id
            if not self._exists():
                if self.debug:
                    self.log(f"Session {redacted(id)} not found; starting a new session.")
                self.missing = True
                self._id = None
                self._regenerate()

    # -- id -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id (setting it notifies ``id_observers``, e.g. the cookie)."""
        assert self._id is not None
        return self._id

    @id.setter
    def id(self, value: str) -> None:
        self._id = value
        for observer in self.id_observers:
            observer(value)

    def generate_id(self) -> str:
        """A fresh random id (see :func:`generate_id`)."""
        return generate_id()

    def regenerate(self) -> None:
        """Give this session a new id, keeping its data (call it on login).

        The data stored under the old id is deleted; the cookie follows the new id.
        """
        self.regenerated = True
        self._regenerate()

    def _regenerate(self) -> None:
        if self._id is not None:
            if self.debug:
                self.log(f"Deleting session {redacted(self._id)} to regenerate its id.")
            self._delete()
        was_locked = self.locked
        if was_locked:
            self.release_lock()
        new_id = self.generate_id()
        while self._exists_id(new_id):  # pragma: no cover - 160 random bits
            new_id = self.generate_id()
        self.id = new_id
        if self.debug:
            self.log(f"New session id {redacted(new_id)}.")
        if was_locked:
            self.acquire_lock()

    def _exists_id(self, session_id: str) -> bool:
        previous, self._id = self._id, session_id
        try:
            return self._exists()
        finally:
            self._id = previous

    # -- lifecycle ----------------------------------------------------------------------

    def now(self) -> datetime.datetime:
        """The current time, timezone-aware UTC (tests may monkeypatch it)."""
        return datetime.datetime.now(datetime.timezone.utc)

    def load(self) -> None:
        """Read the stored data into this session (empty when missing, expired or corrupt)."""
        result = self._load()
        if result is None:
            self._data = {}
        elif result[1] <= self.now():
            if self.debug:
                self.log(f"Session {redacted(self._id)} expired; starting a new session.")
            self._data = {}
            self.loaded = True
            # An expired id is not reused: the next save writes under a fresh one.
            self._regenerate()
        else:
            self._data = result[0]
            if self.debug:
                self.log(f"Data loaded for session {redacted(self._id)}.")
        self.loaded = True

    def save(self) -> None:
        """Write the data (if it was loaded) with a new expiration time; release the lock."""
        try:
            if self.loaded:
                expiration_time = self.now() + datetime.timedelta(minutes=self.timeout)
                if self.debug:
                    self.log(f"Saving session {redacted(self._id)} (expires {expiration_time}).")
                self._save(expiration_time)
            elif self.debug:
                self.log(f"Session {redacted(self._id)} was not loaded; nothing to save.")
        finally:
            if self.locked:
                self.release_lock()

    def delete(self) -> None:
        """Delete the stored data and empty this session."""
        self._delete()
        self._data = {}
        self.loaded = False
        if self.debug:
            self.log(f"Deleted session {redacted(self._id)}.")

    def log(self, message: str, severity: int = logging.DEBUG) -> None:
        """Log under ``TOOLS.SESSIONS`` (backends use it for corrupt data, at WARNING)."""
        drupe.log(message, LOG_CONTEXT, severity=max(severity, logging.INFO))

    # -- what a backend implements ------------------------------------------------------

    @classmethod
    def setup(cls, **kwargs: Any) -> None:
        """Configure the backend once, with its own ``tools.sessions.*`` options.

        The common options (timeout, lock_timeout, clean_freq, debug, serializer) are
        already set on ``cls``. A backend takes the keys it knows and raises ValueError
        naming ``tools.sessions.<key>`` for the others; the base class knows none.
        """
        for key in kwargs:
            raise ValueError(f"tools.sessions.{key} is not an option of the "
                             f"{cls.__name__} session backend")

    def _exists(self) -> bool:
        raise NotImplementedError

    def _load(self) -> tuple[dict[str, Any], datetime.datetime] | None:
        raise NotImplementedError

    def _save(self, expiration_time: datetime.datetime) -> None:
        raise NotImplementedError

    def _delete(self) -> None:
        raise NotImplementedError

    def acquire_lock(self) -> None:
        """Lock this session id (bounded by ``lock_timeout``; LockTimeout when it runs out)."""
        raise NotImplementedError

    def release_lock(self) -> None:
        """Release the lock taken by :meth:`acquire_lock`."""
        raise NotImplementedError

    def clean_up(self) -> None:
        """Delete every expired session (never raises because of corrupt data)."""
        raise NotImplementedError

    def __len__(self) -> int:
        """The number of stored sessions (CherryPy's meaning, not the number of keys)."""
        raise NotImplementedError

    # -- the dict API (each first use loads) --------------------------------------------

    def _loaded_data(self) -> dict[str, Any]:
        if not self.loaded:
            self.load()
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._loaded_data()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._loaded_data()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._loaded_data()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._loaded_data()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._loaded_data()))

    def __bool__(self) -> bool:
        # A session object is always there; len() counts stored sessions (CherryPy).
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return self._loaded_data().get(key, default)

    def pop(self, key: str, default: Any = None) -> Any:
        return self._loaded_data().pop(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._loaded_data().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        return self._loaded_data().setdefault(key, default)

    def clear(self) -> None:
        self._loaded_data().clear()

    def keys(self) -> Any:
        return self._loaded_data().keys()

    def items(self) -> Any:
        return self._loaded_data().items()

    def values(self) -> Any:
        return self._loaded_data().values()

    def __repr__(self) -> str:
        state = "locked" if self.locked else "unlocked"
        return f"<{type(self).__name__} {redacted(self._id)} {state}>"
