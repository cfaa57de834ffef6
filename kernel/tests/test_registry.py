"""The plugin registry: entry points found on sys.path, loaded lazily, validated."""

from __future__ import annotations

import sys

import pytest
from kernel_support import FakeDistributions, call, mount, unused_module_name

import drupe
from drupe._registry import GROUPS, registry

TOOL_MODULE = """
import drupe

def say_hello(greeting="hello"):
    drupe.response.headers["X-Greeting"] = greeting

hello = drupe.Tool("before_handler", say_hello)
"""


class Root:
    @drupe.expose
    def index(self) -> str:
        return "root"

    class sub:
        exposed = True

        @drupe.expose
        def index(self) -> str:
            return "sub"

    sub = sub()  # type: ignore[misc, assignment]


def add_tool_dist(fake_dists: FakeDistributions, tool_name: str, dist: str = "acme-tools",
                  version: str = "1.0", source: str = TOOL_MODULE, attr: str = "hello") -> str:
    module = unused_module_name(dist.replace("-", "_") + "_")
    fake_dists.add(dist, {"drupe.tools": {tool_name: f"{module}:{attr}"}},
                   {module: source}, version=version)
    return module


def ensure_gzip_tool(fake_dists: FakeDistributions) -> None:
    """Make a tool named 'gzip' installed (a fake one unless the real plugin is there)."""
    if not registry.has("drupe.tools", "gzip"):
        add_tool_dist(fake_dists, "gzip", dist="fake-gzip")


# ---------------------------------------------------------------------------
# Scanning and lazy loading


def test_every_group_is_documented() -> None:
    assert set(GROUPS) == {"drupe.tools", "drupe.toolboxes", "drupe.dispatchers",
                           "drupe.sessions", "drupe.servers", "drupe.engine",
                           "drupe.plugins", "drupe.compat"}
    import drupe._registry as module

    for group in GROUPS:
        assert f"``{group}``" in (module.__doc__ or "")


def test_installed_dispatcher_is_found_without_loading() -> None:
    assert registry.has("drupe.dispatchers", "default")
    assert "default" in registry.names("drupe.dispatchers")
    dist = registry.distribution("drupe.dispatchers", "default")
    assert dist is not None
    assert dist[0] == "drupe-dispatch-objecttree"


def test_a_fake_distribution_is_seen_after_refresh(fake_dists: FakeDistributions) -> None:
    module = add_tool_dist(fake_dists, "hello", version="2.5")
    assert registry.has("drupe.tools", "hello")
    assert "hello" in registry.names("drupe.tools")
    assert registry.distribution("drupe.tools", "hello") == ("acme-tools", "2.5")
    (info,) = [i for i in registry.info("drupe.tools") if i.name == "hello"]
    assert info.value == f"{module}:hello"
    assert (info.distribution, info.version) == ("acme-tools", "2.5")
    # Scanning imported nothing.
    assert module not in sys.modules


def test_a_tool_module_is_imported_only_when_config_names_the_tool(
        fake_dists: FakeDistributions) -> None:
    module = add_tool_dist(fake_dists, "hello")
    mount(Root(), config={"/sub": {"tools.hello.on": True, "tools.hello.greeting": "hi"}})
    assert module not in sys.modules

    result = call(path="/")
    assert result.text == "root"
    assert result.header("X-Greeting") is None
    assert module not in sys.modules, "a request to another path loaded the tool"

    result = call(path="/sub/")
    assert result.text == "sub"
    assert result.header("X-Greeting") == "hi"
    assert module in sys.modules
    assert drupe.tools.hello is registry.load("drupe.tools", "hello")


def test_loading_is_cached(fake_dists: FakeDistributions) -> None:
    add_tool_dist(fake_dists, "hello")
    first = registry.load("drupe.tools", "hello")
    assert registry.load("drupe.tools", "hello") is first


def test_attribute_access_on_drupe_tools_loads_by_name(fake_dists: FakeDistributions) -> None:
    add_tool_dist(fake_dists, "hello")
    tool = drupe.tools.hello
    assert isinstance(tool, drupe.Tool)
    assert tool.name == "hello"
    assert tool.namespace == "tools"

    @drupe.tools.hello(greeting="decorated")
    def handler() -> str:
        return "x"

    assert handler._cp_config == {"tools.hello.on": True,  # type: ignore[attr-defined]
                                  "tools.hello.greeting": "decorated"}


