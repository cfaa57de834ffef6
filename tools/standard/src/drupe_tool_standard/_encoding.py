"""The ``encode`` and ``decode`` tools: the charset of response text and of request bodies.

**encode** (``before_handler``, priority 70, on by default) wraps the page handler, so the
handler's output is turned into bytes right after it returns — before any
``before_finalize`` tool (``etags`` tags, ``gzip`` compresses and ``caching`` stores the
encoded bytes). For a response whose Content-Type is text (``text/*``; any type with
``text_only=False``) it:

1. picks the charset. The ``encoding`` argument, when given, is the only one
   considered. Otherwise a charset the handler wrote into the Content-Type
   (``text/plain;charset=iso-8859-1``) is tried first, if the client accepts it; then the
   request's ``Accept-Charset`` is negotiated (RFC 9110 §12.5.2, see ``_negotiation``):
   its charsets are tried best first, ``*`` standing for ``default_encoding`` (then
   UTF-8). The first one able to encode the text wins. Without the header,
   ``default_encoding`` is used;
2. encodes the str chunks of the body with it (``errors`` as for ``str.encode``);
3. adds ``;charset=<name>`` to the Content-Type (``add_charset``). A charset the handler
   named stays when it was used, and is replaced when it could not be (as CherryPy
   replaces it always): the label always tells the truth about the bytes.

When no acceptable charset can encode the text, the answer is ``406 Not Acceptable``
naming the header and the charsets tried; when the client accepts anything (no header)
and the charset still fails, it is a ``500`` naming the charset and the character — a
server problem, not the client's.

A buffered body (any iterable the handler returns) is collected and encoded at once, so
a charset that fails can be replaced by the next one; a stale Content-Length is dropped.
A streamed body (``response.stream``) is encoded chunk by chunk as it is sent: the
charset is chosen before the first chunk exists, so only its existence is checked.
Chunks that are themselves iterators (nested generators, for the ``flatten`` tool) are
encoded lazily too. A body holding only bytes is left as it is and labelled with
``encoding`` or ``default_encoding``, as CherryPy labels it: the tool cannot re-encode
bytes, and a client's charset wish does not describe them.

PERF: this tool runs on every request by default. The common case — no Accept-Charset,
a buffered body of str, no charset named — costs one wrapper object per request and one
``str.encode`` per chunk; the negotiation machinery is only reached when the header is
there.

**decode** (``before_request_body``, priority 50) sets which charsets the request body
processors try: ``encoding`` replaces the list (even the charset the request's
Content-Type names), ``default_encoding`` is appended to it.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable, Iterable
from typing import Any

import drupe
from drupe.lib import file_generator, is_closable_iterator, is_iterator
from drupe_tool_standard._negotiation import (
    Preference,
    canonical_charset,
    charset_quality,
    preferences,
)

__all__ = [
    "DecodeTool",
    "EncodeSettings",
    "EncodeTool",
    "EncodingHandler",
    "ResponseEncoder",
    "UTF8StreamEncoder",
    "decode",
    "encode",
    "encode_body",
    "prepare_iter",
]

LOG_CONTEXT = "TOOLS.ENCODE"


# -- checking arguments -----------------------------------------------------------------


def check_charset(value: Any, key: str) -> str:
    """``value`` if it names a charset Python knows, else a ConfigError naming ``key``."""
    if not isinstance(value, str) or not value:
        raise drupe.ConfigError(f"Config key {key!r}: expected a charset name such as 'utf-8', "
                                f"not {value!r}.")
    try:
        codecs.lookup(value)
    except LookupError:
        raise drupe.ConfigError(f"Config key {key!r}: Python knows no charset named {value!r}.")
    return value


def check_errors(value: Any, key: str) -> str:
    """``value`` if it names a codec error handler (``strict``, ``replace``, ...)."""
    if isinstance(value, str):
        try:
            codecs.lookup_error(value)
        except LookupError:
            pass
        else:
            return value
    raise drupe.ConfigError(f"Config key {key!r}: expected an error handler of str.encode "
                            f"('strict', 'replace', 'xmlcharrefreplace', ...), not {value!r}.")


class EncodeSettings:
    """The encode tool's arguments, checked once per request plan."""

    __slots__ = ("add_charset", "debug", "default_encoding", "encoding", "errors", "text_only")

    def __init__(self, encoding: str | None = None, default_encoding: str = "utf-8",
                 errors: str = "strict", text_only: bool = True, add_charset: bool = True,
                 debug: bool = False, key_prefix: str = "tools.encode.") -> None:
        self.encoding = None if encoding is None else check_charset(encoding, key_prefix + "encoding")
        self.default_encoding = check_charset(default_encoding, key_prefix + "default_encoding")
        self.errors = check_errors(errors, key_prefix + "errors")
        self.text_only = bool(text_only)
        self.add_charset = bool(add_charset)
        self.debug = bool(debug)


