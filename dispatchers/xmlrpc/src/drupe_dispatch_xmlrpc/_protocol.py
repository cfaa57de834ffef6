"""The XML-RPC wire format: parsing calls safely and writing responses into drupe.response.

Calls are parsed with ``xmlrpc.client.Unmarshaller`` fed by an expat parser of our own,
made safe for untrusted input: a document with a DOCTYPE (and so any entity declaration,
internal or external) is refused before anything is expanded, so entity-expansion bombs
("billion laughs", "quadratic blowup") and external entities never run. XML-RPC has no
use for a DTD. The body is read with a size limit (``tools.xmlrpc.max_body_size``).

Fault codes follow the "specification for fault code interoperability" (xmlrpc-epi) for
protocol errors; an exception raised by a method is fault 1 with the exception's message,
as CherryPy answers.
"""

from __future__ import annotations

import codecs
import xmlrpc.client
from typing import Any
from xml.parsers import expat

import drupe

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "METHOD_RAISED",
    "PARSE_ERROR",
    "BadCall",
    "Settings",
    "parse_call",
    "read_call",
    "settings_for_request",
    "write_fault",
    "write_result",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
METHOD_RAISED = 1

DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024
"""Bytes of XML a call may have unless ``tools.xmlrpc.max_body_size`` says otherwise."""


class BadCall(Exception):
    """The request is not a well-formed XML-RPC call: answered with a fault."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Refused(ValueError):
    pass


def _refuse_doctype(*_args: Any) -> None:
    raise _Refused("a DOCTYPE is not allowed in an XML-RPC call (entities are never expanded)")


def _refuse_entity(*_args: Any) -> int:
    raise _Refused("entity declarations are not allowed in an XML-RPC call")


def parse_call(data: bytes) -> tuple[tuple[Any, ...], str]:
    """``(params, method_name)`` of an XML-RPC call; raises :class:`BadCall`."""
    unmarshaller = xmlrpc.client.Unmarshaller()
    parser = expat.ParserCreate(None, None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.StartElementHandler = unmarshaller.start
    parser.EndElementHandler = unmarshaller.end
    parser.CharacterDataHandler = unmarshaller.data
    parser.buffer_text = True
    unmarshaller.xml(None, None)  # type: ignore[arg-type]  # what ExpatParser passes too
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise BadCall(PARSE_ERROR, f"parse error: {exc}") from None
    except expat.ExpatError as exc:
        raise BadCall(PARSE_ERROR, f"parse error: not well formed ({exc})") from None
    except (ValueError, TypeError, OverflowError, LookupError) as exc:
        # A value the unmarshaller could not convert (<int>x</int>, a bad base64, ...).
        raise BadCall(PARSE_ERROR, f"parse error: bad value ({exc})") from None
    try:
        params = unmarshaller.close()
    except xmlrpc.client.Fault:
        raise BadCall(INVALID_REQUEST, "invalid request: a fault is not a call") from None
    except xmlrpc.client.ResponseError:
        raise BadCall(INVALID_REQUEST, "invalid request: not a complete methodCall") from None
    except (ValueError, TypeError, KeyError):
        # A malformed <fault> (Fault(**struct) without its two members), ...
        raise BadCall(INVALID_REQUEST, "invalid request: not a methodCall") from None
    method = unmarshaller.getmethodname()
    if not method:
        raise BadCall(INVALID_REQUEST, "invalid request: the call has no methodName")
    return tuple(params), method


def read_call(max_body_size: int | None) -> tuple[tuple[Any, ...], str]:
    """Read and parse the request body (413 beyond ``max_body_size`` bytes)."""
    body = drupe.request.body
    if max_body_size is None:
        data = body.read()
    else:
        data = body.read(max_body_size + 1)
        if len(data) > max_body_size:
            raise drupe.HTTPError(
                413, f"The XML-RPC call is larger than the limit of {max_body_size} bytes "
                     "(tools.xmlrpc.max_body_size).")
    return parse_call(data)


class Settings:
    """The ``tools.xmlrpc.*`` values for the current request."""

    __slots__ = ("allow_none", "encoding", "max_body_size")

    def __init__(self, encoding: str = "utf-8", allow_none: bool = False,
                 max_body_size: int | None = DEFAULT_MAX_BODY_SIZE) -> None:
        self.encoding = encoding
        self.allow_none = bool(allow_none)
        self.max_body_size = max_body_size


def settings_for_request() -> Settings:
    """``tools.xmlrpc.*`` of this request (the defaults when the tool is not configured)."""
    toolmaps = getattr(drupe.request, "toolmaps", None) or {}
    conf = dict(toolmaps.get("tools", {}).get("xmlrpc", {}))
    return Settings(
        encoding=conf.get("encoding") or "utf-8",
        allow_none=bool(conf.get("allow_none", False)),
        max_body_size=conf.get("max_body_size", DEFAULT_MAX_BODY_SIZE),
    )


def check_settings(settings: dict[str, Any]) -> None:
    """Raise ``drupe.ConfigError`` naming the key of a bad ``tools.xmlrpc.*`` value."""
    encoding = settings.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        raise drupe.ConfigError(f"Config key 'tools.xmlrpc.encoding': a codec name, not {encoding!r}.")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise drupe.ConfigError(
            f"Config key 'tools.xmlrpc.encoding': {encoding!r} is not a known encoding.") from None
    allow_none = settings.get("allow_none", False)
    if not isinstance(allow_none, (bool, int)):
        raise drupe.ConfigError(f"Config key 'tools.xmlrpc.allow_none': True or False, not {allow_none!r}.")
    size = settings.get("max_body_size", DEFAULT_MAX_BODY_SIZE)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise drupe.ConfigError(
            f"Config key 'tools.xmlrpc.max_body_size': a positive number of bytes or None, not {size!r}.")


def _write(xml: str, encoding: str) -> bytes:
    response = drupe.response
    # Characters the encoding lacks become character references: still valid XML.
    body = xml.encode(encoding, "xmlcharrefreplace")
    response.status = 200
    response.headers["Content-Type"] = f"text/xml; charset={encoding}"
    response.headers["Content-Length"] = str(len(body))
    response.body = body
    return body


def write_result(result: Any, encoding: str = "utf-8", allow_none: bool = False) -> bytes:
    """Answer with ``result`` (a ``Fault`` is answered as that fault)."""
    values = result if isinstance(result, xmlrpc.client.Fault) else (result,)
    xml = xmlrpc.client.dumps(values, methodresponse=True, encoding=encoding,
                              allow_none=allow_none)
    return _write(xml, encoding)


def write_fault(code: int, message: str, encoding: str = "utf-8") -> bytes:
    """Answer with the fault ``(code, message)``."""
    xml = xmlrpc.client.dumps(xmlrpc.client.Fault(code, message), methodresponse=True,
                              encoding=encoding)
    return _write(xml, encoding)
