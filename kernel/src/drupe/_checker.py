"""Startup checks: config errors stop the engine; the checker warns about the rest.

When the engine starts (before any server, ``start`` priority 10), :func:`validate`
checks the global config and every mounted application's config: each key's namespace
must have a handler, each tool must be installed and take the arguments it is given,
``request.*`` / ``response.*`` keys must name real attributes, and each application's
dispatcher must resolve. ``_cp_config`` dicts found on the object tree are checked too.
All problems are reported together, each naming its key; the engine does not start.
The same validation backs ``drupe check CONFIG``. It does not depend on ``checker.on``:
a misspelled tool is an error in every environment.

:class:`Checker` (``drupe.checker``, ``start`` priority 50) then logs advice that is not
an error: an application with an empty config, config sections that repeat the mount
point, site-wide namespaces in application config, ``localhost`` as socket host. It is
off in the production environment; ``checker.<check_name> = False`` turns one check off.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from drupe._config import config as global_config
from drupe._config import iter_sections
from drupe._errors import ConfigError
from drupe._registry import PluginError

__all__ = ["Checker", "checker", "validate"]

_GLOBAL_ONLY = frozenset({"engine", "server", "checker", "tree"})


def _walk_cp_configs(root: Any, max_depth: int = 8) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield ``(where, _cp_config)`` for the root object and exposed objects below it."""
    seen: set[int] = set()
    stack: list[tuple[Any, str, int]] = [(root, "root", 0)]
    while stack:
        node, where, depth = stack.pop()
        if id(node) in seen or depth > max_depth:
            continue
        seen.add(id(node))
        cp_config = getattr(node, "_cp_config", None)
        if isinstance(cp_config, Mapping):
            yield where, cp_config
        if isinstance(node, (str, bytes, int, float, bool, type(None))):
            continue
        names: dict[str, Any] = {}
        for holder in (type(node), node):
            try:
                names.update(vars(holder))
            except TypeError:
                continue
        for name, value in names.items():
            if name.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if getattr(value, "exposed", False) or hasattr(value, "_cp_config"):
                stack.append((value, f"{where}.{name}", depth + 1))
            elif not callable(value) and hasattr(value, "__dict__") and not isinstance(value, type):
                # Plain attributes holding sub-objects: the next level of the tree.
                stack.append((value, f"{where}.{name}", depth + 1))


def _check_mapping(config: Mapping[str, Any], app: Any, where: str, problems: list[str]) -> None:
    from drupe._plan import Plan, classify

    request_class = getattr(app, "request_class", None)
    if request_class is None:
        from drupe._request import Request

        request_class = Request
    # One key at a time, so that every bad key is reported, not just the first.
    for key, value in config.items():
        try:
            classify({key: value}, app, request_class, Plan())
        except (ConfigError, PluginError) as exc:
            problem = f"{where}: {exc}"
            if problem not in problems:
                problems.append(problem)


def problems_for(app: Any = None, script_name: str = "") -> list[str]:
    """Every config error of the global config and of ``app`` (without raising)."""
    problems: list[str] = []
    _check_mapping(global_config, app, "global config", problems)
    if app is None:
        return problems
    label = f"application mounted at {script_name or '/'!r}"
    for section, values in iter_sections(app.config):
        _check_mapping(values, app, f"{label}, section [{section}]", problems)
    try:
        app._scan_config()
        for section, values in iter_sections(app.config):
            if "request.dispatch" in values and section != "/":
                app._make_dispatcher(values["request.dispatch"], "request.dispatch")
    except (ConfigError, PluginError) as exc:
        problems.append(f"{label}: {exc}")
    if app.root is not None:
        for where, cp_config in _walk_cp_configs(app.root):
            _check_mapping(cp_config, app, f"{label}, _cp_config of {where}", problems)
    return problems


def validate() -> None:
    """Raise ``ConfigError`` listing every config error of the mounted applications."""
    from drupe._registry import registry
    from drupe._tree import Application, current

    tree = current()
    registry.check_duplicates()
    problems: list[str] = []
    if not tree.apps:
        problems.extend(problems_for())
    for script_name, app in list(tree.apps.items()):
        if isinstance(app, Application):
            for problem in problems_for(app, script_name):
                if problem not in problems:
                    problems.append(problem)
    if problems:
        raise ConfigError("Invalid configuration:\n  - " + "\n  - ".join(problems))


validate.priority = 10  # type: ignore[attr-defined]


class Checker:
    """Advice logged at engine start (see the module docstring)."""

    on = True

    def __call__(self) -> None:
        if not self.on:
            return
        for name in sorted(dir(self)):
            if name.startswith("check_"):
                method = getattr(self, name)
                if callable(method):
                    method()

    def _warn(self, message: str) -> None:
        from drupe._log import log

        log(message, "CHECKER", severity=30)

    def _apps(self) -> Iterator[tuple[str, Any]]:
        from drupe._tree import Application, current

        for script_name, app in current().apps.items():
            if isinstance(app, Application):
                yield script_name, app

    def check_app_config_entries_dont_start_with_script_name(self) -> None:
        for script_name, app in self._apps():
            if not script_name:
                continue
            for section in app.config:
                if not isinstance(section, str):
                    continue
                if section == script_name or section.startswith(script_name + "/"):
                    self._warn(
                        f"The application mounted at {script_name!r} has config section "
                        f"[{section}], which starts with its mount point. Application config "
                        "is relative to the mount point: did you mean "
                        f"[{section[len(script_name):] or '/'}]?"
                    )

    def check_site_config_entries_in_app_config(self) -> None:
        for script_name, app in self._apps():
            for section, values in iter_sections(app.config):
                for key in values:
                    if isinstance(key, str) and key.split(".", 1)[0] in _GLOBAL_ONLY:
                        self._warn(
                            f"The application mounted at {script_name!r} has {key!r} in "
                            f"section [{section}]; that namespace is only read from the "
                            "global config (drupe.config.update)."
                        )

    def check_skipped_app_config(self) -> None:
        for script_name, app in self._apps():
            if not app.config:
                self._warn(f"The Application mounted at {script_name!r} has an empty config.")

    def check_app_config_brackets(self) -> None:
        for script_name, app in self._apps():
            for section in app.config:
                if isinstance(section, str) and section.startswith("[") and section.endswith("]"):
                    self._warn(
                        f"The application mounted at {script_name!r} has config section "
                        f"{section!r}: remove the brackets (sections are dict keys like '/path')."
                    )

    def check_localhost(self) -> None:
        from drupe._server import server

        if server.socket_host == "localhost":
            self._warn(
                "server.socket_host is 'localhost': it may resolve to IPv6 (::1) only on some "
                "systems. Use '127.0.0.1' for IPv4 or '::1' for IPv6."
            )


checker = Checker()
checker.priority = 50  # type: ignore[attr-defined]


def _checker_namespace_handler(key: str, value: Any) -> None:
    if key != "on" and not hasattr(checker, key):
        raise ConfigError(f"Config key 'checker.{key}': the checker has no check {key!r}.")
    if key.startswith("check_") and not value:
        setattr(checker, key, lambda: None)
    else:
        setattr(checker, key, value)
