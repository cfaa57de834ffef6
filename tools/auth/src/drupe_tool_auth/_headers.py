"""The HTTP authentication framework's syntax (RFC 9110 §11), shared by Basic and Digest.

Reading: :func:`split_credentials` separates an Authorization header's scheme from the
rest; :func:`parse_auth_params` reads a comma-separated list of ``name=value`` pairs
(``value`` a token or a quoted-string), strictly: a malformed list, an unterminated
quote or a name given twice raises :class:`MalformedHeader`, which the tools answer with
a 401 and a fresh challenge (never a 400 or a 500: the client should simply try again).
:func:`decode_ext_value` reads RFC 8187 extended values (``username*=UTF-8''J%C3%A4ger``).

Header values reach a WSGI application as ``str`` holding the raw bytes decoded as
ISO-8859-1 (PEP 3333), so ``value.encode("latin-1")`` always gives back the bytes the
client sent; the parsers here keep that convention and leave charset decoding to the
caller.

Writing: :func:`quote` makes a quoted-string; :func:`check_realm` vets a configured
realm. :func:`send_challenges` answers 401 with one ``WWW-Authenticate`` header per
challenge: drupe's ``response.headers`` holds one value per name, so the extra headers
are put into the finished header list by an ``on_end_resource`` hook
(:func:`expand_challenges`) that the tools attach next to their own.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, NoReturn

import drupe

__all__ = [
    "MalformedHeader",
    "check_realm",
    "decode_ext_value",
    "expand_challenges",
    "parse_auth_params",
    "quote",
    "send_challenges",
    "split_credentials",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_OWS = " \t"
# qdtext and quoted-pair allow HTAB, SP, visible ASCII and obs-text (0x80-0xFF).
_QUOTED_CHAR = re.compile(r"[\t \x21-\x7e\x80-\xff]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# An attribute on the request naming the challenges of a 401 this package answered.
CHALLENGES_ATTRIBUTE = "_drupe_auth_challenges"


class MalformedHeader(ValueError):
    """An Authorization header that does not follow the syntax of its scheme."""


def split_credentials(header: str) -> tuple[str, str]:
    """``(scheme in lower case, the rest stripped)`` of an Authorization header value."""
    text = header.strip(_OWS)
    scheme, _, rest = text.partition(" ")
    if not _TOKEN.fullmatch(scheme):
        raise MalformedHeader("the Authorization header does not start with a scheme name")
    return scheme.lower(), rest.strip(_OWS)


def is_token68(text: str) -> bool:
    """True when ``text`` is a token68 (the syntax of Basic's credentials)."""
    return _TOKEN68.fullmatch(text) is not None


def _skip_ows(text: str, position: int) -> int:
    while position < len(text) and text[position] in _OWS:
        position += 1
    return position


def _read_quoted(text: str, position: int) -> tuple[str, int]:
    """The content of the quoted-string starting at ``text[position] == '"'``, and the end."""
    chars: list[str] = []
    position += 1
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(chars), position + 1
        if char == "\\":
            position += 1
            if position >= len(text):
                break
            char = text[position]
        if not _QUOTED_CHAR.fullmatch(char):
            raise MalformedHeader(f"a quoted value holds the control character {char!r}")
        chars.append(char)
        position += 1
    raise MalformedHeader("a quoted value is not closed")


def parse_auth_params(text: str) -> dict[str, str]:
    """``name=value, ...`` as a dict with lower-case names (RFC 9110 §11.2 auth-param).

    Empty list elements are allowed (``a=1, , b=2``) as the list syntax says. A name
    without ``=``, a value that is neither a token nor a quoted-string, anything after a
    value but before the next comma, and a name given twice are errors.
    """
    params: dict[str, str] = {}
    position = 0
    length = len(text)
    while True:
        position = _skip_ows(text, position)
        while position < length and text[position] == ",":
            position = _skip_ows(text, position + 1)
        if position >= length:
            return params
        name_match = _TOKEN.match(text, position)
        if name_match is None:
            raise MalformedHeader(f"expected a parameter name at {text[position:position + 20]!r}")
        name = name_match.group(0).lower()
        position = _skip_ows(text, name_match.end())
        if position >= length or text[position] != "=":
            raise MalformedHeader(f"the parameter {name!r} has no value")
        position = _skip_ows(text, position + 1)
        if position < length and text[position] == '"':
            value, position = _read_quoted(text, position)
        else:
            value_match = _TOKEN.match(text, position)
            if value_match is None:
                raise MalformedHeader(f"the value of {name!r} is neither a token nor a quoted string")
            value = value_match.group(0)
            position = value_match.end()
        if name in params:
            raise MalformedHeader(f"the parameter {name!r} is given twice")
        params[name] = value
        position = _skip_ows(text, position)
        if position < length and text[position] != ",":
            raise MalformedHeader(f"unexpected {text[position:position + 20]!r} after {name!r}")


def decode_ext_value(value: str) -> str:
    """An RFC 8187 ``ext-value`` (``charset'language'pct-encoded``) as text.

    Only UTF-8 and ISO-8859-1 are allowed, as RFC 8187 says; the percent-encoded bytes
    must decode in that charset.
    """
    parts = value.split("'", 2)
    if len(parts) != 3:
        raise MalformedHeader("an extended value must read charset'language'value")
    charset, _language, encoded = parts
    charset = charset.lower()
    if charset not in ("utf-8", "iso-8859-1"):
        raise MalformedHeader(f"the charset {charset!r} of an extended value is not UTF-8 or ISO-8859-1")
    if not re.fullmatch(r"(?:[!#$&+\-.^_`|~0-9A-Za-z]|%[0-9A-Fa-f]{2})*", encoded):
        raise MalformedHeader("an extended value holds characters that must be percent-encoded")
    try:
        return urllib.parse.unquote_to_bytes(encoded).decode(charset)
    except UnicodeDecodeError:
        raise MalformedHeader(f"an extended value is not valid {charset}") from None


def quote(value: str) -> str:
    """``value`` as a quoted-string (backslash before ``"`` and ``\\``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_realm(realm: Any, key: str) -> str:
    """``realm`` if it can be sent in a header, else a ConfigError naming ``key``."""
    if not isinstance(realm, str) or not realm:
        raise drupe.ConfigError(f"Config key {key!r}: the realm must be a non-empty string, not {realm!r}.")
    if _CONTROL.search(realm):
        raise drupe.ConfigError(f"Config key {key!r}: the realm {realm!r} holds a control character.")
    try:
        realm.encode("latin-1")
    except UnicodeEncodeError:
        raise drupe.ConfigError(
            f"Config key {key!r}: the realm {realm!r} cannot be sent in an HTTP header "
            "(only ISO-8859-1 characters can)."
        ) from None
    return realm


def check_charset(value: Any, key: str) -> str:
    """``'UTF-8'`` or ``'ISO-8859-1'`` for ``accept_charset``, else a ConfigError naming ``key``."""
    if isinstance(value, str):
        normalized = value.strip().lower().replace("_", "-")
        if normalized in ("utf-8", "utf8"):
            return "UTF-8"
        if normalized in ("iso-8859-1", "latin-1", "latin1", "iso8859-1"):
            return "ISO-8859-1"
    raise drupe.ConfigError(
        f"Config key {key!r}: accept_charset must be 'UTF-8' (the default, announced to "
        f"clients with charset=UTF-8) or 'ISO-8859-1', not {value!r}."
    )


def send_challenges(challenges: list[str], message: str) -> NoReturn:
    """Answer 401 offering ``challenges`` (one WWW-Authenticate header each)."""
    request = drupe.serving.request
    drupe.serving.response.headers["WWW-Authenticate"] = challenges[0]
    if len(challenges) > 1:
        setattr(request, CHALLENGES_ATTRIBUTE, challenges)
    raise drupe.HTTPError(401, message)


def expand_challenges() -> None:
    """``on_end_resource`` hook: one WWW-Authenticate line per challenge in the header list.

    Failsafe and harmless when nothing was asked: it only rewrites the header line that
    :func:`send_challenges` set, and only if the response still carries it unchanged.
    """
    request = drupe.serving.request
    # Popped, so a second copy of this hook (two tools on one path) changes nothing.
    challenges = request.__dict__.pop(CHALLENGES_ATTRIBUTE, None)
    if not challenges:
        return
    response = drupe.serving.response
    header_list = getattr(response, "header_list", None)
    if not header_list:
        return
    for index, (name, value) in enumerate(header_list):
        if name.lower() == "www-authenticate" and value == challenges[0]:
            header_list[index + 1:index + 1] = [(name, extra) for extra in challenges[1:]]
            break
