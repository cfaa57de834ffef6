"""The gzip content coding (RFC 1952) of response bodies: whole, or as a stream.

Three ways to code a body, all built on one ``zlib`` compressor configured to write the
gzip wrapper itself (header and CRC-32/size trailer):

* :func:`compress_bytes` codes a buffered body in one call; the tool uses it when the whole
  body is known, so that ``Content-Length`` can be set.
* :func:`compress_stream` codes a streamed body chunk by chunk and *sync-flushes* after
  each one, so every chunk the application yields leaves the server at once (as a
  self-contained piece of the deflate stream) instead of waiting in the compressor's
  window. The last piece carries the gzip trailer. Closing the stream closes the body it
  wraps, so a page handler's generator still sees its ``finally`` blocks run.
* :func:`compress` is ``drupe.lib.encoding.compress``: an iterable of bytes in, an iterator
  of gzip bytes out, without per-chunk flushes (it is for callers that want the smallest
  output, not the earliest).

The gzip header written by zlib has no timestamp (MTIME 0), so the same body always codes
to the same bytes: a cache or an ETag computed downstream sees stable output.
"""

from __future__ import annotations

import gzip as gzip_format
import zlib
from collections.abc import Generator, Iterable, Iterator

__all__ = ["compress", "compress_bytes", "compress_stream", "decompress"]

# wbits 16 + 15: a 32 KiB deflate window wrapped in a gzip header and trailer.
GZIP_WBITS = 16 + zlib.MAX_WBITS


def compress_bytes(data: bytes, compress_level: int) -> bytes:
    """``data`` as one complete gzip member."""
    compressor = zlib.compressobj(compress_level, zlib.DEFLATED, GZIP_WBITS)
    return compressor.compress(data) + compressor.flush()


def compress(body: Iterable[bytes], compress_level: int = 5) -> Iterator[bytes]:
    """Yield ``body`` (an iterable of bytes) gzip-coded at ``compress_level`` (0-9).

    Pieces are yielded as the compressor produces them; empty pieces are skipped.
    """
    compressor = zlib.compressobj(compress_level, zlib.DEFLATED, GZIP_WBITS)
    for chunk in body:
        if chunk:
            piece = compressor.compress(chunk)
            if piece:
                yield piece
    yield compressor.flush()


def compress_stream(body: Iterable[bytes | bytearray | memoryview | str], compress_level: int,
                    charset: str) -> Generator[bytes, None, None]:
    """Yield ``body`` gzip-coded, one flushed piece per non-empty input chunk.

    str chunks are encoded with ``charset`` (the response's). When the returned generator
    is closed early (the client went away), ``body`` is closed too.
    """
    compressor = zlib.compressobj(compress_level, zlib.DEFLATED, GZIP_WBITS)
    sync_flush = zlib.Z_SYNC_FLUSH
    try:
        for chunk in body:
            if isinstance(chunk, str):
                data = chunk.encode(charset)
            elif not chunk:
                continue
            else:
                data = chunk if type(chunk) is bytes else bytes(chunk)
            if data:
                # Z_SYNC_FLUSH empties the compressor so this chunk's bytes go out now; it
                # costs a few bytes per chunk, which is the price of streaming.
                yield compressor.compress(data) + compressor.flush(sync_flush)
        yield compressor.flush()
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def decompress(body: bytes) -> bytes:
    """The content of gzip-coded ``body`` (all members, as RFC 1952 allows several)."""
    return gzip_format.decompress(body)
