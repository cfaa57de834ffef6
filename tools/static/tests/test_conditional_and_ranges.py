"""Conditional GET (RFC 9110 §13) and byte ranges (§14) on served files."""

from __future__ import annotations

import email.parser
import email.policy
import os
from typing import Any

import pytest

import drupe
from drupe.lib.httputil import HTTPDate
from drupe_testing import Client
from drupe_tool_static import parse_ranges

PATH = "/static/css/style.css"


class Root:
    pass


@pytest.fixture
def served(site: Any, client: Client) -> Client:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": str(site.static)}})
    return client


@pytest.fixture
def validators(served: Client) -> tuple[str, str]:
    headers = served.get(PATH).headers
    return headers["ETag"], headers["Last-Modified"]


# -- validators and preconditions ----------------------------------------------------------


def test_the_etag_changes_when_the_file_changes(site: Any, served: Client) -> None:
    first = served.get(PATH).headers["ETag"]
    target = site.static / "css" / "style.css"
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    assert served.get(PATH).headers["ETag"] != first


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_answers_304(served: Client, validators: tuple[str, str], method: str,
                                   form: str) -> None:
    etag, _ = validators
    response = served.request(method, PATH, headers={"If-None-Match": form.format(etag=etag)})
    assert response.status == 304
    assert response.body == b""
    assert response.headers["ETag"] == etag
    assert "Content-Length" not in response.headers


def test_if_none_match_without_a_match_is_200(served: Client) -> None:
    assert served.get(PATH, headers={"If-None-Match": '"nothing-like-it"'}).status == 200


def test_if_modified_since(served: Client, validators: tuple[str, str]) -> None:
    _, last_modified = validators
    assert served.get(PATH, headers={"If-Modified-Since": last_modified}).status == 304
    assert served.get(PATH, headers={"If-Modified-Since": HTTPDate(2_000_000_000)}).status == 304
    assert served.get(PATH, headers={"If-Modified-Since": HTTPDate(1_000_000_000)}).status == 200
    assert served.get(PATH, headers={"If-Modified-Since": "yesterday"}).status == 200
    assert served.get(PATH, headers={"If-Modified-Since": ""}).status == 200


def test_if_none_match_takes_precedence_over_if_modified_since(served: Client,
                                                               validators: tuple[str, str]) -> None:
    _, last_modified = validators
    response = served.get(PATH, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert response.status == 200


def test_if_match(served: Client, validators: tuple[str, str]) -> None:
    etag, _ = validators
    assert served.get(PATH, headers={"If-Match": etag}).status == 200
    assert served.get(PATH, headers={"If-Match": f'"a", {etag}'}).status == 200
    assert served.get(PATH, headers={"If-Match": "*"}).status == 200
    failed = served.get(PATH, headers={"If-Match": '"stale"'})
    assert failed.status == 412
    assert "If-Match failed" in failed.text
    # If-Match compares strongly: a weak tag never matches.
    assert served.get(PATH, headers={"If-Match": "W/" + etag}).status == 412


def test_if_unmodified_since(served: Client, validators: tuple[str, str]) -> None:
    etag, last_modified = validators
    assert served.get(PATH, headers={"If-Unmodified-Since": last_modified}).status == 200
    assert served.get(PATH, headers={"If-Unmodified-Since": HTTPDate(1_000_000_000)}).status == 412
    assert served.get(PATH, headers={"If-Unmodified-Since": "garbage"}).status == 200
    # Ignored when If-Match is there.
    assert served.get(PATH, headers={"If-Match": etag,
                                     "If-Unmodified-Since": HTTPDate(1_000_000_000)}).status == 200


def test_412_comes_before_304(served: Client, validators: tuple[str, str]) -> None:
    etag, _ = validators
    assert served.get(PATH, headers={"If-Match": '"stale"', "If-None-Match": etag}).status == 412


# -- ranges on the wire ------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "start", "stop"), [
    ("bytes=0-0", 0, 1), ("bytes=0-9", 0, 10), ("bytes=5-", 5, None), ("bytes=-5", -5, None),
    ("bytes=10-9999999", 10, None), ("bytes=-9999999", 0, None), ("BYTES = 3-4", 3, 5),
    ("bytes=0-1, 9999-", 0, 2),
])
def test_a_single_range_is_206(site: Any, served: Client, header: str, start: int, stop: int | None) -> None:
    response = served.get(PATH, headers={"Range": header})
    assert response.status == 206
    expected = site.style[start:stop]
    assert response.body == expected
    first = start if start >= 0 else len(site.style) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(site.style)}"
    assert response.headers["Content-Length"] == str(len(expected))
    assert response.headers["Content-Type"] == "text/css"


def parse_multipart(response: Any) -> list[tuple[str, str, bytes]]:
    """The parts of a multipart/byteranges body, parsed by the standard library."""
    raw = (f"Content-Type: {response.headers['Content-Type']}\r\n\r\n").encode() + response.body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    assert message.is_multipart()
    return [(part["Content-Type"], part["Content-Range"], part.get_payload(decode=True))
            for part in message.iter_parts()]


