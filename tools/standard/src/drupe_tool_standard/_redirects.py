"""Redirecting tools: ``redirect``, ``err_redirect`` and ``trailing_slash``.

* ``redirect`` (``on_start_resource`` 50) sends every request for the path elsewhere:
  internally (``internal=True``, the default: the request restarts at ``url`` without a
  round trip) or with an HTTP redirect (``303``/``302``).
* ``err_redirect`` replaces ``request.error_response``: an unanticipated error (a 500) is
  answered by redirecting to ``url`` the same way.
* ``trailing_slash`` (``before_handler`` 60, on by default) keeps one URL per page. The
  dispatcher says whether the handler found is an *index* (``request.is_index``): an
  index is reached with a trailing slash, so ``/docs`` is redirected to ``/docs/``
  (``missing=True``, the default); any other handler is reached without one, and
  ``/page/`` is redirected to ``/page`` only when ``extra=True``. The query string is
  kept. The status is 301 unless ``status`` says otherwise.

  Like CherryPy, the redirect is sent whatever the method. A 301 (or 302) lets clients
  repeat a POST as a GET without its body — browsers do — so an application that
  receives form posts at URLs that may lack the slash should post to the canonical URL,
  turn the tool off there, or set ``status`` to 307 or 308, which make clients repeat the
  method and the body.
"""

from __future__ import annotations

from typing import Any

import drupe

__all__ = ["ErrRedirectTool", "TrailingSlashTool", "redirect", "trailing_slash"]


def redirect(url: str = "", internal: bool = True, debug: bool = False) -> None:
    """Redirect the request to ``url``: internally, or with an HTTP redirect."""
    if debug:
        drupe.log(f"Redirecting {'internally ' if internal else ''}to {url!r}.", "TOOLS.REDIRECT")
    if internal:
        raise drupe.InternalRedirect(url)
    raise drupe.HTTPRedirect(url)


def _check_status(value: Any, key: str) -> None:
    if value is None:
        return
    try:
        code = int(value)
    except (TypeError, ValueError):
        code = 0
    if not 300 <= code <= 399 or isinstance(value, bool):
        raise drupe.ConfigError(f"Config key {key!r}: expected a redirect status (300 to 399, "
                                f"usually 301, 302, 307 or 308), not {value!r}.")


def trailing_slash(missing: bool = True, extra: bool = False, status: int | None = None,
                   debug: bool = False) -> None:
    """Redirect to the URL with the trailing slash added (index) or removed (``extra``)."""
    request = drupe.serving.request
    path_info = request.path_info
    is_index = request.is_index
    if debug:
        drupe.log(f"is_index {is_index!r}, missing {missing!r}, extra {extra!r}, path_info "
                  f"{path_info!r}.", "TOOLS.TRAILING_SLASH")
    if is_index is True:
        # An application's root asked for without any slash ("/app") has path_info "",
        # so it is redirected here too.
        if missing and not path_info.endswith("/"):
            raise drupe.HTTPRedirect(drupe.url(path_info + "/", request.query_string),
                                     status=status or 301)
    elif is_index is False and extra and path_info.endswith("/") and path_info != "/":
        # '/' itself has nothing to remove: '' is no path.
        raise drupe.HTTPRedirect(drupe.url(path_info[:-1], request.query_string),
                                 status=status or 301)


class TrailingSlashTool(drupe.Tool):
    """The ``trailing_slash`` tool: :func:`trailing_slash` at ``before_handler``, 60."""

    def __init__(self) -> None:
        super().__init__("before_handler", trailing_slash, name="trailing_slash", priority=60)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """``status`` must be a redirect status."""
        if "status" in settings:
            _check_status(settings["status"], f"{self.namespace}.{self.name or 'trailing_slash'}.status")


class ErrRedirectTool(drupe.ErrorTool):
    """The ``err_redirect`` tool: :func:`redirect` as ``request.error_response``."""

    def __init__(self) -> None:
        super().__init__(redirect, name="err_redirect")
