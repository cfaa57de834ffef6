"""Every pluggy hook: documented, and exercised through a real plugin module.

Each hook is tested by a distribution written into ``tmp_path`` that registers a module in
the ``drupe.plugins`` entry-point group; ``drupe._boot.reboot()`` makes the next use of
drupe boot again and load it. :func:`test_every_hookspec_is_documented_and_tested` fails
when a spec has no docstring or no ``test_<spec name>`` function in this module.
"""

from __future__ import annotations

import inspect
import io
import sys
from collections.abc import Callable
from types import ModuleType

import pytest
from kernel_support import FakeDistributions, call, error_text, mount, unused_module_name

import drupe
from drupe import _boot, hookspecs
from drupe._registry import registry


def spec_names() -> list[str]:
    return sorted(
        name for name, value in vars(hookspecs).items()
        if name.startswith("drupe_") and callable(value) and hasattr(value, "drupe_spec")
    )


def test_every_hookspec_is_documented_and_tested() -> None:
    names = spec_names()
    assert len(names) >= 7
    for name in names:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 80, f"hookspec {name} has no real docstring"
        assert "return" in doc.lower(), f"hookspec {name} does not say what it returns"
        test = globals().get(f"test_{name}")
        assert callable(test), f"hookspec {name} has no test_{name} in {__name__}"
    # And nothing in hookspecs.py looks like a hook without being a spec.
    for name, value in vars(hookspecs).items():
        if name.startswith("drupe_") and callable(value):
            assert name in names


Installer = Callable[[str], ModuleType]


@pytest.fixture
def install_plugin(fake_dists: FakeDistributions, monkeypatch: pytest.MonkeyPatch) -> Installer:
    """Register source code as a ``drupe.plugins`` module, boot, and return the module.

    Autoload is on for these tests, but only for the fake distribution: hook modules of
    other installed distributions are hidden from the registry.
    """
    def install(source: str) -> ModuleType:
        module = unused_module_name("hook_plugin_")
        fake_dists.add("hook-plugin", {"drupe.plugins": {"hook_plugin": module}},
                       {module: source})
        enable_only_fake_plugins(monkeypatch)
        _boot.reboot()
        _boot.boot()
        assert module in sys.modules
        return sys.modules[module]

    return install


def enable_only_fake_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRUPE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    plugins = registry._scan()["drupe.plugins"]
    for name in list(plugins):
        if name != "hook_plugin":
            monkeypatch.delitem(plugins, name)


class Root:
    @drupe.expose
    def index(self) -> str:
        return "index"

    @drupe.expose
    def echo(self, **params: object) -> str:
        return repr(sorted(params.items()))

    @drupe.expose
    def fail(self) -> str:
        raise ValueError("handler failure")


def test_plugins_are_not_loaded_when_autoload_is_disabled(
        fake_dists: FakeDistributions, monkeypatch: pytest.MonkeyPatch) -> None:
    module = unused_module_name("hook_plugin_")
    fake_dists.add("hook-plugin", {"drupe.plugins": {"hook_plugin": module}},
                   {module: "raise RuntimeError('must not be imported')\n"})
    monkeypatch.setenv("DRUPE_DISABLE_PLUGIN_AUTOLOAD", "1")
    _boot.reboot()
    _boot.boot()
    assert module not in sys.modules
    assert _boot.get_plugin_manager().get_plugins() == set()


def test_hookimpl_marker_imports_pluggy_lazily() -> None:
    @drupe.hookimpl
    def drupe_configure(config: object) -> None:
        return None

    assert hasattr(drupe_configure, "drupe_impl")


# ---------------------------------------------------------------------------
# One test per hookspec


def test_drupe_config_defaults(install_plugin: Installer) -> None:
    plugin = install_plugin("""
        import drupe

        @drupe.hookimpl
        def drupe_config_defaults():
            return {"response.headers.X-Plugin": "default", "request.show_tracebacks": False}
    """)
    assert plugin is not None
    assert drupe.config["response.headers.X-Plugin"] == "default"
    assert drupe.config.defaults["request.show_tracebacks"] is False
    mount(Root())
    result = call(path="/")
    assert result.header("X-Plugin") == "default"
    # Defaults survive a reset...
    drupe.config.update({"response.headers.X-Plugin": "user"})
    drupe.reset()
    assert drupe.config["response.headers.X-Plugin"] == "default"


def test_drupe_config_defaults_do_not_override_user_settings(
        fake_dists: FakeDistributions, monkeypatch: pytest.MonkeyPatch) -> None:
    module = unused_module_name("hook_plugin_")
    fake_dists.add("hook-plugin", {"drupe.plugins": {"hook_plugin": module}}, {module: """
import drupe

@drupe.hookimpl
def drupe_config_defaults():
    return {"response.headers.X-Plugin": "default"}
"""})
    enable_only_fake_plugins(monkeypatch)
    _boot.reboot()
    drupe.config["response.headers.X-Plugin"] = "user"  # set before boot
    _boot.boot()
    assert drupe.config["response.headers.X-Plugin"] == "user"
    assert drupe.config.defaults["response.headers.X-Plugin"] == "default"


