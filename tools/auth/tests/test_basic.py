"""auth_basic: right credentials get 200 and ``request.login``; anything else a 401 challenge."""

from __future__ import annotations

import base64
import hmac
import unicodedata
from typing import Any

import pytest
from auth_support import REALM, USERS, Site

import drupe
from drupe.lib import auth_basic
from drupe_testing import Client
from drupe_tool_auth import _basic

CHALLENGE = 'Basic realm="localhost", charset="UTF-8"'


def basic_conf(**options: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"tools.auth_basic.on": True, "tools.auth_basic.realm": REALM,
                            "tools.auth_basic.checkpassword": auth_basic.checkpassword_dict(USERS)}
    conf.update({f"tools.auth_basic.{name}": value for name, value in options.items()})
    return conf


def credentials(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode("ascii")


@pytest.fixture
def server(live_server: Any) -> Any:
    drupe.tree.mount(Site(), "/", {"/protected": basic_conf()})
    return live_server


def test_right_credentials(server: Any) -> None:
    response = server.get("/protected/", headers={"Authorization": credentials(b"jon:secret")})
    assert response.status == 200
    assert response.text == "hello jon"
    utf8 = server.get("/protected/", headers={"Authorization": credentials("jürgen:pässword".encode())})
    assert utf8.text == "hello jürgen"
    assert server.get("/").text == "public"


def test_no_credentials_get_the_challenge(server: Any) -> None:
    response = server.get("/protected/")
    assert response.status == 401
    assert response.headers.get_all("WWW-Authenticate") == [CHALLENGE]


BAD = {
    "wrong password": credentials(b"jon:Secret"),
    "unknown user": credentials(b"mallory:secret"),
    "empty": "Basic",
    "bad base64": "Basic !!!!",
    "base64 with junk": "Basic am9uOnNlY3JldA==x",
    "impossible padding": "Basic a",
    "no colon": credentials(b"jonsecret"),
    "bad UTF-8": credentials(b"jon:\xff\xfe\xc3"),
    "control character": credentials(b"jon:sec\x00ret"),
    "wrong scheme": "Bearer am9uOnNlY3JldA==",
    "digest scheme": 'Digest username="jon"',
    "two tokens": "Basic am9u OnNlY3JldA==",
    "garbage": "\x80\xff",
}


@pytest.mark.parametrize("name", list(BAD))
def test_wrong_or_malformed_credentials_get_401(server: Any, drupe_error_log: list[str], name: str) -> None:
    response = server.get("/protected/", headers={"Authorization": BAD[name].encode("latin-1")})
    assert response.status == 401, response.text
    assert response.headers.get_all("WWW-Authenticate") == [CHALLENGE]
    assert not drupe_error_log


def test_raw_malformed_requests(server: Any) -> None:
    for value in (b"Basic \xc3\x28", b"basic", b"Basic ====", b"Basic " + b"A" * 5000):
        raw = server.raw(b"GET /protected/ HTTP/1.1\r\nHost: " + server.netloc.encode() +
                         b"\r\nAuthorization: " + value + b"\r\nConnection: close\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 401 "), raw[:200]


def test_scheme_is_case_insensitive_and_padding_optional(server: Any) -> None:
    token = base64.b64encode(b"jon:secret").decode().rstrip("=")
    assert server.get("/protected/", headers={"Authorization": "bAsIc " + token}).text == "hello jon"


def test_latin1_credentials_and_normalization(server: Any) -> None:
    # An old client sending ISO-8859-1: decoded with the fallback charset.
    assert server.get("/protected/", headers={
        "Authorization": credentials("jürgen:pässword".encode("latin-1"))}).text == "hello jürgen"
    # Decomposed (NFD) input matches the NFC password, as RFC 7617 §2.1 asks.
    nfd = unicodedata.normalize("NFD", "jürgen:pässword").encode()
    assert server.get("/protected/", headers={"Authorization": credentials(nfd)}).text == "hello jürgen"


def test_checkpassword_dict_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_basic.hmac, "compare_digest", spy)
    check = auth_basic.checkpassword_dict({"jon": "secret"})
    assert check(REALM, "jon", "secret") is True
    assert check(REALM, "jon", "secreT") is False
    assert check(REALM, "nobody", "secret") is False
    assert len(calls) == 3  # the unknown user costs a comparison too


def test_iso_8859_1_charset_drops_the_charset_parameter(live_server: Any) -> None:
    drupe.tree.mount(Site(), "/", {"/protected": basic_conf(accept_charset="ISO-8859-1")})
    assert live_server.get("/protected/").headers["WWW-Authenticate"] == 'Basic realm="localhost"'


def test_custom_checkpassword_and_realm_quoting() -> None:
    seen: list[tuple[str, str, str]] = []

    def checkpassword(realm: str, username: str, password: str) -> bool:
        seen.append((realm, username, password))
        return password == "pass:word"

    drupe.tree.mount(Site(), "/", {"/protected": basic_conf(checkpassword=checkpassword,
                                                            realm='say "hi"')})
    client = Client(drupe.tree)
    assert client.get("/protected/").headers["WWW-Authenticate"] == \
        'Basic realm="say \\"hi\\"", charset="UTF-8"'
    # The first colon separates user and password; the password may hold colons.
    assert client.get("/protected/", headers={"Authorization": credentials(b"ann:pass:word")}).text \
        == "hello ann"
    assert seen == [('say "hi"', "ann", "pass:word")]


@pytest.mark.parametrize(("key", "value"), [("realm", "a\nb"), ("realm", 5), ("checkpassword", "nope"),
                                            ("accept_charset", "utf-16")])
def test_bad_config_is_a_startup_error(key: str, value: Any) -> None:
    drupe.tree.mount(Site(), "/", {"/protected": basic_conf(**{key: value})})
    try:
        with pytest.raises(drupe.ConfigError, match=f"tools.auth_basic.{key}"):
            drupe.engine.start()
    finally:
        drupe.engine.exit()


def test_decorator_use_and_bad_decorator_arguments() -> None:
    class Root:
        @drupe.expose
        @drupe.tools.auth_basic(realm=REALM, checkpassword=auth_basic.checkpassword_dict(USERS))
        def index(self) -> str:
            return f"hi {drupe.request.login}"

    drupe.tree.mount(Root())
    client = Client(drupe.tree)
    assert client.get("/").status == 401
    assert client.get("/", headers={"Authorization": credentials(b"jon:secret")}).text == "hi jon"
    with pytest.raises(drupe.ConfigError, match=r"tools\.auth_basic\.checkpassword"):
        drupe.tools.auth_basic(realm=REALM, checkpassword=None)


def test_basic_auth_called_directly() -> None:
    """The CherryPy function, used from a hook of one's own."""

    class Root:
        @drupe.expose
        def index(self) -> str:
            return f"hi {drupe.request.login}"

    def guard() -> None:
        auth_basic.basic_auth(REALM, auth_basic.checkpassword_dict(USERS))

    drupe.tree.mount(Root(), "/", {"/": {"hooks.before_handler": guard}})
    client = Client(drupe.tree)
    assert client.get("/").status == 401
    assert client.get("/", headers={"Authorization": credentials(b"jon:secret")}).text == "hi jon"
