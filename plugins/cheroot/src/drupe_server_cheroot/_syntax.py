"""The grammar of HTTP/1.1 messages (RFC 9110 / RFC 9112), as byte-level checks.

Everything here is a check a parser makes while it splits a message: which bytes may form
a token (a method, a field name, a transfer coding), which may appear in a field value,
a request target or a ``Host``, what a chunk-size line and its extensions look like.
The checks run in C: ``bytes.translate(None, allowed)`` deletes every allowed byte, so a
result that is empty means "only allowed bytes"; one regular-expression search looks for
forbidden bytes in a whole request head at once, instead of one search per field.
"""

from __future__ import annotations

import re

__all__ = [
    "CHUNK_EXTENSIONS",
    "FORBIDDEN_IN_HEAD",
    "FORBIDDEN_IN_VALUE",
    "HEX_DIGITS",
    "bad_host",
    "bad_target",
    "is_token",
]

_ALPHA = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS = b"0123456789"

# tchar (RFC 9110 section 5.6.2): what methods, field names and codings are made of.
TOKEN_CHARS = b"!#$%&'*+-.^_`|~" + _DIGITS + _ALPHA

HEX_DIGITS = _DIGITS + b"abcdefABCDEF"

# A request target (origin-, absolute-, authority- or asterisk-form) is URI syntax: visible
# ASCII only (RFC 9112 section 3.2; RFC 3986). Whitespace, controls and raw non-ASCII bytes
# are refused; clients percent-encode them.
_TARGET_CHARS = bytes(range(0x21, 0x7F))

# uri-host [ ":" port ] (RFC 9110 section 7.2): reg-name (unreserved, sub-delims,
# pct-encoded), IPv4, or an IP literal in brackets.
_HOST_CHARS = _ALPHA + _DIGITS + b"-._~!$&'()*+,;=%:[]"

# Bytes never allowed anywhere in a request head: the controls other than HTAB, CR and LF
# (those three are checked by position: HTAB only inside a field value, CR and LF only as
# a line's CRLF), and DEL. NUL is among them.
FORBIDDEN_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# In a single field value (a trailer), CR and LF are forbidden as well.
FORBIDDEN_IN_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_STRING = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'

# The chunk extensions after a chunk size (RFC 9112 section 7.1.1), from the first ';':
# *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] ).
CHUNK_EXTENSIONS = re.compile(
    rb"(?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED_STRING + rb"))?)+"
)


def is_token(data: bytes) -> bool:
    """Is ``data`` a non-empty token?"""
    return bool(data) and not data.translate(None, TOKEN_CHARS)


def bad_target(target: bytes) -> bool:
    """Does the request target hold a byte a URI cannot hold (or is it empty)?"""
    return not target or bool(target.translate(None, _TARGET_CHARS))


def bad_host(host: bytes) -> bool:
    """Is ``host`` not a ``Host`` value (``uri-host [":" port]``, possibly empty)?"""
    if host.translate(None, _HOST_CHARS):
        return True
    if host.startswith(b"["):
        literal_end = host.find(b"]")
        if literal_end < 0:
            return True
        rest = host[literal_end + 1:]
    else:
        if b"[" in host or b"]" in host:
            return True
        name, colon, port = host.rpartition(b":")
        if not colon:
            return False
        if b":" in name:
            # Several colons outside brackets: an unbracketed IPv6 address.
            return True
        rest = b":" + port
    if not rest:
        return False
    return not (rest[:1] == b":" and (rest == b":" or rest[1:].isdigit()))
