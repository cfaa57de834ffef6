"""auth_digest over real sockets: the right credentials get 200, every attack gets 401.

Each test mounts :class:`conftest.Site` with the tool on ``/protected`` and talks to a
real cheroot server (drupe-testing's ``live_server``) with headers built by the test's
own RFC 7616 client (``conftest.digest_authorization``) or with raw bytes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from auth_support import (
    KEY,
    REALM,
    USERS,
    Site,
    digest_authorization,
    fresh_nonce,
    nonce_of,
)

import drupe
from drupe.lib import auth_digest
from drupe_tool_auth import MemoryNonceCountStore, synthesize_nonce


def digest_conf(**options: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "tools.auth_digest.on": True,
        "tools.auth_digest.realm": REALM,
        "tools.auth_digest.get_ha1": auth_digest.get_ha1_dict_plain(USERS),
        "tools.auth_digest.key": KEY,
    }
    conf.update({f"tools.auth_digest.{name}": value for name, value in options.items()})
    return conf


@pytest.fixture
def site(live_server: Any) -> Callable[..., Any]:
    """Mount the site with Digest on /protected (options as keyword arguments)."""

    def mount(**options: Any) -> Any:
        drupe.tree.mount(Site(), "/", {"/protected": digest_conf(**options)})
        return live_server

    return mount


def assert_challenged(response: Any, stale: bool = False) -> None:
    assert response.status == 401, response.text
    challenges = response.headers.get_all("WWW-Authenticate")
    assert challenges, response.header_list
    for challenge in challenges:
        assert challenge.startswith("Digest ")
        assert ("stale=true" in challenge) is stale, challenge


def test_challenges_one_header_per_algorithm_sha256_first(site: Any) -> None:
    server = site()
    response = server.get("/protected/")
    assert_challenged(response)
    challenges = response.headers.get_all("WWW-Authenticate")
    assert len(challenges) == 2
    assert "algorithm=SHA-256" in challenges[0]
    assert "algorithm=MD5" in challenges[1]
    for challenge in challenges:
        assert f'realm="{REALM}"' in challenge
        assert 'qop="auth, auth-int"' in challenge
        assert "charset=UTF-8" in challenge
    # The public part is not protected.
    assert server.get("/").text == "public"


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_right_credentials_get_200(site: Any, algorithm: str) -> None:
    server = site()
    nonce = fresh_nonce(server)
    header = digest_authorization(username="jon", password="secret", nonce=nonce,
                                  uri="/protected/page?a=1&b=%41", algorithm=algorithm)
    response = server.get("/protected/page?a=1&b=%41", headers={"Authorization": header})
    assert response.status == 200, response.text
    assert response.text == "page for jon [('a', '1'), ('b', 'A')]"
    info = response.headers["Authentication-Info"]
    assert "qop=auth" in info
    assert "rspauth=" in info
    assert "nc=00000001" in info


@pytest.mark.parametrize("algorithm", ["SHA-256-sess", "MD5-sess"])
def test_session_algorithms_when_offered(site: Any, algorithm: str) -> None:
    server = site(algorithms=["SHA-256-sess", "MD5-sess"])
    response = server.get("/protected/")
    assert [c.split("algorithm=")[1].split(",")[0] for c in response.headers.get_all("WWW-Authenticate")] \
        == ["SHA-256-sess", "MD5-sess"]
    nonce = nonce_of(response.headers.get_all("WWW-Authenticate")[0])
    header = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/",
                                  algorithm=algorithm)
    assert server.get("/protected/", headers={"Authorization": header}).text == "hello jon"
    # An algorithm that was not offered is refused even with the right digest.
    plain = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/",
                                 algorithm="SHA-256", nc=2)
    assert_challenged(server.get("/protected/", headers={"Authorization": plain}))


def test_replayed_header_is_refused(site: Any) -> None:
    server = site()
    header = digest_authorization(username="jon", password="secret", nonce=fresh_nonce(server),
                                  uri="/protected/")
    assert server.get("/protected/", headers={"Authorization": header}).status == 200
    # The very same bytes again: a captured header replayed.
    replay = server.get("/protected/", headers={"Authorization": header})
    assert_challenged(replay, stale=True)
    # Also on a new connection and with raw bytes.
    raw = server.raw(f"GET /protected/ HTTP/1.1\r\nHost: {server.netloc}\r\nAuthorization: {header}\r\n"
                     "Connection: close\r\n\r\n".encode("latin-1"))
    assert raw.startswith(b"HTTP/1.1 401 "), raw[:200]


def test_nonce_count_must_strictly_increase(site: Any) -> None:
    server = site()
    nonce = fresh_nonce(server)

    def get(nc: int) -> Any:
        header = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/",
                                      nc=nc, cnonce=f"c{nc}")
        return server.get("/protected/", headers={"Authorization": header})

    assert get(1).status == 200
    assert get(2).status == 200
    assert get(5).status == 200
    assert_challenged(get(5), stale=True)
    assert_challenged(get(3), stale=True)
    assert get(6).status == 200


def test_stale_nonce_with_right_digest_gets_stale_true(site: Any) -> None:
    server = site()
    old = synthesize_nonce(REALM, KEY, timestamp=int(time.time()) - 601)
    header = digest_authorization(username="jon", password="secret", nonce=old, uri="/protected/")
    assert_challenged(server.get("/protected/", headers={"Authorization": header}), stale=True)
    # A stale nonce with a wrong password is not "stale": the client must ask its user.
    wrong = digest_authorization(username="jon", password="guess", nonce=old, uri="/protected/")
    assert_challenged(server.get("/protected/", headers={"Authorization": wrong}), stale=False)


def test_nonce_lifetime_is_configurable(site: Any) -> None:
    server = site(nonce_lifetime=5)
    recent = synthesize_nonce(REALM, KEY, timestamp=int(time.time()) - 10)
    header = digest_authorization(username="jon", password="secret", nonce=recent, uri="/protected/")
    assert_challenged(server.get("/protected/", headers={"Authorization": header}), stale=True)


@pytest.mark.parametrize("forgery", ["wrong password", "wrong response", "other key", "tampered timestamp",
                                     "made-up nonce", "unknown user"])
def test_forged_credentials_are_refused(site: Any, forgery: str) -> None:
    server = site()
    nonce = fresh_nonce(server)
    username, password = "jon", "secret"
    response = None
    if forgery == "wrong password":
        password = "Secret"
    elif forgery == "wrong response":
        response = "0" * 64
    elif forgery == "other key":
        nonce = synthesize_nonce(REALM, "another server's key")
    elif forgery == "tampered timestamp":
        stamp, rest = nonce.split(":", 1)
        nonce = f"{int(stamp) + 1000}:{rest}"
    elif forgery == "made-up nonce":
        nonce = "1234567890:abc:" + "A" * 43
    else:
        username = "mallory"
    header = digest_authorization(username=username, password=password, nonce=nonce, uri="/protected/",
                                  response=response)
    assert_challenged(server.get("/protected/", headers={"Authorization": header}))


@pytest.mark.parametrize(("signed_uri", "requested"), [
    ("/protected/page", "/protected/"),
    ("/protected/page?a=1", "/protected/page?a=2"),
    ("/protected/page", "/protected/page?a=1"),
    ("/protected/page?a=1", "/protected/page"),
    ("/protected/%70age", "/protected/page"),
    ("http://evil.example/protected/", "/protected/"),
])
def test_header_for_another_uri_is_refused(site: Any, signed_uri: str, requested: str) -> None:
    server = site()
    header = digest_authorization(username="jon", password="secret", nonce=fresh_nonce(server),
                                  uri=signed_uri)
    assert_challenged(server.get(requested, headers={"Authorization": header}))


def test_wrong_realm_is_refused(site: Any) -> None:
    server = site()
    header = digest_authorization(username="jon", password="secret", nonce=fresh_nonce(server),
                                  uri="/protected/", realm="elsewhere")
    assert_challenged(server.get("/protected/", headers={"Authorization": header}))


def _good(nonce: str) -> str:
    return digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/")


MALFORMED: dict[str, Callable[[str], str]] = {
    "scheme only": lambda n: "Digest",
    "other scheme": lambda n: "Bearer abc.def",
    "basic": lambda n: "Basic am9uOnNlY3JldA==",
    "unterminated quote": lambda n: _good(n)[:-1],
    "bad quoting": lambda n: _good(n).replace('username="jon"', 'username="j"on"'),
    "duplicate parameter": lambda n: _good(n) + ', username="bob"',
    "missing response": lambda n: _good(n).replace('response="', 'responsx="'),
    "missing nonce": lambda n: _good(n).replace("nonce=", "nonsense="),
    "missing username": lambda n: _good(n).replace('username="jon", ', ""),
    "unknown algorithm": lambda n: _good(n).replace("algorithm=SHA-256", "algorithm=SHA-512-256"),
    "nc not hex": lambda n: _good(n).replace("nc=00000001", "nc=0000000g"),
    "nc too short": lambda n: _good(n).replace("nc=00000001", "nc=1"),
    "nc zero": lambda n: _good(n).replace("nc=00000001", "nc=00000000"),
    "qop without nc": lambda n: _good(n).replace(", nc=00000001", ""),
    "no qop (RFC 2069)": lambda n: digest_authorization(username="jon", password="secret", nonce=n,
                                                        uri="/protected/", qop=None),
    "unknown qop": lambda n: _good(n).replace("qop=auth", "qop=auth-conf"),
    "response not hex": lambda n: re.sub(r'response="[0-9a-f]+"', 'response="' + "z" * 64 + '"', _good(n)),
    "response too short": lambda n: re.sub(r'response="([0-9a-f]{32})[0-9a-f]+"', r'response="\1"', _good(n)),
    "userhash not boolean": lambda n: _good(n) + ", userhash=maybe",
    "username and username*": lambda n: _good(n) + ", username*=UTF-8''jon",
    "bad username* encoding": lambda n: _good(n).replace('username="jon"', "username*=UTF-8''%ZZ"),
    "username* bad UTF-8": lambda n: _good(n).replace('username="jon"', "username*=UTF-8''%FF%FE"),
    "garbage bytes": lambda n: "Digest \xff\xfe\x80 = = ,,, \"",
    "trailing junk": lambda n: _good(n) + ' extra"',
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_header_gets_401_with_a_fresh_challenge(site: Any, drupe_error_log: list[str],
                                                          name: str) -> None:
    server = site()
    header = MALFORMED[name](fresh_nonce(server))
    response = server.get("/protected/", headers={"Authorization": header.encode("latin-1")})
    assert_challenged(response)
    assert len(response.headers.get_all("WWW-Authenticate")) == 2
    assert not drupe_error_log, drupe_error_log


def test_malformed_headers_as_raw_bytes(site: Any) -> None:
    server = site()
    for value in (b"Digest username=\"\xc3\x28\", realm=\"x\"", b"Digest ,,,,", b"DIGEST a=\"\\",
                  b"Digest username=\"\xff\xfe\", realm=\"localhost\""):
        raw = server.raw(b"GET /protected/ HTTP/1.1\r\nHost: " + server.netloc.encode() +
                         b"\r\nAuthorization: " + value + b"\r\nConnection: close\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 401 "), raw[:300]
        assert raw.lower().count(b"www-authenticate: digest ") == 2
    # A control character never reaches the tool: the server refuses the request head.
    raw = server.raw(b"GET /protected/ HTTP/1.1\r\nHost: " + server.netloc.encode() +
                     b"\r\nAuthorization: Digest nc=\x7f\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 "), raw[:300]


def test_utf8_user_names(site: Any) -> None:
    server = site()
    # The user name as raw UTF-8 bytes inside the quoted string (charset=UTF-8).
    header = digest_authorization(username="jürgen", password="pässword", nonce=fresh_nonce(server),
                                  uri="/protected/")
    response = server.get("/protected/", headers={"Authorization": header.encode("utf-8")})
    assert response.status == 200, response.text
    assert response.text == "hello jürgen"
    # RFC 7616 §3.4.4: username* with RFC 8187 encoding.
    header = digest_authorization(username="jürgen", password="pässword", nonce=fresh_nonce(server),
                                  uri="/protected/", username_star=True)
    assert header.isascii()
    assert server.get("/protected/", headers={"Authorization": header}).text == "hello jürgen"


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_userhash(site: Any, algorithm: str) -> None:
    server = site(userhash=True)
    response = server.get("/protected/")
    assert all("userhash=true" in c for c in response.headers.get_all("WWW-Authenticate"))
    nonce = nonce_of(response.headers.get_all("WWW-Authenticate")[0])
    header = digest_authorization(username="jürgen", password="pässword", nonce=nonce, uri="/protected/",
                                  userhash=True, algorithm=algorithm)
    assert "jürgen" not in header
    response = server.get("/protected/", headers={"Authorization": header})
    assert response.status == 200, response.text
    assert response.text == "hello jürgen"
    wrong = digest_authorization(username="nobody", password="pässword", nonce=nonce, uri="/protected/",
                                 userhash=True, algorithm=algorithm, nc=2)
    assert_challenged(server.get("/protected/", headers={"Authorization": wrong}))


def test_auth_int_covers_the_body(site: Any) -> None:
    server = site()
    body = b"greeting=hello&name=J%C3%BCrgen"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    nonce = fresh_nonce(server)
    header = digest_authorization(username="jon", password="secret", nonce=nonce, method="POST",
                                  uri="/protected/upload", qop="auth-int", body=body)
    response = server.post("/protected/upload", body=body, headers={**form, "Authorization": header})
    assert response.status == 200, response.text
    # The body was hashed and still reached the handler.
    assert response.text == "jon sent [('greeting', 'hello'), ('name', 'Jürgen')]"
    # The same header with another body (a man in the middle changing it): refused.
    header = digest_authorization(username="jon", password="secret", nonce=nonce, method="POST",
                                  uri="/protected/upload", qop="auth-int", body=body, nc=2)
    tampered = server.post("/protected/upload", body=b"greeting=bye",
                           headers={**form, "Authorization": header})
    assert_challenged(tampered)


def test_auth_int_with_a_chunked_body(site: Any) -> None:
    server = site()
    body = b"a=1&b=2"
    header = digest_authorization(username="jon", password="secret", nonce=fresh_nonce(server),
                                  method="POST", uri="/protected/upload", qop="auth-int", body=body,
                                  algorithm="MD5")
    request = (f"POST /protected/upload HTTP/1.1\r\nHost: {server.netloc}\r\nAuthorization: {header}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
               "Connection: close\r\n\r\n3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n").encode("latin-1")
    raw = server.raw(request)
    assert raw.startswith(b"HTTP/1.1 200 "), raw[:400]
    assert raw.endswith(b"jon sent [('a', '1'), ('b', '2')]")


def test_auth_int_on_a_get_without_body(site: Any) -> None:
    server = site()
    header = digest_authorization(username="jon", password="secret", nonce=fresh_nonce(server),
                                  uri="/protected/", qop="auth-int")
    assert server.get("/protected/", headers={"Authorization": header}).text == "hello jon"


def test_only_auth_when_configured(site: Any) -> None:
    server = site(qop="auth")
    response = server.get("/protected/")
    assert all('qop="auth"' in c for c in response.headers.get_all("WWW-Authenticate"))
    header = digest_authorization(username="jon", password="secret", nonce=nonce_of(
        response.headers.get_all("WWW-Authenticate")[0]), uri="/protected/", qop="auth-int")
    assert_challenged(server.get("/protected/", headers={"Authorization": header}))


def test_concurrent_requests_with_one_nonce(site: Any) -> None:
    """Threads: distinct counts all pass; the same header sent at once passes exactly once."""
    server = site()
    nonce = fresh_nonce(server)
    results: list[int] = []
    lock = threading.Lock()

    def send(header: str) -> None:
        status = server.get("/protected/", headers={"Authorization": header}).status
        with lock:
            results.append(status)

    def run_all(headers: list[str]) -> list[int]:
        results.clear()
        threads = [threading.Thread(target=send, args=(header,)) for header in headers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return sorted(results)

    distinct = [digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/",
                                     nc=nc, cnonce=f"c{nc}") for nc in range(1, 9)]
    # Distinct counts may arrive out of order; each is either accepted or told to retry.
    outcome = run_all(distinct)
    assert set(outcome) <= {200, 401}
    assert outcome.count(200) >= 1
    same = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/",
                                nc=100, cnonce="same")
    assert run_all([same] * 8) == [200] + [401] * 7


def test_a_nonce_from_another_process_with_the_same_key(site: Any) -> None:
    """Nonces are stateless: one signed elsewhere with the shared key is accepted."""
    server = site()
    nonce = synthesize_nonce(REALM, KEY)  # as another process of the deployment would
    header = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/")
    assert server.get("/protected/", headers={"Authorization": header}).status == 200


def test_a_shared_nonce_count_store(site: Any) -> None:
    """Two applications (standing for two processes) sharing one store stop cross-replays."""
    store = MemoryNonceCountStore()
    server = site(nonce_counts=store)
    drupe.tree.mount(Site(), "/other", {"/protected": digest_conf(nonce_counts=store)})
    nonce = fresh_nonce(server)
    header = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/protected/")
    assert server.get("/protected/", headers={"Authorization": header}).status == 200
    assert len(store) == 1
    # The same nonce and count at the other "process": refused, the count was seen.
    replay = digest_authorization(username="jon", password="secret", nonce=nonce, uri="/other/protected/")
    assert_challenged(server.get("/other/protected/", headers={"Authorization": replay}), stale=True)
    following = digest_authorization(username="jon", password="secret", nonce=nonce,
                                     uri="/other/protected/", nc=2)
    assert server.get("/other/protected/", headers={"Authorization": following}).status == 200


def test_default_stores_are_per_application(site: Any) -> None:
    """Without a shared store each application (each process) keeps its own counts."""
    server = site()
    drupe.tree.mount(Site(), "/other", {"/protected": digest_conf()})
    nonce = fresh_nonce(server)
    for uri in ("/protected/", "/other/protected/"):
        header = digest_authorization(username="jon", password="secret", nonce=nonce, uri=uri)
        assert server.get(uri, headers={"Authorization": header}).status == 200


def test_md5_only_ha1_source_offers_only_md5(site: Any) -> None:
    ha1 = {"jon": auth_digest.md5_hex(f"jon:{REALM}:secret")}
    server = site(get_ha1=auth_digest.get_ha1_dict(ha1))
    challenges = server.get("/protected/").headers.get_all("WWW-Authenticate")
    assert len(challenges) == 1
    assert "algorithm=MD5" in challenges[0]
    header = digest_authorization(username="jon", password="secret", nonce=nonce_of(challenges[0]),
                                  uri="/protected/", algorithm="MD5")
    assert server.get("/protected/", headers={"Authorization": header}).text == "hello jon"


def test_cherrypy_style_get_ha1_callable(site: Any) -> None:
    """A get_ha1(realm, username) without an algorithm argument gives MD5 HA1s."""
    calls: list[tuple[str, str]] = []

    def get_ha1(realm: str, username: str) -> str | None:
        calls.append((realm, username))
        return auth_digest.md5_hex(f"{username}:{realm}:secret") if username == "jon" else None

    server = site(get_ha1=get_ha1)
    challenges = server.get("/protected/").headers.get_all("WWW-Authenticate")
    assert ["algorithm=MD5" in c for c in challenges] == [True]
    header = digest_authorization(username="jon", password="secret", nonce=nonce_of(challenges[0]),
                                  uri="/protected/", algorithm="MD5")
    assert server.get("/protected/", headers={"Authorization": header}).text == "hello jon"
    assert calls == [(REALM, "jon")]
