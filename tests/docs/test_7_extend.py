"""Chapter 7 "Extend": the bus and its plugins, tools, toolboxes, dispatchers, body
processors — every example, as documented.

The examples come from the documentation through ``seed``; what they leave to the reader
(a ``Cart``, a database class, a database session on the request) is defined by the test.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from docs_support import (
    assert_in_order,
    fetch,
    load,
    port_in_use,
    random_hex,
    run_fragment,
    wait_until,
)
from seed import as_drupe, indent_lines, section

import drupe
from drupe_testing import Client, LiveServer

# -- 7.1 Server-wide functions -------------------------------------------------------------


class Cart:
    """What the 7.1.1 applications call ``Cart``: the cart built from the posted data."""

    def __init__(self, data: str) -> None:
        self.data = data


class SQLiteDB:
    """The "fake class used as our database provider" (7.1.2)."""

    def __init__(self) -> None:
        self.saved: list[Any] = []

    def save(self, entity: Any) -> None:
        self.saved.append(entity)


def test_7_1_1_application_holding_the_database(tmp_path: Path) -> None:
    namespace = load(as_drupe(section("7.1.1").block(0)), tmp_path, "ecommerce")
    namespace["Cart"] = Cart
    database = SQLiteDB()
    drupe.tree.mount(namespace["ECommerce"](database), "/")
    response = Client(drupe.tree).get("/save_kart", params={"cart_data": "3 apples"})
    assert response.status == 200
    assert [cart.data for cart in database.saved] == ["3 apples"]


def test_7_1_1_application_publishing_on_the_bus(tmp_path: Path) -> None:
    namespace = load(as_drupe(section("7.1.1").block(1)), tmp_path, "ecommerce_bus")
    namespace["Cart"] = Cart
    received: list[Any] = []
    drupe.engine.subscribe("db-save", received.append)
    drupe.tree.mount(namespace["ECommerce"](), "/")
    Client(drupe.tree).get("/save_kart", params={"cart_data": "2 pears"})
    assert [cart.data for cart in received] == ["2 pears"]


def test_7_1_1_bus_api() -> None:
    # publish(channel, *args) calls every subscriber with the message; unsubscribe stops it.
    received: list[tuple[Any, ...]] = []

    def listener(*args: Any) -> str:
        received.append(args)
        return "handled"

    drupe.engine.subscribe("my-channel", listener)
    assert drupe.engine.publish("my-channel", 1, "two") == ["handled"]
    drupe.engine.unsubscribe("my-channel", listener)
    assert drupe.engine.publish("my-channel", 3) == []
    assert received == [(1, "two")]


CHANNELS = ["start", "main", "stop", "graceful", "exit", "before_request", "after_request",
            "acquire_thread", "start_thread", "stop_thread", "release_thread"]


@pytest.mark.usefixtures("requires_http_server")
def test_7_1_1_built_in_channels() -> None:
    # Every channel the documentation lists, in its own words.
    prose = section("7.1.1").prose
    for channel in CHANNELS:
        assert f"“**{channel.replace('_', chr(92) + '_')}**”" in prose, channel

    published: list[str] = []
    for channel in CHANNELS:
        drupe.engine.subscribe(channel, lambda *args, channel=channel: published.append(channel))
    drupe.config.update({"log.screen": False, "engine.autoreload.on": False,
                         "server.socket_port": 0})
    drupe.tree.mount(PlainRoot())
    drupe.engine.start()
    try:
        port = drupe.server.bound_addr[1]
        assert fetch(port, "/")[2] == b"plain"
        drupe.engine.graceful()
    finally:
        # "main": published periodically by the engine's main loop, engine.block().
        def exit_once_main_ran() -> None:
            wait_until(lambda: "main" in published, message="the main channel")
            drupe.engine.exit()

        exiting = threading.Thread(target=exit_once_main_ran)
        exiting.start()
        drupe.engine.block(interval=0.01)
        exiting.join(10)
    for channel in ("start", "main", "stop", "graceful", "exit", "before_request",
                    "after_request", "acquire_thread", "start_thread", "stop_thread"):
        assert channel in published, channel
    assert published.index("start") < published.index("before_request")
    assert published.index("after_request") < published.index("graceful")
    # (The main loop may publish "main" once more while it notices the exit.)
    assert [channel for channel in published if channel != "main"][-1] == "exit"
    # The thread manager (drupe-process) listens for threads being released.
    assert drupe.engine.listeners["release_thread"]


@pytest.fixture
def database_plugin(tmp_path: Path) -> dict[str, Any]:
    """The 7.1.2 plugin module and a bus-publishing shop (7.1.1) to feed it."""
    plugin = load(as_drupe(section("7.1.2").block(0)), tmp_path, "dbplugin")
    shop = load(as_drupe(section("7.1.1").block(1)), tmp_path, "shop")
    shop["Cart"] = Cart
    drupe.tree.mount(shop["ECommerce"](), "/")
    return plugin


@pytest.mark.usefixtures("requires_http_server")
def test_7_1_2_database_plugin(database_plugin: dict[str, Any],
                               caplog: pytest.LogCaptureFixture) -> None:
    # The fragment creates and subscribes the plugin without keeping it: find it on the bus.
    run_fragment(section("7.1.2").block(1),
                 DatabasePlugin=database_plugin["DatabasePlugin"], SQLiteDB=SQLiteDB)
    plugins = [listener.__self__ for listener in drupe.engine.listeners["start"]
               if isinstance(getattr(listener, "__self__", None),
                             database_plugin["DatabasePlugin"])]
    assert len(plugins) == 1
    plugin = plugins[0]
    with caplog.at_level(logging.INFO, logger="cherrypy.error"), LiveServer() as server:
        assert "Starting up DB access" in caplog.text
        server.get("/save_kart?cart_data=one+melon")
        assert [cart.data for cart in plugin.db.saved] == ["one melon"]
    assert "Stopping down DB access" in caplog.text
    # Stopped, the plugin no longer listens on db-save.
    assert drupe.engine.publish("db-save", Cart("late")) == []


@pytest.mark.usefixtures("requires_http_server")
def test_7_1_2_disable_a_plugin(database_plugin: dict[str, Any],
                                caplog: pytest.LogCaptureFixture) -> None:
    someplugin = database_plugin["DatabasePlugin"](drupe.engine, SQLiteDB)
    someplugin.subscribe()
    run_fragment(section("7.1.2").block(2), someplugin=someplugin)
    with caplog.at_level(logging.INFO, logger="cherrypy.error"), LiveServer() as server:
        server.get("/save_kart?cart_data=ignored")
    assert "Starting up DB access" not in caplog.text
    assert someplugin.db.saved == []


def documented_engine_lines(block: str) -> list[str]:
    return [line.split("] ", 1)[1] for line in block.splitlines() if "] ENGINE " in line]


@pytest.mark.slow
def test_7_1_2_default_application_output(serve) -> None:
    part = section("7.1.2")
    served = serve(as_drupe(part.block(4)), port=8080)
    assert_in_order(served.output(), documented_engine_lines(part.block(5)))
    assert served.get("/")[2] == b"hello world"
    served.stop()


@pytest.mark.slow
def test_7_1_2_server_unsubscribe(serve) -> None:
    part = section("7.1.2")
    assert part.block(3) in part.block(6)  # the fragment, in the program that shows it
    served = serve(as_drupe(part.block(6)), port=None)
    output = served.output()
    assert_in_order(output, documented_engine_lines(part.block(7)))
    # "As you can see, the server is not started. The missing:"
    (missing,) = documented_engine_lines(part.block(8))
    assert missing.startswith("ENGINE Serving on")
    assert "Serving on" not in output
    assert not port_in_use(8080)
    served.stop()


# -- 7.2 Per-request functions -------------------------------------------------------------


def test_7_2_1_hook_points_in_order() -> None:
    # The eight hook points the documentation lists, run in that order: a failing handler
    # runs the error-response ones, and every request ends with on_end_request.
    order: list[str] = []
    points = ["on_start_resource", "before_request_body", "before_handler", "before_finalize",
              "on_end_resource", "before_error_response", "after_error_response",
              "on_end_request"]
    listed = re.findall(r"\*\*“([a-z_\\]+)”\*\*", section("7.2.1").prose)
    assert [name.replace("\\", "") for name in listed] == points

    class Root:
        @drupe.expose
        def index(self):
            order.append("handler")
            return "ok"

        @drupe.expose
        def fail(self):
            order.append("handler")
            raise ValueError("the handler failed")

        @drupe.expose
        def refuse(self):
            order.append("handler")
            raise drupe.HTTPError(418)

    config = {f"hooks.{point}": (lambda point=point: order.append(point)) for point in points}
    drupe.tree.mount(Root(), "", {"/": {**config, "request.show_tracebacks": False}})
    client = Client(drupe.tree)
    client.get("/")
    assert order == ["on_start_resource", "before_request_body", "before_handler", "handler",
                     "before_finalize", "on_end_resource", "on_end_request"]
    order.clear()
    assert client.get("/fail").status == 500
    assert order == ["on_start_resource", "before_request_body", "before_handler", "handler",
                     "on_end_resource", "before_error_response", "after_error_response",
                     "on_end_request"]
    # An HTTPError is a response the handler chose, not an error in processing (as in
    # CherryPy): it is finalized like any other.
    order.clear()
    assert client.get("/refuse").status == 418
    assert order == ["on_start_resource", "before_request_body", "before_handler", "handler",
                     "before_finalize", "on_end_resource", "on_end_request"]


def test_7_2_2_register_decorator(capsys: pytest.CaptureFixture[str]) -> None:
    part = section("7.2.2")
    namespace = run_fragment(part.block(0))
    assert isinstance(drupe.tools.logit, drupe.Tool)
    root = run_fragment(part.block(2), namespace=namespace)["Root"]
    drupe.tree.mount(root())
    capsys.readouterr()
    response = Client(drupe.tree, remote_addr="10.1.2.3").get("/")
    assert response.text == "hello world"
    assert capsys.readouterr().out.splitlines()[0] == "10.1.2.3"


def test_7_2_2_tool_created_manually(capsys: pytest.CaptureFixture[str]) -> None:
    part = section("7.2.2")
    # The function the decorator registered: register() gives it back unchanged.
    logit = run_fragment(part.block(0))["logit"]
    del drupe.tools.logit
    namespace = run_fragment(part.block(1), logit=logit)
    assert drupe.tools.logit.callable is logit
    root = run_fragment(part.block(2), namespace=namespace)["Root"]
    drupe.tree.mount(root())
    # The tool's name (not the function's) is what config uses.
    drupe.tree.mount(PlainRoot(), "/configured", {"/": {"tools.logit.on": True}})
    client = Client(drupe.tree, remote_addr="10.9.8.7")
    capsys.readouterr()
    client.get("/")
    client.get("/configured/")
    printed = [line for line in capsys.readouterr().out.splitlines() if line == "10.9.8.7"]
    assert len(printed) == 2


class PlainRoot:
    @drupe.expose
    def index(self):
        return "plain"


def repaired_7_2_2_timing_usage() -> str:
    """The page break after ``@cherrypy.tools.timeit()`` prints ``def index`` and its body
    without their indentation; they go back into ``Root``."""
    code = section("7.2.2").code(4, 5)
    return indent_lines(code, "def index(self):", None, 4)


def test_7_2_2_stateful_tool(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    namespace = load(as_drupe(section("7.2.2").block(3)), tmp_path, "timing")
    assert isinstance(drupe.tools.timeit, namespace["TimingTool"])
    root = run_fragment(repaired_7_2_2_timing_usage(), namespace=namespace)["Root"]
    drupe.tree.mount(root())
    with caplog.at_level(logging.INFO, logger="cherrypy.error"):
        assert Client(drupe.tree).get("/").text == "hello world"
    assert re.search(r"Page handler took \d+\.\d{4}$", caplog.text, re.M), caplog.text


def test_7_2_2_tools_ordering() -> None:
    # Lower priority values run first; equal priorities run in the order configured.
    order: list[str] = []
    for name, priority in (("third", 70), ("first", 10), ("second_a", 50), ("second_b", 50)):
        setattr(drupe.tools, name,
                drupe.Tool("before_handler", (lambda name=name: order.append(name)),
                           priority=priority))
    drupe.tree.mount(PlainRoot(), "", {"/": {
        "tools.third.on": True, "tools.first.on": True,
        "tools.second_a.on": True, "tools.second_b.on": True}})
    Client(drupe.tree).get("/")
    assert order == ["first", "second_a", "second_b", "third"]


@pytest.fixture
def newauth_root(tmp_path: Path) -> dict[str, Any]:
    part = section("7.2.2")
    toolbox = load(as_drupe(part.block(6)), tmp_path, "newauth")
    application = load(as_drupe(part.block(7)), tmp_path, "newauth_app")
    return {"toolbox": toolbox["newauthtools"], "app": application["app"]}


def test_7_2_2_toolbox(newauth_root: dict[str, Any]) -> None:
    app = newauth_root["app"]
    client = Client(drupe.tree)
    # Where newauth.check_access is not on, the handler answers.
    assert client.get("/").text == "Hello"
    # At /demo the tool runs (before the request body) and lets the request through:
    # "default" is True and the request has no userid. The handler then answers 404, as
    # in CherryPy: the example's default() takes no arguments, and /demo is one.
    assert client.get("/demo").status == 404
    # The same tool with default False refuses the request: the tool really runs there.
    app.merge({"/demo": {"newauth.check_access.default": False}})
    assert client.get("/demo").status == 401
    assert client.get("/").text == "Hello"


def test_7_2_2_toolbox_registered_with_the_app(newauth_root: dict[str, Any]) -> None:
    # "the additional step of registering your toolbox with your app"
    app = newauth_root["app"]
    app.toolboxes["newauth"] = newauth_root["toolbox"]
    app.merge({"/demo": {"newauth.check_access.default": False}})
    assert Client(drupe.tree).get("/demo").status == 401


class User:
    def __init__(self, name: str) -> None:
        self.name = name


class UserDatabase:
    """The "db session attached to the request somehow" of 7.2.3."""

    users = {42: User("Ann")}

    def get(self, user_id: int) -> User:
        return self.users[user_id]


def attach_database() -> None:
    drupe.request.db = UserDatabase()


def test_7_2_3_request_parameters_manipulation(tmp_path: Path) -> None:
    namespace = load(as_drupe(section("7.2.3").block(0)), tmp_path, "users")
    assert isinstance(drupe.tools.user, namespace["UserManager"])
    drupe.tree.mount(namespace["Root"](), "", {"/": {"hooks.on_start_resource": attach_database}})
    assert Client(drupe.tree).get("/", params={"user_id": "42"}).text == "hello Ann"


# -- 7.3 Tailored dispatchers --------------------------------------------------------------


def repaired_7_3() -> str:
    """A page break falls after ``@cherrypy.expose`` in ``StringGenerator``; the next page
    prints ``generate`` and its body without their indentation. They go back into the
    class."""
    code = section("7.3").code(0, 1)
    return indent_lines(code, "def generate(self, length=8):", "return ''.join(", 4)


@pytest.mark.slow
def test_7_3_force_lower_dispatcher(serve) -> None:
    served = serve(as_drupe(repaired_7_3()))
    for path in ("/generate?length=8", "/GENerAte?length=8"):
        status, _, body = served.get(path)
        assert status == 200, path
        assert random_hex(body.decode(), 8)
    served.stop()


def test_7_3_without_the_dispatcher(tmp_path: Path) -> None:
    # "Without our home-made dispatcher, the second one would fail and return a 404 error"
    namespace = load(as_drupe(repaired_7_3()), tmp_path, "lower")
    drupe.tree.mount(namespace["StringGenerator"]())
    client = Client(drupe.tree)
    assert client.get("/generate?length=8").status == 200
    assert client.get("/GENerAte?length=8").status == 404


# -- 7.4 Request body processors -----------------------------------------------------------


def test_7_4_request_body_processors() -> None:
    # 7.4 has no example; it says bodies are handled by processors chosen by media type,
    # as in the cherrypy._cpreqbody module. The standard ones fill the handler's
    # parameters; an application adds its own processor for another media type.
    def process_json(entity: Any) -> None:
        body = json.loads(entity.fp.read().decode("utf-8"))
        drupe.request.params.update(body)

    def add_json_processor() -> None:
        drupe.request.body.processors["application/json"] = process_json

    class Root:
        @drupe.expose
        def echo(self, **params: Any):
            return repr(sorted(params.items()))

    drupe.tree.mount(Root(), "", {"/": {"hooks.before_request_body": add_json_processor}})
    client = Client(drupe.tree)
    assert client.post("/echo", data={"a": "1", "b": "2"}).text == "[('a', '1'), ('b', '2')]"
    multipart = (b"--XyZ\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\n3\r\n"
                 b"--XyZ--\r\n")
    response = client.post("/echo", body=multipart,
                           headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert response.text == "[('c', '3')]"
    assert client.post("/echo", json={"d": 4}).text == "[('d', 4)]"
    assert drupe._cpreqbody.process_urlencoded is drupe._cpreqbody.default_processors[
        "application/x-www-form-urlencoded"]
