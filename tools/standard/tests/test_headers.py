"""accept, allow, autovary, ignore_headers, response_headers and referer."""

from __future__ import annotations

import html
from typing import Any

import pytest

import drupe
from drupe_testing import Client

FEED = '<?xml version="1.0"?><feed/>'


def message(reply: Any) -> str:
    text = reply.text
    return html.unescape(text[text.index("<p>") + 3:text.index("</p>")])


# -- accept -----------------------------------------------------------------------------


class Accepting:
    @drupe.expose
    def index(self) -> str:
        return "no media given: nothing tested"

    @drupe.expose
    @drupe.tools.accept(media="application/atom+xml")
    def feed(self) -> str:
        return FEED

    @drupe.expose
    def select(self) -> str:
        chosen = drupe.tools.accept.callable(["text/html", "text/plain"])
        return "<h2>Title</h2>" if chosen == "text/html" else "TITLE"


@pytest.fixture
def accepting(client: Client) -> Client:
    drupe.tree.mount(Accepting(), "/", {"/": {"tools.accept.on": True}})
    return client


@pytest.mark.parametrize("accept", [None, "application/atom+xml", "application/*", "*/*",
                                    "text/html;q=0.5, application/atom+xml;q=0.9",
                                    "application/atom+xml;q=high"])
def test_accepted_media(accepting: Client, accept: str | None) -> None:
    reply = accepting.get("/feed", headers={"Accept": accept} if accept else None)
    assert reply.status == 200
    assert reply.body == FEED.encode()
    assert reply.headers["Vary"] == "Accept"


@pytest.mark.parametrize("accept", ["text/html", "application/atom+xml;q=0",
                                    "application/*;q=0, */*", "application/atom+xml;q=0, */*"])
def test_refused_media_is_406(accepting: Client, accept: str) -> None:
    reply = accepting.get("/feed", headers={"Accept": accept})
    assert reply.status == 406
    assert message(reply) == (f"This resource is available as application/atom+xml only. The "
                              f"request's Accept header ({accept!r}) accepts none of them.")


def test_accept_without_media_tests_nothing(accepting: Client) -> None:
    reply = accepting.get("/", headers={"Accept": "image/png"})
    assert reply.status == 200
    assert "Vary" not in reply.headers


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        ("text/html", b"<h2>Title</h2>"),
        ("text/plain", b"TITLE"),
        ("text/plain, text/*;q=0.5", b"TITLE"),
        ("text/*", b"<h2>Title</h2>"),  # equal quality: the server's order
        ("*/*", b"<h2>Title</h2>"),
        ("text/plain, text/html", b"TITLE"),  # equal quality: the client's order first
        ("text/html;q=0, text/*", b"TITLE"),  # the specific range refuses text/html
        ("text/html;level=1", b"<h2>Title</h2>"),  # parameters the type lacks do not match...
        ("TEXT/PLAIN", b"TITLE"),
    ],
)
def test_accept_selection(accepting: Client, accept: str, body: bytes) -> None:
    reply = accepting.get("/select", headers={"Accept": accept})
    if accept == "text/html;level=1":
        # ...so nothing matches here: 406.
        assert reply.status == 406
        return
    assert reply.status == 200
    assert reply.body == body


def test_accept_selection_refusal_names_all_types(accepting: Client) -> None:
    reply = accepting.get("/select", headers={"Accept": "application/xml"})
    assert reply.status == 406
    assert "available as text/html, text/plain only" in message(reply)


# -- allow ------------------------------------------------------------------------------


class Resource:
    @drupe.expose
    def index(self) -> str:
        return "resource"


@pytest.mark.parametrize(
    ("methods", "allowed", "header"),
    [
        (None, ["GET", "HEAD"], "GET, HEAD"),
        ("post", ["POST"], "POST"),
        (["get", "Put"], ["GET", "PUT", "HEAD"], "GET, PUT, HEAD"),
        (["HEAD", "GET"], ["GET", "HEAD"], "HEAD, GET"),
    ],
)
def test_allow(client: Client, methods: Any, allowed: list[str], header: str) -> None:
    conf: dict[str, Any] = {"tools.allow.on": True}
    if methods is not None:
        conf["tools.allow.methods"] = methods
    drupe.tree.mount(Resource(), "/", {"/": conf})
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"):
        reply = client.request(method, "/")
        assert reply.headers["Allow"] == header
        assert reply.status == (200 if method in allowed else 405), method
        if reply.status == 405 and method != "HEAD":  # a HEAD response has no body
            assert message(reply) == (f"This resource does not accept {method} requests; it "
                                      f"accepts {header}.")


