"""XML-RPC for drupe: XMLRPCDispatcher, XMLRPCController and the ``xmlrpc`` tool.

An XML-RPC endpoint is an :class:`XMLRPCController` in the object tree. A call
``POST /RPC2`` with ``<methodName>math.add</methodName>`` runs ``controller.math.add(...)``
— the dotted name is walked from the controller, and the object found must be exposed.
The :class:`XMLRPCDispatcher` lets clients post to ``/RPC2`` (or any path) the way
``xmlrpc.client.ServerProxy`` does: it drops a leading ``/RPC2`` and adds a trailing slash
before the next dispatcher (the object-tree ``Dispatcher`` by default) walks the path.

Answers, always ``200 OK`` with ``text/xml`` for a call (XML-RPC's rule):

=====================================================  ====================================
the call                                               the answer
=====================================================  ====================================
the method returns a value                             ``<methodResponse>`` with the value
the method returns or raises ``xmlrpc.client.Fault``   that fault
the method raises another exception                    fault 1, the exception's message (the
                                                       traceback goes to the error log only)
the method raises ``HTTPError`` (``NotFound``, ...)    fault with the HTTP status as code
no such (exposed) method                               fault -32601 ``method "x" is not supported``
arguments that do not fit the method's signature      fault -32602
malformed XML, a DOCTYPE/entities, bad values          fault -32700
not a ``methodCall`` (no ``methodName``, a response)   fault -32600
a POST to a path where nothing is mounted              fault 404 (with ``XMLRPCDispatcher``)
=====================================================  ====================================

Other requests are plain HTTP: a method other than ``POST`` is ``405`` with
``Allow: POST``; a body over ``tools.xmlrpc.max_body_size`` is ``413``; a body without
a length is ``411`` (the kernel's rule).
"""

from __future__ import annotations

import sys
from collections.abc import Hashable
from typing import Any
from xmlrpc import client as xmlrpc_client

import drupe
from drupe_dispatch_objecttree import Dispatcher
from drupe_dispatch_xmlrpc._protocol import (
    DEFAULT_MAX_BODY_SIZE,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    METHOD_RAISED,
    BadCall,
    check_settings,
    read_call,
    settings_for_request,
    write_fault,
    write_result,
)

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "XMLRPCController",
    "XMLRPCDispatcher",
    "XMLRPCTool",
    "patched_path",
    "xmlrpc",
]
__version__ = "0.1.0"


def patched_path(path: str) -> str:
    """The path as the next dispatcher sees it: a trailing slash, no leading ``/RPC2``."""
    if not path.endswith("/"):
        path += "/"
    if path.startswith("/RPC2/"):
        path = path[5:]
    return path


# ---------------------------------------------------------------------------
# The tool


def _answer_unanticipated_error(encoding: str = "utf-8", allow_none: bool = False,
                                max_body_size: int | None = DEFAULT_MAX_BODY_SIZE) -> None:
    """``request.error_response`` under ``tools.xmlrpc``: the error as a fault, status 200.

    ``allow_none`` and ``max_body_size`` are the controller's business; they are named
    here so that config naming them is checked against this signature.
    """
    error = sys.exc_info()[1]
    if isinstance(error, xmlrpc_client.Fault):
        write_fault(error.faultCode, str(error.faultString), encoding)
    else:
        write_fault(METHOD_RAISED, str(error), encoding)


class XMLRPCTool(drupe.ErrorTool):
    """The ``xmlrpc`` tool: unanticipated errors answered as XML-RPC faults.

    It replaces ``request.error_response`` (no hook point). Config: ``encoding``
    (``'utf-8'``), ``allow_none`` (``False``), ``max_body_size`` (10 MiB, ``None`` for
    no limit of its own).
    """

    def __init__(self) -> None:
        super().__init__(_answer_unanticipated_error, name="xmlrpc")

    def _wrapper(self) -> None:
        settings = self._merged_args()
        settings.pop("priority", None)
        self.callable(**settings)

    def check_settings(self, settings: dict[str, Any]) -> None:
        check_settings(settings)


xmlrpc = XMLRPCTool()
"""The tool instance registered as ``xmlrpc`` in ``drupe.tools``."""


# ---------------------------------------------------------------------------
# The controller


def _find_method(controller: Any, name: str) -> Any:
    target = controller
    for attribute in name.split("."):
        # Private and special names are never reachable from the wire.
        if not attribute or attribute.startswith("_"):
            return None
        target = getattr(target, attribute, None)
        if target is None:
            return None
    if not callable(target) or not getattr(target, "exposed", False):
        return None
    return target


def _call_error(exc: TypeError) -> bool:
    # Raised by the call's argument binding itself (no frame of the method on the stack).
    return exc.__traceback__ is not None and exc.__traceback__.tb_next is None