# -- body helpers -----------------------------------------------------------------------


def prepare_iter(value: Any) -> Any:
    """``value`` as an iterable body that is false when empty.

    A str or bytes becomes a one-element list (an empty one: ``[]``), a file a
    :class:`drupe.lib.file_generator`, ``None`` ``[]``; anything else is returned as it is.
    """
    if isinstance(value, (str, bytes)):
        # One chunk, not one chunk per character.
        return [value] if value else []
    if hasattr(value, "read"):
        return file_generator(value)
    if value is None:
        return []
    return value


@functools.lru_cache(maxsize=64)
def _stateless(charset: str) -> bool:
    """Whether ``charset`` encodes each chunk alone as it would the whole text.

    UTF-16 and UTF-32 start with a byte-order mark, and stateful codecs (ISO-2022) shift
    in and out of modes: those need one incremental encoder across a body's chunks.
    """
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return True  # the encode call raises the LookupError where it is reported
    return not name.startswith(("utf-16", "utf-32", "utf-7", "iso2022", "utf-8-sig", "hz"))


class _StreamEncoder:
    """Iterate ``iterator`` with its str chunks encoded; nested iterators are wrapped too.

    Nested iterators share this one's encoder: their chunks are one text with it.
    """

    __slots__ = ("_charset", "_encoder", "_errors", "_finished", "_iterator")

    def __init__(self, iterator: Iterable[Any], charset: str = "utf-8", errors: str = "strict",
                 encoder: codecs.IncrementalEncoder | None = None) -> None:
        self._iterator = iter(iterator)
        self._charset = charset
        self._errors = errors
        self._finished = False
        if encoder is None and not _stateless(charset):
            encoder = codecs.getincrementalencoder(charset)(errors)
        self._encoder = encoder

    def __iter__(self) -> _StreamEncoder:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._iterator)
        except StopIteration:
            tail = b""
            if self._encoder is not None and not self._finished:
                self._finished = True
                tail = self._encoder.encode("", True)
            if tail:
                return tail
            raise
        if isinstance(chunk, str):
            if self._encoder is not None:
                return self._encoder.encode(chunk)
            return chunk.encode(self._charset, self._errors)
        if is_iterator(chunk):
            # Left nested for the flatten tool, but encoded when it gets there.
            return _StreamEncoder(chunk, self._charset, self._errors, self._encoder)
        return chunk

    def close(self) -> None:
        """Close the wrapped iterator (a handler's generator runs its ``finally``)."""
        if is_closable_iterator(self._iterator):
            self._iterator.close()  # type: ignore[attr-defined]


class UTF8StreamEncoder(_StreamEncoder):
    """Iterate ``iterator`` with its str chunks encoded as UTF-8 (``drupe.lib.encoding``).

    Other attributes are the wrapped iterator's.
    """

    __slots__ = ()

    def __init__(self, iterator: Iterable[Any]) -> None:
        super().__init__(iterator, "utf-8", "strict")

    def next(self) -> Any:
        """Python 2's name for ``__next__``, kept for old callers."""
        return self.__next__()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._iterator, name)


def _collect(body: Iterable[Any]) -> list[Any]:
    """A buffered body's chunks as a list (the iterator is exhausted, then closed)."""
    try:
        return list(body)
    finally:
        if is_closable_iterator(body):
            body.close()  # type: ignore[attr-defined]


