"""The tool instances this distribution registers in the ``drupe.tools`` entry-point group.

Each entry point (``encode = "drupe_tool_standard.tools:encode"``) names one of these; the
kernel loads it the first time config or code names the tool. Hook points and default
priorities are CherryPy's (the kernel README's table lists them all).
"""

from __future__ import annotations

import drupe
from drupe_tool_standard import _handlers, _headers, _logging, _redirects
from drupe_tool_standard._conditional import EtagsTool, ExpiresTool
from drupe_tool_standard._encoding import DecodeTool, EncodeTool

__all__ = [
    "accept",
    "allow",
    "autovary",
    "decode",
    "encode",
    "err_redirect",
    "etags",
    "expires",
    "flatten",
    "ignore_headers",
    "log_headers",
    "log_hooks",
    "log_tracebacks",
    "params",
    "redirect",
    "referer",
    "response_headers",
    "trailing_slash",
]

accept = drupe.Tool("on_start_resource", _headers.accept, name="accept")
allow = drupe.Tool("on_start_resource", _headers.allow, name="allow")
autovary = _headers.AutovaryTool()
decode = DecodeTool()
encode = EncodeTool()
err_redirect = _redirects.ErrRedirectTool()
etags = EtagsTool()
expires = ExpiresTool()
flatten = drupe.Tool("before_finalize", _handlers.flatten, name="flatten")
ignore_headers = drupe.Tool("before_request_body", _headers.ignore_headers, name="ignore_headers")
log_headers = drupe.Tool("before_error_response", _logging.log_request_headers, name="log_headers")
log_hooks = drupe.Tool("on_end_request", _logging.log_hooks, name="log_hooks", priority=100)
log_tracebacks = drupe.Tool("before_error_response", _logging.log_traceback, name="log_tracebacks")
params = _handlers.ParamsTool()
redirect = drupe.Tool("on_start_resource", _redirects.redirect, name="redirect")
referer = _headers.RefererTool()
response_headers = _headers.ResponseHeadersTool()
trailing_slash = _redirects.TrailingSlashTool()
