"""The gzip bytes, drupe.lib.encoding, and the entry points this distribution registers."""

from __future__ import annotations

import gzip as gzip_format
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe
import drupe.lib.encoding
from drupe_tool_gzip import compress, compress_bytes, compress_stream, decompress, tool
from drupe_tool_gzip import gzip as gzip_callable

CONTENT = b"The quick brown fox jumps over the lazy dog. " * 100


@pytest.mark.parametrize("level", range(10))
def test_compress_bytes_round_trips_at_every_level(level: int) -> None:
    coded = compress_bytes(CONTENT, level)
    assert gzip_format.decompress(coded) == CONTENT
    assert decompress(coded) == CONTENT


def test_output_is_deterministic() -> None:
    # No timestamp in the header: the same body always codes to the same bytes.
    assert compress_bytes(CONTENT, 6) == compress_bytes(CONTENT, 6)
    assert compress_bytes(CONTENT, 6)[4:8] == b"\x00\x00\x00\x00"


def test_compress_takes_an_iterable_and_skips_empty_pieces() -> None:
    pieces = list(compress(iter([b"", CONTENT[:10], b"", CONTENT[10:]]), 9))
    assert all(pieces[:-1])
    assert gzip_format.decompress(b"".join(pieces)) == CONTENT
    assert gzip_format.decompress(b"".join(compress([], 5))) == b""


def test_compress_stream_flushes_each_chunk() -> None:
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    chunks: list[str | bytes | bytearray] = ["caf\u00e9 ", b"", bytearray(b"au lait")]
    stream = compress_stream(iter(chunks), 5, "latin-1")
    assert decoder.decompress(next(stream)) == b"caf\xe9 "
    assert decoder.decompress(next(stream)) == b"au lait"
    assert decoder.decompress(b"".join(stream)) == b""
    assert decoder.eof


def test_compress_stream_closes_its_body_when_closed_early() -> None:
    closed: list[bool] = []

    def body() -> Iterator[bytes]:
        try:
            yield b"one"
            yield b"two"
        finally:
            closed.append(True)

    stream = compress_stream(body(), 5, "utf-8")
    next(stream)
    stream.close()
    assert closed == [True]


def test_decompress_reads_every_member() -> None:
    assert decompress(compress_bytes(b"one ", 5) + compress_bytes(b"two", 1)) == b"one two"
    with pytest.raises(OSError):
        decompress(b"not gzip")


def test_lib_encoding_names() -> None:
    assert drupe.lib.encoding.gzip is gzip_callable
    assert drupe.lib.encoding.compress is compress
    assert drupe.lib.encoding.decompress is decompress
    coded = b"".join(drupe.lib.encoding.compress([b"abc", b"def"], 5))
    assert drupe.lib.encoding.decompress(coded) == b"abcdef"


def test_entry_point_is_the_tool() -> None:
    loaded = drupe.registry.load("drupe.tools", "gzip")
    assert loaded is tool
    assert isinstance(loaded, drupe.Tool)
    assert drupe.tools.gzip is tool
    assert tool.point == "before_finalize"
    assert tool.priority == 80
    assert tool.callable is gzip_callable


def test_lib_encoding_gzip_works_as_a_hand_made_tool(call: Callable[..., Any]) -> None:
    # CherryPy code sometimes builds its own Tool around lib.encoding.gzip.
    toolbox = drupe.Toolbox("mine")
    toolbox.squeeze = drupe.Tool("before_finalize", drupe.lib.encoding.gzip, priority=80)

    class Root:
        @drupe.expose
        def index(self) -> str:
            return "squeezed " * 20

    drupe.tree.mount(Root(), "/", {"/": {"mine.squeeze.on": True,
                                         "mine.squeeze.mime_types": ["text/*"]}})
    reply = call("/", accept_encoding="gzip")
    assert reply.header("Content-Encoding") == "gzip"
    assert gzip_format.decompress(reply.body) == b"squeezed " * 20