def _encode_chunks(chunks: list[Any], charset: str, errors: str) -> list[Any]:
    """``chunks`` with str encoded; raises LookupError / UnicodeEncodeError."""
    if not _stateless(charset):
        return list(_StreamEncoder(iter(chunks), charset, errors))
    return [chunk.encode(charset, errors) if type(chunk) is str else chunk for chunk in chunks]


def _encode_now(chunks: list[Any], charset: str, errors: str) -> list[Any]:
    """``chunks`` with str encoded now and nested iterators wrapped to encode later.

    A failure is a 500 naming the charset and the character.
    """
    try:
        return list(_StreamEncoder(iter(chunks), charset, errors))
    except (LookupError, UnicodeError):
        raise drupe.HTTPError(
            500, f"The response text could not be encoded with the charset {charset!r}: "
                 f"{_unencodable(chunks, charset, errors)}.")


def _unencodable(chunks: list[Any], charset: str, errors: str) -> str:
    """Say which text ``charset`` fails on (for error messages)."""
    for chunk in chunks:
        if type(chunk) is str:
            try:
                chunk.encode(charset, errors)
            except UnicodeEncodeError as exc:
                return f"{chunk[exc.start:exc.end]!r} ({exc.reason})"
            except LookupError:
                return "(unknown charset)"
    return "(nothing)"


