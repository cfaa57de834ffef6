"""The pytest plugin's fixtures and the live server behind ``live_server``.

Fixture semantics that depend on what happens *between* tests (resets, markers, ini
options, skips) are checked in an inner pytest process, so the outer session cannot
hide or cause them. The live server is exercised for real: a real HTTP server, real
sockets, a port that must be free again afterwards.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

import drupe
from drupe_testing import Client, LiveServer, ServerUnavailable, WireClient, port_accepts_connections


class Root:
    @drupe.expose
    def index(self) -> str:
        return "hello"

    @drupe.expose
    def peer(self) -> str:
        return str(drupe.request.remote.port)

    @drupe.expose
    def echo(self, **params: str) -> str:
        return ",".join(f"{key}={value}" for key, value in sorted(params.items()))

    @drupe.expose
    def count(self) -> str:
        morsel = drupe.request.cookie.get("visits")
        visits = int(morsel.value) + 1 if morsel is not None else 1
        drupe.response.cookie["visits"] = str(visits)
        drupe.response.cookie["visits"]["path"] = "/"
        return str(visits)


@pytest.fixture
def mounted(drupe_reset: None) -> Any:
    """Mount Root after the reset (the order a live_server test relies on)."""
    return drupe.tree.mount(Root())


# -- client --------------------------------------------------------------------------------


def test_client_fixture_serves_drupe_tree(client: Client) -> None:
    assert client.app is drupe.tree
    drupe.tree.mount(Root(), "/late")  # the tree is looked up per request
    assert client.get("/late/").text == "hello"


# -- live_server ---------------------------------------------------------------------------


def test_live_server_serves_what_was_mounted_before(mounted: Any, live_server: LiveServer) -> None:
    assert live_server.host == "127.0.0.1"
    assert live_server.port > 0
    assert live_server.url == f"http://127.0.0.1:{live_server.port}"
    assert drupe.engine.state == drupe.states.STARTED
    response = live_server.get("/")
    assert (response.status, response.text, response.protocol) == (200, "hello", "HTTP/1.1")
    assert response.environ is None
    assert response.headers["Content-Length"] == "5"


def test_live_server_sees_apps_mounted_while_it_runs(live_server: LiveServer) -> None:
    assert live_server.get("/").status == 404
    drupe.tree.mount(Root(), "/now")
    assert live_server.get("/now/echo?a=1").text == "a=1"


def test_live_server_requests_cross_real_sockets(mounted: Any, live_server: LiveServer) -> None:
    # Each request gets its own connection, hence its own client port ...
    ports = {live_server.get("/peer").text for _ in range(3)}
    assert len(ports) == 3
    # ... unless the test keeps one open.
    connection = live_server.connection()
    kept = {live_server.get("/peer", connection=connection).text for _ in range(3)}
    assert len(kept) == 1
    assert connection.connections_opened == 1
    assert live_server.post("/echo", data={"b": "2", "a": "x y"}).text == "a=x y,b=2"
    assert live_server.head("/").body == b""


def test_live_server_keeps_cookies(mounted: Any, live_server: LiveServer) -> None:
    assert [live_server.get("/count").text for _ in range(3)] == ["1", "2", "3"]
    assert live_server.cookies["visits"] == "3"


def test_live_server_sends_malformed_requests(mounted: Any, live_server: LiveServer) -> None:
    response = live_server.post("/echo", headers={"Content-Length": "abc"}, body=b"a=1")
    assert response.status == 400
    raw = live_server.raw(b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")
    answer = live_server.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\nhello")


def test_a_live_server_started_by_hand_cleans_up(mounted: Any) -> None:
    original = (drupe.server.socket_host, drupe.server.socket_port, drupe.log.screen)
    drupe.log.screen = True
    with LiveServer() as server:
        port = server.port
        assert port_accepts_connections("127.0.0.1", port)
        assert drupe.log.screen is False
        assert drupe.server.socket_port == 0
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        assert repr(server) == f"<drupe_testing.LiveServer on 127.0.0.1:{port}>"
    assert not port_accepts_connections("127.0.0.1", port)
    assert drupe.engine.state == drupe.states.EXITING
    assert (drupe.server.socket_host, drupe.server.socket_port) == original[:2]
    assert drupe.log.screen is True
    assert repr(server) == "<drupe_testing.LiveServer stopped>"
    with pytest.raises(RuntimeError, match="not running"):
        server.get("/")
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    server.stop()  # stopping twice is harmless


def test_a_live_server_refuses_a_running_engine(mounted: Any) -> None:
    with LiveServer(), pytest.raises(RuntimeError, match="already started"):
        LiveServer().start()


def test_the_autoreloader_is_off_while_a_live_server_runs(mounted: Any) -> None:
    if not drupe.registry.has("drupe.engine", "autoreload"):
        pytest.skip("needs an autoreloader (drupe-process) to turn off")
    autoreload = drupe.engine.autoreload
    autoreload.subscribe()

    def subscribed() -> bool:
        return any(getattr(listener, "__self__", None) is autoreload
                   for listeners in drupe.engine.listeners.values() for listener in listeners)

    with LiveServer():
        assert not subscribed()
    assert subscribed()
    autoreload.unsubscribe()


def test_an_unknown_server_type_is_unavailable(mounted: Any) -> None:
    drupe.server.type = "no-such-server"
    with pytest.raises(ServerUnavailable, match="'no-such-server'") as caught:
        LiveServer().start()
    assert isinstance(caught.value, __import__("unittest").SkipTest)
    assert drupe.engine.state != drupe.states.STARTED


def test_without_cheroot_the_skip_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both test environments install drupe-server-cheroot; hide it from the registry.
    real_has = drupe.registry.has

    def has(group: str, name: str) -> bool:
        return False if (group, name) == ("drupe.servers", "cheroot") else real_has(group, name)

    monkeypatch.setattr(drupe.registry, "has", has)
    with pytest.raises(ServerUnavailable, match="install drupe-server-cheroot"):
        LiveServer().start()


def test_wire_client_keeps_or_drops_its_connection(mounted: Any, live_server: LiveServer) -> None:
    from drupe_testing import prepare

    with WireClient(live_server.host, live_server.port, persistent=True) as wire:
        first = wire.send(prepare("GET", "/peer", default_host=live_server.netloc))
        second = wire.send(prepare("GET", "/peer", default_host=live_server.netloc))
        assert first.body == second.body
        closing = wire.send(prepare("GET", "/peer", default_host=live_server.netloc,
                                    headers={"Connection": "close"}))
        assert closing.body == first.body
        third = wire.send(prepare("GET", "/peer", default_host=live_server.netloc))
        assert third.body != first.body
        assert wire.connections_opened == 2


def test_http_1_0_requests(mounted: Any, live_server: LiveServer) -> None:
    response = live_server.get("/", protocol="HTTP/1.0", headers={"Host": None})
    assert response.status == 200
    assert response.text == "hello"


# -- what happens between tests (inner pytest runs) ----------------------------------------

_TWO_TESTS = """
    import drupe
    import pytest

    {prelude}

    class Root:
        pass

    def test_1_leaves_a_mount{args}:
        drupe.tree.mount(Root(), "/left")

    def test_2_looks{args}:
        assert drupe.tree.apps == {{}}, "state leaked from test_1"