def test_in_process_registration() -> None:
    tool = drupe.Tool("before_handler", lambda: None)
    registry.register("drupe.tools", "local_tool", tool)
    try:
        assert registry.has("drupe.tools", "local_tool")
        assert "local_tool" in registry.names("drupe.tools")
        assert registry.load("drupe.tools", "local_tool") is tool
        (info,) = [i for i in registry.info("drupe.tools") if i.name == "local_tool"]
        assert info.distribution == "(in-process)"
    finally:
        registry.unregister("drupe.tools", "local_tool")
    assert not registry.has("drupe.tools", "local_tool")


# ---------------------------------------------------------------------------
# Missing plugins


def test_missing_plugin_error_names_everything(fake_dists: FakeDistributions) -> None:
    ensure_gzip_tool(fake_dists)
    with pytest.raises(drupe.MissingPluginError) as info:
        registry.load("drupe.tools", "gzpi", key="tools.gzpi.on")
    error = info.value
    assert error.group == "drupe.tools"
    assert error.name == "gzpi"
    assert error.key == "tools.gzpi.on"
    assert "gzip" in error.installed
    assert error.closest == "gzip"
    message = str(error)
    assert "No tool named 'gzpi' is installed" in message
    assert "'tools.gzpi.on'" in message
    assert "Did you mean 'gzip'?" in message
    assert "Installed: " in message
    assert "gzip" in message.split("Installed: ")[1]
    # Also an AttributeError, so hasattr(drupe.tools, name) works.
    assert isinstance(error, AttributeError)
    assert not hasattr(drupe.tools, "gzpi")


def test_missing_known_plugin_says_which_distribution_to_install() -> None:
    if registry.has("drupe.tools", "json_in"):
        pytest.skip("drupe-tool-json is installed")
    with pytest.raises(drupe.MissingPluginError) as info:
        registry.load("drupe.tools", "json_in", key="tools.json_in.on")
    assert info.value.distribution == "drupe-tool-json"
    assert "pip install drupe-tool-json" in str(info.value)


def test_missing_unknown_plugin_says_which_group_to_register_in() -> None:
    with pytest.raises(drupe.MissingPluginError) as info:
        registry.load("drupe.sessions", "nowhere_backend", key="tools.sessions.storage_type")
    message = str(info.value)
    assert "No session backend named 'nowhere_backend'" in message
    assert "'drupe.sessions' entry-point group" in message
    assert "Installed: " in message


def test_misspelled_tool_in_app_config_fails_at_engine_start(
        fake_dists: FakeDistributions) -> None:
    ensure_gzip_tool(fake_dists)
    drupe.server.unsubscribe()
    mount(Root(), config={"/": {"tools.gzpi.on": True}})
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    message = str(info.value)
    assert "'tools.gzpi.on'" in message
    assert "Did you mean 'gzip'?" in message
    assert "Installed: " in message
    assert "section [/]" in message
    assert drupe.engine.state is drupe.states.STOPPED


def test_misspelled_tool_in_a_decorator_fails_at_engine_start(
        fake_dists: FakeDistributions) -> None:
    ensure_gzip_tool(fake_dists)
    drupe.server.unsubscribe()

    class App:
        @drupe.expose
        @drupe.config(**{"tools.gzpi.on": True})
        def index(self) -> str:
            return "x"

    mount(App())
    with pytest.raises(drupe.ConfigError, match=r"_cp_config of root\.index.*Did you mean 'gzip'"):
        drupe.engine.start()


def test_missing_dispatcher_names_the_config_key() -> None:
    app = drupe.Application(Root(), "", {"/": {"request.dispatch": "nosuchdispatcher"}})
    drupe.tree.mount(app)
    result = call(path="/")
    assert result.code == 500
    with pytest.raises(drupe.MissingPluginError) as info:
        app.dispatcher_for("/")
    assert info.value.key == "request.dispatch"
    assert "default" in info.value.installed


def test_drupe_dispatch_names_resolve_through_the_group() -> None:
    from drupe_dispatch_objecttree import Dispatcher

    assert drupe.dispatch.Dispatcher is Dispatcher
    if not registry.has("drupe.dispatchers", "method"):
        with pytest.raises(drupe.MissingPluginError, match="pip install drupe-dispatch-method"):
            drupe.dispatch.MethodDispatcher  # noqa: B018


# ---------------------------------------------------------------------------
# Duplicates and invalid plugins