def _declared_charset(parameters: str) -> str | None:
    """The ``charset`` parameter in the part of a Content-Type after its first ``;``."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _with_charset(content_type: str, charset: str) -> str:
    """``content_type`` with its charset parameter replaced by ``charset``."""
    parts = [part.strip() for part in content_type.split(";")]
    kept = [part for part in parts[1:] if part and part.partition("=")[0].strip().lower() != "charset"]
    return ";".join([parts[0], *kept, "charset=" + charset])


def _debug(message: str) -> None:
    drupe.log(message, LOG_CONTEXT)


# -- choosing the charset ----------------------------------------------------------------


def _candidates(entries: tuple[Preference, ...], forced: str | None, default: str,
                preferred: str | None = None) -> list[str]:
    """Charsets to try, best first (names as the client, the handler or config spelled them).

    ``forced`` (the ``encoding`` argument) is the only candidate when given; ``preferred``
    (the charset the handler named) comes first when the client accepts it.
    """
    if forced is not None:
        return [forced] if charset_quality(entries, forced) > 0 else []
    names: list[str] = []
    seen: set[str] = set()
    if preferred is not None and charset_quality(entries, preferred) > 0:
        names.append(preferred)
        seen.add(canonical_charset(preferred))
    if not entries:
        if canonical_charset(default) not in seen:
            names.append(default)
        return names
    first: dict[str, Preference] = {}
    for entry in entries:
        first.setdefault("*" if entry.name == "*" else canonical_charset(entry.name), entry)
    # sorted() is stable: among equal qualities the client's order holds.
    for entry in sorted(entries, key=lambda entry: -entry.quality):
        if entry.quality <= 0:
            break
        if entry.name == "*":
            if first["*"] is not entry:
                continue
            # '*' stands for every charset the client did not list: ours.
            for fallback in (default, "utf-8"):
                canonical = canonical_charset(fallback)
                if canonical not in first and canonical not in seen:
                    seen.add(canonical)
                    names.append(fallback)
            continue
        canonical = canonical_charset(entry.name)
        if first[canonical] is entry and canonical not in seen:
            seen.add(canonical)
            names.append(entry.name)
    return names


class _Choice:
    """What the negotiation decided: the body to send and the charset to label it with."""

    __slots__ = ("body", "charset")

    def __init__(self, body: Any, charset: str) -> None:
        self.body = body
        self.charset = charset


def _refusal(header: str | None, forced: str | None, tried: list[str]) -> drupe.HTTPError:
    if forced is not None and not tried:
        return drupe.HTTPError(
            406, f"This resource is only available in the charset {forced!r}, which the "
                 f"request's Accept-Charset header ({header!r}) does not accept.")
    attempted = ", ".join(tried) if tried else "none"
    return drupe.HTTPError(
        406, f"None of the charsets the request's Accept-Charset header ({header!r}) accepts "
             f"can encode this response. Charsets tried: {attempted}.")


def _negotiate(body: Any, settings: EncodeSettings, declared: str | None, header: str | None,
               stream: bool, attempted: set[str] | None = None) -> _Choice:
    """Choose the charset for ``body`` and encode it (see the module docstring)."""
    forced = settings.encoding
    entries = preferences(header)
    debug = settings.debug
    if debug:
        _debug(f"Accept-Charset {header!r}; charset named by config: {forced!r}, by the "
               f"response: {declared!r}.")

    lazy = stream and type(body) is not list
    if not lazy and type(body) is not list:
        body = _collect(body)
    has_text = nested = False
    if not lazy:
        for chunk in body:
            if type(chunk) is str:
                has_text = True
            elif is_iterator(chunk):
                nested = True

    if not (lazy or nested or has_text):
        # Only bytes: nothing to encode, and nothing to negotiate.
        return _Choice(body, declared or forced or settings.default_encoding)

    candidates = _candidates(entries, forced, settings.default_encoding, declared)
    tried: list[str] = []
    if lazy or nested:
        # The text is not there yet: take the first candidate Python can encode with.
        for name in candidates:
            tried.append(name)
            if attempted is not None:
                attempted.add(name)
            try:
                codecs.lookup(name)
            except LookupError:
                continue
            if debug:
                _debug(f"Encoding the {'stream' if lazy else 'nested body'} with {name!r}.")
            if lazy:
                return _Choice(_StreamEncoder(body, name, settings.errors), name)
            return _Choice(_encode_now(body, name, settings.errors), name)
        if tried and (forced is not None or not entries):
            raise drupe.HTTPError(500, f"Python knows none of the charsets {', '.join(tried)}, "
                                       "so the response text could not be encoded.")
        raise _refusal(header, forced, tried)

    for name in candidates:
        tried.append(name)
        if attempted is not None:
            attempted.add(name)
        try:
            encoded = _encode_chunks(body, name, settings.errors)
        except (LookupError, UnicodeError):
            if debug:
                _debug(f"The charset {name!r} cannot encode the response.")
            continue
        if debug:
            _debug(f"Encoded the response with {name!r}.")
        return _Choice(encoded, name)

    if tried and (forced is not None or not entries):
        # The client accepts this charset (or anything): failing is the server's fault.
        raise drupe.HTTPError(
            500, "The response text could not be encoded with the charset "
                 + " or ".join(f"{name!r}: {_unencodable(body, name, settings.errors)}"
                               for name in tried) + ".")
    raise _refusal(header, forced, tried)


def _accept_charset(request: Any) -> str | None:
    """The request's Accept-Charset value.

    PERF: ``request.headers`` is built on first use, from the whole environ; when nothing
    asked for it yet, one environ lookup answers the only question this tool has.
    """
    headers = request.__dict__.get("headers")
    if headers is None:
        environ = request.wsgi_environ
        if environ is not None:
            return environ.get("HTTP_ACCEPT_CHARSET")  # type: ignore[no-any-return]
        headers = request.headers
    return headers.get("Accept-Charset")  # type: ignore[no-any-return]


def encode_body(body: Any, settings: EncodeSettings, attempted: set[str] | None = None) -> Any:
    """Encode the page handler's return value for the current response; return the body.

    Changes the response's Content-Type (charset) and drops a stale Content-Length.
    ``attempted`` collects the charsets tried (for :class:`ResponseEncoder`).
    """
    serving = drupe.serving
    response = serving.response
    headers = response.headers
    # PERF: a str is what handlers return most.
    body = [body] if type(body) is str and body else prepare_iter(body)
    content_type = dict.get(headers, "Content-Type")
    if not content_type or type(content_type) is not str:
        return body
    media_type, separator, parameters = content_type.partition(";")
    if settings.text_only and media_type.lstrip()[:5].lower() != "text/":
        if settings.debug:
            _debug(f"Content-Type {content_type!r} is not text: left alone.")
        return body
    declared = _declared_charset(parameters) if separator else None
    header = _accept_charset(serving.request)

    if (not header and declared is None and settings.encoding is None and type(body) is list
            and _stateless(settings.default_encoding)):
        # PERF: the common case (see the module docstring), in one pass over the chunks.
        charset = settings.default_encoding
        errors = settings.errors
        encoded: list[Any] = []
        changed = False
        try:
            for chunk in body:
                kind = type(chunk)
                if kind is str:
                    encoded.append(chunk.encode(charset, errors))
                    changed = True
                elif kind is bytes or not is_iterator(chunk):
                    encoded.append(chunk)
                else:
                    encoded.append(_StreamEncoder(chunk, charset, errors))
                    changed = True
        except (LookupError, UnicodeError):
            raise drupe.HTTPError(
                500, f"The response text could not be encoded with the charset {charset!r}: "
                     f"{_unencodable(body, charset, errors)}.")
        if changed:
            body = encoded
            dict.pop(headers, "Content-Length", None)
        if settings.debug:
            _debug(f"No Accept-Charset: encoded the response with {charset!r}.")
        if settings.add_charset:
            # The value was checked when it was set; the charset name when configured.
            dict.__setitem__(headers, "Content-Type", content_type.rstrip("; \t") + ";charset=" + charset)
        return body

    original = body
    choice = _negotiate(body, settings, declared, header, bool(response.stream), attempted)
    if choice.body is not original and not response.stream:
        headers.pop("Content-Length", None)
    if declared is None:
        if settings.add_charset:
            headers["Content-Type"] = content_type.rstrip("; \t") + ";charset=" + choice.charset
    elif canonical_charset(choice.charset) != canonical_charset(declared):
        # The handler's charset could not encode its text (or the client refused it).
        headers["Content-Type"] = _with_charset(content_type, choice.charset)
    return choice.body


# -- the encode tool -----------------------------------------------------------------------


class EncodingHandler:
    """The page handler wrapped by ``encode``: call it, then encode what it returned.

    Other attributes (``callable``, ``args``, ...) are the wrapped handler's, so tools that
    inspect ``request.handler`` after ``encode`` still find them.
    """

    __slots__ = ("inner", "settings")

    def __init__(self, inner: Callable[..., Any], settings: EncodeSettings) -> None:
        self.inner = inner
        self.settings = settings

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return encode_body(self.inner(*args, **kwargs), self.settings)

    def __getattr__(self, name: str) -> Any:
        if name in ("inner", "settings") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<EncodingHandler {self.inner!r}>"


def wrap_handler(settings: EncodeSettings) -> None:
    """The hook: wrap ``request.handler`` (when there is one) in an :class:`EncodingHandler`."""
    request = drupe.serving.request
    handler = request.handler
    if handler is not None:
        request.handler = EncodingHandler(handler, settings)


def encode(encoding: str | None = None, default_encoding: str = "utf-8", errors: str = "strict",
           text_only: bool = True, add_charset: bool = True, debug: bool = False) -> None:
    """Encode the page handler's text output with a charset the client accepts.

    ``encoding`` forces one charset (406 when the client refuses it); otherwise
    Accept-Charset is negotiated, ``default_encoding`` serving clients that accept
    anything. ``errors`` is ``str.encode``'s; ``text_only`` limits the tool to ``text/*``
    responses; ``add_charset`` adds ``;charset=...`` to the Content-Type.
    """
    wrap_handler(EncodeSettings(encoding, default_encoding, errors, text_only, add_charset, debug))


class EncodeTool(drupe.Tool):
    """The ``encode`` tool: wraps the page handler at ``before_handler``, priority 70.

    Arguments are checked when config is validated (``check_settings``), when a handler
    is decorated and when a request plan is built; the checked settings are bound to the
    planned hook, so a request pays nothing for them.
    """

    def __init__(self) -> None:
        super().__init__("before_handler", encode, name="encode", priority=70)

    def _settings(self, arguments: dict[str, Any]) -> EncodeSettings:
        prefix = f"{self.namespace}.{self.name or 'encode'}."
        return EncodeSettings(key_prefix=prefix, **arguments)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate config values (the kernel calls this at engine start and per plan)."""
        self._settings({key: value for key, value in settings.items() if key not in ("on", "priority")})

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        self._settings(kwargs)
        return super().__call__(*args, **kwargs)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        drupe.request.hooks.attach(self.point, wrap_handler,
                                   priority=self.priority if priority is None else priority,
                                   settings=self._settings(arguments))


