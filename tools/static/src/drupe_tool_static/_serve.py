"""``serve_file``, ``serve_download`` and ``serve_fileobj``: a file as the response.

What every served file gets:

* **Opening.** A path is opened once, without blocking (``O_NONBLOCK``: a FIFO put where
  a file was expected cannot hang the thread) and, for the static-directory tool, without
  following a final symlink (``O_NOFOLLOW``); only regular files are served — a
  directory, device, FIFO or socket is ``404``. A file the process may not read is
  ``403``. The size and dates come from ``fstat`` of the opened file, so the headers
  describe exactly the bytes that are sent.
* **Headers.** ``Content-Type`` from the ``content_type`` argument, else from the file
  name's extension through :mod:`mimetypes` (``mimetypes.types_map`` edits are honoured,
  as the documentation shows), else the type the page handler set, else
  ``application/octet-stream`` — never the ``text/html`` default, which would let an
  unknown file be rendered as a page. ``Last-Modified``, a strong ``ETag``,
  ``Accept-Ranges: bytes`` (HTTP/1.1), ``Content-Length``, and ``Content-Disposition``
  when a disposition is given (RFC 6266: a non-ASCII name is sent as ``filename*``
  with an ASCII ``filename`` fallback; quotes, backslashes and control characters
  never reach the header).
* **Conditional requests and ranges** (``_conditional``, ``_ranges``): 304 / 412 as RFC
  9110 orders them; ``Range`` on GET answered with 206 (one range) or
  ``multipart/byteranges`` (several), 416 with ``Content-Range: bytes */<size>`` when
  nothing is satisfiable, ``If-Range`` honoured. HEAD ignores Range, as RFC 9110 says
  (only GET defines range handling). An empty file is always sent whole.
* **The body** is a :class:`FileChunks` iterator reading 64 KiB at a time (the file is
  never read into memory, and ``Content-Length`` is known, so the kernel does not
  buffer it). The file is closed when the body is exhausted and, whatever happens to the
  response (an error page, a redirect, HEAD, a client gone), when the request ends: the
  serve functions attach a failsafe ``on_end_request`` hook that closes it. A file that
  shrinks while it is sent ends the response with an error, so the server drops the
  connection instead of passing a short body off as complete.

``wsgi.file_wrapper`` (sendfile) is not used: the kernel hands every body to the server
inside its own closing iterable, which a server cannot recognise as a file.
"""

from __future__ import annotations

import io
import mimetypes
import os
import secrets
import stat
import unicodedata
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any

import drupe
from drupe_tool_static._conditional import Validators, evaluate_preconditions, if_range_allows
from drupe_tool_static._ranges import DEFAULT_MAX_RANGES, parse_ranges

__all__ = [
    "CHUNK_SIZE",
    "FileChunks",
    "content_disposition",
    "guess_content_type",
    "open_regular_file",
    "serve_download",
    "serve_file",
    "serve_fileobj",
]

CHUNK_SIZE = 65536
"""Bytes read from a file per body chunk."""

_DEFAULT_CONTENT_TYPE = "text/html"  # drupe.Response's default: never sent for a file
_FALLBACK_CONTENT_TYPE = "application/octet-stream"

# What CherryPy adds to the standard table; entries the platform knows are kept.
_EXTRA_TYPES = {
    ".bz2": "application/x-bzip2",
    ".dwg": "image/x-dwg",
    ".gz": "application/x-gzip",
    ".ico": "image/x-icon",
}


def _setup_mimetypes() -> None:
    # init() copies the module's table, so entries an application added before this
    # import survive it.
    if not mimetypes.inited:
        mimetypes.init()
    for extension, media_type in _EXTRA_TYPES.items():
        mimetypes.types_map.setdefault(extension, media_type)


_setup_mimetypes()

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NONBLOCK", 0))
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def guess_content_type(path: str) -> str | None:
    """The media type of ``path``'s extension (``None`` when unknown)."""
    name = os.path.basename(path)
    dot = name.rfind(".")
    if dot == -1:
        return None
    extension = name[dot:]
    lower = extension.lower()
    types = mimetypes.types_map
    return types.get(extension) or types.get(lower) or mimetypes.common_types.get(lower)


def open_regular_file(path: str, follow_symlinks: bool = True) -> tuple[IO[bytes], os.stat_result]:
    """Open ``path`` for reading: the file and its ``fstat``; ``404`` unless a regular file.

    ``403`` when the process may not read it. ``follow_symlinks=False`` refuses a path
    whose last component is a symlink (``404``).
    """
    if "\x00" in path:
        raise drupe.NotFound()
    flags = _OPEN_FLAGS | (0 if follow_symlinks else _NOFOLLOW)
    try:
        descriptor = os.open(path, flags)
    except PermissionError:
        # Windows refuses to open directories this way: that is a 404, not a 403.
        if os.path.isdir(path):
            raise drupe.NotFound()
        raise drupe.HTTPError(403, "The file exists but cannot be read.")
    except (OSError, ValueError):
        raise drupe.NotFound()
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise drupe.NotFound()
        file = os.fdopen(descriptor, "rb", buffering=0)
    except BaseException:
        os.close(descriptor)
        raise
    return file, status


