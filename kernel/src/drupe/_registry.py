"""Every entry-point group drupe reads, and the one place plugins are loaded from.

A plugin is a distribution that declares entry points in one of the groups below. Nothing
is imported when ``drupe`` is imported: a plugin's module is loaded the first time user
code or config names it (``tools.gzip.on``, ``server.type = "cheroot"``,
``drupe.dispatch.MethodDispatcher``), once, and cached.

=====================  =========================================  ==================================
group                  entry-point name                           value
=====================  =========================================  ==================================
``drupe.tools``        the tool's config name (``tools.<name>``)  a ``Tool`` instance
``drupe.toolboxes``    a config namespace (``acme.<tool>.on``)    a ``Toolbox`` instance
``drupe.dispatchers``  a short name (``default``, ``method``)     a dispatcher class
``drupe.sessions``     a ``tools.sessions.storage_type`` value    a Session class
``drupe.servers``      a ``server.type`` value (``cheroot``)      a server adapter class
``drupe.engine``       an attribute of ``drupe.engine``           a bus plugin class
``drupe.plugins``      any                                        a module of pluggy hook impls
``drupe.compat``       a compatibility module (``lib.static``)    the module providing its names
=====================  =========================================  ==================================

A name that resolves to nothing raises :class:`MissingPluginError`, which says which
config key asked for it, what the group holds, the closest installed name and which
distribution to install. Two distributions registering one name in one group raise
:class:`DuplicatePluginError` naming both (``drupe.compat`` is the exception: several
distributions may contribute names to one compatibility module).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = [
    "GROUPS",
    "DuplicatePluginError",
    "InvalidPluginError",
    "MissingPluginError",
    "PluginInfo",
    "Registry",
    "registry",
]


class GroupInfo(NamedTuple):
    """What an entry-point group is for, for messages and ``drupe plugins``."""

    name: str
    what: str
    key_hint: str


GROUPS: dict[str, GroupInfo] = {
    "drupe.tools": GroupInfo("drupe.tools", "tool", "tools.{name}.on"),
    "drupe.toolboxes": GroupInfo("drupe.toolboxes", "toolbox", "{name}.<tool>.on"),
    "drupe.dispatchers": GroupInfo("drupe.dispatchers", "dispatcher", "request.dispatch"),
    "drupe.sessions": GroupInfo("drupe.sessions", "session backend",
                                "tools.sessions.storage_type"),
    "drupe.servers": GroupInfo("drupe.servers", "HTTP server", "server.type"),
    "drupe.engine": GroupInfo("drupe.engine", "engine plugin", "engine.{name}.on"),
    "drupe.plugins": GroupInfo("drupe.plugins", "hook implementation module", ""),
    "drupe.compat": GroupInfo("drupe.compat", "compatibility module", "drupe.{name}"),
}

# Which distribution provides the names the documentation and CherryPy users will ask
# for. This is data for error messages only: the kernel never imports these.
KNOWN_DISTRIBUTIONS: dict[tuple[str, str], str] = {}


def _known(group: str, distribution: str, names: Iterable[str]) -> None:
    for name in names:
        KNOWN_DISTRIBUTIONS[(group, name)] = distribution


_known("drupe.servers", "drupe-server-cheroot", ["cheroot"])
_known("drupe.dispatchers", "drupe-dispatch-objecttree", ["default", "objecttree"])
_known("drupe.dispatchers", "drupe-dispatch-method", ["method"])
_known("drupe.dispatchers", "drupe-dispatch-vhost", ["vhost"])
_known("drupe.dispatchers", "drupe-dispatch-routes", ["routes"])
_known("drupe.dispatchers", "drupe-dispatch-xmlrpc", ["xmlrpc"])
_known("drupe.engine", "drupe-process", [
    "signal_handler", "autoreload", "timeout_monitor", "thread_manager", "daemonizer",
    "pidfile", "drop_privileges", "health",
])
_known("drupe.tools", "drupe-tool-standard", [
    "encode", "decode", "accept", "allow", "autovary", "err_redirect", "etags", "expires",
    "flatten", "ignore_headers", "log_headers", "log_hooks", "log_tracebacks", "params",
    "redirect", "referer", "response_headers", "trailing_slash",
])
_known("drupe.tools", "drupe-tool-gzip", ["gzip"])
_known("drupe.tools", "drupe-tool-json", ["json_in", "json_out"])
_known("drupe.tools", "drupe-tool-static", ["staticdir", "staticfile"])
_known("drupe.tools", "drupe-tool-proxy", ["proxy"])
_known("drupe.tools", "drupe-tool-caching", ["caching"])
_known("drupe.tools", "drupe-tool-auth", ["auth_basic", "auth_digest"])
_known("drupe.tools", "drupe-sessions", ["sessions", "session_auth"])
_known("drupe.tools", "drupe-dispatch-xmlrpc", ["xmlrpc"])
_known("drupe.sessions", "drupe-sessions", ["ram"])
_known("drupe.sessions", "drupe-session-file", ["file"])
_known("drupe.sessions", "drupe-session-memcached", ["memcached"])
_known("drupe.sessions", "drupe-session-sqlalchemy", ["sql"])
_known("drupe.compat", "drupe-testing", ["test.helper"])
_known("drupe.compat", "drupe-server-cheroot", ["_cpnative_server", "_cpwsgi_server"])
_known("drupe.compat", "drupe-process", ["process.plugins"])
_known("drupe.compat", "drupe-sessions", ["lib.sessions"])
_known("drupe.compat", "drupe-tool-static", ["lib.static"])
_known("drupe.compat", "drupe-tool-auth", ["lib.auth_basic", "lib.auth_digest"])
_known("drupe.compat", "drupe-tool-json", ["lib.jsontools"])
_known("drupe.compat", "drupe-tool-caching", ["lib.caching"])
_known("drupe.compat", "drupe-dispatch-xmlrpc", ["lib.xmlrpcutil"])


class PluginError(LookupError):
    """Base class of the registry's errors."""

    startup_error = True


