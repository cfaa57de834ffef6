"""A small cookie jar for test clients, following the user-agent rules of RFC 6265.

The jar's life: a response's ``Set-Cookie`` fields go through :meth:`CookieJar.extract`
(each is parsed as RFC 6265 §5.2 says a user agent parses it, then stored, replaced or —
when already expired — deleted, §5.3); before each request :meth:`CookieJar.header_for`
builds the ``Cookie`` field from the cookies whose domain, path and ``Secure`` flag match
the request and that have not expired (§5.4).

What it honours: ``Expires`` and ``Max-Age`` (``Max-Age`` wins, a non-positive one deletes
the cookie), ``Path`` (and the default path derived from the request path), ``Domain``
(host-only cookies without it), ``Secure``. What it ignores on purpose: the public suffix
list, ``SameSite`` enforcement (there is no cross-site navigation in a test) and storage
limits. Time comes from ``clock`` (``time.time`` by default) so that a test can move it.
"""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import count

__all__ = ["Cookie", "CookieJar"]

_creation_order = count()


@dataclass
class Cookie:
    """One stored cookie. ``expires`` is a POSIX time, ``None`` for a session cookie.

    ``domain`` is lower case without a leading dot; an empty ``domain`` (only from
    :meth:`CookieJar.set` without a domain) matches every host.
    """

    name: str
    value: str
    domain: str = ""
    path: str = "/"
    expires: float | None = None
    secure: bool = False
    http_only: bool = False
    host_only: bool = True
    same_site: str | None = None
    created: int = field(default_factory=lambda: next(_creation_order), compare=False)

    def is_expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now


def default_path(request_path: str) -> str:
    """The cookie path a response sets when it gives none (RFC 6265 §5.1.4)."""
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[: request_path.rfind("/")]


