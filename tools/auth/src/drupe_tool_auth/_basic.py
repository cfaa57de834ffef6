"""The ``auth_basic`` tool: HTTP Basic authentication (RFC 7617).

At ``before_handler`` (priority 1, so before every other tool there) the tool reads the
request's Authorization header. When it holds ``Basic <base64 of user-id:password>``
and ``checkpassword(realm, username, password)`` returns something true, the request
goes on with ``request.login`` set to the user-id. Anything else — no header, another
scheme, base64 that does not decode, no colon, a control character, a refused password —
is answered with 401 and the challenge::

    WWW-Authenticate: Basic realm="<realm>", charset="UTF-8"

so the client can ask for credentials again. A malformed header is a 401 too, not a 400:
the client's next move is the same (send good credentials), and a browser only prompts
its user again on a 401.

Credentials are decoded with ``accept_charset`` (UTF-8 by default, announced to the
client with ``charset="UTF-8"``) and, when that fails, with ISO-8859-1, which older
clients use; the text is then normalized to NFC as RFC 7617 §2.1 asks, so a password
typed in decomposed form matches.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import drupe
from drupe_tool_auth._headers import (
    MalformedHeader,
    check_charset,
    check_realm,
    is_token68,
    quote,
    send_challenges,
    split_credentials,
)

__all__ = ["BasicAuthTool", "basic_auth", "checkpassword_dict", "tool"]

LOG_CONTEXT = "TOOLS.AUTH_BASIC"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DENIED = "This resource requires authentication: send a valid user name and password."

CheckPassword = Callable[[str, str, str], Any]


def checkpassword_dict(user_password_dict: Mapping[str, str]) -> CheckPassword:
    """A ``checkpassword`` callable checking credentials against ``{username: password}``.

    The password is compared in constant time (``hmac.compare_digest``), and an unknown
    user costs the same comparison, so response times do not tell an attacker which
    user names exist or how much of a password is right. The mapping is read on each
    call: users added to it later can log in.
    """

    def checkpassword(realm: str, username: str, password: str) -> bool:
        expected = user_password_dict.get(username)
        given = password.encode("utf-8")
        if expected is None:
            hmac.compare_digest(given, given)
            return False
        return hmac.compare_digest(expected.encode("utf-8"), given)

    return checkpassword


def _decode(data: bytes, charset: str) -> str:
    if charset != "ISO-8859-1":
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            pass
    return data.decode("iso-8859-1")


def read_credentials(header: str, charset: str = "UTF-8") -> tuple[str, str]:
    """``(user-id, password)`` from a Basic Authorization header value.

    Raises :class:`MalformedHeader` saying what is wrong (the scheme is not Basic, the
    token is not base64, there is no colon, a control character).
    """
    scheme, token = split_credentials(header)
    if scheme != "basic":
        raise MalformedHeader(f"the Authorization header uses the {scheme!r} scheme, not Basic")
    if not token or not is_token68(token):
        raise MalformedHeader("the Basic credentials are not a base64 token")
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(padded.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHeader("the Basic credentials are not valid base64") from None
    text = unicodedata.normalize("NFC", _decode(raw, charset))
    username, colon, password = text.partition(":")
    if not colon:
        raise MalformedHeader("the Basic credentials hold no ':' between user name and password")
    if _CONTROL.search(text):
        raise MalformedHeader("the Basic credentials hold a control character")
    return username, password


def challenge(realm: str, charset: str = "UTF-8") -> str:
    """The ``WWW-Authenticate`` value asking for Basic credentials in ``realm``."""
    declaration = ', charset="UTF-8"' if charset == "UTF-8" else ""
    return f"Basic realm={quote(realm)}{declaration}"


def _authenticate(realm: str, checkpassword: CheckPassword, debug: bool, charset: str) -> None:
    request = drupe.serving.request
    environ = request.wsgi_environ
    header = environ.get("HTTP_AUTHORIZATION") if environ is not None else None
    if header is None:
        header = request.headers.get("Authorization")
    reason = "no credentials were sent"
    if header is not None:
        try:
            username, password = read_credentials(header, charset)
        except MalformedHeader as exc:
            reason = str(exc)
        else:
            if checkpassword(realm, username, password):
                request.login = username
                if debug:
                    drupe.log(f"Authenticated {username!r}.", LOG_CONTEXT)
                return
            reason = f"the password of {username!r} was refused"
    if debug:
        drupe.log(f"401: {reason}.", LOG_CONTEXT)
    send_challenges([challenge(realm, charset)], DENIED)


def basic_auth(realm: str, checkpassword: CheckPassword, debug: bool = False,
               accept_charset: str = "utf-8") -> None:
    """Require HTTP Basic credentials that ``checkpassword(realm, username, password)`` accepts.

    On success ``request.login`` is the user name; otherwise the request is answered
    with 401 and a ``WWW-Authenticate: Basic`` challenge (see the module docstring).
    ``accept_charset`` is ``'utf-8'`` (announced to clients) or ``'iso-8859-1'``.
    """
    check_realm(realm, "tools.auth_basic.realm")
    _check_checkpassword(checkpassword, "tools.auth_basic.checkpassword")
    _authenticate(realm, checkpassword, bool(debug),
                  check_charset(accept_charset, "tools.auth_basic.accept_charset"))


def _check_checkpassword(value: Any, key: str) -> CheckPassword:
    if not callable(value):
        raise drupe.ConfigError(
            f"Config key {key!r}: checkpassword must be a callable "
            f"checkpassword(realm, username, password) returning True for good credentials, "
            f"not {value!r}."
        )
    return value  # type: ignore[no-any-return]


class BasicAuthTool(drupe.Tool):
    """The ``auth_basic`` tool: :func:`basic_auth` at ``before_handler``, priority 1.

    Arguments are checked when a handler is decorated, when config is validated at
    engine start and when a path's request plan is built; the error names the key.
    """

    def __init__(self, callable: Callable[..., Any] = basic_auth, priority: float = 1) -> None:
        super().__init__("before_handler", callable, priority=priority)

    def _key(self, argument: str) -> str:
        return f"{self.namespace}.{self.name or 'auth_basic'}.{argument}"

    def _checked(self, arguments: Mapping[str, Any], complete: bool) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        if "realm" in arguments or complete:
            checked["realm"] = check_realm(arguments.get("realm"), self._key("realm"))
        if "checkpassword" in arguments or complete:
            checked["checkpassword"] = _check_checkpassword(arguments.get("checkpassword"),
                                                            self._key("checkpassword"))
        checked["charset"] = check_charset(arguments.get("accept_charset", "utf-8"),
                                           self._key("accept_charset"))
        checked["debug"] = bool(arguments.get("debug", False))
        return checked

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate config values (the kernel calls this at engine start)."""
        # At engine start the kernel passes one key at a time; at plan time, the merged
        # settings of a path (then a tool that is on must have realm and checkpassword).
        self._checked(settings, complete=bool(settings.get("on")) and len(settings) > 1)

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Decorator use; bad arguments fail at import time, not on a request."""
        self._checked(kwargs, complete=False)
        return super().__call__(*args, **kwargs)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        if priority is None:
            priority = self.priority
        checked = self._checked(arguments, complete=True)
        # PERF: the arguments are checked once per path here, so the hook gets them ready.
        drupe.request.hooks.attach(self.point, _authenticate, priority=priority, **checked)


tool = BasicAuthTool()
"""The instance registered as ``auth_basic`` in the ``drupe.tools`` entry-point group."""
