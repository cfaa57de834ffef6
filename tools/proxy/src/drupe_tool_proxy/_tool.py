"""The ``proxy`` tool: the client's address, scheme and host as a trusted reverse proxy reports them.

Behind a reverse proxy the server's peer is the proxy, and the Host, scheme and client
address the application should see arrive in headers the proxy adds. The tool runs at
``before_request_body`` (priority 30, CherryPy's) and rewrites ``request.base``,
``request.scheme`` and ``request.remote`` from them.

**Who is believed.** A client can send the same headers itself, so they are read only when
the direct peer is a trusted proxy (``trusted``, by default loopback and private networks;
see ``_trust``). When it is not, every forwarding header is ignored and only a configured
``base`` applies. Within a trusted peer's headers the client address is the right-most
address that is *not* a trusted proxy — each proxy appends the address it received the
request from, so everything to the left of that point was written by the client and
proves nothing. ``trusted_hops = N`` instead says exactly N proxies stand in front: the
client is the N-th address from the right.

**Which headers.** By default CherryPy's: ``X-Forwarded-For`` (``remote``),
``X-Forwarded-Host`` (``local``) and ``X-Forwarded-Proto`` (``scheme``; a header whose name
contains ``ssl`` with the value ``on`` means https, as ``X-Forwarded-Ssl: on``). An empty
name turns that part off. With ``forwarded = True`` the RFC 7239 ``Forwarded`` header is
read instead, and the X-Forwarded-* headers are ignored (a proxy that sets one family
usually passes the other through from the client untouched). Host and scheme lists are
read at the position of the chosen client hop (the proxy closest to the client), falling
back to the value nearest to this server.

**Bad values.** A host that is not ``host[:port]``, a scheme other than http/https, or an
address list that does not parse, sent by a trusted proxy, answers 400 naming the header:
the request cannot be given a trustworthy URL, and guessing would build redirects to an
unchecked host. Header text left of the chosen client hop is never examined (it is the
client's own). Nothing here raises anything but ``HTTPError(400)`` for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import drupe
from drupe.lib.httputil import Host, is_token
from drupe_tool_proxy._forwarding import (
    Node,
    check_host,
    check_scheme,
    parse_base,
    parse_forwarded,
    parse_node,
    split_list,
)
from drupe_tool_proxy._trust import DEFAULT_TRUSTED, Trusted, trusted_networks

__all__ = ["ProxyTool", "proxy", "tool"]

LOG_CONTEXT = "TOOLS.PROXY"


_DEFAULT_TRUST = trusted_networks(DEFAULT_TRUSTED)


def _debug(message: str) -> None:
    drupe.log(message, LOG_CONTEXT)


def _bad(message: str) -> drupe.HTTPError:
    return drupe.HTTPError(400, message)


def _node_trusted(node: Node, trust: Trusted) -> bool:
    if node.address is not None:
        return trust.contains_address(node.address)
    return node.identifier is not None and node.identifier != "unknown" and \
        trust.trusts_identifier(node.identifier)


def choose_client(count: int, node_at: Callable[[int], Node], trust: Trusted,
                  trusted_hops: int | None) -> int | None:
    """The index of the client among ``count`` hops (left to right), or None for none.

    ``node_at(i)`` parses hop ``i`` (and raises ``ValueError`` when it is malformed); only
    the hops from the right up to the client are parsed.
    """
    if count == 0:
        return None
    if trusted_hops is not None:
        if count < trusted_hops:
            return None
        index = count - trusted_hops
        node_at(index)
        return index
    for index in range(count - 1, -1, -1):
        if not _node_trusted(node_at(index), trust):
            return index
    return 0


def _at_hop(values: list[str], skipped: int) -> str | None:
    """The value a list-valued header holds for the client hop (``skipped`` hops nearer us)."""
    if not values:
        return None
    if len(values) > skipped:
        return values[-(skipped + 1)]
    return values[0]


def _parse_remote_list(header: str, value: str) -> tuple[list[str], Callable[[int], Node]]:
    items = split_list(value)

    def node_at(index: int) -> Node:
        try:
            return parse_node(items[index], bare_ipv6=True)
        except ValueError as exc:
            raise _bad(f"The {header} header from the proxy is malformed: {exc}")

    return items, node_at


def _scheme_from(header: str, value: str) -> str:
    if "ssl" in header.lower() and value.strip().lower() in ("on", "off"):
        return "https" if value.strip().lower() == "on" else "http"
    return check_scheme(value, header)


def proxy(base: str | None = None, local: str | None = "X-Forwarded-Host",
          remote: str | None = "X-Forwarded-For", scheme: str | None = "X-Forwarded-Proto",
          debug: bool = False, trusted: Trusted | Iterable[str] | str = DEFAULT_TRUSTED,
          trusted_hops: int | None = None, forwarded: bool = False) -> None:
    """Rewrite ``request.base``, ``request.scheme`` and ``request.remote`` from proxy headers.

    See the module docstring for the rules and the README for each argument.
    """
    request = drupe.serving.request
    if isinstance(trusted, Trusted):
        trust = trusted
    elif trusted is DEFAULT_TRUSTED:
        trust = _DEFAULT_TRUST
    else:
        trust = trusted_networks(trusted)
    configured = parse_base(base) if isinstance(base, str) and base else None
    peer = request.remote.ip
    headers = request.headers

    client: Node | None = None
    host_value: str | None = None
    host_header = ""
    scheme_value: str | None = None

    if not trust.trusts_peer(peer):
        if debug:
            _debug(f"The peer {peer!r} is not a trusted proxy: forwarding headers ignored.")
    elif forwarded:
        raw = headers.get("Forwarded")
        if debug:
            _debug(f"Forwarded: {raw!r}")
        if raw:
            try:
                elements = parse_forwarded(raw)
            except ValueError as exc:
                raise _bad(str(exc))

            def forwarded_node(index: int) -> Node:
                text = elements[index].get("for")
                if text is None:
                    return Node(None, "unknown", None)
                try:
                    return parse_node(text)
                except ValueError as exc:
                    raise _bad(f"The Forwarded header's for= parameter is malformed: {exc}")

            try:
                index = choose_client(len(elements), forwarded_node, trust, trusted_hops)
            except ValueError as exc:
                raise _bad(str(exc))
            if index is not None:
                client = forwarded_node(index)
                # host= and proto= describe the request the proxy nearest the client got;
                # when that proxy did not say, the next one in towards us did.
                for element in elements[index:]:
                    if host_value is None and "host" in element:
                        host_value, host_header = element["host"], "Forwarded (host=)"
                    if scheme_value is None and "proto" in element:
                        try:
                            scheme_value = check_scheme(element["proto"], "Forwarded (proto=)")
                        except ValueError as exc:
                            raise _bad(str(exc))
            elif debug:
                _debug(f"Fewer hops than trusted_hops={trusted_hops}: Forwarded ignored.")
    else:
        skipped = 0
        if remote:
            raw = headers.get(remote)
            if debug:
                _debug(f"{remote}: {raw!r}")
            if raw:
                items, node_at = _parse_remote_list(remote, raw)
                index = choose_client(len(items), node_at, trust, trusted_hops)
                if index is not None:
                    client = node_at(index)
                    skipped = len(items) - 1 - index
                elif debug:
                    _debug(f"Fewer hops than trusted_hops={trusted_hops}: {remote} ignored.")
        if scheme:
            raw = headers.get(scheme)
            if debug:
                _debug(f"{scheme}: {raw!r}")
            chosen = _at_hop(split_list(raw), skipped) if raw else None
            if chosen is not None:
                try:
                    scheme_value = _scheme_from(scheme, chosen)
                except ValueError as exc:
                    raise _bad(str(exc))
        if local:
            raw = headers.get(local)
            if debug:
                _debug(f"{local}: {raw!r}")
            chosen = _at_hop(split_list(raw), skipped) if raw else None
            if chosen is not None:
                host_value, host_header = chosen, local

    # The base: a forwarded host first (CherryPy's order), then the configured base, then
    # the request's own Host.
    base_scheme: str | None = None
    path = ""
    if host_value is not None:
        try:
            if "://" in host_value:
                base_scheme, authority, path = parse_base(host_value)
            else:
                authority = check_host(host_value, host_header)
        except ValueError as exc:
            raise _bad(f"The {host_header} header from the proxy is not a valid host "
                       f"({exc}).")
        if path:
            raise _bad(f"The {host_header} header from the proxy gives a URL with a path; only "
                       "scheme://host[:port] is accepted there.")
    elif configured is not None:
        base_scheme, authority, path = configured
    else:
        current = request.base
        authority = current.partition("://")[2] or current
    final_scheme = base_scheme or scheme_value or request.scheme or "http"
    request.base = f"{final_scheme}://{authority}{path}"
    request.scheme = final_scheme
    if client is not None:
        text = client.text
        request.remote = Host(text, client.port if client.port is not None else -1, text)
    if debug:
        _debug(f"request.base = {request.base!r}, request.remote.ip = {request.remote.ip!r}")


def _check_header_name(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str) or not is_token(value):
        raise drupe.ConfigError(f"Config key {key!r}: expected a header name (or '' to turn "
                                f"this part off), not {value!r}.")
    return value


class ProxyTool(drupe.Tool):
    """The ``proxy`` tool: :func:`proxy` at ``before_request_body``, priority 30.

    Arguments are checked (and ``trusted`` compiled) when a handler is decorated, when
    config is validated at engine start and when a path's plan is built; errors name the
    config key.
    """

    def __init__(self, callable: Callable[..., Any] = proxy, priority: float = 30) -> None:
        super().__init__("before_request_body", callable, priority=priority)

    def _key(self, argument: str) -> str:
        return f"{self.namespace}.{self.name or 'proxy'}.{argument}"

    def _checked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        checked = dict(arguments)
        if "base" in checked and checked["base"] not in (None, ""):
            value = checked["base"]
            if not isinstance(value, str):
                raise drupe.ConfigError(f"Config key {self._key('base')!r}: expected a string "
                                        f"such as 'https://www.example.com', not {value!r}.")
            try:
                parse_base(value)
            except ValueError as exc:
                raise drupe.ConfigError(f"Config key {self._key('base')!r}: {exc}")
        for name in ("local", "remote", "scheme"):
            if name in checked:
                _check_header_name(checked[name], self._key(name))
        for name in ("debug", "forwarded"):
            if name in checked and not isinstance(checked[name], bool):
                raise drupe.ConfigError(f"Config key {self._key(name)!r}: expected True or False, "
                                        f"not {checked[name]!r}.")
        if "trusted" in checked:
            try:
                checked["trusted"] = trusted_networks(checked["trusted"], self._key("trusted"))
            except ValueError as exc:
                raise drupe.ConfigError(str(exc))
        if "trusted_hops" in checked:
            hops = checked["trusted_hops"]
            if hops is not None and (type(hops) is not int or hops < 1):
                raise drupe.ConfigError(f"Config key {self._key('trusted_hops')!r}: expected the "
                                        f"number of proxies in front (1 or more) or None, not "
                                        f"{hops!r}.")
        return checked

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate config values (the kernel calls this at engine start)."""
        self._checked({key: value for key, value in settings.items()
                       if key not in ("on", "priority")})

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Decorator use; bad arguments fail here, at import time, not on a request."""
        self._checked(kwargs)
        return super().__call__(*args, **kwargs)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        if priority is None:
            priority = self.priority
        checked = self._checked(arguments)
        checked.setdefault("trusted", _DEFAULT_TRUST)
        drupe.request.hooks.attach(self.point, self.callable, priority=priority, **checked)


tool = ProxyTool()
"""The instance registered as ``proxy`` in the ``drupe.tools`` entry-point group."""