def path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 §5.1.4 path-match: equal, or a prefix ending at a ``/`` boundary."""
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def domain_matches(host: str, domain: str) -> bool:
    """RFC 6265 §5.1.3 domain-match (an IP address only matches itself)."""
    if host == domain:
        return True
    return host.endswith("." + domain) and not _is_ip_address(host)


def _parse_expires(value: str) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        # HTTP dates are always GMT; a date without a zone is read as GMT too.
        return moment.replace(tzinfo=datetime.timezone.utc).timestamp()
    return moment.timestamp()


class CookieJar:
    """Cookies a test client received, sent back on the requests they match."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._cookies: dict[tuple[str, str, str], Cookie] = {}

    # -- receiving ---------------------------------------------------------------------

    def extract(self, set_cookie_values: Iterable[str], *, host: str, path: str) -> None:
        """Store what the ``Set-Cookie`` values of a response to ``host`` + ``path`` say."""
        for value in set_cookie_values:
            self.store_header(value, host=host, path=path)

    def store_header(self, set_cookie: str, *, host: str, path: str) -> Cookie | None:
        """Parse one ``Set-Cookie`` value and store it; the stored cookie or ``None``.

        ``None`` means the value was ignored (malformed, or for another domain) or it
        deleted a cookie (already expired).
        """
        host = host.lower()
        pair, *attributes = set_cookie.split(";")
        name, equals, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name:
            # RFC 6265 §5.2: a cookie without a name-value pair is ignored entirely.
            return None
        now = self.clock()
        expires: float | None = None
        max_age: float | None = None
        domain = ""
        cookie_path = ""
        secure = http_only = False
        same_site: str | None = None
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            key, attr_value = key.strip().lower(), attr_value.strip()
            if key == "expires":
                parsed = _parse_expires(attr_value)
                if parsed is not None:
                    expires = parsed
            elif key == "max-age":
                digits = attr_value[1:] if attr_value.startswith("-") else attr_value
                if digits.isdigit():
                    seconds = int(attr_value)
                    # A non-positive Max-Age means "expire now" (§5.2.2).
                    max_age = now + seconds if seconds > 0 else float("-inf")
            elif key == "domain":
                if attr_value:
                    domain = attr_value.lstrip(".").lower()
            elif key == "path":
                cookie_path = attr_value if attr_value.startswith("/") else ""
            elif key == "secure":
                secure = True
            elif key == "httponly":
                http_only = True
            elif key == "samesite":
                same_site = attr_value
        if max_age is not None:
            # §5.3 step 3: Max-Age takes precedence over Expires.
            expires = max_age
        host_only = not domain
        if domain and not domain_matches(host, domain):
            return None
        cookie = Cookie(
            name=name,
            value=value,
            domain=domain or host,
            path=cookie_path or default_path(path),
            expires=expires,
            secure=secure,
            http_only=http_only,
            host_only=host_only,
            same_site=same_site,
        )
        key3 = (cookie.domain, cookie.path, cookie.name)
        old = self._cookies.get(key3)
        if old is not None:
            # §5.3 step 11: a replaced cookie keeps its creation time (and its rank).
            cookie.created = old.created
        if cookie.is_expired(now):
            self._cookies.pop(key3, None)
            return None
        self._cookies[key3] = cookie
        return cookie

    # -- sending -----------------------------------------------------------------------

    def matching(self, *, host: str, path: str, secure: bool) -> list[Cookie]:
        """The cookies to send to ``host`` + ``path``, in RFC 6265 §5.4 order."""
        host = host.lower()
        now = self.clock()
        self._drop_expired(now)
        found = []
        for cookie in self._cookies.values():
            if cookie.domain:
                if cookie.host_only and host != cookie.domain:
                    continue
                if not cookie.host_only and not domain_matches(host, cookie.domain):
                    continue
            if not path_matches(path or "/", cookie.path):
                continue
            if cookie.secure and not secure:
                continue
            found.append(cookie)
        # Longer paths first; among equal paths the older cookie first.
        found.sort(key=lambda cookie: (-len(cookie.path), cookie.created))
        return found

    def header_for(self, *, host: str, path: str, secure: bool = False) -> str | None:
        """The ``Cookie`` field value for a request, or ``None`` when nothing matches."""
        cookies = self.matching(host=host, path=path, secure=secure)
        if not cookies:
            return None
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in cookies)

    # -- editing and reading -----------------------------------------------------------

    def set(self, name: str, value: str, *, path: str = "/", domain: str | None = None,
            expires: float | None = None, secure: bool = False) -> Cookie:
        """Put a cookie in the jar as if a server had set it (no domain: every host)."""
        domain = (domain or "").lstrip(".").lower()
        cookie = Cookie(name=name, value=value, domain=domain, path=path, expires=expires,
                        secure=secure, host_only=False)
        self._cookies[(domain, path, name)] = cookie
        return cookie

    def delete(self, name: str) -> None:
        """Remove every cookie called ``name``."""
        for key3 in [key3 for key3 in self._cookies if key3[2] == name]:
            del self._cookies[key3]

    def clear(self) -> None:
        self._cookies.clear()

    def _drop_expired(self, now: float) -> None:
        for key3 in [key3 for key3, cookie in self._cookies.items() if cookie.is_expired(now)]:
            del self._cookies[key3]

    def _live(self) -> list[Cookie]:
        self._drop_expired(self.clock())
        return sorted(self._cookies.values(), key=lambda cookie: cookie.created)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the (oldest live) cookie called ``name``."""
        for cookie in self._live():
            if cookie.name == name:
                return cookie.value
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return any(cookie.name == name for cookie in self._live())

    def __iter__(self) -> Iterator[Cookie]:
        return iter(self._live())

    def __len__(self) -> int:
        return len(self._live())

    def __repr__(self) -> str:
        inside = ", ".join(f"{c.name}={c.value!r} ({c.domain or '*'}{c.path})" for c in self._live())
        return f"<CookieJar [{inside}]>"
