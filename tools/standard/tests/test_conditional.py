"""The etags and expires tools, and drupe.lib.cptools.validate_since."""

from __future__ import annotations

import datetime
import hashlib
import html
from typing import Any

import pytest

import drupe
from drupe_testing import Client

BODY = "Oh wah ta goo Siam."
TAG = f'"{hashlib.md5(BODY.encode()).hexdigest()}"'


class Root:
    @drupe.expose
    def resource(self) -> str:
        return BODY

    @drupe.expose
    def tagged(self) -> str:
        drupe.response.headers["ETag"] = '"v1"'
        return BODY

    @drupe.expose
    def weakly_tagged(self) -> str:
        drupe.response.headers["ETag"] = 'W/"v1"'
        return BODY

    @drupe.expose
    def bare_tag(self) -> str:
        # Unquoted, as some applications (and CherryPy's own tests) write it.
        drupe.response.headers["ETag"] = "bibbitybobbityboo"
        return BODY

    @drupe.expose
    def fail(self, code: str) -> None:
        status = int(code)
        if 300 <= status <= 399:
            raise drupe.HTTPRedirect([], status)
        raise drupe.HTTPError(status)

    @drupe.expose
    def created(self) -> str:
        drupe.response.status = 201
        return BODY

    @drupe.expose
    def streamed(self) -> Any:
        yield BODY

    streamed._cp_config = {"response.stream": True}


def mount(conf: dict[str, Any] | None = None) -> None:
    drupe.tree.mount(Root(), "/", {"/": conf if conf is not None else {
        "tools.etags.on": True, "tools.etags.autotags": True}})


def message(reply: Any) -> str:
    text = reply.text
    return html.unescape(text[text.index("<p>") + 3:text.index("</p>")])


# -- ETag ---------------------------------------------------------------------------------


def test_autotags_tag_the_body(client: Client) -> None:
    mount()
    reply = client.get("/resource")
    assert reply.status == 200
    assert reply.headers["ETag"] == TAG
    assert reply.body == BODY.encode()


def test_autotags_off_by_default(client: Client) -> None:
    mount({"tools.etags.on": True})
    assert "ETag" not in client.get("/resource").headers
    # Without a tag, If-Match cannot match (412) and If-None-Match never matches.
    assert client.get("/resource", headers={"If-Match": TAG}).status == 412
    assert client.get("/resource", headers={"If-None-Match": TAG}).status == 200


def test_autotags_leave_a_handlers_tag_and_skip_streams(client: Client) -> None:
    mount()
    assert client.get("/tagged").headers["ETag"] == '"v1"'
    assert "ETag" not in client.get("/streamed").headers
    assert "ETag" not in client.get("/created").headers  # only a 200 is tagged


@pytest.mark.parametrize(
    ("method", "header", "value", "status"),
    [
        ("GET", "If-Match", TAG, 200),
        ("GET", "If-Match", "*", 200),
        ("POST", "If-Match", "*", 200),
        ("GET", "If-Match", f'"other", {TAG}', 200),
        ("GET", "If-Match", "a bogus tag", 412),
        ("GET", "If-Match", '"other"', 412),
        ("GET", "If-Match", "W/" + TAG, 412),  # strong comparison
        ("GET", "If-None-Match", TAG, 304),
        ("HEAD", "If-None-Match", TAG, 304),
        ("GET", "If-None-Match", "W/" + TAG, 304),  # weak comparison
        ("GET", "If-None-Match", f'"a", "b", {TAG}', 304),
        ("GET", "If-None-Match", "*", 304),
        ("POST", "If-None-Match", TAG, 412),
        ("POST", "If-None-Match", "*", 412),
        ("GET", "If-None-Match", "a bogus tag", 200),
        ("GET", "If-None-Match", '"other"', 200),
    ],
)
def test_preconditions(client: Client, method: str, header: str, value: str, status: int) -> None:
    mount()
    reply = client.request(method, "/resource", headers={header: value})
    assert reply.status == status
    if status == 304:
        assert reply.headers["ETag"] == TAG
        assert reply.body == b""


