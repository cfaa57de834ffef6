"""Helpers of the auth tools' tests: a small site and a Digest client written from RFC 7616.

The Digest client (:func:`digest_authorization`) uses hashlib alone — it shares no code
with the tool — so a test that authenticates with it checks the tool against the RFC,
not against itself. Its results are checked against the RFC's own worked example in
``test_digest_units.py``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import drupe

USERS = {"jon": "secret", "jürgen": "pässword", "Mufasa": "Circle of Life"}
REALM = "localhost"
KEY = "a565c27146791cfb"


class Area:
    @drupe.expose
    def index(self, **params: Any) -> str:
        return f"hello {drupe.request.login}"

    @drupe.expose
    def page(self, **params: Any) -> str:
        return f"page for {drupe.request.login} {sorted(params.items())}"

    @drupe.expose
    def upload(self, **params: Any) -> str:
        return f"{drupe.request.login} sent {sorted(params.items())}"


class Site:
    @drupe.expose
    def index(self) -> str:
        return "public"

    def __init__(self) -> None:
        self.protected = Area()


# -- a Digest client, from RFC 7616 ---------------------------------------------------

_HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def h(algorithm: str, data: str | bytes) -> str:
    base = "SHA-256" if algorithm.upper().startswith("SHA-256") else "MD5"
    return _HASH[base](data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def digest_authorization(*, username: str, password: str, nonce: str, uri: str,
                         realm: str = REALM, method: str = "GET", algorithm: str = "SHA-256",
                         qop: str | None = "auth", nc: int = 1, cnonce: str = "0a4f113b",
                         body: bytes = b"", userhash: bool = False, username_star: bool = False,
                         response: str | None = None, extra: str = "") -> str:
    """An Authorization header value a correct RFC 7616 client would send."""
    a1 = h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.lower().endswith("-sess"):
        a1 = h(algorithm, f"{a1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        a2 = h(algorithm, f"{method}:{uri}:{h(algorithm, body)}")
    else:
        a2 = h(algorithm, f"{method}:{uri}")
    count = f"{nc:08x}"
    if qop:
        digest = h(algorithm, f"{a1}:{nonce}:{count}:{cnonce}:{qop}:{a2}")
    else:
        digest = h(algorithm, f"{a1}:{nonce}:{a2}")
    if response is not None:
        digest = response
    if username_star:
        from urllib.parse import quote

        user_part = f"username*=UTF-8''{quote(username)}"
    elif userhash:
        user_part = f'username="{h(algorithm, f"{username}:{realm}")}", userhash=true'
    else:
        user_part = f'username="{username}"'
    parts = [user_part, f'realm="{realm}"', f'uri="{uri}"', f"algorithm={algorithm}",
             f'nonce="{nonce}"', f'response="{digest}"']
    if qop:
        parts += [f"qop={qop}", f"nc={count}", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(parts) + extra


_NONCE = re.compile(r'nonce="([^"]+)"')


def nonce_of(challenge: str) -> str:
    match = _NONCE.search(challenge)
    assert match, challenge
    return match.group(1)


def fresh_nonce(server: Any, path: str = "/protected/") -> str:
    """Ask the server for a challenge and return its nonce."""
    response = server.get(path)
    assert response.status == 401, response
    return nonce_of(response.headers.get_all("WWW-Authenticate")[0])