class XMLRPCController:
    """Subclass it; its exposed methods (and their exposed children) answer XML-RPC calls.

    ``_cp_config`` turns ``tools.xmlrpc`` on for the controller's paths. Each call's
    parameters are passed positionally, after any path segments beyond the controller;
    query-string parameters are passed as keyword arguments (as CherryPy does).
    """

    _cp_config: dict[str, Any] = {"tools.xmlrpc.on": True}

    @drupe.expose
    def default(self, *vpath: str, **params: Any) -> Any:
        request = drupe.request
        if request.method != "POST":
            drupe.response.headers["Allow"] = "POST"
            raise drupe.HTTPError(405, f"XML-RPC calls are POST requests, not {request.method}.")
        settings = settings_for_request()
        try:
            rpc_params, rpc_method = read_call(settings.max_body_size)
        except BadCall as bad:
            return write_fault(bad.code, bad.message, settings.encoding)
        method = _find_method(self, rpc_method)
        if method is None:
            return write_fault(METHOD_NOT_FOUND, f'method "{rpc_method}" is not supported',
                               settings.encoding)
        try:
            result = method(*(vpath + rpc_params), **params)
        except TypeError as exc:
            if not _call_error(exc):
                raise
            return write_fault(INVALID_PARAMS, f"invalid method parameters: {exc}", settings.encoding)
        except xmlrpc_client.Fault as fault:
            return write_fault(fault.faultCode, str(fault.faultString), settings.encoding)
        except drupe.HTTPError as error:
            message = error.args[1] if len(error.args) > 1 and error.args[1] else error.reason
            return write_fault(error.code, f"{error.code} {error.reason}: {message}", settings.encoding)
        return write_result(result, settings.encoding, settings.allow_none)


# ---------------------------------------------------------------------------
# The dispatcher


def _plans_with(dispatcher: Any) -> bool:
    call = getattr(type(dispatcher), "__call__", None)  # noqa: B004
    return (isinstance(dispatcher, drupe.DispatcherBase)
            and call is drupe.DispatcherBase.__call__ and hasattr(dispatcher, "resolve"))


class _MissingEndpoint:
    """Page handler where nothing is mounted: a fault for a POST, 404 for anything else."""

    __slots__ = ()

    def __call__(self) -> Any:
        request = drupe.request
        if request.method != "POST":
            raise drupe.NotFound()
        settings = settings_for_request()
        path = (request.script_name or "") + (request.path_info or "")
        return write_fault(404, f"404 Not Found: no XML-RPC endpoint at {path!r}", settings.encoding)


def _missing_endpoint(_handler: Any, *_args: Any) -> _MissingEndpoint:
    return _MissingEndpoint()


def _as_is(handler: Any, *_args: Any) -> Any:
    return handler


class XMLRPCDispatcher(drupe.DispatcherBase):
    """``XMLRPCDispatcher(next_dispatcher=Dispatcher())``: dispatch XML-RPC paths.

    The path is patched (:func:`patched_path`) and handed to ``next_dispatcher``; a POST
    to a path where nothing is found is answered with a fault instead of an HTML 404.
    """

    def __init__(self, next_dispatcher: Any = None) -> None:
        if next_dispatcher is None:
            next_dispatcher = Dispatcher()
        if not callable(next_dispatcher):
            raise TypeError(
                f"XMLRPCDispatcher: next_dispatcher must be a dispatcher, not {next_dispatcher!r}.")
        self.next_dispatcher = next_dispatcher
        self._plans_with_next = _plans_with(next_dispatcher)

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}(next_dispatcher={self.next_dispatcher!r})"

    def plan_key(self, request: Any, path_info: str) -> Hashable | None:
        if not self._plans_with_next:
            return None
        path = patched_path(path_info)
        inner_key = self.next_dispatcher.plan_key(request, path)
        return None if inner_key is None else ("xmlrpc", path == path_info, inner_key)

    def resolve(self, request: Any, path_info: str) -> drupe.Resolution:
        path = patched_path(path_info)
        found: drupe.Resolution
        if self._plans_with_next:
            found = self.next_dispatcher.resolve(request, path)
        else:
            self.next_dispatcher(path)
            found = drupe.Resolution(request.handler, (), request.config, request.is_index,
                                     cacheable=False, wrap=_as_is)
        # The next dispatcher saw the patched path: whether *that* is an index says
        # nothing about what the client asked for, so the trailing_slash tool must not
        # redirect (XML-RPC clients do not follow redirects).
        is_index = found.is_index if path == path_info else None
        if found.handler is not None:
            if is_index is found.is_index:
                return found
            return drupe.Resolution(found.handler, found.args, found.config, is_index,
                                    params=found.params, cacheable=found.cacheable,
                                    wrap=found.wrap, extra=found.extra)
        return drupe.Resolution(_MissingEndpoint, (), found.config, is_index,
                                params=found.params, cacheable=found.cacheable,
                                wrap=_missing_endpoint)
