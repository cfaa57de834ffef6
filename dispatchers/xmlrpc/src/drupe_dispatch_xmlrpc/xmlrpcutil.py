"""``drupe.lib.xmlrpcutil``: CherryPy's XML-RPC helpers, by their names.

Registered as ``lib.xmlrpcutil`` in the ``drupe.compat`` group, so
``from drupe.lib import xmlrpcutil`` gives these. They work on the current request and
response, as CherryPy's do; :class:`drupe_dispatch_xmlrpc.XMLRPCController` uses the
stricter parser of ``drupe_dispatch_xmlrpc._protocol`` directly.
"""

from __future__ import annotations

import sys
import xmlrpc.client
from typing import Any

from drupe_dispatch_xmlrpc import patched_path
from drupe_dispatch_xmlrpc._protocol import (
    DEFAULT_MAX_BODY_SIZE,
    METHOD_RAISED,
    BadCall,
    read_call,
    write_fault,
    write_result,
)

__all__ = ["get_xmlrpclib", "on_error", "patched_path", "process_body", "respond"]


def get_xmlrpclib() -> Any:
    """The standard library's XML-RPC module (``xmlrpc.client``)."""
    return xmlrpc.client


def process_body() -> tuple[tuple[Any, ...], str]:
    """``(params, method_name)`` from the request body.

    As CherryPy, a body that is not a valid call gives ``(('ERROR PARAMS',),
    'ERRORMETHOD')``. The body is parsed safely (no DTD, no entities) and read up to
    10 MiB (413 beyond).
    """
    try:
        return read_call(DEFAULT_MAX_BODY_SIZE)
    except BadCall:
        return ("ERROR PARAMS",), "ERRORMETHOD"


def respond(body: Any, encoding: str = "utf-8", allow_none: int | bool = 0) -> None:
    """Answer with ``body`` (a value, or an ``xmlrpc.client.Fault``) as a method response."""
    write_result(body, encoding, bool(allow_none))


def on_error(*args: Any, **kwargs: Any) -> None:
    """Answer the exception being handled as fault 1 with its message (CherryPy's form)."""
    error = sys.exc_info()[1]
    if isinstance(error, xmlrpc.client.Fault):
        write_fault(error.faultCode, str(error.faultString))
    else:
        write_fault(METHOD_RAISED, str(error))