"""


def test_drupe_reset_is_not_autouse(inner_pytest: Any) -> None:
    run = inner_pytest(_TWO_TESTS.format(prelude="", args="()"))
    assert run.count("passed") == 1, run.output
    assert run.count("failed") == 1
    assert "state leaked from test_1" in run.output


def test_drupe_reset_resets_before_and_after(inner_pytest: Any) -> None:
    source = _TWO_TESTS.format(prelude="", args="(drupe_reset)") + """
    def test_3_without_the_fixture():
        assert drupe.tree.apps == {}, "no reset after test_2"

    @pytest.fixture
    def dirty():
        drupe.tree.mount(Root(), "/dirty")

    def test_4_reset_comes_first(drupe_reset, dirty):
        assert list(drupe.tree.apps) == ["/dirty"]
    """
    run = inner_pytest(source)
    assert run.count("passed") == 4, run.output


def test_the_marker_resets_a_whole_module_before_its_fixtures(inner_pytest: Any) -> None:
    source = _TWO_TESTS.format(prelude="pytestmark = pytest.mark.drupe_reset", args="()") + """
    @pytest.fixture
    def mounted():
        drupe.tree.mount(Root(), "/mine")

    def test_3_fixture_mounts_survive(mounted):
        assert list(drupe.tree.apps) == ["/mine"]
    """
    run = inner_pytest(source)
    assert run.count("passed") == 3, run.output


def test_the_ini_option_resets_every_test(inner_pytest: Any) -> None:
    run = inner_pytest(_TWO_TESTS.format(prelude="", args="()"), ini="drupe_autoreset = true\n")
    assert run.count("passed") == 2, run.output


def test_the_marker_is_registered_under_strict_markers(inner_pytest: Any) -> None:
    source = """
    import pytest

    @pytest.mark.drupe_reset
    def test_marked():
        pass
    """
    run = inner_pytest(source, "--strict-markers")
    assert run.count("passed") == 1, run.output


def test_live_server_skips_when_the_server_is_missing(inner_pytest: Any) -> None:
    source = """
    import drupe
    import pytest

    @pytest.fixture
    def exotic_server():
        drupe.server.type = "exotic"

    def test_live(exotic_server, live_server):
        raise AssertionError("should have been skipped")
    """
    run = inner_pytest(source)
    assert run.count("skipped") == 1, run.output
    assert "'exotic'" in run.output


def test_the_plugin_imports_nothing_from_drupe(run_script: Any) -> None:
    result = run_script("""
        import sys
        import drupe_testing.plugin
        print(sorted(name for name in sys.modules if name == "drupe" or name.startswith("drupe.")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound and released by the OS just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return port


def test_port_accepts_connections_on_a_closed_port(free_port: int) -> None:
    assert not port_accepts_connections("127.0.0.1", free_port)


def test_drupe_error_log_collects_messages_with_their_tracebacks(drupe_error_log: list[str]) -> None:
    drupe.log("before the failure", "TEST")
    try:
        raise ValueError("kaboom")
    except ValueError:
        drupe.log("it failed", "TEST", traceback=True)
    assert len(drupe_error_log) == 2
    assert drupe_error_log[0].endswith("TEST before the failure")
    assert "ValueError: kaboom" in drupe_error_log[1]
