"""The cookie jar: RFC 6265's user-agent rules, alone and inside the in-process client."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

import drupe
from drupe_testing import Client, CookieJar


class Clock:
    """A clock a test moves by hand (the jar reads time only through it)."""

    def __init__(self, now: float = 1_000_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def jar_with(*set_cookies: str, host: str = "example.test", path: str = "/",
             clock: Clock | None = None) -> CookieJar:
    jar = CookieJar(clock=clock or Clock())
    jar.extract(set_cookies, host=host, path=path)
    return jar


def test_a_cookie_is_sent_back_to_its_host() -> None:
    jar = jar_with("sid=abc; HttpOnly; SameSite=Lax")
    assert jar.header_for(host="example.test", path="/") == "sid=abc"
    assert jar.header_for(host="EXAMPLE.test", path="/any/where") == "sid=abc"
    assert jar.header_for(host="other.test", path="/") is None
    assert jar.header_for(host="sub.example.test", path="/") is None  # host-only
    (cookie,) = list(jar)
    assert (cookie.http_only, cookie.same_site, cookie.host_only) == (True, "Lax", True)


def test_domain_attribute_covers_subdomains_and_foreign_domains_are_refused() -> None:
    jar = jar_with("a=1; Domain=.example.test", "b=2; Domain=elsewhere.test", host="www.example.test")
    assert jar.header_for(host="example.test", path="/") == "a=1"
    assert jar.header_for(host="deep.www.example.test", path="/") == "a=1"
    assert "b" not in jar


def test_an_ip_address_host_gets_no_subdomain_matching() -> None:
    jar = jar_with("a=1; Domain=0.0.1", host="127.0.0.1")
    assert len(jar) == 0
    jar = jar_with("a=1", host="127.0.0.1")
    assert jar.header_for(host="127.0.0.1", path="/") == "a=1"


@pytest.mark.parametrize(("request_path", "cookie_path"), [
    ("/", "/"),
    ("/shop", "/"),
    ("/shop/cart", "/shop"),
    ("/shop/cart/item", "/shop/cart"),
    ("/docs/", "/docs"),
])
def test_the_default_path_is_the_request_directory(request_path: str, cookie_path: str) -> None:
    (cookie,) = list(jar_with("a=1", path=request_path))
    assert cookie.path == cookie_path


def test_path_matching_respects_segment_boundaries() -> None:
    jar = jar_with("a=1; Path=/shop", "b=2; Path=/shop/", "c=3; Path=bad")
    assert jar.header_for(host="example.test", path="/shop") == "a=1; c=3"
    assert jar.header_for(host="example.test", path="/shop/cart") == "b=2; a=1; c=3"
    assert jar.header_for(host="example.test", path="/shopping") == "c=3"


def test_longer_paths_come_first_then_older_cookies() -> None:
    jar = jar_with("first=1", "deep=2; Path=/a/b", "second=3", "mid=4; Path=/a")
    assert jar.header_for(host="example.test", path="/a/b/c") == "deep=2; mid=4; first=1; second=3"


def test_secure_cookies_only_go_over_https() -> None:
    jar = jar_with("s=1; Secure", "p=2")
    assert jar.header_for(host="example.test", path="/", secure=False) == "p=2"
    assert jar.header_for(host="example.test", path="/", secure=True) == "s=1; p=2"


def test_expires_and_max_age() -> None:
    clock = Clock()
    jar = jar_with(
        "session=1",
        "future=2; Expires=Sun, 09 Sep 2001 01:47:00 GMT",  # 20 s after the clock's start
        "aged=3; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:00 GMT",  # Max-Age wins
        "past=4; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "gone=5; Max-Age=0",
        "bad_date=6; Expires=yesterday",
        clock=clock,
    )
    assert jar.header_for(host="example.test", path="/") == "session=1; future=2; aged=3; bad_date=6"
    clock.now += 11
    assert jar.header_for(host="example.test", path="/") == "session=1; future=2; bad_date=6"
    clock.now += 1000
    assert jar.header_for(host="example.test", path="/") == "session=1; bad_date=6"


def test_a_later_cookie_replaces_and_an_expired_one_deletes() -> None:
    clock = Clock()
    jar = jar_with("a=1", "b=2", clock=clock)
    jar.extract(["a=changed"], host="example.test", path="/")
    assert jar.header_for(host="example.test", path="/") == "a=changed; b=2"
    jar.extract(["a=; Max-Age=-1"], host="example.test", path="/")
    assert jar.header_for(host="example.test", path="/") == "b=2"
    jar.extract(["b=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], host="example.test", path="/")
    assert len(jar) == 0


@pytest.mark.parametrize("value", ["no-equals-sign", "=value-without-name", ""])
def test_malformed_set_cookie_values_are_ignored(value: str) -> None:
    assert len(jar_with(value)) == 0


def test_the_jar_as_a_mapping_and_by_hand() -> None:
    jar = jar_with("a=1", "b=2")
    assert (jar["a"], jar.get("b"), jar.get("c"), jar.get("c", "none")) == ("1", "2", None, "none")
    assert "a" in jar
    with pytest.raises(KeyError):
        jar["c"]
    jar.set("c", "3", path="/x")
    assert jar.header_for(host="anything.test", path="/x/y") == "c=3"
    jar.delete("a")
    assert [cookie.name for cookie in jar] == ["b", "c"]
    assert repr(jar) == "<CookieJar [b='2' (example.test/), c='3' (*/x)]>"
    jar.clear()
    assert len(jar) == 0


# -- through the client ------------------------------------------------------------------


def cookie_app(set_cookies: Iterable[str]) -> tuple[list[str | None], Callable[..., Any]]:
    """A WSGI app that sets ``set_cookies`` and records each request's Cookie header."""
    seen: list[str | None] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(environ.get("HTTP_COOKIE"))
        start_response("200 OK", [("Set-Cookie", value) for value in set_cookies])
        return []

    return seen, app


def test_the_client_stores_and_sends_cookies_by_path() -> None:
    seen, app = cookie_app(["top=1; Path=/", "shop=2"])
    client = Client(app)
    client.get("/shop/list")
    client.get("/shop/item")
    client.get("/other")
    assert seen == [None, "shop=2; top=1", "top=1"]
    assert client.cookies["shop"] == "2"


def test_a_cookie_header_given_by_the_test_replaces_the_jars() -> None:
    seen, app = cookie_app(["a=1"])
    client = Client(app)
    client.get("/")
    client.get("/", headers={"Cookie": "mine=0"})
    client.get("/", headers={"Cookie": None})
    assert seen == [None, "mine=0", None]


def test_a_drupe_session_style_round_trip(client: Client) -> None:
    class Root:
        @drupe.expose
        def login(self) -> str:
            drupe.response.cookie["user"] = "ann"
            drupe.response.cookie["user"]["path"] = "/"
            drupe.response.cookie["user"]["max-age"] = 60
            return "in"

        @drupe.expose
        def logout(self) -> str:
            drupe.response.cookie["user"] = ""
            drupe.response.cookie["user"]["path"] = "/"
            drupe.response.cookie["user"]["expires"] = 0
            return "out"

        @drupe.expose
        def whoami(self) -> str:
            morsel = drupe.request.cookie.get("user")
            return morsel.value if morsel is not None else "nobody"

    drupe.tree.mount(Root())
    assert client.get("/whoami").text == "nobody"
    client.get("/login")
    assert client.get("/whoami").text == "ann"
    client.get("/logout")
    assert client.get("/whoami").text == "nobody"
    assert "user" not in client.cookies
