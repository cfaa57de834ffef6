"""Every pluggy hook drupe calls, grouped by phase.

Plugins implement these in a module registered in the ``drupe.plugins`` entry-point
group, decorating functions with ``drupe.hookimpl``::

    # pyproject.toml
    [project.entry-points."drupe.plugins"]
    acme = "acme_drupe.hooks"

    # acme_drupe/hooks.py
    import drupe

    @drupe.hookimpl
    def drupe_config_defaults():
        return {"tools.acme_headers.on": True}

pluggy carries boot, configuration, registration and observation, where order between
plugins does not matter. Request processing itself uses hook points with numeric
priorities (tools), not pluggy: the observation hooks below are bound into each request
plan once, and cost nothing when no plugin implements them.

Hooks are called with keyword arguments; an implementation may accept any subset of the
documented ones. None is ``firstresult`` unless its docstring says so.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("drupe")

# ---------------------------------------------------------------------------
# Boot: once per process, when drupe is first used (config update, mount, engine start or
# the first request) — never at import.


@hookspec
def drupe_config_defaults() -> dict[str, Any]:  # type: ignore[empty-body]
    """Return global config entries this plugin turns on by default.

    Called once at boot. Each returned entry is added to ``drupe.config.defaults`` and,
    unless the user already set that key, applied to the global config (its namespace
    handler runs). The standard tools use it to turn ``encode``, ``trailing_slash``,
    ``log_tracebacks`` and ``log_headers`` on, as CherryPy does; drupe-process uses it to
    subscribe the autoreloader, the timeout monitor and the thread manager.

    Returns a dict of config key -> value (may be empty).
    """


@hookspec
def drupe_environments() -> dict[str, dict[str, Any]]:  # type: ignore[empty-body]
    """Return entries to add to the named config environments.

    Called once at boot. The result maps an environment name (``production``,
    ``staging``, ``embedded``, ``test_suite`` or a new one) to config entries merged into
    ``drupe._cpconfig.environments[name]``. A plugin adds its own keys here, so that
    ``environment: 'production'`` never names a plugin that is not installed.

    Returns a dict of environment name -> dict of config entries.
    """


@hookspec
def drupe_body_processors() -> dict[str, Any]:  # type: ignore[empty-body]
    """Return request-body processors to register, by media type.

    Called once at boot. Each value is a callable taking the request body
    (``entity``) and filling ``entity.params`` or storing what it parsed, as the
    urlencoded and multipart processors do; it becomes the default processor for that
    media type in every request (``request.body.processors``). The JSON tool registers
    ``application/json`` this way.

    Returns a dict of media type (``"application/json"``) -> processor callable.
    """


@hookspec
def drupe_configure(config: Any) -> None:
    """Inspect or adjust the global config once the defaults are in place.

    Called once at boot, after ``drupe_config_defaults`` and ``drupe_environments`` were
    applied. ``config`` is ``drupe.config`` (a dict; call ``config.update`` to change it
    so namespace handlers run). The return value is ignored.
    """


# ---------------------------------------------------------------------------
# Registration


@hookspec
def drupe_app_mounted(app: Any) -> None:
    """An application was mounted on ``drupe.tree``.

    Called by ``tree.mount`` after the application's config was merged. ``app`` is the
    :class:`drupe.Application` (``app.root``, ``app.script_name``, ``app.config``). A
    plugin may add config to it (``app.merge``), register toolboxes
    (``app.toolboxes[ns] = ...``) or attach objects to ``app.root``. The return value is
    ignored.
    """


# ---------------------------------------------------------------------------
# Observation: bound into request plans, run on every request.


@hookspec
def drupe_request_started(request: Any, response: Any) -> None:
    """A request has been dispatched and is about to run its tools.

    Runs first at the ``on_start_resource`` hook point (priority 0, failsafe).
    ``request`` and ``response`` are the current :class:`drupe.Request` and
    :class:`drupe.Response`. Raising ``drupe.HTTPError`` answers the request with that
    error; other exceptions are logged and give a 500. The return value is ignored.
    """


@hookspec
def drupe_request_finished(request: Any, response: Any) -> None:
    """A request is over: its response was handed to the server.

    Runs last at the ``on_end_request`` hook point (priority 100, failsafe), even when
    the request failed. ``response.status`` and ``response.headers`` are final; the body
    may have been consumed. Exceptions are logged and do not affect the client. The return
    value is ignored.
    """
