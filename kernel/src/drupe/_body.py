"""Request bodies: read, limit and parse the entity of POST/PUT/PATCH requests.

``request.body`` is a :class:`RequestBody`. When the request method has a body
(``request.methods_with_bodies``) and ``request.process_request_body`` is true, the kernel
calls ``request.body.process()`` between the ``before_request_body`` and
``before_handler`` hook points. The processor chosen by media type parses the entity;
parameters it finds are merged into ``request.params`` (so they reach the page handler as
keyword arguments).

Processors are callables taking the entity, looked up by full media type, then by its
top-level type (``multipart``). The kernel registers
``application/x-www-form-urlencoded``, ``multipart/form-data`` and ``multipart``; plugins
add more through the ``drupe_body_processors`` hook, and config can replace the mapping
(``request.body.processors``). An entity with no processor is left unread for the handler
(``request.body.read()``, ``request.body.fp``).

Limits, each answered with a 4xx and never a 500: a body without Content-Length or
Transfer-Encoding (411), more bytes than ``request.body.maxbytes`` (413), more than
``maxparts`` multipart parts or ``maxparams`` fields (413), part headers larger than
``max_part_header_size`` (400), malformed multipart framing or undecodable text (400).
Uploaded files larger than ``Part.maxrambytes`` are spooled to a temporary file.
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from drupe._errors import HTTPError
from drupe._httputil import HeaderElement, HeaderMap
from drupe._serving import serving

__all__ = [
    "Entity",
    "Part",
    "RequestBody",
    "SizedReader",
    "default_processors",
    "process_multipart",
    "process_multipart_as_params",
    "process_multipart_form_data",
    "process_urlencoded",
]


# ---------------------------------------------------------------------------
# Processors


def _merge_param(params: dict[str, Any], key: str, value: Any) -> None:
    if key in params:
        existing = params[key]
        if isinstance(existing, list):
            existing.append(value)
        else:
            params[key] = [existing, value]
    else:
        params[key] = value


def _form_field(data: bytes, charset: str) -> str:
    return urllib.parse.unquote_to_bytes(data.replace(b"+", b" ")).decode(charset)


def _parse_form(raw: bytes, charset: str, max_fields: int | None) -> list[tuple[str, str]]:
    """The fields of an urlencoded body in ``charset``.

    A body may be encoded two ways when the charset is not ASCII-compatible (UTF-16,
    UTF-32): each name and value encoded on its own between ASCII ``&`` and ``=`` (what
    ``urllib.parse.urlencode(..., encoding=...)`` and CherryPy's clients send, every piece
    with its own BOM), or the whole text encoded at once. The first is tried first: for
    an ASCII-compatible charset both read the same, and a whole-text UTF-16/32 body never
    splits into decodable pieces (the pieces after a delimiter have an odd length). The
    whole text is decoded only when it starts with a byte-order mark: almost any
    even-length byte string "decodes" as UTF-16, so without one that would accept garbage.
    """
    fields = [field for field in raw.split(b"&") if field]
    if max_fields is not None and len(fields) > max_fields:
        raise ValueError("too many fields")
    try:
        pairs = []
        for field in fields:
            name, _, value = field.partition(b"=")
            pairs.append((_form_field(name, charset), _form_field(value, charset)))
        return pairs
    except UnicodeDecodeError:
        if not raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
            raise
    return urllib.parse.parse_qsl(raw.decode(charset), keep_blank_values=True, errors="strict",
                                  encoding=charset, max_num_fields=max_fields)


def process_urlencoded(entity: Entity) -> None:
    """Parse an ``application/x-www-form-urlencoded`` body into ``entity.params``."""
    raw = entity.fullvalue_bytes()
    charsets = entity.charsets_to_try()
    for charset in charsets:
        try:
            pairs = _parse_form(raw, charset or "latin-1", entity.maxparams)
        except (UnicodeDecodeError, LookupError):
            continue
        except ValueError:
            raise HTTPError(413, f"Too many form fields (the limit is {entity.maxparams}).") from None
        entity.charset = charset
        for key, value in pairs:
            _merge_param(entity.params, key, value)
        return
    raise HTTPError(
        400,
        "The request entity could not be decoded. The following charsets were attempted: "
        + repr([c for c in charsets if c]),
    )


def process_multipart(entity: Entity) -> None:
    """Split a ``multipart/*`` body into ``entity.parts``."""
    boundary = entity.content_type.params.get("boundary", "").strip('"')
    if not boundary or len(boundary) > 200:
        raise HTTPError(400, "The multipart body has no valid boundary parameter.")
    try:
        boundary_bytes = boundary.encode("ascii")
    except UnicodeEncodeError:
        raise HTTPError(400, "The multipart boundary is not ASCII.") from None
    for part in _MultipartParser(entity, boundary_bytes).parts():
        entity.parts.append(part)


def process_multipart_form_data(entity: Entity) -> None:
    """Parse ``multipart/form-data``: text fields become strings, files become Parts."""
    process_multipart(entity)
    kept: list[Part] = []
    for part in entity.parts:
        if part.name is None:
            kept.append(part)
            continue
        value: Any = part if part.filename is not None else part.fullvalue()
        _merge_param(entity.params, part.name, value)
    entity.parts = kept


def process_multipart_as_params(entity: Entity) -> None:
    """``request.body``'s processor for ``multipart/*`` other than form-data.

    The parts stay in ``entity.parts`` and also become parameters, as CherryPy passes
    them: a named part under its name, unnamed parts as a list under ``parts``; text
    values decoded, file parts as :class:`Part` objects.
    """
    process_multipart(entity)
    for part in entity.parts:
        value: Any = part if part.filename is not None else part.fullvalue()
        _merge_param(entity.params, part.name or "parts", value)


default_processors: dict[str, Callable[[Any], None]] = {
    "application/x-www-form-urlencoded": process_urlencoded,
    "multipart/form-data": process_multipart_form_data,
    "multipart": process_multipart,
}
"""The processors every request body starts with (plugins add theirs at boot)."""


# ---------------------------------------------------------------------------
# Entities


class Entity:
    """A body or a body part: headers, a stream and what a processor made of it."""

    attempt_charsets: list[str] = ["utf-8"]
    charset: str | None = None
    default_content_type = "application/x-www-form-urlencoded"
    maxparams = 1000
    maxparts = 1000
    max_part_header_size = 16 * 1024
    part_class: type[Part]

    def __init__(self, fp: Any, headers: HeaderMap, params: dict[str, Any] | None = None,
                 parts: list[Part] | None = None) -> None:
        self.processors = dict(default_processors)
        self.fp = fp
        self.headers = headers
        self.params: dict[str, Any] = {} if params is None else params
        self.parts: list[Part] = [] if parts is None else parts
        self.attempt_charsets = list(self.attempt_charsets)
        content_type = headers.get("Content-Type") if headers is not None else None
        if content_type:
            self.content_type = HeaderElement.from_str(content_type)
        else:
            self.content_type = HeaderElement.from_str(self.default_content_type)
        self.content_type.value = self.content_type.value.strip().lower()
        charset = self.content_type.params.get("charset")
        if charset:
            self.attempt_charsets = [charset] + [c for c in self.attempt_charsets if c != charset]
        self.length: int | None = None
        length_text = headers.get("Content-Length") if headers is not None else None
        if length_text is not None and "chunked" not in str(headers.get("Transfer-Encoding", "")).lower():
            text = str(length_text).strip()
            if not text.isdigit():
                raise HTTPError(400, "The Content-Length header is not a non-negative integer.")
            self.length = int(text)
        self.name: str | None = None
        self.filename: str | None = None
        disposition = headers.get("Content-Disposition") if headers is not None else None
        if disposition:
            element = HeaderElement.from_str(disposition)
            self.name = element.params.get("name")
            if self.name is not None and len(self.name) >= 2 and self.name[0] == self.name[-1] == '"':
                self.name = self.name[1:-1]
            filename_star = element.params.get("filename*")
            if filename_star:
                self.filename = _decode_rfc5987(filename_star)
            elif "filename" in element.params:
                self.filename = element.params["filename"]
        self.default_proc: Callable[[], Any] = self.default_proc_impl

    @property
    def type(self) -> HeaderElement:
        """The Content-Type element (an alias of ``content_type``)."""
        return self.content_type

    def charsets_to_try(self) -> list[Any]:
        return list(self.attempt_charsets)

    # -- reading ---------------------------------------------------------------------

    def read(self, size: int | None = None, fp_out: Any = None) -> bytes:
        data = self.fp.read() if size is None else self.fp.read(size)
        if fp_out is not None:
            fp_out.write(data)
        return data  # type: ignore[no-any-return]

    def readline(self, size: int | None = None) -> bytes:
        return self.fp.readline() if size is None else self.fp.readline(size)  # type: ignore[no-any-return]

    def readlines(self, sizehint: int | None = None) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def make_file(self) -> Any:
        """A temporary file to hold a large entity."""
        import tempfile

        return tempfile.TemporaryFile()

    def read_into_file(self, fp_out: Any = None) -> Any:
        """Copy the rest of the entity into ``fp_out`` (a new temp file by default)."""
        if fp_out is None:
            fp_out = self.make_file()
        while True:
            chunk = self.fp.read(65536)
            if not chunk:
                break
            fp_out.write(chunk)
        return fp_out

    def fullvalue_bytes(self) -> bytes:
        return self.fp.read()  # type: ignore[no-any-return]

    def fullvalue(self) -> Any:
        """The whole entity, decoded with the first charset that works (str), or bytes."""
        raw = self.fullvalue_bytes()
        for charset in self.charsets_to_try():
            try:
                return raw.decode(charset)
            except (UnicodeDecodeError, LookupError):
                continue
        return raw

    # -- processing ------------------------------------------------------------------

    def process(self) -> None:
        """Run the processor for this entity's media type (or the default one)."""
        media_type = self.content_type.value
        processor = self.processors.get(media_type)
        if processor is None:
            processor = self.processors.get(media_type.split("/", 1)[0])
        if processor is None:
            self.default_proc()
        else:
            processor(self)

    def default_proc_impl(self) -> None:
        """Leave an entity nobody parses for the page handler to read."""


class Part(Entity):
    """One part of a multipart body. Small values stay in memory; files are spooled."""

    maxrambytes = 1000
    default_content_type = "text/plain"
    attempt_charsets = ["utf-8"]

    def __init__(self, fp: Any, headers: HeaderMap, boundary: bytes | None = None) -> None:
        super().__init__(fp, headers)
        self.boundary = boundary
        self.file: Any = None
        self.value: Any = None
        self._data: Any = None

    @classmethod
    def from_fp(cls, fp: Any, boundary: bytes) -> Part:  # pragma: no cover - CherryPy API
        raise NotImplementedError("drupe parses multipart bodies with its own parser")

    def _store(self, chunks: Iterator[bytes]) -> None:
        """Keep the part's data: in memory up to ``maxrambytes``, else in a temp file."""
        buffer: io.BytesIO | None = io.BytesIO()
        spooled: Any = None
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if spooled is None and size > self.maxrambytes:
                spooled = self.make_file()
                assert buffer is not None
                spooled.write(buffer.getvalue())
                buffer = None
            if spooled is not None:
                spooled.write(chunk)
            else:
                assert buffer is not None
                buffer.write(chunk)
        if spooled is not None:
            spooled.seek(0)
            self.file = spooled
            self.fp = spooled
            if self.filename is None:
                self.value = self.fullvalue()
            return
        assert buffer is not None
        self._data = buffer.getvalue()
        self.fp = io.BytesIO(self._data)
        if self.filename is not None:
            self.file = io.BytesIO(self._data)
        else:
            self.value = self.fullvalue()

    def fullvalue_bytes(self) -> bytes:
        if self._data is not None:
            return self._data  # type: ignore[no-any-return]
        if self.file is not None:
            self.file.seek(0)
            data = self.file.read()
            self.file.seek(0)
            return data  # type: ignore[no-any-return]
        return b""

    def fullvalue(self) -> Any:
        raw = self.fullvalue_bytes()
        if self.content_type.value.startswith("text/") or self.filename is None:
            for charset in self.charsets_to_try():
                try:
                    return raw.decode(charset)
                except (UnicodeDecodeError, LookupError):
                    continue
            raise HTTPError(
                400,
                "The request entity could not be decoded. The following charsets were "
                f"attempted: {self.charsets_to_try()!r}",
            )
        return raw

    def default_proc_impl(self) -> None:
        """Parts are read when the multipart body is parsed."""


Entity.part_class = Part


def _decode_rfc5987(value: str) -> str:
    charset, _, rest = value.partition("'")
    _language, _, encoded = rest.partition("'")
    try:
        return urllib.parse.unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (UnicodeDecodeError, LookupError):
        raise HTTPError(400, "A multipart filename* parameter could not be decoded.") from None


class _MultipartParser:
    """A streaming multipart parser with bounded memory."""

    def __init__(self, entity: Entity, boundary: bytes) -> None:
        self.entity = entity
        self.fp = entity.fp
        self.delimiter = b"--" + boundary
        self.buffer = b""
        self.eof = False
        self.bufsize = getattr(entity, "bufsize", 65536) or 65536

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.fp.read(self.bufsize)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def _skip_preamble(self) -> None:
        # The first delimiter may start the body or follow a preamble line break.
        marker = self.delimiter
        while True:
            if self.buffer.startswith(marker):
                self.buffer = self.buffer[len(marker):]
                return
            index = self.buffer.find(b"\n" + marker)
            if index != -1:
                self.buffer = self.buffer[index + 1 + len(marker):]
                return
            # Keep a tail that might hold the start of the delimiter.
            if len(self.buffer) > 65536:
                raise HTTPError(400, "The multipart preamble is too long.")
            if not self._fill():
                raise HTTPError(400, "The multipart body does not contain its boundary.")

    def _after_delimiter(self) -> bool:
        """Consume what follows a delimiter; False at the closing delimiter."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer.startswith(b"--"):
            return False
        # Transport padding (spaces/tabs) may follow the delimiter, then CRLF.
        while True:
            stripped = self.buffer.lstrip(b" \t")
            if stripped.startswith(b"\r\n"):
                self.buffer = stripped[2:]
                return True
            if stripped.startswith(b"\n"):
                self.buffer = stripped[1:]
                return True
            if stripped and stripped not in (b"\r",):
                raise HTTPError(400, "Malformed multipart delimiter line.")
            if not self._fill():
                raise HTTPError(400, "The multipart body ended inside a delimiter line.")

    def _read_headers(self) -> HeaderMap:
        limit = self.entity.max_part_header_size
        while True:
            index = self.buffer.find(b"\r\n\r\n")
            sep_len = 4
            if index == -1:
                lf_index = self.buffer.find(b"\n\n")
                if lf_index != -1:
                    index, sep_len = lf_index, 2
            if self.buffer.startswith(b"\r\n"):
                index, sep_len = 0, 2
            elif self.buffer.startswith(b"\n"):
                index, sep_len = 0, 1
            if index != -1:
                raw = self.buffer[:index]
                self.buffer = self.buffer[index + sep_len:]
                break
            if len(self.buffer) > limit:
                raise HTTPError(400, f"A multipart part's headers exceed {limit} bytes.")
            if not self._fill():
                raise HTTPError(400, "The multipart body ended inside part headers.")
        if len(raw) > limit:
            raise HTTPError(400, f"A multipart part's headers exceed {limit} bytes.")
        headers = HeaderMap()
        for line in raw.split(b"\n"):
            line = line.rstrip(b"\r")
            if not line:
                continue
            if line[:1] in (b" ", b"\t"):
                raise HTTPError(400, "Folded multipart part headers are not allowed.")
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                raise HTTPError(400, "Malformed multipart part header.")
            try:
                text_value = value.strip().decode("utf-8")
            except UnicodeDecodeError:
                text_value = value.strip().decode("latin-1")
            try:
                headers[name.strip().decode("latin-1")] = text_value
            except ValueError:
                raise HTTPError(400, "A multipart part header contains a control character.") from None
        return headers

    def _body_chunks(self) -> Iterator[bytes]:
        marker = b"\r\n" + self.delimiter
        while True:
            index = self.buffer.find(marker)
            if index != -1:
                if index:
                    yield self.buffer[:index]
                self.buffer = self.buffer[index + len(marker):]
                return
            lf_index = self.buffer.find(b"\n" + self.delimiter)
            if lf_index != -1:
                if lf_index:
                    yield self.buffer[:lf_index]
                self.buffer = self.buffer[lf_index + 1 + len(self.delimiter):]
                return
            keep = len(marker)
            if len(self.buffer) > keep:
                yield self.buffer[:-keep]
                self.buffer = self.buffer[-keep:]
            if not self._fill():
                raise HTTPError(400, "The multipart body ended before its closing boundary.")

    def parts(self) -> Iterator[Part]:
        entity = self.entity
        self._skip_preamble()
        count = 0
        while self._after_delimiter():
            count += 1
            if count > entity.maxparts:
                raise HTTPError(413, f"Too many multipart parts (the limit is {entity.maxparts}).")
            headers = self._read_headers()
            part = entity.part_class(None, headers, self.delimiter[2:])
            # The part's own Content-Type charset first, then the body's list.
            declared = part.content_type.params.get("charset")
            part.attempt_charsets = ([declared] if declared else []) + [
                charset for charset in entity.attempt_charsets if charset != declared]
            part._store(self._body_chunks())
            yield part


# ---------------------------------------------------------------------------
# The request body


class SizedReader:
    """Reads at most ``length`` bytes and refuses more than ``maxbytes`` (413)."""

    def __init__(self, fp: Any, length: int | None, maxbytes: int | None, bufsize: int = 65536,
                 has_trailers: bool = False) -> None:
        self.fp = fp
        self.length = length
        self.maxbytes = maxbytes
        self.bufsize = bufsize
        self.bytes_read = 0
        self.done = fp is None or length == 0
        self.has_trailers = has_trailers
        if maxbytes is not None and length is not None and length > maxbytes:
            raise HTTPError(413, f"The request body is larger than the limit of {maxbytes} bytes.")

    def _remaining(self, size: int | None) -> int | None:
        if self.length is None:
            return size
        left = self.length - self.bytes_read
        return left if size is None else min(size, left)

    def _account(self, data: bytes) -> bytes:
        self.bytes_read += len(data)
        if self.maxbytes is not None and self.bytes_read > self.maxbytes:
            raise HTTPError(413, f"The request body is larger than the limit of {self.maxbytes} bytes.")
        if not data or (self.length is not None and self.bytes_read >= self.length):
            self.done = True
        return data

    def read(self, size: int | None = None, fp_out: Any = None) -> bytes:
        if self.done:
            return b""
        want = self._remaining(size)
        if want == 0:
            self.done = True
            return b""
        if want is None:
            pieces = []
            while not self.done:
                chunk = self._account(self.fp.read(self.bufsize))
                if not chunk:
                    break
                pieces.append(chunk)
            data = b"".join(pieces)
        else:
            data = self._account(self.fp.read(want))
        if fp_out is not None:
            fp_out.write(data)
            return b""
        return data

    def readline(self, size: int | None = None) -> bytes:
        if self.done:
            return b""
        want = self._remaining(size)
        data = self.fp.readline() if want is None else self.fp.readline(want)
        return self._account(data)

    def readlines(self, sizehint: int = 0) -> list[bytes]:
        lines: list[bytes] = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)

    def finish(self) -> None:
        """Read and discard what is left (so a keep-alive connection stays in sync)."""
        while self.read(self.bufsize):
            pass


class RequestBody(Entity):
    """The request's entity (``request.body``)."""

    bufsize = 65536
    default_content_type = ""
    maxbytes: int | None = None

    def __init__(self, fp: Any, headers: HeaderMap, params: dict[str, Any] | None = None,
                 request_params: dict[str, Any] | None = None) -> None:
        super().__init__(fp, headers, params=params)
        # RFC 2616 used ISO-8859-1 as text's default; keep it as a last resort.
        if self.content_type.value.startswith("text/") and "ISO-8859-1" not in self.attempt_charsets:
            self.attempt_charsets.append("ISO-8859-1")
        self.request_params: dict[str, Any] = {} if request_params is None else request_params
        self._raw_fp = fp
        if self.processors.get("multipart") is process_multipart:
            self.processors["multipart"] = process_multipart_as_params

    def process(self) -> None:
        """Read and parse the body, then merge its parameters into ``request.params``."""
        request = serving.request
        environ = getattr(request, "wsgi_environ", None) or {}
        has_length = "CONTENT_LENGTH" in environ and environ["CONTENT_LENGTH"] != ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not environ:
            has_length = "Content-Length" in self.headers
            chunked = "Transfer-Encoding" in self.headers
        if not has_length and not chunked:
            raise HTTPError(411, "A request body needs a Content-Length or Transfer-Encoding header.")
        self.fp = SizedReader(self._raw_fp, self.length, self.maxbytes, bufsize=self.bufsize,
                              has_trailers="Trailer" in self.headers)
        super().process()
        for key, value in self.params.items():
            if key in self.request_params:
                existing = self.request_params[key]
                if not isinstance(existing, list):
                    self.request_params[key] = [existing]
                self.request_params[key].append(value)
            else:
                self.request_params[key] = value