def test_weak_tags_from_the_handler(client: Client) -> None:
    mount()
    assert client.get("/weakly_tagged", headers={"If-None-Match": '"v1"'}).status == 304
    assert client.get("/weakly_tagged", headers={"If-Match": 'W/"v1"'}).status == 412


def test_unquoted_tags_compare_as_written(client: Client) -> None:
    mount()
    assert client.get("/bare_tag", headers={"If-None-Match": "bibbitybobbityboo"}).status == 304
    assert client.get("/bare_tag", headers={"If-Match": "bibbitybobbityboo"}).status == 200


def test_412_messages(client: Client) -> None:
    mount()
    reply = client.get("/tagged", headers={"If-Match": '"v0"'})
    assert message(reply) == 'If-Match failed: the current ETag is "v1", the request asked for "v0".'
    reply = client.post("/tagged", headers={"If-None-Match": '"v1"'})
    assert message(reply) == 'If-None-Match failed: the current ETag "v1" matches "v1".'


@pytest.mark.parametrize(
    ("code", "header", "value"),
    [
        (412, "If-Match", TAG),
        (304, "If-Match", TAG),
        (412, "If-None-Match", "*"),
        (304, "If-None-Match", "*"),
        (404, "If-Match", '"nothing"'),  # not a 2xx: the precondition does not apply
        (500, "If-None-Match", "*"),
    ],
)
def test_errors_and_redirects_pass_through(client: Client, code: int, header: str, value: str) -> None:
    mount()
    assert client.get(f"/fail?code={code}", headers={header: value}).status == code


def test_other_2xx_statuses_are_checked(client: Client) -> None:
    mount()
    assert client.get("/created", headers={"If-None-Match": "*"}).status == 304


def test_the_encoded_body_is_tagged(client: Client) -> None:
    mount()
    reply = client.get("/resource", headers={"Accept-Charset": "utf-16"})
    assert reply.headers["ETag"] == f'"{hashlib.md5(BODY.encode("utf-16")).hexdigest()}"'
    etag = reply.headers["ETag"]
    assert client.get("/resource", headers={"Accept-Charset": "utf-16", "If-Match": etag}).status == 200


# -- validate_since -----------------------------------------------------------------------

MODIFIED = "Tue, 01 Jun 2021 10:00:00 GMT"
EARLIER = "Mon, 31 May 2021 10:00:00 GMT"
LATER = "Wed, 02 Jun 2021 10:00:00 GMT"


class Dated:
    @drupe.expose
    def index(self) -> str:
        from drupe.lib import cptools

        drupe.response.headers["Last-Modified"] = MODIFIED
        cptools.validate_since()
        return "content"


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {}, 200),
        ("GET", {"If-Modified-Since": MODIFIED}, 304),
        ("GET", {"If-Modified-Since": LATER}, 304),
        ("HEAD", {"If-Modified-Since": MODIFIED}, 304),
        ("GET", {"If-Modified-Since": EARLIER}, 200),
        ("GET", {"If-Modified-Since": "yesterday"}, 200),  # unparsable: ignored
        ("POST", {"If-Modified-Since": MODIFIED}, 200),  # GET and HEAD only
        ("GET", {"If-Modified-Since": MODIFIED, "If-None-Match": '"x"'}, 200),
        ("GET", {"If-Unmodified-Since": MODIFIED}, 200),
        ("GET", {"If-Unmodified-Since": LATER}, 200),
        ("GET", {"If-Unmodified-Since": EARLIER}, 412),
        ("POST", {"If-Unmodified-Since": EARLIER}, 412),
        ("GET", {"If-Unmodified-Since": EARLIER, "If-Match": "*"}, 200),
    ],
)
def test_validate_since(client: Client, method: str, headers: dict[str, str], status: int) -> None:
    drupe.tree.mount(Dated())
    assert client.request(method, "/", headers=headers).status == status


# -- expires ------------------------------------------------------------------------------

LONG_AGO = "Sun, 28 Jan 2007 00:00:00 GMT"


