"""The Digest pieces on their own: RFC 7616's worked example, nonces, HA1 sources,
the header parser, the nonce-count store, and configuration errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from auth_support import KEY, REALM, USERS, Site, digest_authorization

import drupe
from drupe.lib import auth_digest
from drupe_testing import Client
from drupe_tool_auth import (
    DigestAuthenticator,
    HttpDigestAuthorization,
    MalformedHeader,
    MemoryNonceCountStore,
    NonceCountStore,
    synthesize_nonce,
)
from drupe_tool_auth._digest import nonce_timestamp, source_algorithms, target_matches
from drupe_tool_auth._headers import decode_ext_value, parse_auth_params

# RFC 7616 §3.9.1: Mufasa / "Circle of Life", GET /dir/index.html.
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_REALM = "http-auth@example.org"
RFC_RESPONSES = {"MD5": "8ca523f5e9506fed4657c9700eebdbec",
                 "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"}


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_rfc_7616_example(algorithm: str) -> None:
    header = (f'Digest username="Mufasa", realm="{RFC_REALM}", uri="/dir/index.html", '
              f"algorithm={algorithm}, nonce=\"{RFC_NONCE}\", nc=00000001, cnonce=\"{RFC_CNONCE}\", "
              f'qop=auth, response="{RFC_RESPONSES[algorithm]}", '
              'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    auth = HttpDigestAuthorization(header, "GET")
    get_ha1 = auth_digest.get_ha1_dict_plain({"Mufasa": "Circle of Life"})
    ha1 = get_ha1(RFC_REALM, "Mufasa", algorithm=algorithm)
    assert auth.request_digest(ha1) == RFC_RESPONSES[algorithm]
    # The tests' own client agrees with the RFC too.
    ours = digest_authorization(username="Mufasa", password="Circle of Life", realm=RFC_REALM,
                                nonce=RFC_NONCE, uri="/dir/index.html", algorithm=algorithm,
                                cnonce=RFC_CNONCE)
    assert f'response="{RFC_RESPONSES[algorithm]}"' in ours


def test_nonces_are_signed_with_key_time_and_realm() -> None:
    now = int(time.time())
    nonce = synthesize_nonce(REALM, KEY, timestamp=now)
    assert nonce_timestamp(nonce, REALM, KEY) == now
    assert nonce_timestamp(nonce, REALM, "other key") is None
    assert nonce_timestamp(nonce, "other realm", KEY) is None
    stamp, salt, mac = nonce.split(":")
    assert nonce_timestamp(f"{now + 1}:{salt}:{mac}", REALM, KEY) is None
    assert nonce_timestamp(f"{stamp}:x{salt[1:]}:{mac}", REALM, KEY) is None
    # Every challenge gets its own nonce, even within one second.
    assert synthesize_nonce(REALM, KEY, timestamp=now) != nonce
    for garbage in ("", "1:2", "abc:def:ghi", nonce + "x", "¤" * 60):
        assert nonce_timestamp(garbage, REALM, KEY) is None


def test_auth_params_parser() -> None:
    assert parse_auth_params('a=1, B="x, \\"y\\"",, c = "" ') == {"a": "1", "b": 'x, "y"', "c": ""}
    for bad in ('a', 'a=', 'a="x', 'a=1 b=2', 'a=1, a=2', '=1', 'a=x y', 'a="\x01"', 'a=[1]'):
        with pytest.raises(MalformedHeader):
            parse_auth_params(bad)


def test_ext_values() -> None:
    assert decode_ext_value("UTF-8''J%C3%A4ger") == "Jäger"
    assert decode_ext_value("iso-8859-1'de'J%E4ger") == "Jäger"
    for bad in ("J%C3%A4ger", "koi8-r''x", "UTF-8''%FF", "UTF-8''a b", "UTF-8''%G0"):
        with pytest.raises(MalformedHeader):
            decode_ext_value(bad)


def test_request_target_comparison() -> None:
    raw = {"REQUEST_URI": "/a%20b?x=1", "PATH_INFO": "/a b", "QUERY_STRING": "x=1"}
    assert target_matches("/a%20b?x=1", raw)
    assert not target_matches("/a b?x=1", raw)
    assert not target_matches("/a%20b", raw)
    proxied = {"REQUEST_URI": "http://example.com/a?x=1"}
    assert target_matches("/a?x=1", proxied)
    assert target_matches("http://example.com/a?x=1", proxied)
    # Without a raw target (in-process WSGI), the decoded path and the query are compared.
    decoded = {"SCRIPT_NAME": "/app", "PATH_INFO": "/a b", "QUERY_STRING": "x=1"}
    assert target_matches("/app/a%20b?x=1", decoded)
    assert not target_matches("/app/a%20b", decoded)
    assert not target_matches("/app/other?x=1", decoded)
    assert not target_matches("a%20b?x=1", decoded)


def test_ha1_sources(tmp_path: Path) -> None:
    plain = auth_digest.get_ha1_dict_plain(USERS)
    assert plain(REALM, "jon") == auth_digest.md5_hex(f"jon:{REALM}:secret")
    assert plain(REALM, "jon", algorithm="SHA-256") == auth_digest.H(f"jon:{REALM}:secret", "SHA-256")
    assert plain(REALM, "nobody") is None
    assert source_algorithms(plain) == ("SHA-256", "MD5")
    hashed = auth_digest.H(f"jürgen:{REALM}", "SHA-256")
    assert plain.username_for_userhash(REALM, hashed, "SHA-256") == "jürgen"

    ha1s = auth_digest.get_ha1_dict({"jon": "0" * 64}, algorithm="SHA-256")
    assert source_algorithms(ha1s) == ("SHA-256",)
    assert ha1s(REALM, "jon", algorithm="MD5") is None

    htdigest = tmp_path / "users.htdigest"
    htdigest.write_text(f"jon:{REALM}:{plain(REALM, 'jon')}\n\nbroken line\njon:elsewhere:{'1' * 32}\n")
    from_file = auth_digest.get_ha1_file_htdigest(str(htdigest))
    assert from_file(REALM, "jon") == plain(REALM, "jon")
    assert from_file("elsewhere", "jon") == "1" * 32
    assert from_file(REALM, "jon", algorithm="SHA-256") is None
    assert source_algorithms(from_file) == ("MD5",)

    def cherrypy_style(realm: str, username: str) -> str | None:
        return None

    def aware(realm: str, username: str, algorithm: str = "MD5") -> str | None:
        return None

    assert source_algorithms(cherrypy_style) == ("MD5",)
    assert source_algorithms(aware) == ("MD5", "SHA-256")


def test_htdigest_file_served(tmp_path: Path) -> None:
    htdigest = tmp_path / "users.htdigest"
    htdigest.write_text(f"jon:{REALM}:{auth_digest.md5_hex(f'jon:{REALM}:secret')}\n")
    drupe.tree.mount(Site(), "/", {"/protected": {
        "tools.auth_digest.on": True, "tools.auth_digest.realm": REALM, "tools.auth_digest.key": KEY,
        "tools.auth_digest.get_ha1": auth_digest.get_ha1_file_htdigest(htdigest)}})
    client = Client(drupe.tree)
    challenge = client.get("/protected/").headers["WWW-Authenticate"]
    assert "algorithm=MD5" in challenge
    nonce = challenge.split('nonce="')[1].split('"')[0]
    header = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/",
                                  algorithm="MD5")
    assert client.get("/protected/", headers={"Authorization": header}).text == "hello jon"


def test_memory_store_counts_and_bounds() -> None:
    store = MemoryNonceCountStore(max_entries=10)
    assert isinstance(store, NonceCountStore)
    now = time.time()
    assert store.advance("n", 1, now, now + 600)
    assert not store.advance("n", 1, now, now + 600)
    assert store.advance("n", 7, now, now + 600)
    assert not store.advance("n", 6, now, now + 600)
    # Expired entries make room first.
    store.clear()
    for index in range(10):
        assert store.advance(f"old{index}", 1, now - 1000, now - 1)
    assert store.advance("fresh", 1, now, now + 600)
    assert len(store) == 1
    assert store.floor == float("-inf")
    # Then the oldest live nonces go, and they stay refused (no replay after eviction).
    store.clear()
    for index in range(10):
        assert store.advance(f"live{index}", 1, now - 100 + index, now + 500)
    assert store.advance("newest", 1, now, now + 600)
    assert len(store) <= 10
    assert store.floor >= now - 100
    assert not store.advance("live0", 2, now - 100, now + 500)
    assert store.advance("newest", 2, now, now + 600)
    with pytest.raises(ValueError):
        MemoryNonceCountStore(max_entries=0)


def test_memory_store_is_atomic_under_threads() -> None:
    store = MemoryNonceCountStore()
    now = time.time()
    accepted: list[int] = []
    barrier = threading.Barrier(16)

    def race() -> None:
        barrier.wait()
        if store.advance("shared", 1, now, now + 600):
            accepted.append(1)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert accepted == [1]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("realm", 'bad\nrealm', "control character"),
    ("realm", "", "non-empty"),
    ("key", "", "secret key"),
    ("get_ha1", "not callable", "callable"),
    ("algorithms", ["SHA-512"], "algorithms"),
    ("qop", ["auth-conf"], "qop"),
    ("nonce_lifetime", 0, "positive"),
    ("accept_charset", "koi8-r", "accept_charset"),
    ("nonce_counts", object(), "advance"),
])
def test_bad_config_names_the_key(key: str, value: Any, message: str) -> None:
    conf = {"tools.auth_digest.on": True, "tools.auth_digest.realm": REALM, "tools.auth_digest.key": KEY,
            "tools.auth_digest.get_ha1": auth_digest.get_ha1_dict_plain(USERS),
            f"tools.auth_digest.{key}": value}
    drupe.tree.mount(Site(), "/", {"/protected": conf})
    # Engine start validates every key of every mounted application.
    try:
        with pytest.raises(drupe.ConfigError) as caught:
            drupe.engine.start()
    finally:
        drupe.engine.exit()
    assert f"tools.auth_digest.{key}" in str(caught.value)
    assert message in str(caught.value)


def test_combination_errors_at_plan_time(drupe_error_log: list[str]) -> None:
    md5_only = auth_digest.get_ha1_dict({"jon": "0" * 32})
    drupe.tree.mount(Site(), "/", {"/protected": {
        "tools.auth_digest.on": True, "tools.auth_digest.realm": REALM, "tools.auth_digest.key": KEY,
        "tools.auth_digest.get_ha1": md5_only, "tools.auth_digest.algorithms": ["SHA-256"]}})
    response = Client(drupe.tree).get("/protected/")
    assert response.status == 500
    assert any("tools.auth_digest.algorithms" in message for message in drupe_error_log)
    with pytest.raises(drupe.ConfigError, match="userhash"):
        DigestAuthenticator(REALM, lambda realm, username: None, KEY, userhash=True)
    with pytest.raises(drupe.ConfigError, match=r"tools\.auth_digest\.key"):
        drupe.tools.auth_digest(realm=REALM, get_ha1=md5_only, key=None)


def test_missing_required_argument(drupe_error_log: list[str]) -> None:
    drupe.tree.mount(Site(), "/", {"/protected": {"tools.auth_digest.on": True,
                                                  "tools.auth_digest.realm": REALM}})
    assert Client(drupe.tree).get("/protected/").status == 500
    assert any("'tools.auth_digest.get_ha1' is missing" in message for message in drupe_error_log)


def test_decorator_and_compat_names() -> None:
    class Root:
        @drupe.expose
        @drupe.tools.auth_digest(realm=REALM, get_ha1=auth_digest.get_ha1_dict_plain(USERS), key=KEY)
        def index(self) -> str:
            return f"hi {drupe.request.login}"

    drupe.tree.mount(Root())
    client = Client(drupe.tree)
    response = client.get("/")
    assert response.status == 401
    nonce = response.headers.get_all("WWW-Authenticate")[0].split('nonce="')[1].split('"')[0]
    header = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/")
    assert client.get("/", headers={"Authorization": header}).text == "hi jon"
    challenge = auth_digest.www_authenticate(REALM, KEY, algorithm="MD5", stale=True)
    assert challenge.startswith('Digest realm="localhost", qop="auth", algorithm=MD5, nonce="')
    assert "stale=true" in challenge
    assert set(auth_digest.valid_algorithms) >= {"MD5", "MD5-sess", "SHA-256", "SHA-256-sess"}
    assert auth_digest.valid_qops == ("auth", "auth-int")
    auth = HttpDigestAuthorization(header, "GET")
    assert auth.validate_nonce(REALM, KEY)
    assert not auth.validate_nonce(REALM, "x")
    assert not auth.is_nonce_stale()
    assert auth.is_nonce_stale(max_age_seconds=-10)
    assert drupe.tools.auth_digest.priority == 1
    assert drupe.tools.auth_digest.point == "before_handler"
    assert drupe.tools.auth_basic.priority == 1
    assert drupe.tools.auth_basic.point == "before_handler"
