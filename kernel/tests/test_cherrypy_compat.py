"""Behaviours CherryPy applications (and CherryPy's own test suite) rely on.

Each test pins one behaviour that CherryPy's test suite, run against drupe through the
drupe-cherrypy alias (``tests/compat/``), showed missing; they keep it without that run.
"""

from __future__ import annotations

import datetime
import re
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_support import access_lines, call, error_text, mount

import drupe
from drupe import _cplogging
from drupe._configfile import unrepr
from drupe._httputil import response_codes, valid_status

# ---------------------------------------------------------------------------
# drupe.tree may be replaced


@pytest.fixture
def replaced_tree() -> Iterator[drupe.Tree]:
    original = drupe.tree
    fresh = drupe.Tree()
    drupe.tree = fresh  # type: ignore[misc]
    try:
        yield fresh
    finally:
        drupe.tree = original  # type: ignore[misc]


def test_the_default_server_serves_a_replaced_tree(replaced_tree: drupe.Tree,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # CherryPy's test helper assigns cherrypy.tree = Tree(); the HTTP server made at engine
    # start must serve that tree, not the one created at import.
    from drupe._registry import registry

    made: list[Any] = []

    class Recorder:
        def __init__(self, server: Any, app: Any) -> None:
            made.append(app)

    monkeypatch.setattr(registry, "load", lambda *args, **kwargs: Recorder)
    monkeypatch.setattr(drupe.server, "wsgi_app", None)
    drupe.server.httpserver_from_self()
    assert made == [replaced_tree]


def test_engine_start_validates_a_replaced_tree(replaced_tree: drupe.Tree) -> None:
    from drupe._checker import validate

    class Root:
        @drupe.expose
        def index(self) -> str:
            return "x"

    replaced_tree.mount(Root(), config={"/": {"tools.no_such_tool_here.on": True}})
    with pytest.raises(drupe.ConfigError, match="no_such_tool_here"):
        validate()


def test_reset_restores_the_original_tree() -> None:
    from drupe import _tree

    drupe.tree = drupe.Tree()  # type: ignore[misc]
    drupe.reset()
    assert drupe.tree is _tree.tree


# ---------------------------------------------------------------------------
# Config files


def test_config_names_cherrypy_objects_through_the_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    # With drupe-cherrypy's alias on, sys.modules["cherrypy"] is drupe, and cherrypy.* names
    # must be imported as such (a real package mapped under cherrypy.* included).
    real = types.ModuleType("cherrypy.fixture_pkg")
    real.answer = 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cherrypy", drupe)
    monkeypatch.setitem(sys.modules, "cherrypy.fixture_pkg", real)
    assert unrepr("__import__('cherrypy.fixture_pkg', globals(), locals(), ['']).answer") == 42
    assert unrepr("cherrypy.HTTPError") is drupe.HTTPError


def test_config_names_cherrypy_objects_without_the_alias() -> None:
    assert "cherrypy" not in sys.modules or sys.modules["cherrypy"] is drupe
    assert unrepr("cherrypy.HTTPError") is drupe.HTTPError


def test_config_call_keywords_win_over_double_star_mappings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drupe, "_compat_defaults", {"foo": "bar", "fizz": "buzz"}, raising=False)
    assert unrepr('dict(foo="mine", **drupe._compat_defaults)') == {"foo": "mine", "fizz": "buzz"}
    assert unrepr('dict(**drupe._compat_defaults, foo="mine")') == {"foo": "mine", "fizz": "buzz"}


# ---------------------------------------------------------------------------
# Access log


def test_rfc3339_time_atom(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = datetime.datetime(2020, 1, 1, 1, 23, 45, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))

    class FrozenDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return fixed.astimezone(tz)

    monkeypatch.setattr(datetime, "datetime", FrozenDatetime)
    assert str(_cplogging.LazyRfc3339UtcTime()) == "2019-12-31T17:23:45Z"
    fixed = fixed.replace(microsecond=250000)
    assert str(_cplogging.LazyRfc3339UtcTime()) == "2019-12-31T17:23:45.250000Z"


class LogRoot:
    @drupe.expose
    def index(self) -> str:
        return "hello"

    @drupe.expose
    def greek(self) -> str:
        drupe.request.login = "\u03a4\u1f71\u03c1\u03c4\u03b1\u03c1\u03bf\u03c2"
        return "x"