# -- CherryPy's class -------------------------------------------------------------------


class ResponseEncoder:
    """CherryPy's encoder object (``drupe.lib.encoding.ResponseEncoder``).

    Created inside a request (as a hook), it replaces ``request.handler`` with itself and,
    when called, encodes the old handler's output like the ``encode`` tool. The class
    attributes are the defaults; keyword arguments override them.
    """

    default_encoding = "utf-8"
    failmsg = "The response body could not be encoded with %r."
    encoding: str | None = None
    errors = "strict"
    text_only = True
    add_charset = True
    debug = False

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.attempted_charsets: set[str] = set()
        self.body: Any = []
        request = drupe.serving.request
        if request.handler is not None:
            self.oldhandler = request.handler
            request.handler = self

    def _settings(self) -> EncodeSettings:
        return EncodeSettings(self.encoding, self.default_encoding, self.errors, self.text_only,
                              self.add_charset, self.debug)

    def encode_string(self, encoding: str) -> bool:
        """Encode the buffered ``self.body`` with ``encoding``; False if it cannot."""
        if encoding in self.attempted_charsets:
            return False
        self.attempted_charsets.add(encoding)
        chunks = self.body if type(self.body) is list else _collect(self.body)
        try:
            self.body = _encode_chunks(chunks, encoding, self.errors)
        except (LookupError, UnicodeError):
            self.body = chunks
            return False
        return True

    def encode_stream(self, encoding: str) -> bool:
        """Encode ``self.body`` lazily with ``encoding``; False if already tried."""
        if encoding in self.attempted_charsets:
            return False
        self.attempted_charsets.add(encoding)
        self.body = _StreamEncoder(self.body, encoding, self.errors)
        return True

    def find_acceptable_charset(self) -> str:
        """Negotiate the charset for ``self.body``, encode it, and return the charset."""
        response = drupe.serving.response
        header = drupe.serving.request.headers.get("Accept-Charset")
        choice = _negotiate(prepare_iter(self.body), self._settings(), None, header,
                            bool(response.stream), self.attempted_charsets)
        self.body = choice.body
        if not response.stream:
            response.headers.pop("Content-Length", None)
        return choice.charset

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.body = encode_body(self.oldhandler(*args, **kwargs), self._settings(),
                                self.attempted_charsets)
        return self.body