def test_drupe_environments(install_plugin: Installer) -> None:
    install_plugin("""
        import drupe

        @drupe.hookimpl
        def drupe_environments():
            return {
                "production": {"response.headers.X-Env": "production"},
                "lab": {"request.show_tracebacks": False, "response.headers.X-Env": "lab"},
            }
    """)
    environments = drupe._cpconfig.environments
    assert environments["production"]["response.headers.X-Env"] == "production"
    assert environments["production"]["log.screen"] is False  # the kernel's entries stay
    assert environments["lab"]["request.show_tracebacks"] is False
    drupe.config.update({"environment": "lab"})
    assert drupe.config["response.headers.X-Env"] == "lab"
    mount(Root())
    assert call(path="/").header("X-Env") == "lab"


def test_drupe_body_processors(install_plugin: Installer) -> None:
    install_plugin("""
        import drupe

        def shout(entity):
            entity.params["shouted"] = entity.fullvalue().upper()

        @drupe.hookimpl
        def drupe_body_processors():
            return {"text/x-shout": shout}
    """)
    mount(Root())
    result = call(path="/echo", method="POST", body=b"quiet words",
                  headers=[("Content-Type", "text/x-shout")])
    assert result.text == "[('shouted', 'QUIET WORDS')]"


def test_drupe_configure(install_plugin: Installer) -> None:
    plugin = install_plugin("""
        import drupe

        seen = []

        @drupe.hookimpl
        def drupe_config_defaults():
            return {"response.headers.X-Default": "1"}

        @drupe.hookimpl
        def drupe_configure(config):
            # Called after the defaults are in place, with the global config.
            seen.append((config is drupe.config, config.get("response.headers.X-Default")))
            config.update({"response.headers.X-Configured": "yes"})
    """)
    assert plugin.seen == [(True, "1")]
    assert drupe.config["response.headers.X-Configured"] == "yes"
    _boot.boot()  # booting again does nothing
    assert len(plugin.seen) == 1


def test_drupe_app_mounted(install_plugin: Installer) -> None:
    plugin = install_plugin("""
        import drupe

        mounted = []

        @drupe.hookimpl
        def drupe_app_mounted(app):
            mounted.append(app)
            app.merge({"/": {"response.headers.X-Mounted": app.script_name or "root"}})
    """)
    first = mount(Root(), "/first", {"/": {"request.show_tracebacks": True}})
    second = mount(Root())
    assert plugin.mounted == [first, second]
    # The application's own config was merged before the hook ran.
    assert first.config["/"]["request.show_tracebacks"] is True
    assert call(path="/first/").header("X-Mounted") == "/first"
    assert call(path="/").header("X-Mounted") == "root"


def test_drupe_request_started(install_plugin: Installer) -> None:
    plugin = install_plugin("""
        import drupe

        seen = []

        @drupe.hookimpl
        def drupe_request_started(request, response):
            seen.append((request.path_info, request.handler is not None, request.stage))
            response.headers["X-Started"] = request.path_info
            if request.path_info == "/echo" and "deny" in request.query_string:
                raise drupe.HTTPError(403, "denied by a plugin")
    """)
    mount(Root())
    result = call(path="/")
    assert result.text == "index"
    assert result.header("X-Started") == "/"
    assert plugin.seen == [("/", True, "on_start_resource")]

    denied = call(path="/echo?deny=1")
    assert denied.code == 403
    assert "denied by a plugin" in denied.text


def test_drupe_request_started_runs_before_other_start_hooks(install_plugin: Installer) -> None:
    plugin = install_plugin("""
        import drupe

        order = []

        @drupe.hookimpl
        def drupe_request_started():
            order.append("plugin")
    """)

    def first_tool_hook() -> None:
        plugin.order.append("hook")

    first_tool_hook.priority = 1  # type: ignore[attr-defined]
    mount(Root(), config={"/": {"hooks.on_start_resource": first_tool_hook}})
    call(path="/")
    assert plugin.order == ["plugin", "hook"]


def test_drupe_request_finished(install_plugin: Installer,
                                drupe_logs: pytest.LogCaptureFixture) -> None:
    plugin = install_plugin("""
        import drupe

        finished = []

        @drupe.hookimpl
        def drupe_request_finished(request, response):
            finished.append((request.path_info, response.status, request.stage))
            if request.path_info == "/echo":
                raise RuntimeError("observer failure")
    """)
    mount(Root())
    assert call(path="/").text == "index"
    assert call(path="/fail").code == 500
    result = call(path="/echo?a=1")
    assert result.code == 200  # the observer's failure does not reach the client
    assert result.text == "[('a', '1')]"
    assert plugin.finished == [("/", "200 OK", "on_end_request"),
                               ("/fail", "500 Internal Server Error", "on_end_request"),
                               ("/echo", "200 OK", "on_end_request")]
    assert "observer failure" in error_text(drupe_logs)


def test_drupe_request_finished_waits_for_the_streamed_body(install_plugin: Installer) -> None:
    plugin = install_plugin("""
        import drupe

        finished = []

        @drupe.hookimpl
        def drupe_request_finished(response):
            finished.append(response.status)
    """)

    class Streamer:
        @drupe.expose
        @drupe.config(**{"response.stream": True})
        def index(self) -> object:
            yield b"a"
            yield b"b"

    mount(Streamer())
    from kernel_support import make_environ

    captured: list[str] = []
    body = drupe.tree(make_environ("/"), lambda status, headers, exc=None: captured.append(status))
    assert next(iter(body)) == b"a"
    assert plugin.finished == []
    assert list(body) == [b"b"]
    body.close()  # type: ignore[attr-defined]
    assert plugin.finished == ["200 OK"]
    assert isinstance(io.BytesIO(), io.BytesIO)
