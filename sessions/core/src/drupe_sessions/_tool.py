"""The ``sessions`` tool: one server-side session per client, found by a cookie.

Hooks (CherryPy's points and priorities):

=====================  ========  ====================================================
hook point             priority  what
=====================  ========  ====================================================
before_request_body    50        :func:`init`: read the cookie, build ``drupe.session``,
                                 send the cookie
before_request_body    60        lock the session (``locking = 'early'``)
before_handler         50        lock the session (``locking = 'implicit'``, default)
before_finalize        50        :func:`save` (failsafe): write the data, add
                                 ``Vary: Cookie``, release the lock
on_end_request         90        :func:`close` (failsafe): save a streamed response's
                                 session, release a lock still held
=====================  ========  ====================================================

Configuration is checked twice: each ``tools.sessions.*`` value when the engine starts
(with every other config key), and the whole set once per (application, path) when the
request plan is built — that is when the storage class is configured: the tool makes a
subclass of it per distinct configuration, sets the common options on it and calls its
``setup()`` with the backend's own options (so two applications may use two storage
paths). The configured classes live on the application and last one engine run; the
backend's clean-up runs in an engine-managed thread (see ``_cleanup``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from email.utils import formatdate
from http.cookies import Morsel
from typing import Any

import drupe
from drupe_sessions._base import (
    DEFAULT_LOCK_TIMEOUT,
    LOG_CONTEXT,
    Session,
    redacted,
    seconds,
)
from drupe_sessions._cleanup import cleaners
from drupe_sessions._serializer import make_serializer

__all__ = ["SessionTool", "Settings", "close", "expire", "init", "save", "set_response_cookie", "tool"]

# The keys the tool itself uses; every other key is the storage backend's.
COOKIE_KEYS = ("name", "path", "path_header", "domain", "secure", "httponly", "samesite", "persistent")
COMMON_KEYS = frozenset(COOKIE_KEYS) | {
    "on", "priority", "storage_type", "storage_class", "timeout", "lock_timeout", "clean_freq",
    "locking", "debug", "serializer", "signing_key",
}
LOCKING_MODES = ("implicit", "early", "explicit")
_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

DEFAULTS: dict[str, Any] = {
    "name": "session_id",
    "path": None,
    "path_header": None,
    "domain": None,
    "secure": False,
    "httponly": True,
    "samesite": "Lax",
    "persistent": True,
    "timeout": 60,
    "lock_timeout": None,
    "clean_freq": 5,
    "locking": "implicit",
    "debug": False,
    "serializer": "json",
    "signing_key": None,
}


def _key(name: str) -> str:
    return f"tools.sessions.{name}"


def _error(name: str, message: str) -> drupe.ConfigError:
    return drupe.ConfigError(f"Config key {_key(name)!r}: {message}")


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _error(name, f"must be True or False, not {value!r}")
    return value


def _check_optional_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or any(ch in value for ch in "\r\n;\x00"):
        raise _error(name, f"must be a non-empty string without ';' or line breaks, not {value!r}")
    return value


def check_value(name: str, value: Any) -> Any:
    """``value`` of ``tools.sessions.<name>`` normalised, or ConfigError naming the key."""
    if name in ("on", "secure", "httponly", "persistent", "debug"):
        return _check_bool(name, value)
    if name == "priority":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _error(name, f"must be a number, not {value!r}")
        return value
    if name == "name":
        if not isinstance(value, str) or not value or not set(value) <= _TOKEN_CHARS:
            raise _error(name, f"must be a cookie name (letters, digits, !#$%&'*+-.^_`|~), not {value!r}")
        return value
    if name in ("path", "domain", "path_header"):
        return _check_optional_str(name, value)
    if name == "samesite":
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in _SAMESITE:
            raise _error(name, f"must be 'Strict', 'Lax', 'None' or None (no attribute), not {value!r}")
        return _SAMESITE[value.lower()]
    if name == "timeout":
        try:
            return seconds(value, _key(name))
        except ValueError as exc:
            raise drupe.ConfigError(f"Config key {_key(name)!r}: must be a positive number of "
                                    f"minutes, not {value!r}") from exc
    if name == "clean_freq":
        try:
            return seconds(value, _key(name), allow_zero=True)
        except ValueError:
            raise _error(name, f"must be a number of minutes (0 turns the clean-up off), not "
                         f"{value!r}") from None
    if name == "lock_timeout":
        if value is None:
            return DEFAULT_LOCK_TIMEOUT
        try:
            return seconds(value, _key(name))
        except ValueError:
            raise _error(name, f"must be a positive number of seconds (or a timedelta), not "
                         f"{value!r}; a lock wait is always bounded") from None
    if name == "locking":
        if value not in LOCKING_MODES:
            raise _error(name, f"must be one of {', '.join(map(repr, LOCKING_MODES))}, not {value!r}")
        return value
    if name == "storage_type":
        if not isinstance(value, str) or not value:
            raise _error(name, f"must be the name of a session backend ('ram', 'file', ...), not {value!r}")
        return value
    if name == "storage_class":
        if not isinstance(value, type) or not issubclass(value, Session):
            raise _error(name, f"must be a subclass of drupe.lib.sessions.Session, not {value!r}")
        return value
    if name == "serializer":
        if value not in ("json", "pickle") and not (
                callable(getattr(value, "dumps", None)) and callable(getattr(value, "loads", None))):
            raise _error(name, f"must be 'json', 'pickle' or an object with dumps()/loads(), not {value!r}")
        return value
    if name == "signing_key":
        if value is not None and (not isinstance(value, (str, bytes)) or len(value) < 16):
            raise _error(name, "must be a secret string or bytes of at least 16 characters")
        return value
    return value


def resolve_storage(options: Mapping[str, Any]) -> type[Session]:
    """The storage class the options name (``storage_class``, or ``storage_type``, or RAM)."""
    from drupe import registry

    by_class = options.get("storage_class")
    by_type = options.get("storage_type")
    found_by_type: type[Session] | None = None
    if by_type is not None:
        loaded = registry.load("drupe.sessions", by_type, key=_key("storage_type"))
        if not isinstance(loaded, type) or not issubclass(loaded, Session):
            raise _error("storage_type", f"the backend {by_type!r} is not a drupe Session class ({loaded!r})")
        found_by_type = loaded
    if by_class is not None:
        if found_by_type is not None and not issubclass(by_class, found_by_type):
            raise drupe.ConfigError(
                f"Config keys {_key('storage_type')!r} ({by_type!r}) and "
                f"{_key('storage_class')!r} ({by_class.__name__}) name different backends; "
                "set only one of them."
            )
        return by_class  # type: ignore[no-any-return]
    if found_by_type is not None:
        return found_by_type
    from drupe_sessions._ram import RamSession

    return RamSession


def _backend_label(storage_class: type[Session], name: str | None = None) -> str:
    return f"{storage_class.__name__} ({name!r})" if name else storage_class.__name__


def installed_backend_options(storage_class: type[Session] | None = None) -> dict[str, list[str]]:
    """Each option name an installed session backend knows -> the backends knowing it.

    The backends are those registered in ``drupe.sessions`` (and ``storage_class``, which
    may be an application's own). A backend that cannot be loaded (a missing dependency)
    or does not list its ``option_names`` contributes nothing.
    """
    from drupe import registry

    found: dict[str, list[str]] = {}
    classes: list[tuple[type[Session], str | None]] = []
    if storage_class is not None:
        classes.append((storage_class, None))
    for entry in registry.names("drupe.sessions"):
        try:
            loaded = registry.load("drupe.sessions", entry)
        except Exception:  # a backend that cannot be loaded knows no options
            continue
        if isinstance(loaded, type) and issubclass(loaded, Session):
            classes.append((loaded, entry))
    for cls, registered in classes:
        names = getattr(cls, "option_names", None)
        if not names:
            continue
        label = _backend_label(cls, registered)
        for option in names:
            labels = found.setdefault(option, [])
            if label not in labels:
                labels.append(label)
    return found


def backend_options(storage_class: type[Session], options: Mapping[str, Any]) -> dict[str, Any]:
    """The options among ``options`` (not the tool's own) that ``storage_class.setup`` gets.

    An option of the backend itself is kept. An option that only another installed backend
    knows is left out, with a debug-level log: one configuration may name ``storage_path``
    once and switch between RAM and file sessions with ``storage_class``. An option no
    installed backend knows is a ConfigError naming it and listing the known ones.
    """
    own = getattr(storage_class, "option_names", None)
    kept = {name: value for name, value in options.items() if own is not None and name in own}
    rest = [name for name in options if name not in kept]
    if not rest:
        return kept
    known = installed_backend_options(storage_class)
    unknown = [name for name in rest if name not in known]
    if own is None:
        # The backend does not list its options: its setup() checks what no other knows.
        kept.update((name, options[name]) for name in unknown)
        unknown = []
    if unknown:
        import difflib

        name = unknown[0]
        everything = sorted(set(known) | COMMON_KEYS)
        matches = difflib.get_close_matches(name, everything, n=1)
        hint = f" Did you mean {_key(matches[0])!r}?" if matches else ""
        listed = "; ".join(f"{option} ({', '.join(known[option])})" for option in sorted(known))
        raise drupe.ConfigError(
            f"Config key {_key(name)!r}: neither the sessions tool nor any installed session "
            f"backend has an option {name!r}.{hint} The tool's options: "
            f"{', '.join(sorted(COMMON_KEYS))}. The backends' options: {listed or 'none'}."
        )
    for name in rest:
        if name in kept:
            continue
        message = (f"{_key(name)} is an option of {', '.join(known[name])}, not of "
                   f"{storage_class.__name__}: ignored for this backend.")
        drupe.log(message, LOG_CONTEXT, severity=logging.DEBUG)
    return kept


class Settings:
    """One validated ``tools.sessions`` configuration (built once per request plan)."""

    def __init__(self, conf: Mapping[str, Any]) -> None:
        values = dict(DEFAULTS)
        backend: dict[str, Any] = {}
        for name, value in conf.items():
            if name in COMMON_KEYS:
                values[name] = check_value(name, value)
            else:
                backend[name] = value
        values["lock_timeout"] = check_value("lock_timeout", values["lock_timeout"])
        if values["samesite"] == "None" and not values["secure"]:
            raise _error("samesite", "SameSite=None is only accepted by browsers on Secure cookies: "
                         "set tools.sessions.secure = True too")
        self.values = values
        self.storage_class = resolve_storage(conf)
        backend = backend_options(self.storage_class, backend)
        self.backend_options = backend
        try:
            self.serializer = make_serializer(values["serializer"], values["signing_key"])
        except ValueError as exc:
            raise drupe.ConfigError(f"Config key {_key('serializer')!r}: {exc}") from None
        self.locking: str = values["locking"]
        self.cookie = {name: values[name] for name in COOKIE_KEYS}
        self.cookie["timeout"] = values["timeout"]
        # The store (what setup() configures: where and how data is kept) and the
        # per-section options on top of it. Sections that differ only in timeout,
        # lock_timeout, clean_freq or debug share one store, as CherryPy's one class does.
        self.store_key = repr((
            self.storage_class.__module__, self.storage_class.__qualname__, id(self.storage_class),
            repr(self.serializer), values["signing_key"],
            sorted((name, repr(value)) for name, value in backend.items()),
        ))
        self.options_key = repr((values["timeout"], values["lock_timeout"], values["clean_freq"],
                                 values["debug"]))

    def _options(self) -> dict[str, Any]:
        return {
            "timeout": self.values["timeout"],
            "lock_timeout": self.values["lock_timeout"],
            "clean_freq": self.values["clean_freq"],
            "debug": self.values["debug"],
        }

    def configured_class(self, app: Any) -> type[Session]:
        """The storage class configured for this engine run (set up once per store)."""
        stores: dict[str, Any] | None = getattr(app, "_drupe_session_stores", None)
        if stores is None:
            stores = {}
            # An app object refusing attributes gets a store per request plan instead.
            with contextlib.suppress(AttributeError):
                app._drupe_session_stores = stores
        store = stores.get(self.store_key)
        if store is None or store.__dict__.get("_drupe_run") != cleaners.run:
            store = self._make_store()
            stores[self.store_key] = store
        variants: dict[str, type[Session]] = store.__dict__["_drupe_variants"]
        variant = variants.get(self.options_key)
        if variant is None:
            base = self.storage_class
            namespace = {"__module__": base.__module__, "__qualname__": base.__qualname__,
                         "__doc__": base.__doc__, **self._options()}
            variant = variants[self.options_key] = type(base.__name__, (store,), namespace)
        return variant

    def _make_store(self) -> type[Session]:
        base = self.storage_class
        namespace = {
            "__module__": base.__module__,
            "__qualname__": base.__qualname__,
            "__doc__": base.__doc__,
            "_drupe_run": cleaners.run,
            "_drupe_variants": {},
            "serializer": self.serializer,
            **self._options(),
        }
        store: type[Session] = type(base.__name__, (base,), namespace)
        try:
            store.setup(**self.backend_options)
        except drupe.ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            message = str(exc)
            if "tools.sessions." not in message:
                message = f"tools.sessions ({base.__name__}): {message}"
            raise drupe.ConfigError(message) from None
        return store


def _session() -> Session | None:
    return getattr(drupe.serving, "session", None)


def set_response_cookie(path: str | None = None, path_header: str | None = None,
                        name: str = "session_id", timeout: float | None = 60,
                        domain: str | None = None, secure: bool = False,
                        httponly: bool = False, samesite: str | None = None) -> None:
    """Send the current session's id in the ``name`` cookie (``timeout`` minutes; None:
    a browser-session cookie)."""
    response = drupe.serving.response
    request = drupe.serving.request
    session = _session()
    if session is None:
        raise RuntimeError("set_response_cookie() needs a session: turn tools.sessions.on")
    cookie = response.cookie
    cookie[name] = session.id
    morsel: Morsel[str] = cookie[name]
    morsel["path"] = path or (request.headers.get(path_header) if path_header else None) or "/"
    if timeout:
        morsel["max-age"] = str(int(timeout * 60))
    if domain is not None:
        morsel["domain"] = domain
    if secure:
        morsel["secure"] = True
    if httponly:
        morsel["httponly"] = True
    if samesite:
        morsel["samesite"] = samesite


def _cookie_args(settings: Settings) -> dict[str, Any]:
    args = dict(settings.cookie)
    persistent = args.pop("persistent")
    if not persistent:
        args["timeout"] = None
    return args


def init(settings: Settings | None = None, **kwargs: Any) -> None:
    """Build ``drupe.session`` for this request from its cookie and send the cookie.

    The tool calls it with a prepared :class:`Settings`; called by hand (CherryPy's
    ``sessions.init(**kwargs)``), it takes the ``tools.sessions`` options as keywords.
    """
    request = drupe.serving.request
    state = request.__dict__
    if state.get("_drupe_session_init"):  # an InternalRedirect runs the hooks again
        return
    state["_drupe_session_init"] = True
    if settings is None:
        settings = Settings(kwargs)
    storage_class = settings.configured_class(request.app)
    cleaners.ensure(storage_class.__bases__[0])  # the store class (see Settings)
    name = settings.cookie["name"]
    cookie_id: str | None = None
    if name in request.cookie:
        cookie_id = request.cookie[name].value
    session = storage_class(cookie_id)
    drupe.serving.session = session
    state["_drupe_session_settings"] = settings
    cookie_args = _cookie_args(settings)

    def update_cookie(new_id: str) -> None:
        set_response_cookie(**cookie_args)

    session.id_observers.append(update_cookie)
    set_response_cookie(**cookie_args)
    if settings.values["debug"]:
        drupe.log(f"Session {redacted(session.id)} for cookie {name!r}"
                  f"{' (new)' if session.missing or cookie_id is None else ''}.", LOG_CONTEXT)


def lock_session() -> None:
    """Take the session's lock (the ``implicit`` and ``early`` locking modes)."""
    session = _session()
    if session is not None:
        session.acquire_lock()


def _add_vary_cookie(response: Any) -> None:
    headers = response.headers
    current = headers.get("Vary")
    if not current:
        headers["Vary"] = "Cookie"
        return
    names = {part.strip().lower() for part in str(current).split(",")}
    if "cookie" not in names and "*" not in names:
        headers["Vary"] = f"{str(current).strip().rstrip(',')}, Cookie"


def save() -> None:
    """Save the session (if it was used) and release its lock; add ``Vary: Cookie``."""
    session = _session()
    if session is None:
        return
    request = drupe.serving.request
    response = drupe.serving.response
    state = request.__dict__
    if state.get("_drupe_session_saved"):
        return
    state["_drupe_session_saved"] = True
    if session.loaded or session.missing or session.regenerated:
        _add_vary_cookie(response)
    if response.stream:
        # The body is produced while it is sent: save after that (close() does).
        state["_drupe_session_save_late"] = True
        return
    body = response.body
    if not isinstance(body, (list, tuple)):
        response.collapse_body()
    session.save()
    if session.loaded:
        _add_vary_cookie(response)


save.failsafe = True  # type: ignore[attr-defined]


def close() -> None:
    """End of the request: save a streamed session, release a lock still held."""
    session = _session()
    if session is None:
        return
    request = drupe.serving.request
    try:
        if request.__dict__.pop("_drupe_session_save_late", False):
            session.save()
    finally:
        if session.locked:
            session.release_lock()
            if session.debug:
                drupe.log(f"Lock released at the end of the request for {redacted(session.id)}.",
                          LOG_CONTEXT)
        with contextlib.suppress(AttributeError):
            del drupe.serving.session


close.failsafe = True  # type: ignore[attr-defined]
close.priority = 90  # type: ignore[attr-defined]


def expire() -> None:
    """End the current session: delete its data and expire the client's cookie.

    CherryPy only expires the cookie, leaving the data readable by anyone who kept it
    until the timeout; drupe deletes it too.
    """
    request = drupe.serving.request
    response = drupe.serving.response
    settings: Settings | None = request.__dict__.get("_drupe_session_settings")
    session = _session()
    if session is not None:
        session.delete()
        session.id_observers.clear()
    if settings is not None:
        args = _cookie_args(settings)
    else:
        args = {"name": request.config.get("tools.sessions.name", "session_id")}
    name = args["name"]
    if session is not None:
        set_response_cookie(**{**args, "timeout": None})
    else:
        response.cookie[name] = ""
        response.cookie[name]["path"] = "/"
    morsel = response.cookie[name]
    morsel["max-age"] = "0"
    morsel["expires"] = formatdate(time.time() - 365 * 24 * 3600, usegmt=True)


class SessionTool(drupe.Tool):
    """``tools.sessions``: CherryPy's SessionTool (see the module docstring)."""

    _skip_argument_check = True

    def __init__(self) -> None:
        super().__init__("before_request_body", init, "sessions", 50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        for name, value in settings.items():
            check_value(name, value)
        if "storage_type" in settings:
            resolve_storage({"storage_type": settings["storage_type"]})

    def _setup(self) -> None:
        conf = self._merged_args()
        priority = conf.pop("priority", None)
        if priority is None:
            priority = self._priority
        settings = Settings(conf)
        hooks = drupe.serving.request.hooks
        hooks.attach("before_request_body", init, priority=priority, settings=settings)
        if settings.locking == "implicit":
            hooks.attach("before_handler", lock_session, priority=50)
        elif settings.locking == "early":
            hooks.attach("before_request_body", lock_session, priority=60)
        hooks.attach("before_finalize", save, failsafe=True, priority=50)
        hooks.attach("on_end_request", close, failsafe=True, priority=90)

    def regenerate(self) -> None:
        """Give the current session a new id (its cookie follows); call it on login."""
        session = _session()
        if session is None:
            raise RuntimeError("tools.sessions.regenerate() needs tools.sessions.on")
        session.regenerate()


tool = SessionTool()