# -- autovary ---------------------------------------------------------------------------


class Varying:
    @drupe.expose
    def index(self) -> str:
        headers = drupe.request.headers
        headers.get("Accept-Encoding")
        headers["Host"]
        "If-Modified-Since" in headers  # noqa: B015 - reading is the point
        "range" in headers  # noqa: B015
        headers.get("Content-Type")  # ignored by default
        drupe.tools.accept.callable(["text/html", "text/plain"])
        drupe.response.headers["Vary"] = "Cookie"
        return "varied"

    @drupe.expose
    def quiet(self) -> str:
        return "reads nothing"


def test_autovary_lists_what_was_read(client: Client) -> None:
    drupe.tree.mount(Varying(), "/", {"/": {"tools.autovary.on": True}})
    reply = client.get("/")
    # Accept-Charset: the encode tool (on by default) reads it.
    assert reply.headers["Vary"] == ("Accept, Accept-Charset, Accept-Encoding, Cookie, Host, "
                                     "If-Modified-Since, Range")


def test_autovary_ignore(client: Client) -> None:
    drupe.tree.mount(Varying(), "/", {"/": {"tools.autovary.on": True,
                                            "tools.autovary.ignore": ["host", "Accept-Charset"]}})
    assert client.get("/").headers["Vary"] == ("Accept, Accept-Encoding, Content-Type, Cookie, "
                                               "If-Modified-Since, Range")


def test_autovary_keeps_vary_star(client: Client) -> None:
    class Star(Varying):
        @drupe.expose
        def index(self) -> str:
            drupe.request.headers.get("Accept-Language")
            drupe.response.headers["Vary"] = "*"
            return "anything"

    drupe.tree.mount(Star(), "/", {"/": {"tools.autovary.on": True}})
    assert client.get("/").headers["Vary"] == "*"


def test_autovary_plans_two_hooks() -> None:
    tool = drupe.tools.autovary
    assert (tool.point, tool.priority) == ("on_start_resource", 0)
    drupe.tree.mount(Varying(), "/", {"/": {"tools.autovary.on": True}})
    Client(drupe.tree).get("/quiet")
    plan = drupe.tree.apps[""]._plans["/quiet"]
    described = plan.describe()
    assert (0, "drupe_tool_standard._headers._monitor_headers") in described["on_start_resource"]
    assert (95, "drupe_tool_standard._headers._emit_vary") in described["before_finalize"]


def test_autovary_callable_works_as_a_plain_hook(client: Client) -> None:
    from drupe.lib import cptools

    drupe.tools.my_autovary = drupe.Tool("on_start_resource", cptools.autovary, priority=0)
    drupe.tree.mount(Varying(), "/", {"/": {"tools.my_autovary.on": True}})
    assert "Accept-Encoding" in client.get("/").headers["Vary"]


def test_monitored_header_map() -> None:
    from drupe.lib import cptools

    headers = cptools.MonitoredHeaderMap()
    headers["X-One"] = "1"
    assert headers.accessed_headers == set()
    assert headers.get("x-one") == "1"
    assert "X-Two" not in headers
    assert headers.accessed_headers == {"X-One", "X-Two"}


# -- ignore_headers -----------------------------------------------------------------------


class Echo:
    @drupe.expose
    def index(self) -> str:
        headers = drupe.request.headers
        return ",".join(f"{name}={headers.get(name)}" for name in ("Range", "X-Debug", "Accept"))


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({}, "Range=None,X-Debug=on,Accept=*/*"),
        ({"tools.ignore_headers.headers": ["x-debug", "Accept"]}, "Range=bytes=0-1,X-Debug=None,Accept=None"),
        ({"tools.ignore_headers.headers": "X-Debug"}, "Range=bytes=0-1,X-Debug=None,Accept=*/*"),
    ],
)
def test_ignore_headers(client: Client, setting: dict[str, Any], expected: str) -> None:
    drupe.tree.mount(Echo(), "/", {"/": {"tools.ignore_headers.on": True, **setting}})
    reply = client.get("/", headers={"Range": "bytes=0-1", "X-Debug": "on", "Accept": "*/*"})
    assert reply.text == expected


