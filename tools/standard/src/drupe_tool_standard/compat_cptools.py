"""The names this distribution gives ``drupe.lib.cptools`` (CherryPy's ``lib.cptools``).

Registered as ``lib.cptools`` in the ``drupe.compat`` entry-point group. The callables
behind the standard tools, for applications that call them directly or build their own
tools from them; ``proxy`` and the session-auth names come from their own distributions.
"""

from drupe_tool_standard._conditional import validate_etags, validate_since
from drupe_tool_standard._handlers import convert_params, flatten
from drupe_tool_standard._headers import (
    MonitoredHeaderMap,
    accept,
    allow,
    autovary,
    ignore_headers,
    referer,
    response_headers,
)
from drupe_tool_standard._logging import log_hooks, log_request_headers, log_traceback
from drupe_tool_standard._redirects import redirect, trailing_slash

__all__ = [
    "MonitoredHeaderMap",
    "accept",
    "allow",
    "autovary",
    "convert_params",
    "flatten",
    "ignore_headers",
    "log_hooks",
    "log_request_headers",
    "log_traceback",
    "redirect",
    "referer",
    "response_headers",
    "trailing_slash",
    "validate_etags",
    "validate_since",
]
