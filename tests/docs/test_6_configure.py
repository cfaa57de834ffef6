"""Chapter 6 "Configure": every example, and every namespace the chapter describes.

Config files are the documentation's own blocks, written to files; dicts are run as
extracted. What they configure (a ``Root``, ``root1``, ``myapp.my_hook_func``, ``orm``)
is defined by the test.
"""

from __future__ import annotations

import doctest
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docs_support import needs, run_fragment, wait_until
from seed import as_drupe, indent_lines, section

import drupe
from drupe_testing import Client

needs_method_dispatcher = needs("drupe.dispatchers", "method", "drupe-dispatch-method")
needs_trailing_slash = needs("drupe.tools", "trailing_slash", "drupe-tool-standard")
needs_encode = needs("drupe.tools", "encode", "drupe-tool-standard")


# -- 6.1 Architecture ----------------------------------------------------------------------


def test_6_1_1_global_config() -> None:
    run_fragment(section("6.1.1").block(0))
    # The interface and port the server will listen on (not started here: the address is
    # the documentation's, not one of this machine's).
    assert drupe.server.socket_host == "64.72.221.48"
    assert drupe.server.socket_port == 80
    assert drupe.config["server.socket_port"] == 80


@drupe.expose
class Resource:
    """What 6.1.2 configures: a resource for the MethodDispatcher (its verbs are methods)."""

    def GET(self):
        return "GET " + repr(drupe.request.config.get("tools.trailing_slash.on"))

    def POST(self, name="nobody"):
        return f"POST {name}"


def check_method_dispatching(client: Client, prefix: str = "") -> None:
    assert client.get(f"{prefix}/").text == "GET False"
    assert client.post(f"{prefix}/", data={"name": "Ann"}).text == "POST Ann"
    response = client.put(f"{prefix}/")
    assert response.status == 405
    assert {"GET", "POST"} <= {method.strip() for method in response.headers["Allow"].split(",")}