class FileChunks:
    """``length`` bytes of ``file`` from ``start``, ``CHUNK_SIZE`` at a time.

    ``start=None`` reads from the current position; ``length=None`` reads to the end of
    the file. Closing closes the file.
    """

    __slots__ = ("_started", "file", "remaining", "start")

    def __init__(self, file: Any, start: int | None, length: int | None) -> None:
        self.file = file
        self.start = start
        self.remaining = length
        self._started = False

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        if not self._started:
            self._started = True
            if self.start is not None:
                self.file.seek(self.start)
        remaining = self.remaining
        if remaining is not None and remaining <= 0:
            self.close()
            raise StopIteration
        data: bytes = self.file.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not data:
            self.close()
            if remaining is not None:
                raise OSError(f"The file ended {remaining} bytes early: it changed while it was sent.")
            raise StopIteration
        if remaining is not None:
            self.remaining = remaining - len(data)
        return data

    def close(self) -> None:
        self.file.close()


def _multipart(file: IO[bytes], base: int, ranges: list[tuple[int, int]], length: int,
               content_type: str, boundary: str) -> tuple[list[tuple[bytes, int, int]], bytes, int]:
    """The parts of a ``multipart/byteranges`` body: (head, start, stop) each, the tail, and
    the exact total length."""
    parts: list[tuple[bytes, int, int]] = []
    total = 0
    for start, stop in ranges:
        head = (f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{stop - 1}/{length}\r\n\r\n").encode("latin-1")
        parts.append((head, base + start, base + stop))
        total += len(head) + (stop - start) + 2
    tail = f"--{boundary}--\r\n".encode("ascii")
    return parts, tail, total + len(tail)


def _multipart_body(file: IO[bytes], parts: list[tuple[bytes, int, int]], tail: bytes) -> Iterator[bytes]:
    try:
        for head, start, stop in parts:
            yield head
            yield from FileChunks(_Unclosable(file), start, stop - start)
            yield b"\r\n"
        yield tail
    finally:
        file.close()


class _Unclosable:
    """``file`` seen by one range of a multipart body: closing it leaves the file open."""

    __slots__ = ("_file",)

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def seek(self, position: int) -> int:
        return self._file.seek(position)

    def read(self, size: int) -> bytes:
        data: bytes = self._file.read(size)
        return data

    def close(self) -> None:
        pass


def _close_when_the_request_ends(file: Any) -> None:
    # Failsafe and first: whatever replaced the body (an error page, a redirect, HEAD),
    # the file is closed once the response has gone out.
    drupe.serving.request.hooks.attach("on_end_request", file.close, failsafe=True, priority=0)


def _pick_content_type(content_type: str | None, name: str | None) -> str:
    if content_type is not None:
        return content_type
    if name:
        guessed = guess_content_type(name)
        if guessed is not None:
            return guessed
    current = drupe.serving.response.headers.get("Content-Type")
    if current and current != _DEFAULT_CONTENT_TYPE:
        return str(current)
    return _FALLBACK_CONTENT_TYPE


def _deliver(file: IO[bytes], base: int, length: int | None, validators: Validators | None,
             content_type: str, debug: bool, max_ranges: int) -> Any:
    """Put ``file`` (from offset ``base``, ``length`` bytes) into the response."""
    request = drupe.serving.request
    response = drupe.serving.response
    _close_when_the_request_ends(file)
    headers = response.headers
    if validators is not None:
        validators.apply(headers)
    else:
        # Not a file: whatever validators the page handler set are the ones to check.
        validators = Validators.from_headers(headers)
    evaluate_preconditions(validators, debug)
    headers["Content-Type"] = content_type

    if length is None:
        # Unknown size: sent as it is read (chunked), never collected in memory.
        if debug:
            drupe.log("Unknown length: streaming the file.", "TOOLS.STATIC")
        response.stream = True
        headers.pop("Content-Length", None)
        response.body = FileChunks(file, None, None)
        return response.body

    if request.protocol >= (1, 1):
        headers["Accept-Ranges"] = "bytes"
        range_header = request.headers.get("Range")
        if range_header and request.method == "GET" and length > 0 and if_range_allows(validators):
            ranges = parse_ranges(str(range_header), length, max_ranges)
            if debug:
                drupe.log(f"Range {range_header!r} of {length} bytes: {ranges!r}", "TOOLS.STATIC")
            if ranges == []:
                headers["Content-Range"] = f"bytes */{length}"
                raise drupe.HTTPError(416, f"No range of {range_header} is satisfiable: the file "
                                           f"has {length} bytes.")
            if ranges:
                response.status = 206
                if len(ranges) == 1:
                    start, stop = ranges[0]
                    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{length}"
                    headers["Content-Length"] = str(stop - start)
                    response.body = FileChunks(file, base + start, stop - start)
                    return response.body
                boundary = secrets.token_hex(16)
                parts, tail, total = _multipart(file, base, ranges, length, content_type, boundary)
                headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
                headers["Content-Length"] = str(total)
                response.body = _multipart_body(file, parts, tail)
                return response.body

    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        file.close()
        response.body = []
        return response.body
    response.body = FileChunks(file, base, length)
    return response.body


def content_disposition(disposition: str, name: str) -> str:
    """A ``Content-Disposition`` value (RFC 6266) for ``disposition`` and file ``name``."""
    if not disposition or not all(33 <= ord(c) < 127 and c not in '()<>@,;:\\"/[]?={}' for c in disposition):
        raise ValueError(f"{disposition!r} is not a disposition type (like 'attachment' or 'inline').")
    plain = all(32 <= ord(c) < 127 for c in name) and '"' not in name and "\\" not in name
    if plain:
        return f'{disposition}; filename="{name}"'
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in fallback).strip()
    encoded = urllib.parse.quote(name, safe="!#$&+^`|")
    return f"{disposition}; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{encoded}"


