"""drupe-tool-standard: CherryPy's small standard tools, and the four it turns on by default.

Registered entry points:

* ``drupe.tools``: ``accept``, ``allow``, ``autovary``, ``decode``, ``encode``,
  ``err_redirect``, ``etags``, ``expires``, ``flatten``, ``ignore_headers``,
  ``log_headers``, ``log_hooks``, ``log_tracebacks``, ``params``, ``redirect``,
  ``referer``, ``response_headers``, ``trailing_slash`` — the instances in
  :mod:`drupe_tool_standard.tools`, each at CherryPy's hook point and priority.
* ``drupe.plugins``: :mod:`drupe_tool_standard.hooks`, which turns ``encode``,
  ``trailing_slash``, ``log_tracebacks`` and ``log_headers`` on by default (and
  ``log_headers`` off again in the deployment environments).
* ``drupe.compat``: ``lib.cptools``, ``lib.encoding`` (the charset half) and
  ``lib.caching`` (``expires``) — CherryPy's module paths for the tools' callables.

The implementation is grouped by subject: ``_encoding`` (encode, decode),
``_conditional`` (etags, validate_since, expires), ``_headers`` (accept, allow, autovary,
ignore_headers, response_headers, referer), ``_redirects`` (redirect, err_redirect,
trailing_slash), ``_logging`` (log_tracebacks, log_headers, log_hooks), ``_handlers``
(params, flatten), and ``_negotiation`` (reading Accept and Accept-Charset).

Importing the package imports none of them: the kernel imports :mod:`hooks` at boot, and
the tools' modules load when a request first needs a tool (or code uses a name below).
"""

from __future__ import annotations

from drupe.lib import lazy_exports

__version__ = "0.1.0"

# Public name -> the private module defining it (imported on first use).
_LOCATIONS = {
    "EncodeSettings": "_encoding",
    "EntityTag": "_conditional",
    "MonitoredHeaderMap": "_headers",
    "ResponseEncoder": "_encoding",
    "UTF8StreamEncoder": "_encoding",
    "accept": "_headers",
    "allow": "_headers",
    "autovary": "_headers",
    "convert_params": "_handlers",
    "decode": "_encoding",
    "encode": "_encoding",
    "encode_body": "_encoding",
    "expires": "_conditional",
    "flatten": "_handlers",
    "ignore_headers": "_headers",
    "log_hooks": "_logging",
    "log_request_headers": "_logging",
    "log_traceback": "_logging",
    "prepare_iter": "_encoding",
    "redirect": "_redirects",
    "referer": "_headers",
    "response_headers": "_headers",
    "trailing_slash": "_redirects",
    "validate_etags": "_conditional",
    "validate_since": "_conditional",
}

__all__ = ["__version__", *sorted(_LOCATIONS)]


__getattr__, __dir__ = lazy_exports(__name__, _LOCATIONS, globals())