@needs_method_dispatcher
@needs_trailing_slash
def test_6_1_2_application_config_file(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text(section("6.1.2").block(0))
    app = drupe.tree.mount(Resource(), config="app.conf")
    assert isinstance(app.config["/"]["request.dispatch"], drupe.dispatch.MethodDispatcher)
    check_method_dispatching(Client(drupe.tree))


@needs_method_dispatcher
@needs_trailing_slash
def test_6_1_2_application_config_dict() -> None:
    namespace = run_fragment(section("6.1.2").block(1), Root=Resource)
    assert namespace["config"]["/"]["tools.trailing_slash.on"] is False
    check_method_dispatching(Client(drupe.tree))


class DatabaseSettings:
    @drupe.expose
    def index(self):
        return repr(sorted(drupe.request.app.config["Databases"].items()))

    @drupe.expose
    def path(self):
        return repr(drupe.response.timeout)


def test_6_1_2_own_sections_in_config_files(tmp_path: Path) -> None:
    (tmp_path / "site.conf").write_text(section("6.1.2").block(2))
    # The combined file feeds both the global config and the application (6.2.1).
    drupe.config.update("site.conf")
    assert drupe.server.socket_host == "0.0.0.0"
    app = drupe.tree.mount(DatabaseSettings(), "", "site.conf")
    client = Client(drupe.tree)
    # Sections not starting with "/" are the application's own data, read at request time.
    assert client.get("/").text == repr([("driver", "postgres"), ("host", "localhost"),
                                          ("port", 5432)])
    assert app.config["Databases"]["port"] == 5432
    assert client.get("/path").text == "6000"


# -- 6.2 Declaration -----------------------------------------------------------------------


class Pages:
    @drupe.expose
    def index(self):
        return "index"

    class path:
        class to:
            class my:
                @drupe.expose
                def page(self):
                    config = drupe.request.config
                    return repr((drupe.response.stream, config.get("tools.trailing_slash.extra")))

            my = my()

        to = to()

    path = path()


@needs_trailing_slash
def test_6_2_1_configuration_file(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text(section("6.2.1").block(0))
    drupe.tree.mount(Pages(), "", "app.conf")
    client = Client(drupe.tree)
    response = client.get("/path/to/my/page")
    assert response.status == 200
    assert response.text == "(True, False)"
    # The entries apply to that path only.
    assert client.get("/").text == "index"
    # extra = False: the trailing slash after a page handler is tolerated, not redirected.
    assert client.get("/path/to/my/page/").status == 200


# What the "separate configuration files" fragment mounts: three applications and their
# config.
THREE_APPLICATIONS = """\
import drupe as cherrypy


class Named:
    def __init__(self, name):
        self.name = name

    @cherrypy.expose
    def index(self):
        return self.name


root1, root2, root3 = Named("root"), Named("forum"), Named("blog")
appconf1 = {"/": {"response.headers.X-App": "one"}}
appconf2 = {"/": {"response.headers.X-App": "two"}}
appconf3 = {"/": {"response.headers.X-App": "three"}}

"""


@pytest.mark.slow
def test_6_2_1_separate_configuration_files(serve, tmp_path: Path) -> None:
    part = section("6.2.1")
    # The example is split by a page break after its first comment; the parts run in order.
    served = serve(THREE_APPLICATIONS + part.code(1, 2), started_line=None)
    site_log = tmp_path / "site.log"
    wait_until(lambda: site_log.exists() and "ENGINE Bus STARTED" in site_log.read_text(),
               message="the engine to start (in site.log)")
    for path, body, header in (("/", b"root", "one"), ("/forum/", b"forum", "two"),
                               ("/blog/", b"blog", "three")):
        status, headers, content = served.get(path)
        assert (status, content, headers["x-app"]) == (200, body, header)
    # production: nothing on the screen, no autoreloader.
    assert served.output() == ""
    # engine.start() and engine.block() without quickstart(): no signal handlers (5.6), so
    # Ctrl-C stops it.
    served.program.stop(signal.SIGINT)
    assert served.program.process.returncode == 0
    log = site_log.read_text()
    assert "ENGINE Serving on" in log
    assert "ENGINE Bus EXITED" in log
    assert "Autoreloader" not in log


@needs_method_dispatcher
@needs_trailing_slash
def test_6_2_1_values_in_config_files_use_python_syntax(tmp_path: Path) -> None:
    (tmp_path / "extended.conf").write_text(section("6.2.1").block(3))
    from drupe.lib import reprconf

    config = reprconf.as_dict("extended.conf")
    assert config["global"] == {"log.error_file": "/home/fumanchu/myapp.log",
                                "environment": "production",
                                "server.max_request_body_size": 1200}
    assert config["/myapp"]["tools.trailing_slash.on"] is False
    dispatcher = config["/myapp"]["request.dispatch"]
    assert isinstance(dispatcher, drupe.dispatch.MethodDispatcher)
    # The application part, mounted: /myapp dispatches by method.
    drupe.tree.mount(Resource(), "/myapp", {"/": config["/myapp"]})
    check_method_dispatching(Client(drupe.tree), "/myapp")


def test_6_2_2_config_files_key_values_by_url(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text(section("6.2.2").block(0))

    class Root:
        @drupe.expose
        def default(self, *path):
            return repr(drupe.request.config.get("methods_with_bodies"))

    drupe.tree.mount(Root(), "", "app.conf")
    client = Client(drupe.tree)
    # The entry belongs to its URL and to no other.
    assert client.get("/path/to/page").text == "('POST', 'PUT', 'PROPPATCH')"
    assert client.get("/elsewhere").text == "None"
    # Discrepancy with the documentation: the key as printed has no namespace, so, as in
    # CherryPy, it sets nothing on the request (``request.methods_with_bodies`` is the key
    # that does, as in the next example).


class BodyProbe:
    """Records, before each handler runs, whether the request body will be processed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def __call__(self) -> None:
        request = drupe.request
        self.seen.append((request.method, request.process_request_body))


def test_6_2_2_cp_config_on_a_page_handler() -> None:
    namespace = run_fragment(section("6.2.2").block(1))
    root = type("Root", (), {"page": namespace["page"]})
    probe = BodyProbe()
    drupe.tree.mount(root(), "", {"/": {"hooks.before_handler": probe}})
    client = Client(drupe.tree)
    response = client.request("PROPPATCH", "/page", body=b"<propertyupdate/>",
                              headers={"Content-Type": "text/xml"})
    assert response.text == "Hello, world!"
    assert client.request("PATCH", "/page", body=b"x").status == 200
    assert probe.seen == [("PROPPATCH", True), ("PATCH", False)]


def repaired_6_2_2_class() -> str:
    """The class example is split by a page break after the class's ``_cp_config``; the
    next page prints the ``page`` method without its indentation. It goes back into the
    class (the text says the config is attached "to a class which contains the page
    method").
    """
    code = section("6.2.2").code(2, 3)
    return indent_lines(code, "@cherrypy.expose", None, 4)


def test_6_2_2_cp_config_on_a_class() -> None:
    pages = run_fragment(repaired_6_2_2_class())["SetOPages"]
    probe = BodyProbe()
    drupe.tree.mount(pages(), "", {"/": {"hooks.before_handler": probe}})
    client = Client(drupe.tree)
    response = client.request("PROPPATCH", "/page", body=b"<propertyupdate/>",
                              headers={"Content-Type": "text/xml"})
    assert response.text == "Hullo, World!"
    assert probe.seen == [("PROPPATCH", True)]


# -- 6.3 Namespaces ------------------------------------------------------------------------


def test_6_3_namespaces_doctest() -> None:
    session = as_drupe(section("6.3").block(0))
    test = doctest.DocTestParser().get_doctest(session, {}, "6.3", "6.3", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=0, attempted=2)


def test_6_3_response_stream_entry_sets_the_attribute() -> None:
    # "the entry response.stream actually sets the stream attribute of cherrypy.response"
    class Root:
        @drupe.expose
        def index(self):
            return repr(drupe.response.stream)

    drupe.tree.mount(Root(), "", {"/": {"response.stream": True}})
    assert Client(drupe.tree).get("/").text == "True"


@pytest.fixture
def myapp_module(tmp_path: Path) -> Iterator[list[str]]:
    """An importable ``myapp`` module with ``my_hook_func``, as 6.3.1's entry names."""
    (tmp_path / "myapp.py").write_text(
        "import drupe\n\n"
        "calls = []\n\n\n"
        "def my_hook_func():\n"
        "    calls.append(drupe.request.path_info)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import myapp

        yield myapp.calls
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("myapp", None)


def test_6_3_1_hooks_namespace(tmp_path: Path, myapp_module: list[str]) -> None:
    (tmp_path / "app.conf").write_text(section("6.3.1").block(0))

    class Root:
        @drupe.expose
        def index(self):
            return f"hooks ran before me: {len(myapp_module)}"

    drupe.tree.mount(Root(), "", "app.conf")
    assert Client(drupe.tree).get("/").text == "hooks ran before me: 1"
    assert myapp_module == ["/"]


class Everything:
    @drupe.expose
    def index(self):
        return "ok"

    @drupe.expose
    def fail(self):
        raise ValueError("deliberate")


def test_6_3_1_builtin_namespaces(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    greetings: list[str] = []

    class Greeter:
        """A WSGI middleware factory: the next app first, then its keyword arguments."""

        def __init__(self, nextapp: Any, greeting: str = "hi") -> None:
            self.nextapp = nextapp
            self.greeting = greeting

        def __call__(self, environ: Any, start_response: Any) -> Any:
            greetings.append(self.greeting)
            return self.nextapp(environ, start_response)

    # engine, server, log, checker: global.
    drupe.config.update({
        "engine.autoreload.frequency": 60,
        "engine.autoreload.on": False,
        "server.socket_port": 9999,
        "server.thread_pool": 3,
        "log.screen": False,
        "log.error_file": str(tmp_path / "site-errors.log"),
        "checker.on": False,
    })
    assert drupe.engine.autoreload.frequency == 60
    assert (drupe.server.socket_port, drupe.server.thread_pool) == (9999, 3)
    assert drupe.log.screen is False
    assert drupe.checker.on is False
    # log, wsgi: the application root; request, response, tools, hooks: any path.
    app = drupe.tree.mount(Everything(), "", {
        "/": {
            "log.access_file": str(tmp_path / "app-access.log"),
            "wsgi.pipeline": [("greeter", Greeter)],
            "wsgi.greeter.greeting": "hello",
            "request.show_tracebacks": False,
            "response.headers.X-Namespace": "response",
            "tools.gzip.on": True,
        },
    })
    client = Client(drupe.tree)
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["X-Namespace"] == "response"
    assert response.headers["Content-Encoding"] == "gzip"
    assert greetings == ["hello"]
    assert '"GET / HTTP/1.1" 200' in (tmp_path / "app-access.log").read_text()
    assert app.log.access_file == str(tmp_path / "app-access.log")
    with caplog.at_level(logging.ERROR):
        failed = client.get("/fail")
    assert failed.status == 500
    assert "deliberate" not in failed.text  # no traceback shown
    assert "ValueError: deliberate" in (tmp_path / "site-errors.log").read_text()


def test_6_3_1_engine_signal_entries() -> None:
    # "Mostly, this is used to turn off the signal handling one gets automatically via
    # cherrypy.quickstart()": with engine.SIGHUP set to None, SIGHUP is left alone.
    drupe.config.update({"engine.SIGHUP": None})
    before = signal.getsignal(signal.SIGHUP)
    handler = drupe.engine.signal_handler
    handler.subscribe()
    try:
        assert signal.getsignal(signal.SIGHUP) is before
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        handler.unsubscribe()


class ORM:
    """What 6.3.2's handler calls ``orm``: it records the connections made."""

    def __init__(self) -> None:
        self.connections: list[str] = []

    def connect(self, connstring: str) -> None:
        self.connections.append(connstring)


CONNSTRING = "Oracle:host=1.10.100.200;sid=TEST"


def test_6_3_2_custom_config_namespace() -> None:
    orm = ORM()
    namespace = run_fragment(section("6.3.2").block(0), orm=orm)
    # The call the text shows, and what it does:
    drupe.config.update({"db.connstring": CONNSTRING})
    assert orm.connections == [CONNSTRING]
    assert drupe.config.namespaces["db"] is namespace["db_namespace"]


def test_6_3_2_application_and_request_namespaces() -> None:
    orm = ORM()
    db_namespace = run_fragment(section("6.3.2").block(0), orm=orm)["db_namespace"]
    del drupe.config.namespaces["db"]

    # Application scope: called by Application.merge (tree.mount calls it).
    app = drupe.Application(Everything())
    app.namespaces["db"] = db_namespace
    drupe.tree.mount(app, "", {"/": {"db.connstring": CONNSTRING}})
    assert orm.connections == [CONNSTRING]

    # Request scope: called for each request, with the config that applies to it.
    request_orm = ORM()
    request_handler = run_fragment(section("6.3.2").block(0), orm=request_orm)["db_namespace"]
    del drupe.config.namespaces["db"]
    other = drupe.tree.mount(Everything(), "/other", {"/": {"db.connstring": "per request"}})
    other.request_class.namespaces["db"] = request_handler
    try:
        client = Client(drupe.tree)
        client.get("/other/")
        client.get("/other/")
        assert request_orm.connections == ["per request", "per request"]
    finally:
        del other.request_class.namespaces["db"]


def test_6_3_2_context_manager_namespace() -> None:
    # "If you need additional code to run when all your namespace keys are collected, you
    # can supply a callable context manager in place of a normal function."
    events: list[Any] = []

    class Collector:
        def __enter__(self) -> Collector:
            # As in CherryPy, what __enter__ returns is called with each key and value.
            events.append("enter")
            return self

        def __call__(self, key: str, value: Any) -> None:
            events.append((key, value))

        def __exit__(self, *exc_info: Any) -> None:
            events.append("exit")

    drupe.config.namespaces["db"] = Collector()
    drupe.config.update({"db.host": "localhost", "db.port": 5432})
    assert (events[0], events[-1]) == ("enter", "exit")
    assert sorted(events[1:-1]) == [("host", "localhost"), ("port", 5432)]


def test_6_3_3_environments() -> None:
    run_fragment(as_drupe(section("6.3.3").block(0)))
    drupe.config.update({"environment": "staging", "log.screen": True})
    # An explicit entry wins over the environment's ...
    assert drupe.log.screen is True
    drupe.reset()
    # ... and the changed environment applies its new entry.
    drupe.config.update({"environment": "staging"})
    assert drupe.log.screen is False
    assert drupe.config["checker.on"] is False


@needs_encode
def test_6_3_3_a_new_environment() -> None:
    run_fragment(as_drupe(section("6.3.3").block(0)))
    drupe.config.update({"environment": "Greek"})
    assert drupe.config["tools.encode.encoding"] == "ISO-8859-7"

    class Root:
        @drupe.expose
        def index(self):
            return "καλημέρα"

    drupe.tree.mount(Root(), "", {"/": {"tools.encode.on": True}})
    response = Client(drupe.tree).get("/")
    assert response.charset.lower() == "iso-8859-7"
    assert response.body == "καλημέρα".encode("iso-8859-7")
