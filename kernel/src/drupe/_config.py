"""Configuration: global, per application, per path, and on handlers.

Four scopes merge into the flat ``request.config`` a request sees, later ones winning:

1. **global** — ``drupe.config`` (``drupe.config.update(dict | filename | file)``);
2. **application** — ``app.config``, a dict of ``{"/path": {key: value}}`` sections given
   to ``tree.mount`` or ``app.merge``; sections that do not start with ``/`` are free-form
   application data (``app.config["Databases"]``);
3. **path** — each ``[/a]``, ``[/a/b]`` section along the requested path;
4. **handler** — ``_cp_config`` dicts on the objects the dispatcher walks through
   (set directly, with ``@drupe.config(...)`` or with tool decorators).

Keys are ``namespace.rest``. Each namespace has a handler that applies its entries:
``engine``, ``server``, ``log``, ``checker`` and ``tree`` act on the process when the
global config is updated; ``log`` and ``wsgi`` act on an application when it is merged;
``hooks``, ``request``, ``response``, ``error_page``, ``tools`` and every toolbox act on
each request. Custom namespaces are added to ``drupe.config.namespaces``,
``app.namespaces`` or ``app.request_class.namespaces``.

Config files are ini files whose values use Python syntax. :func:`unrepr` evaluates them
without running arbitrary code: literals, containers, arithmetic, dotted names of
importable objects, and calls — but only of classes from drupe and its installed
plugins, of a few standard-library value constructors (``datetime.timedelta``,
``re.compile``, ``pathlib.Path``, ...) and of callables marked with
:func:`config_callable`. Everything else (``os.system(...)``, ``io.FileIO(..., 'w')``,
``eval``, dunder attributes, unbounded arithmetic) is refused with a message naming the
file, section and key.

The ``environment`` key copies a named set of entries (``production``, ``staging``,
``embedded``, ``test_suite`` or your own in ``drupe._cpconfig.environments``) into the
update, without overriding keys given explicitly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from drupe._errors import ConfigError

__all__ = [
    "Config",
    "HandlerConfig",
    "NamespaceSet",
    "as_dict",
    "config_callable",
    "environments",
    "merge",
    "unrepr",
]

F = TypeVar("F")


class _Generation:
    """A counter bumped by every change that can alter a request plan.

    Plans remember the generation they were built in and are rebuilt when it moved
    (see ``_plan.py``). Reading it is one attribute access.
    """

    value = 0

    def bump(self) -> None:
        self.value += 1


generation = _Generation()


class HandlerConfig(dict[str, Any]):
    """A ``_cp_config`` made by ``@drupe.config``: changing it in place moves the generation.

    CherryPy reads ``_cp_config`` on every request, so an application may change it while
    serving (``Root._cp_config.update(...)``); this dict makes the cached request plans
    follow such a change. (A ``_cp_config`` dict written by hand is read when a plan is
    built; after changing it in place, call the application's ``clear_plans()``.)
    """

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        generation.bump()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        generation.bump()

    def __ior__(self, other: Any) -> HandlerConfig:  # type: ignore[override,misc]
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        generation.bump()

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        generation.bump()
        return value

    def pop(self, key: str, *default: Any) -> Any:
        value = super().pop(key, *default)
        generation.bump()
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        generation.bump()
        return item

    def clear(self) -> None:
        super().clear()
        generation.bump()


# ---------------------------------------------------------------------------
# Values and files (the machinery lives in _configfile, imported on first use)


def config_callable(func: F) -> F:
    """Mark a function as safe to call from a config file (classes need no mark)."""
    func._drupe_config_callable = True  # type: ignore[attr-defined]
    return func


def unrepr(source: str) -> Any:
    """Evaluate a config value written in Python syntax, safely (see the module docstring)."""
    from drupe._configfile import unrepr as evaluate

    return evaluate(source)


def attributes(full_attribute_name: str) -> Any:
    """The object named by a dotted path (``package.module.attr``)."""
    from drupe._configfile import attributes as resolve

    return resolve(full_attribute_name)


def modules(modulepath: str) -> Any:
    """Import and return the module named by ``modulepath``."""
    import importlib

    return importlib.import_module(modulepath)


def __getattr__(name: str) -> Any:
    # Parser and UnsafeConfigValue live in _configfile; keep them reachable from here.
    if name in ("Parser", "UnsafeConfigValue"):
        from drupe import _configfile

        return getattr(_configfile, name)
    raise AttributeError(name)


def as_dict(config: Any) -> dict[str, Any]:
    """A config given as a filename, an open file or a dict, as a dict."""
    if isinstance(config, (str, os.PathLike)):
        if not os.path.exists(config):
            raise ConfigError(f"Config file {os.fspath(config)!r} does not exist.")
        from drupe._configfile import Parser

        return Parser().dict_from_file(config)
    if hasattr(config, "read"):
        from drupe._configfile import Parser

        return Parser().dict_from_file(config)
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"Config must be a dict, a filename or an open file, not {type(config).__name__}."
        )
    return dict(config)


def merge(base: dict[str, Any], config: Any) -> None:
    """Merge application config (``{section: {key: value}}``) into ``base`` in place."""
    if isinstance(config, (str, os.PathLike)):
        _watch_file(config)
    incoming = as_dict(config)
    for section, values in incoming.items():
        if not isinstance(values, Mapping):
            raise ConfigError(
                "Application config must include section headers, but the config you tried "
                f"to merge has a top-level key {section!r} whose value is not a dict. Wrap "
                "your config in another dict with paths as section headers, for example: "
                "{'/': config}."
            )
        base.setdefault(section, {}).update(values)
    generation.bump()


def _watch_file(filename: Any) -> None:
    """Tell the autoreloader (when one is installed) to watch a config file."""
    from drupe._registry import registry

    if not registry.has("drupe.engine", "autoreload"):
        return
    from drupe._engine import engine

    files = getattr(engine.autoreload, "files", None)
    if isinstance(files, set):
        files.add(os.path.abspath(os.fspath(filename)))


# ---------------------------------------------------------------------------
# Namespaces


class NamespaceSet(dict[str, Any]):
    """Namespace name -> handler. Calling it applies a flat config to the handlers.

    A handler is ``handler(key, value)`` (``key`` without the namespace), or a context
    manager whose ``__enter__`` returns such a callable and whose ``__exit__`` runs once
    every key of the namespace was passed.
    """

    def __call__(self, config: Mapping[str, Any]) -> None:
        buckets: dict[str, dict[str, Any]] = {}
        for key, value in config.items():
            if "." in key:
                namespace, name = key.split(".", 1)
                buckets.setdefault(namespace, {})[name] = value
        for namespace, handler in list(self.items()):
            entries = buckets.get(namespace)
            exit_ = getattr(handler, "__exit__", None)
            if exit_ is not None:
                apply = handler.__enter__()
                ok = True
                try:
                    for name, value in (entries or {}).items():
                        apply(name, value)
                except BaseException:
                    ok = False
                    if not exit_(*sys.exc_info()):
                        raise
                finally:
                    if ok:
                        exit_(None, None, None)
            elif entries:
                for name, value in entries.items():
                    handler(name, value)

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}({dict.__repr__(self)})"

    def copy(self) -> NamespaceSet:
        return type(self)(self)


# ---------------------------------------------------------------------------
# Environments

environments: dict[str, dict[str, Any]] = {
    "staging": {
        "checker.on": False,
        "request.show_tracebacks": False,
        "request.show_mismatched_params": False,
    },
    "production": {
        "checker.on": False,
        "request.show_tracebacks": False,
        "request.show_mismatched_params": False,
        "log.screen": False,
    },
    "embedded": {
        "checker.on": False,
        "request.show_tracebacks": False,
        "request.show_mismatched_params": False,
        "log.screen": False,
        "engine.SIGHUP": None,
        "engine.SIGTERM": None,
    },
    "test_suite": {
        "checker.on": False,
        "request.show_tracebacks": True,
        "request.show_mismatched_params": True,
        "log.screen": False,
    },
}
"""Named sets of config entries; plugins add their own keys at boot
(``drupe_environments``), e.g. drupe-process turns the autoreloader off in production."""


# ---------------------------------------------------------------------------
# The global config


class Config(dict[str, Any]):
    """``drupe.config``: the global config, and a decorator that sets ``_cp_config``.

    ``update()`` accepts a dict, a filename or an open file; a ``[global]`` section is
    unwrapped. Every update runs the global namespace handlers (``engine``, ``server``,
    ``log``, ``checker``, ``tree`` and custom ones).
    """

    def __init__(self, file: Any = None, **kwargs: Any) -> None:
        super().__init__()
        self.defaults: dict[str, Any] = {}
        self.environments = environments
        self.namespaces = NamespaceSet()
        self._booting = False
        if file is not None:
            self.update(file)
        if kwargs:
            self.update(kwargs)

    def reset(self) -> None:
        """Back to the defaults (the namespace handlers run for them again)."""
        self.clear()
        dict.update(self, self.defaults)
        generation.bump()
        self.namespaces(self.defaults)

    def update(self, config: Any = None, /, **kwargs: Any) -> None:
        """Merge ``config`` (dict, filename or open file) into the global config."""
        _boot()
        if isinstance(config, (str, os.PathLike)):
            _watch_file(config)
        entries = as_dict(config) if config is not None else {}
        entries.update(kwargs)
        self._apply(entries)

    def _apply(self, config: dict[str, Any]) -> None:
        config = dict(config["global"]) if isinstance(config.get("global"), dict) else dict(config)
        # Path sections ({"/favicon.ico": {...}}) arrive here when an application's config
        # is given to the global config too, as quickstart does (documentation 4.10): they
        # belong to the application, and '/favicon' is no config namespace.
        config = {key: value for key, value in config.items()
                  if not (isinstance(key, str) and key.startswith("/") and isinstance(value, dict))}
        if "tools.staticdir.dir" in config:
            config["tools.staticdir.section"] = "global"
        which_env = config.get("environment")
        if which_env:
            try:
                env = self.environments[which_env]
            except KeyError:
                raise ConfigError(
                    f"Unknown environment {which_env!r} in config key 'environment'. Known: "
                    + ", ".join(sorted(self.environments)) + "."
                ) from None
            for key, value in env.items():
                config.setdefault(key, value)
        dict.update(self, config)
        generation.bump()
        self.namespaces(config)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        generation.bump()

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        generation.bump()

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """``@drupe.config(**{"tools.gzip.on": True})``: set ``_cp_config`` on a handler."""
        if args:
            if len(args) == 1 and isinstance(args[0], Mapping):
                kwargs = {**args[0], **kwargs}
            else:
                raise TypeError("drupe.config() as a decorator takes keyword arguments or one dict")

        def decorator(func: F) -> F:
            existing = func.__dict__.get("_cp_config") if hasattr(func, "__dict__") else None
            if not isinstance(existing, HandlerConfig):
                # Tracked, so a later in-place change reaches the request plans.
                existing = HandlerConfig(existing or {})
                func._cp_config = existing  # type: ignore[attr-defined]
            existing.update(kwargs)
            return func

        return decorator

    def copy(self) -> dict[str, Any]:
        return dict(self)


def _boot() -> None:
    from drupe._boot import boot

    boot()


def iter_sections(app_config: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """The path sections (``/...``) of an application config."""
    for section, values in app_config.items():
        if isinstance(section, str) and section.startswith("/") and isinstance(values, Mapping):
            yield section, values


config = Config()
"""``drupe.config``: the global config."""