def serve_file(path: str | os.PathLike[str], content_type: str | None = None, disposition: str | None = None,
               name: str | None = None, debug: bool = False, *, max_ranges: int = DEFAULT_MAX_RANGES,
               follow_symlinks: bool = True) -> Any:
    """Answer with the file at absolute ``path``; returns the new ``response.body``.

    ``content_type``: sent as is (default: from the extension, see the module docstring).
    ``disposition`` (``'attachment'``, ``'inline'``): adds Content-Disposition with
    ``name`` (default: the file's base name). ``404`` (``drupe.NotFound``) when there is
    no regular file at ``path``; ``ValueError`` when ``path`` is relative.
    ``max_ranges``: more ranges in one request are ignored (the whole file is sent).
    ``follow_symlinks=False``: refuse a path whose last component is a symlink.
    """
    path = os.fspath(path)
    if not os.path.isabs(path):
        raise ValueError(f"{path!r} is not an absolute path.")
    if debug:
        drupe.log(f"Attempting {path!r}", "TOOLS.STATIC")
    file, status = open_regular_file(path, follow_symlinks)
    try:
        chosen_type = _pick_content_type(content_type, path)
        if disposition is not None:
            shown = name if name is not None else os.path.basename(path)
            disposition_value = content_disposition(disposition, shown)
            drupe.serving.response.headers["Content-Disposition"] = disposition_value
    except BaseException:
        file.close()
        raise
    return _deliver(file, 0, status.st_size, Validators.of(status), chosen_type, debug, max_ranges)


def serve_download(path: str | os.PathLike[str], name: str | None = None, *, debug: bool = False,
                   max_ranges: int = DEFAULT_MAX_RANGES) -> Any:
    """Answer with the file at ``path`` as a download (``application/x-download``, attachment)."""
    return serve_file(path, "application/x-download", "attachment", name, debug, max_ranges=max_ranges)


def serve_fileobj(fileobj: Any, content_type: str | None = None, disposition: str | None = None,
                  name: str | None = None, debug: bool = False, *,
                  max_ranges: int = DEFAULT_MAX_RANGES) -> Any:
    """Answer with an open binary file object, from its current position; returns the body.

    A real file gets validators and a length from ``fstat``; another seekable object
    (``io.BytesIO``) a length from seeking; anything else is streamed to its end without
    a length (and without ranges). The object is closed when the request ends.
    ``disposition`` without ``name`` is sent without a file name, as CherryPy does.
    """
    validators: Validators | None = None
    length: int | None = None
    base = 0
    try:
        try:
            status: os.stat_result | None = os.fstat(fileobj.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            status = None
        seekable = bool(getattr(fileobj, "seekable", lambda: False)())
        if seekable:
            base = fileobj.tell()
        if status is not None and stat.S_ISREG(status.st_mode):
            validators = Validators.of(status)
            length = max(status.st_size - base, 0)
        elif seekable:
            end = fileobj.seek(0, io.SEEK_END)
            fileobj.seek(base)
            length = max(end - base, 0)
        file_name = getattr(fileobj, "name", None)
        chosen_type = _pick_content_type(content_type, file_name if isinstance(file_name, str) else None)
        if disposition is not None:
            disposition_value = disposition if name is None else content_disposition(disposition, name)
            drupe.serving.response.headers["Content-Disposition"] = disposition_value
    except BaseException:
        fileobj.close()
        raise
    return _deliver(fileobj, base, length, validators, chosen_type, debug, max_ranges)
