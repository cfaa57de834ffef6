"""trailing_slash (on by default), redirect and err_redirect."""

from __future__ import annotations

import html
from typing import Any

import pytest

import drupe
from drupe_testing import Client


class Docs:
    @drupe.expose
    def index(self) -> str:
        return "docs index"

    @drupe.expose
    def page(self, name: str = "") -> str:
        return f"page {name}"


class Files:
    @drupe.expose
    def default(self, *parts: str) -> str:
        return "file " + "/".join(parts)


class Root:
    def __init__(self) -> None:
        self.docs = Docs()
        self.files = Files()

    @drupe.expose
    def index(self) -> str:
        return "home"

    @drupe.expose
    def form(self, **params: Any) -> str:
        return f"{drupe.request.method} {sorted(params.items())}"


def mount(conf: dict[str, Any] | None = None, script_name: str = "") -> None:
    drupe.tree.mount(Root(), script_name, {"/": conf or {}})


# -- trailing_slash -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "location", "body"),
    [
        ("/docs", 301, "http://localhost/docs/", None),  # an index without its slash
        ("/docs/", 200, None, "docs index"),
        ("/docs?lang=en&x=%C3%A9", 301, "http://localhost/docs/?lang=en&x=%C3%A9", None),
        ("/docs/page", 200, None, "page "),
        ("/docs/page/", 200, None, "page "),  # extra is off by default
        ("/", 200, None, "home"),
        ("/files/a/b", 200, None, "file a/b"),  # a default handler: is_index follows the slash
        ("/files/a/b/", 200, None, "file a/b"),
    ],
)
def test_trailing_slash_defaults(client: Client, path: str, status: int, location: str | None,
                                 body: str | None) -> None:
    mount()
    reply = client.get(path)
    assert reply.status == status
    assert reply.headers.get("Location") == location
    if body is not None:
        assert reply.text == body
    else:
        assert location is not None
        assert location in html.unescape(reply.text)


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        ("/docs/page/", 301, "http://localhost/docs/page"),
        ("/docs/page/?name=x", 301, "http://localhost/docs/page?name=x"),
        ("/docs/page", 200, None),
        ("/docs/", 200, None),  # an index keeps its slash
        ("/", 200, None),  # '/' has nothing to remove
        ("/files/a/", 200, None),  # a default handler reached with a slash counts as an index
    ],
)
def test_trailing_slash_extra(client: Client, path: str, status: int, location: str | None) -> None:
    mount({"tools.trailing_slash.extra": True})
    reply = client.get(path)
    assert reply.status == status
    assert reply.headers.get("Location") == location


def test_missing_off(client: Client) -> None:
    mount({"tools.trailing_slash.missing": False})
    assert client.get("/docs").text == "docs index"


def test_the_tool_off(client: Client) -> None:
    mount({"tools.trailing_slash.on": False, "tools.trailing_slash.extra": True})
    assert client.get("/docs").text == "docs index"
    assert client.get("/docs/page/").text == "page "


def test_status(client: Client) -> None:
    mount({"tools.trailing_slash.status": 308})
    reply = client.get("/docs")
    assert reply.status == 308
    assert reply.headers["Location"] == "http://localhost/docs/"


def test_the_mount_point_is_kept(client: Client) -> None:
    mount(script_name="/app")
    reply = client.get("/app/docs?q=1")
    assert reply.headers["Location"] == "http://localhost/app/docs/?q=1"
    # The application's root reached without any slash: "/app" -> "/app/".
    assert client.get("/app").headers["Location"] == "http://localhost/app/"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_every_method_is_redirected(client: Client, method: str) -> None:
    # As in CherryPy. With 301 a client may repeat a POST as a GET without its body;
    # 307/308 (the status argument) make it repeat the method and the body.
    mount({"tools.trailing_slash.extra": True})
    reply = client.request(method, "/form/", data={"a": "1"} if method in ("POST", "PUT") else None)
    assert reply.status == 301
    assert reply.headers["Location"] == "http://localhost/form"


def test_status_308_for_posts(client: Client) -> None:
    mount({"tools.trailing_slash.extra": True, "tools.trailing_slash.status": 308})
    reply = client.post("/form/", data={"a": "1"})
    assert reply.status == 308
    assert client.post(reply.headers["Location"], data={"a": "1"}).text == "POST [('a', '1')]"


@pytest.mark.parametrize("value", [200, 404, "permanent", True])
def test_bad_status_is_a_config_error(value: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"tools.trailing_slash.status"):
        drupe.tools.trailing_slash.check_settings({"status": value})


# -- redirect -----------------------------------------------------------------------------


class Moved:
    @drupe.expose
    def index(self) -> str:
        return "never reached"

    @drupe.expose
    def target(self) -> str:
        return f"target via {drupe.request.prev.path_info if drupe.request.prev else 'nothing'}"


def test_internal_redirect(client: Client) -> None:
    drupe.tree.mount(Moved(), "", {"/old": {"tools.redirect.on": True, "tools.redirect.url": "/target"}})
    reply = client.get("/old")
    assert reply.status == 200
    assert reply.text == "target via /old"


def test_http_redirect(client: Client) -> None:
    drupe.tree.mount(Moved(), "", {"/old": {"tools.redirect.on": True, "tools.redirect.url": "/target",
                                            "tools.redirect.internal": False}})
    reply = client.get("/old")
    assert reply.status == 303
    assert reply.headers["Location"] == "http://localhost/target"


# -- err_redirect -------------------------------------------------------------------------


class Failing:
    @drupe.expose
    def index(self) -> str:
        raise NameError("redirect_test")

    @drupe.expose
    def errpage(self) -> str:
        return "sorry"

    @drupe.expose
    def missing(self) -> str:
        raise drupe.NotFound()


def test_err_redirect_internal(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Failing(), "", {"/": {"tools.err_redirect.on": True,
                                           "tools.err_redirect.url": "/errpage"}})
    reply = client.get("/")
    assert reply.status == 200
    assert reply.text == "sorry"
    assert sum("redirect_test" in line for line in error_log) == 1


def test_err_redirect_external(client: Client) -> None:
    drupe.tree.mount(Failing(), "", {"/": {"tools.err_redirect.on": True,
                                           "tools.err_redirect.url": "/errpage",
                                           "tools.err_redirect.internal": False}})
    reply = client.get("/")
    assert reply.status == 303
    assert reply.headers["Location"] == "http://localhost/errpage"


def test_err_redirect_leaves_http_errors_alone(client: Client) -> None:
    drupe.tree.mount(Failing(), "", {"/": {"tools.err_redirect.on": True,
                                           "tools.err_redirect.url": "/errpage"}})
    assert client.get("/missing").status == 404


def test_err_redirect_replaces_error_response() -> None:
    assert drupe.tools.err_redirect.point is None
    assert isinstance(drupe.tools.err_redirect, drupe.ErrorTool)
