"""encode, etags and gzip on one response: what each sees and what the client gets.

encode (before_handler 70) turns the text into bytes right after the handler; etags
(before_finalize 75) tags those bytes; gzip (before_finalize 80) compresses them and
weakens the tag. The compressed bytes are checked exactly, against zlib used directly.
"""

from __future__ import annotations

import gzip as gzip_format
import zlib
from typing import Any

import pytest

import drupe
from drupe_testing import Client

TEXT = "<p>" + "Gr\u00fc\u00dfe aus K\u00f6ln \u20ac " * 40 + "</p>"


def gzip_bytes(data: bytes, level: int = 5) -> bytes:
    """What a gzip coder with no timestamp makes of ``data`` (independent of the tool)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class Root:
    @drupe.expose
    def index(self) -> str:
        return TEXT

    @drupe.expose
    def streamed(self) -> Any:
        yield TEXT[:50]
        yield TEXT[50:]

    streamed._cp_config = {"response.stream": True}


def mount(extra: dict[str, Any] | None = None) -> None:
    drupe.tree.mount(Root(), "/", {"/": {"tools.gzip.on": True, **(extra or {})}})


@pytest.mark.parametrize("charset", ["utf-8", "utf-16", "cp1252"])
def test_encoded_then_compressed_byte_exact(client: Client, charset: str) -> None:
    mount()
    reply = client.get("/", headers={"Accept-Encoding": "gzip", "Accept-Charset": charset})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == f"text/html;charset={charset}"
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.body == gzip_bytes(TEXT.encode(charset))
    assert reply.headers["Content-Length"] == str(len(reply.body))


def test_headers_agree_with_and_without_compression(client: Client) -> None:
    mount()
    plain = client.get("/")
    coded = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert plain.headers["Content-Type"] == coded.headers["Content-Type"] == "text/html;charset=utf-8"
    assert gzip_format.decompress(coded.body) == plain.body == TEXT.encode("utf-8")


def test_compression_level_is_respected(client: Client) -> None:
    mount({"tools.gzip.compress_level": 9})
    reply = client.get("/", headers={"Accept-Encoding": "gzip", "Accept-Charset": "utf-16"})
    assert reply.body == gzip_bytes(TEXT.encode("utf-16"), 9)


def test_streamed_text_is_encoded_then_compressed(client: Client) -> None:
    mount()
    reply = client.get("/streamed", headers={"Accept-Encoding": "gzip", "Accept-Charset": "cp1252"})
    assert reply.headers["Content-Type"] == "text/html;charset=cp1252"
    assert gzip_format.decompress(reply.body) == TEXT.encode("cp1252")


# -- etags and gzip -----------------------------------------------------------------------


def test_the_tag_describes_the_encoded_bytes_and_is_weak_when_compressed(client: Client) -> None:
    mount({"tools.etags.on": True, "tools.etags.autotags": True})
    plain = client.get("/")
    coded = client.get("/", headers={"Accept-Encoding": "gzip"})
    import hashlib

    tag = f'"{hashlib.md5(TEXT.encode("utf-8")).hexdigest()}"'
    assert plain.headers["ETag"] == tag
    assert coded.headers["ETag"] == "W/" + tag


def test_revalidating_a_compressed_response_gives_304(client: Client) -> None:
    mount({"tools.etags.on": True, "tools.etags.autotags": True})
    weak = client.get("/", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    assert weak.startswith("W/")
    reply = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": weak})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["ETag"] == weak  # what the client holds
    assert reply.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in reply.headers
    # The uncompressed representation matches the same weak tag too.
    assert client.get("/", headers={"If-None-Match": weak}).status == 304


def test_if_match_never_matches_a_weak_tag(client: Client) -> None:
    mount({"tools.etags.on": True, "tools.etags.autotags": True})
    strong = client.get("/").headers["ETag"]
    assert client.get("/", headers={"If-Match": strong}).status == 200
    # With gzip the client saw W/"..."; strong comparison refuses it (RFC 9110 §13.1.1).
    reply = client.get("/", headers={"Accept-Encoding": "gzip", "If-Match": "W/" + strong})
    assert reply.status == 412