class MissingPluginError(PluginError, AttributeError):
    """A name was asked for that no installed distribution registers.

    Attributes: ``group``, ``name``, ``key`` (the config key or code that asked),
    ``installed`` (names the group holds), ``closest`` (the nearest installed name or
    ``None``) and ``distribution`` (what to ``pip install``, when known).
    """

    def __init__(self, group: str, name: str, key: str | None, installed: list[str],
                 closest: str | None, distribution: str | None) -> None:
        self.group = group
        self.name = name
        self.key = key
        self.installed = installed
        self.closest = closest
        self.distribution = distribution
        info = GROUPS.get(group)
        what = info.what if info else "plugin"
        parts = [f"No {what} named {name!r} is installed (entry-point group {group!r})"]
        if key:
            parts[0] += f"; it was asked for by {key!r}"
        parts[0] += "."
        if closest:
            parts.append(f"Did you mean {closest!r}?")
        parts.append("Installed: " + (", ".join(sorted(installed)) if installed else "none") + ".")
        if distribution:
            parts.append(f"To use {name!r}, install it: pip install {distribution}")
        else:
            parts.append(
                f"To use {name!r}, install a distribution that registers it in the "
                f"{group!r} entry-point group."
            )
        super().__init__(" ".join(parts))

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicatePluginError(PluginError):
    """Two distributions register the same name in the same group."""


class InvalidPluginError(PluginError, TypeError):
    """An entry point loaded, but its object does not honour the group's contract."""


class PluginInfo(NamedTuple):
    """One installed entry point, without loading it."""

    group: str
    name: str
    value: str
    distribution: str
    version: str