class Cacheable:
    @drupe.expose
    def plain(self) -> str:
        return "no validator"

    @drupe.expose
    def tagged(self) -> str:
        drupe.response.headers["ETag"] = '"t"'
        return "tagged"

    @drupe.expose
    def private(self) -> str:
        drupe.response.headers["ETag"] = '"t"'
        drupe.response.headers["Cache-Control"] = "private"
        return "private"

    @drupe.expose
    def dated(self) -> str:
        drupe.response.headers["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
        return "dated"


def test_expires_in_the_future(client: Client) -> None:
    drupe.tree.mount(Cacheable(), "/", {"/": {"tools.expires.on": True, "tools.expires.secs": 86400}})
    reply = client.get("/tagged")
    expires = datetime.datetime.strptime(reply.headers["Expires"], "%a, %d %b %Y %H:%M:%S GMT")
    date = datetime.datetime.strptime(reply.headers["Date"], "%a, %d %b %Y %H:%M:%S GMT")
    assert expires - date == datetime.timedelta(days=1)
    assert "Pragma" not in reply.headers
    assert "Cache-Control" not in reply.headers


def test_a_timedelta_works_too(client: Client) -> None:
    drupe.tree.mount(Cacheable(), "/", {"/": {"tools.expires.on": True,
                                              "tools.expires.secs": datetime.timedelta(hours=1)}})
    reply = client.get("/tagged")
    expires = datetime.datetime.strptime(reply.headers["Expires"], "%a, %d %b %Y %H:%M:%S GMT")
    date = datetime.datetime.strptime(reply.headers["Date"], "%a, %d %b %Y %H:%M:%S GMT")
    assert expires - date == datetime.timedelta(hours=1)


def test_zero_means_do_not_cache(client: Client) -> None:
    drupe.tree.mount(Cacheable(), "/", {"/": {"tools.expires.on": True}})
    reply = client.get("/tagged")
    assert reply.headers["Expires"] == LONG_AGO
    assert reply.headers["Pragma"] == "no-cache"
    assert reply.headers["Cache-Control"] == "no-cache, must-revalidate"
    # HTTP/1.0 has no Cache-Control.
    old = client.get("/tagged", protocol="HTTP/1.0")
    assert old.headers["Pragma"] == "no-cache"
    assert "Cache-Control" not in old.headers


def test_without_force_only_storable_responses_change_and_nothing_is_replaced(client: Client) -> None:
    drupe.tree.mount(Cacheable(), "/", {"/": {"tools.expires.on": True}})
    plain = client.get("/plain")
    assert "Expires" not in plain.headers
    assert "Pragma" not in plain.headers
    private = client.get("/private")
    assert private.headers["Cache-Control"] == "private"
    assert private.headers["Expires"] == LONG_AGO
    dated = client.get("/dated")
    assert dated.headers["Expires"] == "Thu, 01 Jan 2099 00:00:00 GMT"


def test_force_acts_everywhere_and_replaces(client: Client) -> None:
    drupe.tree.mount(Cacheable(), "/", {"/": {"tools.expires.on": True, "tools.expires.force": True}})
    for path in ("/plain", "/private", "/dated"):
        reply = client.get(path)
        assert reply.headers["Expires"] == LONG_AGO
        assert reply.headers["Pragma"] == "no-cache"
        assert reply.headers["Cache-Control"] == "no-cache, must-revalidate"


def test_bad_secs_is_a_config_error() -> None:
    with pytest.raises(drupe.ConfigError, match=r"tools.expires.secs"):
        drupe.tools.expires.check_settings({"secs": "an hour"})
    with pytest.raises(drupe.ConfigError, match=r"tools.expires.secs"):
        drupe.tools.expires.check_settings({"secs": True})


def test_lib_caching_expires() -> None:
    from drupe.lib import caching

    assert caching.expires is drupe.tools.expires.callable


def test_an_invalid_status_is_left_to_the_kernel(client: Client, error_log: list[str]) -> None:
    class Odd:
        @drupe.expose
        def index(self) -> str:
            drupe.response.status = 781
            return "oops"

    drupe.tree.mount(Odd(), "/", {"/": {"tools.etags.on": True, "tools.etags.autotags": True}})
    reply = client.get("/", headers={"If-None-Match": "*"})
    assert reply.status == 500
    assert "781" in message(reply)
    assert not [line for line in error_log if "Hook" in line and "failed" in line]
