"""Tools that meet at the same hook points produce byte-exact results together.

The order that matters (the kernel README's table): ``encode`` (before_handler 70) makes
the handler's text bytes, ``etags`` (before_finalize 75) tags them, ``gzip`` (80) codes
them, and ``caching`` (before_handler 90 / before_finalize 100) replays and stores what
goes out. Each test compares against the same application served *without* the tool
under test, or against the standard library's own decoding, byte for byte.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_testing import Client

TEXT = "Grüße aus der Küche, naïve café. " * 60


@pytest.fixture(autouse=True)
def quiet(drupe_reset: None) -> None:
    drupe.config.update({"log.screen": False})


def _require(*tools: str) -> None:
    missing = [name for name in tools if not drupe.registry.has("drupe.tools", name)]
    if missing:
        pytest.skip(f"needs the {', '.join(missing)} tool(s), which are not installed")


class Counted:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def count(self) -> int:
        with self.lock:
            self.calls += 1
            return self.calls


class Page(Counted):
    @drupe.expose
    def index(self) -> str:
        self.count()
        return TEXT

    @drupe.expose
    def stream(self) -> Iterator[str]:
        def chunks() -> Iterator[str]:
            for index in range(4):
                yield f"{index}: {TEXT}\n"

        return chunks()

    stream._cp_config = {"response.stream": True}


def _without(pairs: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    lowered = {name.lower() for name in names}
    return [(name, value) for name, value in pairs if name.lower() not in lowered]


GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


# -- gzip + caching --------------------------------------------------------------------------


def test_gzip_and_caching_serve_each_client_its_own_bytes() -> None:
    _require("gzip", "caching")
    reference_page = Page()
    drupe.tree.mount(reference_page, "/plain", {"/": {"tools.gzip.on": True}})
    page = Page()
    drupe.tree.mount(page, "/cached", {"/": {"tools.gzip.on": True, "tools.caching.on": True}})
    gzip_client, plain_client = Client(drupe.tree), Client(drupe.tree)

    expected_gzip = gzip_client.get("/plain/", headers=GZIP)
    expected_plain = plain_client.get("/plain/", headers=IDENTITY)
    assert expected_gzip.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(expected_gzip.body) == expected_plain.body == TEXT.encode("utf-8")

    # Interleaved, so each client's entry must be picked by its Accept-Encoding.
    first_gzip = gzip_client.get("/cached/", headers=GZIP)
    first_plain = plain_client.get("/cached/", headers=IDENTITY)
    again_gzip = gzip_client.get("/cached/", headers=GZIP)
    again_plain = plain_client.get("/cached/", headers=IDENTITY)
    assert page.calls == 2

    for first, again, expected in ((first_gzip, again_gzip, expected_gzip),
                                   (first_plain, again_plain, expected_plain)):
        assert first.body == again.body == expected.body
        assert again.headers["Age"] == "0"
        # The replayed headers are exactly those first sent (Date included), plus Age.
        assert _without(again.header_list, "Age") == first.header_list
        assert _without(first.header_list, "Date") == _without(expected.header_list, "Date")
    assert gzip.decompress(again_gzip.body) == again_plain.body == TEXT.encode("utf-8")
    assert again_gzip.headers["Vary"] == again_plain.headers["Vary"] == "Accept-Encoding"


def test_gzip_and_caching_head_requests() -> None:
    _require("gzip", "caching")
    page = Page()
    drupe.tree.mount(page, "/", {"/": {"tools.gzip.on": True, "tools.caching.on": True}})
    client = Client(drupe.tree)
    stored = client.get("/", headers=GZIP)
    head = client.head("/", headers=GZIP)
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == str(len(stored.body))
    assert client.head("/", headers=IDENTITY).headers["Content-Length"] == str(len(TEXT.encode()))
    assert page.calls == 2


# -- caching + etags + 304 ----------------------------------------------------------------------


@pytest.mark.parametrize("with_gzip", [False, True], ids=["identity", "gzip"])
def test_caching_etags_and_304(with_gzip: bool) -> None:
    _require("caching", "etags", *(["gzip"] if with_gzip else []))
    page = Page()
    config = {"tools.caching.on": True, "tools.etags.on": True, "tools.etags.autotags": True}
    if with_gzip:
        config["tools.gzip.on"] = True
    drupe.tree.mount(page, "/", {"/": config})
    client = Client(drupe.tree)
    headers = GZIP if with_gzip else IDENTITY

    first = client.get("/", headers=headers)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') is with_gzip
    assert client.get("/", headers=headers).body == first.body

    revalidated = client.get("/", headers={**headers, "If-None-Match": etag})
    assert revalidated.status == 304
    assert revalidated.body == b""
    assert revalidated.headers["ETag"] == etag
    assert "Content-Length" not in revalidated.headers
    # The strong tag of the uncompressed body matches the compressed one weakly, and back.
    strong = etag[2:] if with_gzip else etag
    assert client.get("/", headers={**headers, "If-None-Match": strong}).status == 304
    changed = client.get("/", headers={**headers, "If-None-Match": '"something-else"'})
    assert changed.status == 200
    assert changed.body == first.body
    assert page.calls == 1

    # After the resource changed (a POST drops the stored copies), the old tag gets a 200.
    client.post("/")
    fresh = client.get("/", headers={**headers, "If-None-Match": '"stale"'})
    assert fresh.status == 200
    assert fresh.body == first.body


# -- encode + gzip + streaming ----------------------------------------------------------------


def _wsgi_chunks(path: str, headers: dict[str, str]) -> tuple[str, dict[str, str], list[bytes]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5000", "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: list[Any] = []

    def start_response(status: str, header_list: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, dict(header_list)]
        return None

    result = drupe.tree(environ, start_response)
    try:
        chunks = [chunk for chunk in result if chunk]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], chunks


@pytest.mark.parametrize("charset", [
    "utf-8",
    "iso-8859-1",
    # A byte-order mark once, at the start, not before every chunk.
    "utf-16",
])
def test_encode_gzip_and_streaming(charset: str) -> None:
    _require("encode", "gzip")
    drupe.tree.mount(Page(), "/", {"/": {"tools.encode.on": True, "tools.encode.encoding": charset,
                                          "tools.gzip.on": True}})
    status, headers, chunks = _wsgi_chunks("/stream", GZIP)
    assert status == "200 OK"
    assert headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in headers
    assert headers["Content-Type"] == f"text/html;charset={charset}"
    assert len(chunks) > 1, "the compressed stream should arrive in several chunks"
    expected = "".join(f"{index}: {TEXT}\n" for index in range(4)).encode(charset)
    assert gzip.decompress(b"".join(chunks)) == expected

    # The same stream uncompressed: the very bytes that were compressed.
    status, headers, chunks = _wsgi_chunks("/stream", IDENTITY)
    assert "Content-Encoding" not in headers
    assert b"".join(chunks) == expected


def test_encode_gzip_streaming_and_caching() -> None:
    _require("encode", "gzip", "caching")
    drupe.tree.mount(Page(), "/", {"/": {"tools.encode.on": True, "tools.gzip.on": True,
                                          "tools.caching.on": True}})
    _, _, first = _wsgi_chunks("/stream", GZIP)
    _, again_headers, again = _wsgi_chunks("/stream", GZIP)
    assert b"".join(first) == b"".join(again)
    assert again_headers["Age"] == "0"
    assert gzip.decompress(b"".join(again)).decode("utf-8").startswith("0: Grüße")


# -- gzip + caching + json ---------------------------------------------------------------------


class Api(Counted):
    @drupe.expose
    def items(self) -> dict[str, Any]:
        number = self.count()
        return {"call": number, "items": [{"name": f"item {i}", "note": "naïve"} for i in range(40)]}


def test_gzip_caching_and_json() -> None:
    _require("gzip", "caching", "json_out")
    api = Api()
    drupe.tree.mount(api, "/", {"/": {"tools.json_out.on": True, "tools.gzip.on": True,
                                       "tools.gzip.mime_types": ["application/json"],
                                       "tools.caching.on": True}})
    gzip_client, plain_client = Client(drupe.tree), Client(drupe.tree)
    first_gzip = gzip_client.get("/items", headers=GZIP)
    first_plain = plain_client.get("/items", headers=IDENTITY)
    again_gzip = gzip_client.get("/items", headers=GZIP)
    again_plain = plain_client.get("/items", headers=IDENTITY)
    assert api.calls == 2
    assert first_gzip.headers["Content-Encoding"] == "gzip"
    assert first_gzip.content_type == again_plain.content_type == "application/json"
    assert again_gzip.body == first_gzip.body
    assert again_plain.body == first_plain.body
    assert json.loads(gzip.decompress(again_gzip.body)) == {
        "call": 1, "items": [{"name": f"item {i}", "note": "naïve"} for i in range(40)]}
    assert json.loads(again_plain.body)["call"] == 2
    assert _without(again_gzip.header_list, "Age") == first_gzip.header_list


# -- gzip + static + Range ------------------------------------------------------------------------


@pytest.fixture
def static_site(tmp_path: Path) -> bytes:
    content = ("".join(f"line {i:04d} of a static text file\n" for i in range(400))).encode()
    (tmp_path / "notes.txt").write_bytes(content)
    drupe.tree.mount(None, "/", {"/static": {"tools.staticdir.on": True,
                                             "tools.staticdir.dir": str(tmp_path),
                                             "tools.gzip.on": True,
                                             "tools.gzip.mime_types": ["text/*"]}})
    return content


def test_gzip_static_and_range(static_site: bytes) -> None:
    _require("gzip", "staticdir")
    client = Client(drupe.tree)
    whole = client.get("/static/notes.txt", headers=IDENTITY)
    assert whole.status == 200
    assert whole.body == static_site

    compressed = client.get("/static/notes.txt", headers=GZIP)
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.body) == static_site
    assert "Accept-Ranges" not in compressed.headers  # never stitch coded and plain bytes

    part = client.get("/static/notes.txt", headers={**IDENTITY, "Range": "bytes=100-199"})
    assert part.status == 206
    assert part.body == static_site[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(static_site)}"
    assert "Content-Encoding" not in part.headers

    # A client accepting gzip still gets the identity bytes it asked a range of.
    part_gzip = client.get("/static/notes.txt", headers={**GZIP, "Range": "bytes=-50"})
    assert part_gzip.status == 206
    assert part_gzip.body == static_site[-50:]
    assert "Content-Encoding" not in part_gzip.headers


def test_gzip_static_range_and_caching(static_site: bytes) -> None:
    _require("gzip", "staticdir", "caching")
    drupe.tree.apps[""].merge({"/static": {"tools.caching.on": True}})
    client = Client(drupe.tree)
    client.get("/static/notes.txt", headers=GZIP)
    assert client.get("/static/notes.txt", headers=GZIP).headers["Age"] == "0"
    # A Range request is never answered with the stored full (compressed) response.
    part = client.get("/static/notes.txt", headers={**GZIP, "Range": "bytes=0-9"})
    assert part.status == 206
    assert part.body == static_site[:10]
    assert "Age" not in part.headers