# -- the decode tool ------------------------------------------------------------------------


def _charset_list(value: Any, key: str) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)):
        raise drupe.ConfigError(f"Config key {key!r}: expected a charset name or a list of "
                                f"them, not {value!r}.")
    return [check_charset(name, key) for name in names]


def decode(encoding: str | list[str] | None = None,
           default_encoding: str | list[str] | None = "utf-8", debug: bool = False) -> None:
    """Set the charsets tried when decoding the request body.

    ``encoding`` (a name or a list) replaces them, so only those are tried, whatever the
    request's Content-Type says; otherwise ``default_encoding`` is added to them.
    """
    body = drupe.serving.request.body
    if encoding is not None:
        body.attempt_charsets = _charset_list(encoding, "tools.decode.encoding")
    elif default_encoding:
        current = list(body.attempt_charsets)
        for name in _charset_list(default_encoding, "tools.decode.default_encoding"):
            if name not in current:
                current.append(name)
        body.attempt_charsets = current
    if debug:
        drupe.log(f"Request body charsets to try: {body.attempt_charsets!r}", "TOOLS.DECODE")


class DecodeTool(drupe.Tool):
    """The ``decode`` tool: :func:`decode` at ``before_request_body``, priority 50."""

    def __init__(self) -> None:
        super().__init__("before_request_body", decode, name="decode", priority=50)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Check that the charsets named exist."""
        prefix = f"{self.namespace}.{self.name or 'decode'}."
        for argument in ("encoding", "default_encoding"):
            value = settings.get(argument)
            if value is not None:
                _charset_list(value, prefix + argument)