# -- response_headers ---------------------------------------------------------------------


class Greeting:
    @drupe.expose
    def index(self) -> str:
        return "Hello, world"

    @drupe.expose
    @drupe.tools.response_headers(headers=[("Content-Language", "en-GB"), ("Content-Type", "text/plain")])
    def decorated(self) -> str:
        return "Hello"

    @drupe.expose
    def broken(self) -> str:
        raise RuntimeError("broken")


def test_response_headers_from_config(client: Client) -> None:
    drupe.tree.mount(Greeting(), "/", {"/": {
        "tools.response_headers.on": True,
        "tools.response_headers.headers": [("Content-Language", "fr"), ("Content-Type", "text/plain")],
    }})
    reply = client.get("/")
    assert reply.headers["Content-Language"] == "fr"
    # encode (on by default) adds the charset, as CherryPy's tutorial shows.
    assert reply.headers["Content-Type"] == "text/plain;charset=utf-8"


def test_response_headers_decorator_and_mapping(client: Client) -> None:
    drupe.tree.mount(Greeting(), "/", {"/greeting": {}, "/": {
        "tools.response_headers.headers": {"X-Frame-Options": "DENY"}}})
    reply = client.get("/decorated")
    assert reply.headers["Content-Language"] == "en-GB"
    assert reply.headers["Content-Type"] == "text/plain;charset=utf-8"
    assert "X-Frame-Options" not in reply.headers  # the decorator's own list wins
    drupe.tree.mount(Greeting(), "/m", {"/": {"tools.response_headers.on": True,
                                              "tools.response_headers.headers": {"X-Frame-Options": "DENY"}}})
    assert client.get("/m/").headers["X-Frame-Options"] == "DENY"


def test_response_headers_is_failsafe() -> None:
    from drupe.lib import cptools

    assert cptools.response_headers.failsafe is True


@pytest.mark.parametrize("headers", [["X-One"], [("X-Two", "a\r\nInjected: 1")], 3])
def test_response_headers_are_checked(headers: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"tools.response_headers.headers"):
        drupe.tools.response_headers.check_settings({"headers": headers})


# -- referer ------------------------------------------------------------------------------


class Guarded:
    @drupe.expose
    def accept(self) -> str:
        return "Accepted!"

    reject = accept


@pytest.fixture
def guarded(client: Client) -> Client:
    drupe.tree.mount(Guarded(), "/", {
        "/": {"tools.referer.on": True, "tools.referer.pattern": r"http://[^/]*example\.com"},
        "/reject": {"tools.referer.accept": False, "tools.referer.accept_missing": True},
    })
    return client


@pytest.mark.parametrize(
    ("path", "referer", "status"),
    [
        ("/accept", None, 403),
        ("/accept", "http://www.example.com/", 200),
        ("/accept", "http://evil.test/?http://example.com", 403),
        ("/reject", None, 200),
        ("/reject", "http://www.example.com/", 403),
        ("/reject", "http://elsewhere.test/", 200),
    ],
)
def test_referer(guarded: Client, path: str, referer: str | None, status: int) -> None:
    reply = guarded.get(path, headers={"Referer": referer} if referer else None)
    assert reply.status == status
    if status == 403:
        assert message(reply) == "Forbidden Referer header."


def test_referer_error_and_message(client: Client) -> None:
    drupe.tree.mount(Guarded(), "/", {"/": {"tools.referer.on": True, "tools.referer.pattern": "x",
                                            "tools.referer.error": 400,
                                            "tools.referer.message": "Say where you come from."}})
    reply = client.get("/accept")
    assert reply.status == 400
    assert message(reply) == "Say where you come from."


def test_referer_needs_a_pattern(client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Guarded(), "/", {"/": {"tools.referer.on": True}})
    assert client.get("/accept").status == 500
    assert any("'tools.referer.pattern' is required" in line for line in error_log)


@pytest.mark.parametrize(("setting", "value"), [("pattern", "(unclosed"), ("error", 302), ("error", "x")])
def test_referer_settings_are_checked(setting: str, value: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=rf"tools.referer.{setting}"):
        drupe.tools.referer.check_settings({setting: value})