def test_z_atom_uses_a_replaced_factory(drupe_logs: pytest.LogCaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = mount(LogRoot())
    app.log.access_log_format = "{z} {s}"
    monkeypatch.setattr(_cplogging, "LazyRfc3339UtcTime", lambda: "FROZEN-TIME")
    call(path="/")
    assert access_lines(drupe_logs) == ["FROZEN-TIME 200"]


def test_access_log_atoms_are_computed_only_when_named(drupe_logs: pytest.LogCaptureFixture) -> None:
    requests: list[Any] = []

    class Root:
        @drupe.expose
        def index(self) -> str:
            requests.append(drupe.request._get_current_object()
                            if hasattr(drupe.request, "_get_current_object") else drupe.serving.request)
            return "hello"

    app = mount(Root())
    app.log.access_log_format = "{s} {b}"
    call(path="/")
    assert access_lines(drupe_logs) == ["200 5"]
    # A format without {i} makes no request id.
    assert "unique_id" not in vars(requests[0])
    app.log.access_log_format = "{i}"
    call(path="/")
    assert "unique_id" in vars(requests[1])
    assert re.fullmatch(r"[0-9a-f-]{36}", access_lines(drupe_logs)[-1])


def test_access_log_is_ascii(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(LogRoot())
    call(path="/greek")
    (line,) = access_lines(drupe_logs)
    assert line.isascii()
    assert r"\xce\xa4\xe1\xbd\xb1\xcf\x81" in line


def test_unknown_access_log_atom_is_logged_not_raised(drupe_logs: pytest.LogCaptureFixture) -> None:
    app = mount(LogRoot())
    app.log.access_log_format = "{s} {nonsense}"
    assert call(path="/").code == 200
    assert access_lines(drupe_logs) == []
    assert "KeyError" in error_text(drupe_logs)


# ---------------------------------------------------------------------------
# response.header_list after finalize


def _append_headers(pairs: list[Any]) -> None:
    assert drupe.response.header_list is not None
    drupe.response.header_list.extend(pairs)


def test_bytes_headers_added_after_finalize_are_sent_as_latin1() -> None:
    class Root:
        @drupe.expose
        def index(self) -> str:
            drupe.request.hooks.attach("on_end_resource", _append_headers, pairs=[
                (b"WWW-Authenticate", b"Negotiate"),
                (b"WWW-Authenticate", 'Basic realm="caf\xe9"'.encode("latin-1")),
            ])
            return "x"

    mount(Root())
    result = call(path="/")
    assert result.code == 200
    assert result.header_values("WWW-Authenticate") == ["Negotiate", 'Basic realm="caf\xe9"']


@pytest.mark.parametrize("pair", [(2, 3), ("X-Ok", 3), ("X-Bad", "a\r\nInjected: yes"), ("Bad:Name", "v"),
                                  ("lonely",)])
def test_bad_headers_added_after_finalize_are_a_500(pair: Any,
                                                     drupe_logs: pytest.LogCaptureFixture) -> None:
    class Root:
        @drupe.expose
        def index(self) -> str:
            drupe.request.hooks.attach("on_end_resource", _append_headers, pairs=[pair])
            return "x"

    mount(Root())
    result = call(path="/")
    assert result.code == 500
    assert "Injected" not in "".join(name for name, _ in result.headers)
    assert b"response.header_list" in result.body  # the traceback (show_tracebacks is on)
    assert "The response headers cannot be sent" in error_text(drupe_logs)


# ---------------------------------------------------------------------------
# Status lines


def test_500_description() -> None:
    assert valid_status(500) == (500, "Internal Server Error", response_codes[500][1])
    assert valid_status("500")[2].startswith("The server encountered an unexpected condition")


@pytest.mark.parametrize("status", [{"hey": "hi"}, ["500"], 5.5])
def test_non_numeric_status_objects_are_named_whole(status: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(f"({status!r} is non-numeric)")):
        valid_status(status)


# ---------------------------------------------------------------------------
# Request bodies


class Params:
    @drupe.expose
    def index(self, **params: Any) -> str:
        return repr(sorted((key, value if isinstance(value, (str, list)) else repr(value))
                           for key, value in params.items()))


def test_urlencoded_body_in_utf16(drupe_logs: pytest.LogCaptureFixture) -> None:
    # Each name and value carries its own BOM: split first, decode each piece.
    mount(Params())
    body = b"\xff\xfeq\x00=\xff\xfe\xa3\x00&\xff\xfer\x00=\xff\xfex\x00"
    result = call(path="/", method="POST", body=body,
                  headers=[("Content-Type", "application/x-www-form-urlencoded;charset=utf-16")])
    assert result.text == repr([("q", "\xa3"), ("r", "x")])


def test_urlencoded_body_in_utf16_as_one_text() -> None:
    mount(Params())
    body = "q=\xa3&r=x".encode("utf-16")
    result = call(path="/", method="POST", body=body,
                  headers=[("Content-Type", "application/x-www-form-urlencoded;charset=utf-16")])
    assert result.text == repr([("q", "\xa3"), ("r", "x")])


def test_urlencoded_body_without_bom_is_not_read_as_utf16_text() -> None:
    # Four bytes of UTF-8 "decode" as two UTF-16 characters; only a BOM makes the
    # whole-text reading worth trying.
    mount(Params(), config={"/": {"request.body.attempt_charsets": ["utf-16"]}})
    result = call(path="/", method="POST", body="q=\xa3".encode(),
                  headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert result.code == 400
    assert "['utf-16']" in result.text


def test_urlencoded_body_keeps_refusing_what_no_charset_decodes() -> None:
    mount(Params())
    result = call(path="/", method="POST", body=b"q=%ff%fe",
                  headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert result.code == 400
    assert "could not be decoded" in result.text


def test_urlencoded_body_field_limit() -> None:
    mount(Params())
    body = "&".join(f"f{i}=v" for i in range(1001)).encode()
    result = call(path="/", method="POST", body=body,
                  headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert result.code == 413


def test_multipart_part_charset_comes_first() -> None:
    mount(Params())
    body = (b"--X\r\nContent-Type: text/plain;charset=utf-16\r\n"
            b'Content-Disposition: form-data; name="text"\r\n\r\n'
            + "ab\u201cc".encode("utf-16") + b"\r\n--X--\r\n")
    result = call(path="/", method="POST", body=body,
                  headers=[("Content-Type", "multipart/form-data;boundary=X")])
    assert result.text == repr([("text", "ab\u201cc")])


# ---------------------------------------------------------------------------
# Tools that do not inherit from drupe.Tool, and Tool subclasses reading their own args


def test_an_object_with_setup_is_a_tool() -> None:
    events: list[str] = []

    class Shouter:
        def _setup(self) -> None:
            drupe.request.hooks.attach("before_finalize", self.shout)

        def shout(self) -> None:
            events.append("shout")
            drupe.response.body = [b"LOUD"]

    drupe.tools.compat_shouter = Shouter()
    try:
        class Root:
            @drupe.expose
            @drupe.config(**{"tools.compat_shouter.on": True})
            def index(self) -> str:
                return "quiet"

        mount(Root())
        assert call(path="/").text == "LOUD"
        assert events == ["shout"]
        assert "compat_shouter" in drupe.tools.tool_names()
    finally:
        del drupe.tools.compat_shouter


def test_a_tool_subclass_with_its_own_setup_takes_its_own_arguments() -> None:
    seen: list[Any] = []

    def record() -> None:
        pass

    class MapTool(drupe.Tool):
        def _setup(self) -> None:
            seen.append(self._merged_args().get("map"))
            drupe.request.hooks.attach(self._point, self.callable)

    drupe.tools.compat_maptool = MapTool("before_finalize", record)
    try:
        class Root:
            @drupe.expose
            @drupe.config(**{"tools.compat_maptool.on": True, "tools.compat_maptool.map": {"a": "b"}})
            def index(self) -> str:
                return "x"

        mount(Root())
        assert call(path="/").code == 200
        assert seen == [{"a": "b"}]
    finally:
        del drupe.tools.compat_maptool


def test_a_plain_tool_still_refuses_unknown_arguments() -> None:
    def plain() -> None:
        pass

    drupe.tools.compat_plain = drupe.Tool("before_finalize", plain)
    try:
        class Root:
            @drupe.expose
            @drupe.config(**{"tools.compat_plain.on": True, "tools.compat_plain.map": 1})
            def index(self) -> str:
                return "x"

        mount(Root())
        result = call(path="/")
        assert result.code == 500
        assert b"takes no argument 'map'" in result.body
    finally:
        del drupe.tools.compat_plain


# ---------------------------------------------------------------------------
# Module attributes


def test_deleted_proxies_come_back() -> None:
    session = drupe.session
    del drupe.session
    again = drupe.session
    assert isinstance(again, drupe.ThreadLocalProxy)
    assert again is drupe.session
    assert again is not session


# ---------------------------------------------------------------------------
# Servers


def test_stop_after_socket_file_was_unset(tmp_path: Any) -> None:
    # CherryPy's unix-socket test sets server.socket_file back to None while the server
    # still listens on the file: stopping must still work, and a later start serve TCP.
    from drupe._server import ServerAdapter

    class FileServer:
        ready = True
        bound_addr = str(tmp_path / "x.sock")

        def start(self) -> None:
            pass

        def stop(self) -> None:
            pass

    adapter = ServerAdapter(drupe.engine, FileServer(), bind_addr=str(tmp_path / "x.sock"))
    adapter.start()
    assert adapter.running
    adapter.bind_addr = ("127.0.0.1", 0)
    adapter.stop()
    assert not adapter.running



# ---------------------------------------------------------------------------
# _cp_config changed in place while serving


def test_cp_config_changed_in_place_reaches_the_plans() -> None:
    # CherryPy reads _cp_config on every request; CherryPy's session test switches its
    # storage class with Root._cp_config.update(...). drupe caches plans, so the dict
    # @drupe.config makes tells them.
    @drupe.config(**{"response.headers.X-Flag": "a"})
    class Root:
        @drupe.expose
        def index(self) -> str:
            return "ok"

        @drupe.expose
        @drupe.config(**{"response.headers.X-Page": "1"})
        def page(self) -> str:
            return "page"

    assert isinstance(Root._cp_config, drupe._config.HandlerConfig)  # type: ignore[attr-defined]
    mount(Root())
    assert call(path="/").header("X-Flag") == "a"
    assert call(path="/page").header("X-Page") == "1"
    Root._cp_config.update({"response.headers.X-Flag": "b"})  # type: ignore[attr-defined]
    assert call(path="/").header("X-Flag") == "b"
    Root._cp_config["response.headers.X-Flag"] = "c"  # type: ignore[attr-defined]
    assert call(path="/page").header("X-Flag") == "c"
    Root.page._cp_config.pop("response.headers.X-Page")  # type: ignore[attr-defined]
    assert call(path="/page").header("X-Page") is None
    Root.page._cp_config.setdefault("response.headers.X-Page", "2")  # type: ignore[attr-defined]
    assert call(path="/page").header("X-Page") == "2"
    del Root._cp_config["response.headers.X-Flag"]  # type: ignore[attr-defined]
    assert call(path="/").header("X-Flag") is None
    Root._cp_config |= {"response.headers.X-Flag": "d"}  # type: ignore[attr-defined]
    assert call(path="/").header("X-Flag") == "d"
    Root._cp_config.clear()  # type: ignore[attr-defined]
    assert call(path="/").header("X-Flag") is None


def test_config_decorator_keeps_a_hand_written_cp_config() -> None:
    class Root:
        _cp_config = {"response.headers.X-One": "1"}

    drupe.config(**{"response.headers.X-Two": "2"})(Root)
    assert Root._cp_config == {"response.headers.X-One": "1", "response.headers.X-Two": "2"}
    assert isinstance(Root._cp_config, drupe._config.HandlerConfig)


# ---------------------------------------------------------------------------
# A KeyboardInterrupt in the server's thread


def test_a_keyboard_interrupt_in_the_server_thread_stops_the_bus_cleanly() -> None:
    # CherryPy's test sets httpserver.interrupt = KeyboardInterrupt: the server's thread
    # raises it, logs "<Ctrl-C> hit" and exits the bus from that thread; the adapter's
    # 'stop' listener then runs in the thread it would otherwise wait for.
    import threading

    from drupe._server import ServerAdapter

    class InterruptibleServer:
        ready = False
        bound_addr = "interruptible"

        def __init__(self) -> None:
            self.go = threading.Event()
            self.stops = 0

        def start(self) -> None:
            self.ready = True
            self.go.wait(10)
            raise KeyboardInterrupt

        def stop(self) -> None:
            self.stops += 1
            self.ready = False

    bus = drupe.Bus()
    failures: list[str] = []
    bus.subscribe("log", lambda msg, level=20, traceback=False: failures.append(msg) if level >= 40 else None)
    httpserver = InterruptibleServer()
    adapter = ServerAdapter(bus, httpserver, bind_addr="interruptible")
    adapter.subscribe()
    bus.start()
    assert adapter.running
    server_thread = adapter._thread
    assert server_thread is not None
    httpserver.go.set()
    bus.block(interval=0.01)
    server_thread.join(5)
    assert bus.state is drupe.states.EXITING
    assert isinstance(adapter.interrupt, KeyboardInterrupt)
    assert not adapter.running
    assert httpserver.stops == 1
    assert failures == []
    # The next start serves again (CherryPy's test starts the engine again after it).
    httpserver.go.clear()
    bus.start()
    assert adapter.running
    httpserver.go.set()
    bus.block(interval=0.01)
    assert not adapter.running
