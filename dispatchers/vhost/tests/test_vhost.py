"""VirtualHost: host map, ports, case, Host / X-Forwarded-Host validation, plans, staticdir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_dispatch_vhost import VirtualHost
from drupe_testing import Client, LiveServer


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


class Site:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    @drupe.expose
    def index(self) -> str:
        self.calls += 1
        return f"{self.name} index"

    @drupe.expose
    def where(self) -> str:
        return f"{self.name} sees {drupe.request.path_info}"


class Root(Site):
    def __init__(self) -> None:
        super().__init__("root")
        self.app1 = Site("app1")
        self.app2 = Site("app2")
        self.app1.deeper = Site("deeper")


def mount(dispatcher: Any, root: Any = None) -> tuple[Root, Client]:
    root = root or Root()
    drupe.tree.mount(root, "/", {"/": {"request.dispatch": dispatcher}})
    return root, Client(drupe.tree)


def get(client: Client, path: str, host: str | None, **headers: Any) -> tuple[int, str]:
    response = client.get(path, headers={"Host": host, **headers})
    return response.status, response.text


def test_reachable_lazily_by_cherrypy_name() -> None:
    assert drupe.dispatch.VirtualHost is VirtualHost
    assert drupe.registry.load("drupe.dispatchers", "vhost") is VirtualHost


def test_each_host_reaches_its_prefix() -> None:
    _, client = mount(VirtualHost(**{"company.com:8080": "/app1", "home.net:8080": "/app2"}))
    assert get(client, "/", "company.com:8080") == (200, "app1 index")
    assert get(client, "/", "home.net:8080") == (200, "app2 index")
    assert get(client, "/", "elsewhere.org") == (200, "root index")


def test_keys_with_a_port_match_only_that_port_keys_without_match_any() -> None:
    _, client = mount(VirtualHost(**{"company.com:8080": "/app1", "home.net": "/app2"}))
    assert get(client, "/", "company.com:8080")[1] == "app1 index"
    assert get(client, "/", "company.com:9090")[1] == "root index"
    assert get(client, "/", "company.com")[1] == "root index"
    assert get(client, "/", "home.net")[1] == "app2 index"
    assert get(client, "/", "home.net:8080")[1] == "app2 index"


def test_hosts_compare_case_insensitively() -> None:
    _, client = mount(VirtualHost(**{"Company.COM": "/app1"}))
    assert get(client, "/", "COMPANY.com:80")[1] == "app1 index"


def test_ip_literals_as_keys() -> None:
    _, client = mount(VirtualHost(**{"[::1]:8080": "/app1", "127.0.0.1": "/app2"}))
    assert get(client, "/", "[::1]:8080")[1] == "app1 index"
    assert get(client, "/", "[::1]")[1] == "root index"
    assert get(client, "/", "127.0.0.1:8080")[1] == "app2 index"


def test_the_path_is_joined_and_path_info_is_unchanged() -> None:
    _, client = mount(VirtualHost(**{"a.example": "/app1"}))
    assert get(client, "/where", "a.example") == (200, "app1 sees /where")
    assert get(client, "/deeper/", "a.example") == (200, "deeper index")
    assert get(client, "/no/such", "a.example")[0] == 404


def test_plans_are_kept_apart_per_host() -> None:
    _, client = mount(VirtualHost(**{"a.example": "/app1", "b.example": "/app2"}))
    for _ in range(3):
        assert get(client, "/where", "a.example")[1] == "app1 sees /where"
        assert get(client, "/where", "b.example")[1] == "app2 sees /where"
        assert get(client, "/where", "c.example")[1] == "root sees /where"


@pytest.mark.parametrize("host", ["bad host", "user@a.example", "a.example:99999", "[::1",
                                  "a.example:x", "", "a..b/c"])
def test_an_invalid_host_is_400_and_never_routed(host: str) -> None:
    root, client = mount(VirtualHost(**{"a.example": "/app1"}))
    status, text = get(client, "/", host)
    assert status == 400
    assert "Host" in text
    assert root.calls == root.app1.calls == 0


def test_a_missing_host_on_http_1_1_is_400() -> None:
    root, client = mount(VirtualHost(**{"a.example": "/app1"}))
    response = client.get("/", headers={"Host": None})
    assert response.status == 400
    assert "requires a 'Host'" in response.text
    assert root.calls == 0


def test_a_missing_host_on_http_1_0_gets_no_prefix() -> None:
    _, client = mount(VirtualHost(**{"a.example": "/app1"}))
    response = client.get("/", headers={"Host": None}, protocol="HTTP/1.0")
    assert (response.status, response.text) == (200, "root index")


def test_x_forwarded_host_wins_and_its_first_value_counts() -> None:
    _, client = mount(VirtualHost(**{"a.example": "/app1", "b.example": "/app2"}))
    assert get(client, "/", "b.example", **{"X-Forwarded-Host": "a.example"})[1] == "app1 index"
    forwarded = {"X-Forwarded-Host": "a.example, b.example"}
    assert get(client, "/", "proxy.internal", **forwarded)[1] == "app1 index"


@pytest.mark.parametrize("forwarded", ["bad host, a.example", "", "a.example:0x50", "x\ty"])
def test_an_invalid_x_forwarded_host_is_400(forwarded: str) -> None:
    root, client = mount(VirtualHost(**{"a.example": "/app1"}))
    status, text = get(client, "/", "a.example", **{"X-Forwarded-Host": forwarded})
    assert status == 400
    assert "X-Forwarded-Host" in text
    assert root.calls == root.app1.calls == 0


def test_x_forwarded_host_is_ignored_when_turned_off() -> None:
    _, client = mount(VirtualHost(use_x_forwarded_host=False, **{"a.example": "/app1"}))
    assert get(client, "/", "a.example", **{"X-Forwarded-Host": "b.example"})[1] == "app1 index"
    assert get(client, "/", "a.example", **{"X-Forwarded-Host": "not valid"})[1] == "app1 index"


def test_another_next_dispatcher() -> None:
    @drupe.expose
    class Resource:
        def GET(self) -> str:
            return "resource"

    root = Root()
    root.app1.thing = Resource()
    _, client = mount(VirtualHost(drupe.dispatch.MethodDispatcher(), **{"a.example": "/app1"}), root)
    assert get(client, "/thing", "a.example") == (200, "resource")
    response = client.post("/thing", headers={"Host": "a.example"})
    assert response.status == 405


def test_a_cherrypy_style_next_dispatcher() -> None:
    seen: list[str] = []
    objecttree = drupe.dispatch.Dispatcher()

    def plain_dispatcher(path_info: str) -> None:
        seen.append(path_info)
        handler, vpath = objecttree.find_handler(path_info)
        drupe.request.handler = drupe.LateParamPageHandler(handler, *vpath) if handler else None

    _, client = mount(VirtualHost(plain_dispatcher, **{"a.example": "/app1"}))
    assert get(client, "/", "a.example") == (200, "app1 index")
    assert get(client, "/", "a.example") == (200, "app1 index")
    assert seen == ["/app1/", "/app1/"]  # called on every request: nothing cached


def test_bad_arguments_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="not a valid host"):
        VirtualHost(**{"bad host": "/app1"})
    with pytest.raises(ValueError, match="must start with '/'"):
        VirtualHost(**{"a.example": "app1"})
    with pytest.raises(TypeError, match="must be a str"):
        VirtualHost(**{"a.example": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="next_dispatcher"):
        VirtualHost("not a dispatcher")


def test_the_short_name_is_a_startup_error_naming_the_key() -> None:
    drupe.tree.mount(Root(), "/", {"/": {"request.dispatch": "vhost"}})
    server = LiveServer()
    with pytest.raises(drupe.ConfigError, match=r"'request\.dispatch'.*VirtualHost\("):
        server.start()
    assert drupe.engine.state == drupe.engine.states.STOPPED


def test_over_a_real_socket() -> None:
    mount(VirtualHost(**{"a.example": "/app1"}))
    with LiveServer() as server:
        answer = server.raw(b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"app1 index")
        answer = server.raw(b"GET / HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-Host: x y\r\n"
                            b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert b"X-Forwarded-Host" in answer


_STATICDIR_MISSING = not drupe.registry.has("drupe.tools", "staticdir")


@pytest.mark.skipif(_STATICDIR_MISSING, reason="the staticdir tool (drupe-tool-static, tools/static) is "
                    "not installed here, so staticdir under each host cannot be tested")
def test_staticdir_under_each_host(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "page.txt").write_text(f"static {name}", encoding="utf-8")
    root = Root()
    drupe.tree.mount(root, "/", {
        "/": {"request.dispatch": VirtualHost(**{"one.example": "/app1", "two.example": "/app2"})},
        "/app1/static": {"tools.staticdir.on": True, "tools.staticdir.dir": str(tmp_path / "one")},
        "/app2/static": {"tools.staticdir.on": True, "tools.staticdir.dir": str(tmp_path / "two")},
    })
    client = Client(drupe.tree)
    assert get(client, "/static/page.txt", "one.example") == (200, "static one")
    assert get(client, "/static/page.txt", "two.example") == (200, "static two")
    assert get(client, "/static/missing.txt", "one.example")[0] == 404


@pytest.mark.skipif(not drupe.registry.has("drupe.tools", "trailing_slash"),
                    reason="the trailing_slash tool (drupe-tool-standard) is not installed here")
def test_redirects_use_the_path_the_client_asked_for() -> None:
    _, client = mount(VirtualHost(**{"a.example": "/app1"}))
    response = client.get("/deeper", headers={"Host": "a.example"})
    assert response.status == 301
    assert response.headers["Location"] == "http://a.example/deeper/"
