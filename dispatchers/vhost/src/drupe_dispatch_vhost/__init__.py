"""VirtualHost: serve several sites from one application, chosen by the request's host.

``VirtualHost(**domains)`` maps host names to path prefixes of the application's object
tree: with ``{"www.example.com": "/site", "api.example.com": "/api"}``, a request for
``http://api.example.com/users`` is dispatched as ``/api/users`` by the next dispatcher
(the object-tree ``Dispatcher`` unless another is given). A host not in the map gets no
prefix. ``request.path_info`` is not changed: redirects and URLs the application builds
stay relative to what the client asked for.

Which host
    ``X-Forwarded-Host`` when ``use_x_forwarded_host`` is true and the header is present
    (its *first* comma-separated value: each proxy in a chain appends one, and the first
    is the host the client asked the outermost proxy for), otherwise ``Host``. The value
    must be a syntactically valid host (RFC 3986 reg-name, IPv4 address or bracketed IPv6
    literal, optional ``:port``); an invalid value is ``400 Bad Request`` with a message
    and is never routed. HTTP/1.1 requests without ``Host`` are 400 as well (the kernel
    checks ``Host`` before dispatching; this dispatcher checks ``X-Forwarded-Host``).

Lookup
    Host names compare case-insensitively. The map is searched for the host with its
    port first (``"example.com:8080"``), then for the name alone (``"example.com"``), so
    a key with a port matches only that port and a key without one matches any port.

Plans
    The kernel caches a plan per (prefix, next dispatcher's key), so the host decides the
    plan without a walk per request. ``tools.staticdir.section`` found under a prefix has
    the prefix removed, so ``staticdir`` serves the right files under each host.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import drupe
from drupe.lib.httputil import split_host, urljoin
from drupe_dispatch_objecttree import Dispatcher

__all__ = ["VirtualHost"]
__version__ = "0.1.0"

# PERF: a server sees few distinct forwarded hosts; remember the valid ones (bounded).
_MAX_REMEMBERED_HOSTS = 256


def _normalize_prefix(host: str, prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"VirtualHost: the prefix for {host!r} must be a str, not {prefix!r}.")
    if prefix and not prefix.startswith("/"):
        raise ValueError(f"VirtualHost: the prefix for {host!r} must start with '/', not {prefix!r}.")
    return prefix.rstrip("/")


def _plans_with(dispatcher: Any) -> bool:
    # The kernel's own test (drupe._dispatch.resolves_with_plan), from public names: a
    # DispatcherBase whose class does not replace __call__.
    call = getattr(type(dispatcher), "__call__", None)  # noqa: B004
    return (isinstance(dispatcher, drupe.DispatcherBase)
            and call is drupe.DispatcherBase.__call__ and hasattr(dispatcher, "resolve"))


class VirtualHost(drupe.DispatcherBase):
    """Prefix the path with the one mapped to the request's host (see the module docstring).

    ``VirtualHost(next_dispatcher=Dispatcher(), use_x_forwarded_host=True, **domains)``.
    """

    def __init__(self, next_dispatcher: Any = None, use_x_forwarded_host: bool = True,
                 **domains: str) -> None:
        if next_dispatcher is None:
            next_dispatcher = Dispatcher()
        if not callable(next_dispatcher):
            raise TypeError(f"VirtualHost: next_dispatcher must be a dispatcher, not {next_dispatcher!r}.")
        self.next_dispatcher = next_dispatcher
        self.use_x_forwarded_host = use_x_forwarded_host
        self.domains: dict[str, str] = {}
        for host, prefix in domains.items():
            try:
                split_host(host)
            except ValueError as exc:
                raise ValueError(f"VirtualHost: {host!r} is not a valid host ({exc})") from None
            self.domains[host.lower()] = _normalize_prefix(host, prefix)
        self._plans_with_next = _plans_with(next_dispatcher)
        self._valid_forwarded: set[str] = set()

    @classmethod
    def from_short_name(cls, key: str) -> VirtualHost:
        """``request.dispatch = "vhost"``: refused, the domain map is needed."""
        raise drupe.ConfigError(
            f"Config key {key!r}: the 'vhost' dispatcher needs its map of hosts to path "
            f"prefixes, which a short name cannot give. Set {key!r} to an instance instead, "
            "e.g. drupe.dispatch.VirtualHost(**{'www.example.com': '/site'})."
        )

    def __repr__(self) -> str:
        return (f"{type(self).__module__}.{type(self).__name__}(next_dispatcher="
                f"{self.next_dispatcher!r}, use_x_forwarded_host={self.use_x_forwarded_host!r}, "
                f"domains={self.domains!r})")

    # -- the host ----------------------------------------------------------------------

    def requested_host(self, request: Any) -> str | None:
        """The host the request is for (validated), or ``None`` when it names none."""
        environ = request.wsgi_environ
        if environ is not None:
            host = environ.get("HTTP_HOST")
            forwarded = environ.get("HTTP_X_FORWARDED_HOST") if self.use_x_forwarded_host else None
        else:
            headers: Mapping[str, str] = request.headers
            host = headers.get("Host")
            forwarded = headers.get("X-Forwarded-Host") if self.use_x_forwarded_host else None
        if forwarded is not None:
            first = str(forwarded).split(",", 1)[0].strip()
            if first not in self._valid_forwarded:
                try:
                    split_host(first)
                except ValueError as exc:
                    message = str(exc).replace("The Host header", "The X-Forwarded-Host header")
                    raise drupe.HTTPError(400, message) from None
                if len(self._valid_forwarded) < _MAX_REMEMBERED_HOSTS:
                    self._valid_forwarded.add(first)
            return first
        if host is None:
            if tuple(request.protocol) >= (1, 1):
                raise drupe.HTTPError(400, "HTTP/1.1 requires a 'Host' request header.")
            return None
        # The kernel validated Host before dispatching (Request.process_headers).
        return str(host)

    def prefix_for(self, request: Any) -> str:
        """The path prefix for this request's host ('' when the map has none)."""
        host = self.requested_host(request)
        if not host or not self.domains:
            return ""
        host = host.lower()
        prefix = self.domains.get(host)
        if prefix is None:
            name, _port = split_host(host)
            prefix = self.domains.get(name, "")
        return prefix

    # -- drupe's contract --------------------------------------------------------------

    def plan_key(self, request: Any, path_info: str) -> Hashable | None:
        if not self._plans_with_next:
            return None
        prefix = self.prefix_for(request)
        inner = urljoin(prefix, path_info) if prefix else path_info
        inner_key = self.next_dispatcher.plan_key(request, inner)
        if inner_key is None:
            return None
        return ("vhost", prefix, inner_key)

    def resolve(self, request: Any, path_info: str) -> drupe.Resolution:
        prefix = self.prefix_for(request)
        inner = urljoin(prefix, path_info) if prefix else path_info
        found: drupe.Resolution
        if self._plans_with_next:
            found = self.next_dispatcher.resolve(request, inner)
        else:
            # A dispatcher speaking only CherryPy's contract: call it and read what it set.
            self.next_dispatcher(inner)
            found = drupe.Resolution(request.handler, (), request.config, request.is_index,
                                     cacheable=False, wrap=_as_is)
        if not prefix:
            return found
        config = found.config
        section = config.get("tools.staticdir.section")
        if isinstance(section, str) and (section == prefix or section.startswith(prefix + "/")):
            config = dict(config)
            config["tools.staticdir.section"] = section[len(prefix):] or "/"
        return drupe.Resolution(found.handler, found.args, config, found.is_index,
                                params=found.params, cacheable=found.cacheable, wrap=found.wrap,
                                extra=found.extra)


def _as_is(handler: Any, *args: Any) -> Any:
    # The CherryPy-contract dispatcher already made the page handler.
    return handler