def test_several_ranges_are_multipart_byteranges(site: Any, served: Client) -> None:
    response = served.get(PATH, headers={"Range": "bytes=0-3, 10-14, -2"})
    assert response.status == 206
    assert response.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert response.headers["Content-Length"] == str(len(response.body))
    size = len(site.style)
    assert parse_multipart(response) == [
        ("text/css", f"bytes 0-3/{size}", site.style[0:4]),
        ("text/css", f"bytes 10-14/{size}", site.style[10:15]),
        ("text/css", f"bytes {size - 2}-{size - 1}/{size}", site.style[-2:]),
    ]


def test_multipart_ranges_of_a_large_file(site: Any, served: Client) -> None:
    response = served.get("/static/big.bin", headers={"Range": "bytes=0-99999, 700000-900000"})
    assert response.status == 206
    parts = parse_multipart(response)
    big = site.big()
    assert [payload for _, _, payload in parts] == [big[0:100000], big[700000:900001]]


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=34-40", "bytes=1000-2000, 5000-"])
def test_unsatisfiable_ranges_are_416(site: Any, served: Client, header: str) -> None:
    response = served.get(PATH, headers={"Range": header})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(site.style)}"


@pytest.mark.parametrize("header", [
    "bytes=abc", "bytes=5-2", "bytes=", "bytes=,", "items=0-1", "bytes=--1", "bytes=1-2-3",
    "bytes=\u00b2-4", "bytes 0-1", "bytes=0x10-20", "bytes=-", "bytes=+1-2",
])
def test_malformed_ranges_are_ignored(site: Any, served: Client, header: str) -> None:
    response = served.get(PATH, headers={"Range": header})
    assert response.status == 200
    assert response.body == site.style


def test_overlapping_ranges_are_ignored(site: Any, served: Client) -> None:
    # Answering these would send the file many times over: it is sent once, whole.
    response = served.get("/static/big.bin", headers={"Range": "bytes=0-, 0-, 0-, 1-"})
    assert response.status == 200
    assert response.headers["Content-Length"] == str(site.big_size)
    assert served.get(PATH, headers={"Range": "bytes=0-10, 5-20"}).status == 200
    # Touching is not overlapping.
    assert served.get(PATH, headers={"Range": "bytes=0-4, 5-9"}).status == 206


def test_too_many_ranges_are_ignored(site: Any, served: Client) -> None:
    sixteen = ", ".join(f"{index}-{index}" for index in range(0, 32, 2))
    seventeen = sixteen + ", 33-33"
    assert served.get(PATH, headers={"Range": "bytes=" + sixteen}).status == 206
    response = served.get(PATH, headers={"Range": "bytes=" + seventeen})
    assert response.status == 200
    assert response.body == site.style


def test_max_ranges_is_configurable(site: Any, client: Client) -> None:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True, "tools.staticdir.max_ranges": 2,
                                               "tools.staticdir.dir": str(site.static)}})
    assert client.get(PATH, headers={"Range": "bytes=0-0, 2-2"}).status == 206
    assert client.get(PATH, headers={"Range": "bytes=0-0, 2-2, 4-4"}).status == 200


def test_head_ignores_range(site: Any, served: Client) -> None:
    response = served.head(PATH, headers={"Range": "bytes=0-3"})
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(site.style))
    assert response.body == b""


def test_http_1_0_gets_no_ranges(site: Any, served: Client) -> None:
    response = served.get(PATH, headers={"Range": "bytes=0-3"}, protocol="HTTP/1.0")
    assert response.status == 200
    assert "Accept-Ranges" not in response.headers
    assert response.body == site.style


def test_an_empty_file_is_sent_whole(served: Client) -> None:
    response = served.get("/static/empty.txt", headers={"Range": "bytes=0-"})
    assert response.status == 200
    assert response.headers["Content-Length"] == "0"


# -- If-Range --------------------------------------------------------------------------------


def test_if_range(site: Any, served: Client, validators: tuple[str, str]) -> None:
    etag, last_modified = validators
    ranged = {"Range": "bytes=0-3"}
    assert served.get(PATH, headers={**ranged, "If-Range": etag}).status == 206
    assert served.get(PATH, headers={**ranged, "If-Range": last_modified}).status == 206
    for stale in ['"stale"', "W/" + etag, HTTPDate(1_000_000_000), "not a date"]:
        response = served.get(PATH, headers={**ranged, "If-Range": stale})
        assert response.status == 200, stale
        assert response.body == site.style
    # If-Range without Range changes nothing.
    assert served.get(PATH, headers={"If-Range": '"stale"'}).status == 200


# -- the parser ------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("", None), ("bytes=0-0", [(0, 1)]), ("bytes=0-", [(0, 100)]),
    ("bytes=-1", [(99, 100)]), ("bytes=-0", []), ("bytes=100-", []), ("bytes=99-", [(99, 100)]),
    ("bytes=50-10", None), ("bytes=0-1,,2-3", [(0, 2), (2, 4)]), ("bytes=2-3,0-1", [(2, 4), (0, 2)]),
    ("bytes=0-5,3-8", None), ("bytes=x-", None), ("bytes=1", None),
])
def test_parse_ranges(header: str | None, expected: Any) -> None:
    assert parse_ranges(header, 100) == expected


def test_parse_ranges_caps_the_count() -> None:
    assert parse_ranges("bytes=" + ",".join(f"{i}-{i}" for i in range(5)), 100, max_ranges=4) is None
    assert parse_ranges("bytes=" + ",".join(f"{i}-{i}" for i in range(4)), 100, max_ranges=4) == [
        (0, 1), (1, 2), (2, 3), (3, 4)]