def test_duplicate_names_across_distributions(fake_dists: FakeDistributions) -> None:
    add_tool_dist(fake_dists, "twin", dist="first-dist", version="1.1")
    add_tool_dist(fake_dists, "twin", dist="second-dist", version="2.2")
    with pytest.raises(drupe.DuplicatePluginError) as info:
        registry.load("drupe.tools", "twin")
    message = str(info.value)
    assert "'twin' is registered twice in the 'drupe.tools' entry-point group" in message
    assert "first-dist 1.1" in message
    assert "second-dist 2.2" in message
    with pytest.raises(drupe.DuplicatePluginError, match="first-dist"):
        registry.check_duplicates()


def test_duplicates_stop_the_engine_from_starting(fake_dists: FakeDistributions) -> None:
    add_tool_dist(fake_dists, "twin", dist="first-dist")
    add_tool_dist(fake_dists, "twin", dist="second-dist")
    drupe.server.unsubscribe()
    mount(Root())
    with pytest.raises(drupe.DuplicatePluginError, match="second-dist"):
        drupe.engine.start()
    assert drupe.engine.state is drupe.states.STOPPED


def test_compat_names_may_come_from_several_distributions(fake_dists: FakeDistributions) -> None:
    first = unused_module_name("compat_a_")
    fake_dists.add("compat-a", {"drupe.compat": {"lib.xmlrpcutil": first}},
                   {first: "def probe_a():\n    return 'a'\n"})
    second = unused_module_name("compat_b_")
    fake_dists.add("compat-b", {"drupe.compat": {"lib.xmlrpcutil": second}},
                   {second: "def probe_b(body):\n    return 'b:' + body\n"})
    # Names no real provider of lib.xmlrpcutil (drupe-dispatch-xmlrpc) defines.
    from drupe.lib import xmlrpcutil

    registry.check_duplicates()  # the compat group may repeat names
    try:
        assert xmlrpcutil.probe_a() == "a"
        assert xmlrpcutil.probe_b("x") == "b:x"
        with pytest.raises(AttributeError, match="no attribute 'missing_name'"):
            xmlrpcutil.missing_name  # noqa: B018
    finally:
        for name in ("probe_a", "probe_b"):
            vars(xmlrpcutil).pop(name, None)


def test_compat_module_without_provider_says_what_to_install() -> None:
    from drupe._compat import MissingCompatError
    from drupe.lib import static

    if registry.names("drupe.compat") and registry.has("drupe.compat", "lib.static"):
        pytest.skip("drupe-tool-static is installed")
    with pytest.raises(MissingCompatError, match="pip install drupe-tool-static"):
        static.serve_file  # noqa: B018


def test_a_tool_entry_point_that_is_not_a_tool(fake_dists: FakeDistributions) -> None:
    add_tool_dist(fake_dists, "notatool", dist="broken-tools", version="0.3",
                  source="def notatool():\n    pass\n", attr="notatool")
    with pytest.raises(drupe.InvalidPluginError) as info:
        registry.load("drupe.tools", "notatool")
    message = str(info.value)
    assert "broken-tools 0.3" in message
    assert "'notatool'" in message
    assert "expected a drupe.Tool instance, got function" in message


def test_a_toolbox_entry_point_that_is_not_a_toolbox(fake_dists: FakeDistributions) -> None:
    module = unused_module_name("bad_box_")
    fake_dists.add("bad-box", {"drupe.toolboxes": {"badbox": f"{module}:box"}},
                   {module: "box = {'not': 'a toolbox'}\n"}, version="4.0")
    mount(Root(), config={"/": {"badbox.thing.on": True}})
    drupe.server.unsubscribe()
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    assert "bad-box 4.0" in str(info.value)
    assert "expected a drupe Toolbox instance, got dict" in str(info.value)


def test_an_entry_point_that_fails_to_import(fake_dists: FakeDistributions) -> None:
    add_tool_dist(fake_dists, "crashy", dist="crashy-dist", version="9.9",
                  source="raise RuntimeError('import-time failure')\n", attr="crashy")
    with pytest.raises(drupe.InvalidPluginError) as info:
        registry.load("drupe.tools", "crashy")
    assert "crashy-dist 9.9" in str(info.value)
    assert "failed to load" in str(info.value)
    assert "import-time failure" in str(info.value)


