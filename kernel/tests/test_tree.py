"""The tree: mounting, grafting, script names, WSGI middleware and URL building."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from kernel_support import call, call_environ, make_environ, mount

import drupe


class Named:
    def __init__(self, name: str) -> None:
        self.name = name

    @drupe.expose
    def index(self) -> str:
        request = drupe.request
        return f"{self.name} script={request.script_name!r} path={request.path_info!r}"

    @drupe.expose
    def default(self, *segments: str) -> str:
        return f"{self.name} default {'/'.join(segments)}"


def wsgi_hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = f"grafted {environ['SCRIPT_NAME']} {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# ---------------------------------------------------------------------------
# Mounting


def test_mount_returns_the_application() -> None:
    root = Named("root")
    app = drupe.tree.mount(root, "/app/", {"/": {}})
    assert isinstance(app, drupe.Application)
    assert app.root is root
    assert app.script_name == "/app"
    assert drupe.tree.apps == {"/app": app}


def test_longest_prefix_wins() -> None:
    mount(Named("root"))
    mount(Named("app"), "/app")
    mount(Named("sub"), "/app/sub")
    assert call(path="/").text == "root script='' path='/'"
    # The mount point itself has an empty path_info (as in CherryPy), unlike "/app/".
    assert call(path="/app").text == "app script='/app' path=''"
    assert call(path="/app/").text == "app script='/app' path='/'"
    assert call(path="/app/sub/").text == "sub script='/app/sub' path='/'"
    assert call(path="/app/subway/x").text == "app default subway/x"
    assert call(path="/application").text == "root default application"
    assert call(path="/app/sub/deeper/still").text == "sub default deeper/still"


def test_tree_script_name_lookup() -> None:
    mount(Named("root"))
    mount(Named("app"), "/app")
    tree = drupe.tree
    assert tree.script_name("/app/x/y") == "/app"
    assert tree.script_name("/apple") == ""
    assert tree.script_name("/") == ""


def test_nothing_mounted_at_a_path() -> None:
    mount(Named("app"), "/app")
    result = call(path="/other")
    assert result.code == 404
    assert result.body == b"Nothing is mounted at this path."
    assert drupe.tree.script_name("/other") is None


def test_double_slashes_still_find_the_mount_point() -> None:
    mount(Named("app"), "/app")
    mount(Named("root"))
    assert call(path="//app//").text.startswith("app ")


def test_mount_argument_checks() -> None:
    with pytest.raises(TypeError, match="may not be None"):
        drupe.tree.mount(Named("x"), None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must start with '/'"):
        drupe.tree.mount(Named("x"), "app")
    app = drupe.Application(Named("x"), "/here")
    with pytest.raises(ValueError, match="different script name"):
        drupe.tree.mount(app, "/there")
    assert drupe.tree.mount(app) is app
    assert drupe.tree.apps["/here"] is app


def test_mounting_an_application_object_with_config() -> None:
    app = drupe.Application(Named("x"), "/x", {"/": {"response.headers.X-One": "1"}})
    drupe.tree.mount(app, "/x", {"/": {"response.headers.X-Two": "2"}})
    result = call(path="/x/")
    assert (result.header("X-One"), result.header("X-Two")) == ("1", "2")


def test_graft_a_foreign_wsgi_app() -> None:
    mount(Named("root"))
    drupe.tree.graft(wsgi_hello, "/legacy/")
    assert call(path="/legacy/some/path").text == "grafted /legacy /some/path"
    assert call(path="/").text.startswith("root")


def test_tree_config_namespace_grafts() -> None:
    mount(Named("root"))
    drupe.config.update({"tree.legacy": {"/old": wsgi_hello}})
    assert call(path="/old/x").text == "grafted /old /x"
    with pytest.raises(drupe.ConfigError, match="must be a dict"):
        drupe.config.update({"tree.bad": 42})


def test_several_trees_coexist() -> None:
    other = drupe.Tree()
    other.mount(Named("private"), "", {"/": {}})
    mount(Named("public"))
    assert call(other, "/").text.startswith("private")
    assert call(path="/").text.startswith("public")


def test_an_application_called_directly_by_a_wsgi_host() -> None:
    app = drupe.Application(Named("hosted"), None)
    assert app.script_name is None
    result = call_environ(app, make_environ("/", script_name="/mounted/by/host"))
    assert result.text == "hosted script='/mounted/by/host' path='/'"
    other = call_environ(app, make_environ("/x", script_name="/elsewhere/"))
    assert other.text == "hosted default x"


def test_script_name_none_applications_build_urls_from_the_environ() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            return drupe.url("/page")

    app = drupe.Application(App(), None)
    result = call_environ(app, make_environ("/", script_name="/hosted"))
    assert result.text == "http://127.0.0.1:8080/hosted/page"


def test_each_app_has_its_own_config_and_log() -> None:
    first = mount(Named("a"), "/a", {"/": {"response.headers.X-App": "a"}})
    second = mount(Named("b"), "/b", {"/": {"response.headers.X-App": "b"}})
    assert call(path="/a/").header("X-App") == "a"
    assert call(path="/b/").header("X-App") == "b"
    assert first.log is not second.log
    assert first.log.error_log.name != second.log.error_log.name


# ---------------------------------------------------------------------------
# find_config


def test_find_config() -> None:
    app = mount(Named("x"), config={
        "/": {"key": "root"},
        "/a": {"key": "a", "only_a": 1},
        "/a/b/c": {"key": "abc"},
    })
    assert app.find_config("/", "key") == "root"
    assert app.find_config("/a", "key") == "a"
    assert app.find_config("/a/b", "key") == "a"
    assert app.find_config("/a/b/c/d", "key") == "abc"
    assert app.find_config("/z", "only_a", "default") == "default"
    assert app.find_config("/a/b", "only_a") == 1
    assert app.find_config("", "key") == "root"


# ---------------------------------------------------------------------------
# WSGI middleware


class Tag:
    """A WSGI middleware adding a header (configured by ``wsgi.<name>.<arg>``)."""

    def __init__(self, nextapp: Callable[..., Any], name: str = "X-Tag", value: str = "on") -> None:
        self.nextapp = nextapp
        self.name = name
        self.value = value

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def tagging_start_response(status: str, headers: list[tuple[str, str]],
                                   exc_info: Any = None) -> Any:
            order = environ.setdefault("tag.order", [])
            order.append(self.value)
            headers.append((self.name, ",".join(order)))
            return start_response(status, headers, exc_info)

        return self.nextapp(environ, tagging_start_response)


def test_wsgi_pipeline_with_arguments() -> None:
    mount(Named("x"), config={"/": {
        "wsgi.pipeline": [("outer", Tag), ("inner", Tag)],
        "wsgi.outer.value": "outer",
        "wsgi.inner.value": "inner",
        "wsgi.inner.name": "X-Inner",
    }})
    result = call(path="/")
    assert result.text.startswith("x ")
    # The inner middleware saw the response first; the first pair is the outermost.
    assert result.header("X-Inner") == "inner"
    assert result.header("X-Tag") == "inner,outer"


def test_wsgi_pipeline_config_errors() -> None:
    with pytest.raises(drupe.ConfigError, match="list of \\(name, factory\\) pairs"):
        mount(Named("x"), config={"/": {"wsgi.pipeline": Tag}})
    with pytest.raises(drupe.ConfigError, match=r"wsgi\.<middleware name>\.<argument>"):
        mount(Named("x"), config={"/": {"wsgi.orphan": 1}})


def test_wsgi_response_class() -> None:
    class Branded(drupe.Response):
        server_header = "branded/1.0"

    mount(Named("x"), config={"/": {"wsgi.response_class": Branded}})
    assert call(path="/").header("Server") == "branded/1.0"


# ---------------------------------------------------------------------------
# URLs


class Urls:
    @drupe.expose
    def index(self, target: str = "", relative: str = "", qs: str = "") -> str:
        rel: Any = {"": None, "true": True, "server": "server"}[relative]
        return drupe.url(target, qs=qs, relative=rel)

    class sub:
        exposed = True

        @drupe.expose
        def index(self, target: str = "", relative: str = "") -> str:
            return drupe.url(target, relative=relative == "true" or None)

        @drupe.expose
        def leaf(self, target: str = "", relative: str = "") -> str:
            rel: Any = {"": None, "true": True, "server": "server"}[relative]
            return drupe.url(target, relative=rel)

    sub = sub()  # type: ignore[misc, assignment]


@pytest.mark.parametrize(("path", "expected"), [
    ("/app/?target=/abs", "http://127.0.0.1:8080/app/abs"),
    ("/app/?target=page", "http://127.0.0.1:8080/app/page"),
    ("/app/sub/leaf?target=other", "http://127.0.0.1:8080/app/sub/other"),
    ("/app/sub/leaf?target=../up", "http://127.0.0.1:8080/app/up"),
    ("/app/sub/?target=child", "http://127.0.0.1:8080/app/sub/child"),
    ("/app/sub?target=child", "http://127.0.0.1:8080/app/sub/child"),
    ("/app/sub/leaf", "http://127.0.0.1:8080/app/sub/leaf"),
    ("/app/sub/leaf?target=./x/../y", "http://127.0.0.1:8080/app/sub/y"),
    ("/app/?target=/a&qs=b=1", "http://127.0.0.1:8080/app/a?b=1"),
    ("/app/sub/leaf?target=other&relative=server", "/app/sub/other"),
    ("/app/sub/leaf?target=other&relative=true", "other"),
    ("/app/sub/leaf?target=/app2/x&relative=true", "../app2/x"),
])
def test_url_inside_a_request(path: str, expected: str) -> None:
    mount(Urls(), "/app")
    assert call(path=path).text == expected


def test_url_with_a_query_mapping_and_explicit_parts() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            return " ".join([
                drupe.url("/x", qs={"a": "1", "b": "two words"}),
                drupe.url("/x", script_name="/other"),
                drupe.url("/x", base="https://example.org"),
            ])

    mount(App(), "/app")
    assert call(path="/app/").text == ("http://127.0.0.1:8080/app/x?a=1&b=two+words "
                                       "http://127.0.0.1:8080/other/x https://example.org/app/x")


def test_url_honours_the_host_header() -> None:
    mount(Urls())
    assert call(path="/?target=/x", host="www.example.com").text == "http://www.example.com/x"


def test_application_relative_urls() -> None:
    app = mount(Urls(), "/app")
    app.relative_urls = True
    assert call(path="/app/sub/leaf?target=other").text == "other"
    app.relative_urls = "server"
    assert call(path="/app/sub/leaf?target=other").text == "/app/sub/other"


def test_url_outside_a_request_uses_the_server_base() -> None:
    assert drupe.url("/x") == "http://127.0.0.1:8080/x"
    assert drupe.url("/x", script_name="/app", qs="a=1") == "http://127.0.0.1:8080/app/x?a=1"
    drupe.config.update({"server.socket_port": 80, "server.socket_host": "example.com"})
    assert drupe.url("/y") == "http://example.com/y"
    assert drupe.url("/y", base="https://cdn.example") == "https://cdn.example/y"
    assert drupe.url("/z", relative="server") == "/z"