class Registry:
    """Lazy, cached access to drupe's entry-point groups.

    ``load(group, name)`` imports the entry point the first time and returns the same
    object afterwards. ``register(group, name, obj)`` adds an in-process plugin (tests and
    applications use it to plug objects without packaging them). ``refresh()`` forgets
    what was scanned, for tests that put new distributions on ``sys.path``.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._scanned: dict[str, dict[str, list[Any]]] | None = None
        self._loaded: dict[tuple[str, str], Any] = {}
        self._local: dict[tuple[str, str], Any] = {}
        self._validators: dict[str, Any] = {}

    # -- scanning ---------------------------------------------------------------------

    def _scan(self) -> dict[str, dict[str, list[Any]]]:
        scanned = self._scanned
        if scanned is not None:
            return scanned
        with self._lock:
            if self._scanned is not None:
                return self._scanned
            from importlib.metadata import distributions

            result: dict[str, dict[str, list[Any]]] = {group: {} for group in GROUPS}
            seen: set[str] = set()
            for dist in distributions():
                # The same distribution can be found twice on sys.path; the first wins,
                # as in importlib.metadata.entry_points().
                key = getattr(dist, "_normalized_name", None) or (dist.metadata["Name"] or "")
                if key in seen:
                    continue
                seen.add(key)
                for entry_point in dist.entry_points:
                    group = entry_point.group
                    if group.startswith("drupe."):
                        result.setdefault(group, {}).setdefault(entry_point.name, []).append(entry_point)
            self._scanned = result
            return result

    def refresh(self) -> None:
        """Forget scanned entry points and loaded objects (in-process registrations stay)."""
        with self._lock:
            self._scanned = None
            self._loaded.clear()

    def set_validator(self, group: str, validator: Any) -> None:
        """Check every object loaded from ``group`` with ``validator(obj) -> str | None``.

        A non-empty string is an error message; the loader raises
        :class:`InvalidPluginError` naming the plugin, its distribution and version.
        """
        self._validators[group] = validator

    # -- queries ----------------------------------------------------------------------

    def names(self, group: str) -> list[str]:
        """Every name registered in ``group`` (installed or in-process), sorted."""
        names = set(self._scan().get(group, {}))
        names.update(name for (grp, name) in self._local if grp == group)
        return sorted(names)

    def has(self, group: str, name: str) -> bool:
        """True when ``name`` is registered in ``group`` (nothing is imported)."""
        return (group, name) in self._local or name in self._scan().get(group, {})

    def info(self, group: str) -> list[PluginInfo]:
        """Describe every entry point of ``group`` without loading any."""
        result: list[PluginInfo] = []
        for name, eps in sorted(self._scan().get(group, {}).items()):
            for entry_point in eps:
                dist = getattr(entry_point, "dist", None)
                result.append(PluginInfo(
                    group, name, entry_point.value,
                    dist.metadata["Name"] if dist is not None else "?",
                    dist.version if dist is not None else "?",
                ))
        for (grp, name), obj in sorted(self._local.items(), key=lambda item: item[0]):
            if grp == group:
                module = getattr(obj, "__module__", None) or type(obj).__module__
                result.append(PluginInfo(group, name, f"{module} (registered in-process)",
                                         "(in-process)", "-"))
        return result

    def distribution(self, group: str, name: str) -> tuple[str, str] | None:
        """``(distribution, version)`` of the entry point ``group``/``name``, if installed."""
        eps = self._scan().get(group, {}).get(name)
        if not eps:
            return None
        dist = getattr(eps[0], "dist", None)
        if dist is None:
            return None
        return dist.metadata["Name"], dist.version

    def check_duplicates(self) -> None:
        """Raise :class:`DuplicatePluginError` if any name is registered twice."""
        for group, names in self._scan().items():
            if group == "drupe.compat":
                continue
            for name, eps in names.items():
                if len(eps) > 1:
                    raise self._duplicate(group, name, eps)

    def _duplicate(self, group: str, name: str, eps: list[Any]) -> DuplicatePluginError:
        owners = []
        for entry_point in eps:
            dist = getattr(entry_point, "dist", None)
            label = f"{dist.metadata['Name']} {dist.version}" if dist is not None else "?"
            owners.append(f"{label} ({entry_point.value})")
        return DuplicatePluginError(
            f"{name!r} is registered twice in the {group!r} entry-point group: by "
            + " and by ".join(owners)
            + ". Uninstall one of them."
        )

    # -- loading ----------------------------------------------------------------------

    def register(self, group: str, name: str, obj: Any) -> None:
        """Register ``obj`` as ``name`` in ``group`` for this process only."""
        with self._lock:
            self._local[(group, name)] = obj
            self._loaded.pop((group, name), None)

    def unregister(self, group: str, name: str) -> None:
        """Undo :meth:`register`."""
        with self._lock:
            self._local.pop((group, name), None)
            self._loaded.pop((group, name), None)

    def load(self, group: str, name: str, key: str | None = None) -> Any:
        """The object registered as ``name`` in ``group``; :class:`MissingPluginError` if none."""
        cache_key = (group, name)
        try:
            return self._loaded[cache_key]
        except KeyError:
            pass
        with self._lock:
            if cache_key in self._loaded:
                return self._loaded[cache_key]
            if cache_key in self._local:
                obj = self._local[cache_key]
                self._loaded[cache_key] = obj
                return obj
            eps = self._scan().get(group, {}).get(name)
            if not eps:
                raise self.missing(group, name, key)
            if len(eps) > 1 and group != "drupe.compat":
                raise self._duplicate(group, name, eps)
            entry_point = eps[0]
            dist = getattr(entry_point, "dist", None)
            label = (f"{dist.metadata['Name']} {dist.version}" if dist is not None
                     else "an unknown distribution")
            try:
                obj = entry_point.load()
            except Exception as exc:
                raise InvalidPluginError(
                    f"The {GROUPS[group].what if group in GROUPS else 'plugin'} {name!r} "
                    f"({entry_point.value}, from {label}) failed to load: {exc!r}"
                ) from exc
            validator = self._validators.get(group)
            if validator is not None:
                problem = validator(obj)
                if problem:
                    raise InvalidPluginError(
                        f"The entry point {name!r} in {group!r} ({entry_point.value}, from "
                        f"{label}) is not a valid {GROUPS[group].what}: {problem}"
                    )
            self._loaded[cache_key] = obj
            return obj

    def load_all(self, group: str, name: str) -> list[Any]:
        """Every object registered as ``name`` in ``group`` (for ``drupe.compat``)."""
        with self._lock:
            result = []
            if (group, name) in self._local:
                result.append(self._local[(group, name)])
            for entry_point in self._scan().get(group, {}).get(name, []):
                result.append(entry_point.load())
            return result

    def missing(self, group: str, name: str, key: str | None = None) -> MissingPluginError:
        """Build the error for a name that ``group`` does not hold."""
        import difflib

        installed = self.names(group)
        matches = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
        closest = matches[0] if matches else None
        distribution = KNOWN_DISTRIBUTIONS.get((group, name))
        return MissingPluginError(group, name, key, installed, closest, distribution)


registry = Registry()


def installed_plugins() -> list[dict[str, Any]]:
    """One row per installed plugin: group, name, distribution, version, value (and tool info).

    Tools also get ``point`` and ``priority`` (loading a tool imports its module).
    """
    rows: list[dict[str, Any]] = []
    for group in GROUPS:
        for info in registry.info(group):
            row: dict[str, Any] = {
                "group": group,
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "value": info.value,
            }
            if group == "drupe.tools":
                try:
                    tool = registry.load(group, info.name)
                except PluginError as exc:
                    row["error"] = str(exc)
                else:
                    row["point"] = getattr(tool, "_point", None)
                    row["priority"] = getattr(tool, "priority", getattr(tool, "_priority", None))
            rows.append(row)
    return rows