def test_plugin_errors_are_startup_errors() -> None:
    for cls in (drupe.MissingPluginError, drupe.DuplicatePluginError, drupe.InvalidPluginError):
        assert issubclass(cls, drupe.PluginError)
        assert cls.startup_error


# ---------------------------------------------------------------------------
# Third-party toolboxes, dispatchers and engine plugins


TOOLBOX_MODULE = """
import drupe

acme = drupe.Toolbox("acme")

@acme.register("before_handler")
def hello(name="world"):
    drupe.response.headers["X-Hello"] = name
"""


def test_a_third_party_toolbox_works_from_config_alone(fake_dists: FakeDistributions) -> None:
    module = unused_module_name("acme_box_")
    fake_dists.add("acme-toolbox", {"drupe.toolboxes": {"acme": f"{module}:acme"}},
                   {module: TOOLBOX_MODULE})
    mount(Root(), config={"/": {"acme.hello.on": True, "acme.hello.name": "drupe"}})
    assert module not in sys.modules
    result = call(path="/")
    assert result.text == "root"
    assert result.header("X-Hello") == "drupe"
    assert module in sys.modules


def test_a_toolbox_tool_misspelled_in_config(fake_dists: FakeDistributions) -> None:
    module = unused_module_name("acme_box_")
    fake_dists.add("acme-toolbox", {"drupe.toolboxes": {"acme": f"{module}:acme"}},
                   {module: TOOLBOX_MODULE})
    drupe.server.unsubscribe()
    mount(Root(), config={"/": {"acme.helo.on": True}})
    with pytest.raises(drupe.ConfigError) as info:
        drupe.engine.start()
    assert "'acme.helo.on'" in str(info.value)
    assert "Did you mean 'hello'?" in str(info.value)


DISPATCHER_MODULE = """
import drupe

class Upper:
    '''Dispatches everything to root.shout (a CherryPy-contract dispatcher).'''

    def __call__(self, path_info):
        request = drupe.serving.request
        request.config = dict(drupe.config)
        handler = request.app.root.shout
        request.handler = drupe.dispatch.LateParamPageHandler(handler, path_info.upper())
        request.is_index = False
"""


def test_a_dispatcher_from_a_distribution_by_name(fake_dists: FakeDistributions) -> None:
    module = unused_module_name("upper_dispatch_")
    fake_dists.add("upper-dispatch", {"drupe.dispatchers": {"upper": f"{module}:Upper"}},
                   {module: DISPATCHER_MODULE})

    class Shouter:
        @drupe.expose
        def shout(self, path: str) -> str:
            return path

    mount(Shouter(), config={"/": {"request.dispatch": "upper"}})
    assert call(path="/some/where").text == "/SOME/WHERE"
    assert drupe.dispatch.upper.__name__ == "Upper"


ENGINE_PLUGIN_MODULE = """
import drupe

class Heartbeat(drupe.SimplePlugin):
    interval = 1
    started = 0

    def start(self):
        type(self).started += 1
"""


def test_an_engine_plugin_by_attribute_and_config(fake_dists: FakeDistributions) -> None:
    module = unused_module_name("heartbeat_")
    fake_dists.add("heartbeat", {"drupe.engine": {"heartbeat": f"{module}:Heartbeat"}},
                   {module: ENGINE_PLUGIN_MODULE})
    engine = drupe.engine
    try:
        drupe.config.update({"engine.heartbeat.on": True, "engine.heartbeat.interval": 7})
        plugin = engine.heartbeat
        assert type(plugin).__name__ == "Heartbeat"
        assert engine.heartbeat is plugin
        assert plugin.interval == 7
        assert plugin.bus is engine
        drupe.server.unsubscribe()
        engine.start()
        assert type(plugin).started == 1
        engine.stop()
        drupe.config.update({"engine.heartbeat.on": False})
        engine.start()
        assert type(plugin).started == 1
        engine.stop()
        with pytest.raises(drupe.ConfigError, match="no attribute 'nope'"):
            drupe.config.update({"engine.heartbeat.nope": 1})
    finally:
        plugin = vars(engine).pop("heartbeat", None)
        if plugin is not None:
            plugin.unsubscribe()


def test_unknown_engine_plugin_in_config() -> None:
    with pytest.raises(drupe.MissingPluginError) as info:
        drupe.config.update({"engine.no_such_plugin.on": True})
    assert info.value.key == "engine.no_such_plugin.on"
    assert "engine plugin" in str(info.value)
