"""Real clients against real sockets: requests' HTTPBasicAuth / HTTPDigestAuth and curl.

Skipped, saying why, when requests is not installed (it is in the workspace's dev group,
not in this distribution's) or when no ``curl`` is on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from auth_support import KEY, REALM, USERS, Site

import drupe
from drupe.lib import auth_basic, auth_digest


@pytest.fixture
def server(live_server: Any) -> Any:
    get_ha1 = auth_digest.get_ha1_dict_plain(USERS)
    digest = {"tools.auth_digest.on": True, "tools.auth_digest.realm": REALM,
              "tools.auth_digest.get_ha1": get_ha1, "tools.auth_digest.key": KEY}
    drupe.tree.mount(Site(), "/", {"/protected": digest})
    drupe.tree.mount(Site(), "/b", {"/protected": {
        "tools.auth_basic.on": True, "tools.auth_basic.realm": REALM,
        "tools.auth_basic.checkpassword": auth_basic.checkpassword_dict(USERS)}})
    drupe.tree.mount(Site(), "/sha", {"/protected": {**digest, "tools.auth_digest.algorithms": ["SHA-256"]}})
    drupe.tree.mount(Site(), "/sess", {"/protected": {**digest,
                                                      "tools.auth_digest.algorithms": ["MD5-sess"]}})
    return live_server


@pytest.fixture
def requests_module() -> Any:
    return pytest.importorskip("requests", reason="requests is not installed (pip install requests)")


@pytest.fixture
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    return path


@pytest.mark.parametrize("prefix", ["", "/sha", "/sess"], ids=["md5-chosen-from-two", "sha-256", "md5-sess"])
def test_requests_digest(server: Any, requests_module: Any, prefix: str) -> None:
    requests = requests_module
    with requests.Session() as session:
        session.auth = requests.auth.HTTPDigestAuth("jon", "secret")
        for attempt in range(3):  # requests reuses the nonce with nc 1, 2, 3
            response = session.get(f"{server.url}{prefix}/protected/page?n={attempt}", timeout=10)
            assert response.status_code == 200, response.text
            assert response.text == f"page for jon [('n', '{attempt}')]"
        bad = requests.get(f"{server.url}{prefix}/protected/", timeout=10,
                           auth=requests.auth.HTTPDigestAuth("jon", "wrong"))
        assert bad.status_code == 401


def test_requests_basic(server: Any, requests_module: Any) -> None:
    requests = requests_module
    auth = requests.auth.HTTPBasicAuth("jon", "secret")
    assert requests.get(f"{server.url}/b/protected/", auth=auth, timeout=10).text == "hello jon"
    wrong = requests.get(f"{server.url}/b/protected/", auth=("jon", "nope"), timeout=10)
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="localhost", charset="UTF-8"'


def _curl(curl: str, *arguments: str) -> tuple[int, str]:
    done = subprocess.run([curl, "-s", "-o", "-", "-w", "\n%{http_code}", *arguments],
                          capture_output=True, text=True, timeout=30, check=False)
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


@pytest.mark.parametrize("prefix", ["", "/sha", "/sess"])
def test_curl_digest(server: Any, curl: str, prefix: str) -> None:
    code, body = _curl(curl, "--digest", "-u", "jon:secret", f"{server.url}{prefix}/protected/")
    assert (code, body) == (200, "hello jon")
    code, _ = _curl(curl, "--digest", "-u", "jon:wrong", f"{server.url}{prefix}/protected/")
    assert code == 401


def test_curl_basic(server: Any, curl: str) -> None:
    assert _curl(curl, "--basic", "-u", "jon:secret", f"{server.url}/b/protected/") == (200, "hello jon")
    assert _curl(curl, "--basic", "-u", "jon:x", f"{server.url}/b/protected/")[0] == 401
