"""Chapter 4 "Basics", section 4.9 Authentication: the Basic and Digest examples.

Both examples are fragments: they import their auth module, configure
``/protected/area`` and call ``cherrypy.quickstart(myapp, '/', conf)``. The test gives
them ``myapp`` (an application with a page at ``/protected/area``), runs each as a real
program on a free port, and authenticates with real clients over the socket: an
``http.client`` request with and without credentials, ``requests``' HTTPBasicAuth /
HTTPDigestAuth and ``curl --basic`` / ``curl --digest`` (skipped, saying why, when
missing). The examples' code is read from the documentation and changed only by
``as_drupe`` (``from cherrypy.lib import ...`` -> ``from drupe.lib import ...``).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from typing import Any

import pytest
from docs_support import needs
from seed import as_drupe, section

# What the fragments need: cherrypy, and an application called myapp.
MYAPP = """\
import drupe as cherrypy


class Protected:
    @cherrypy.expose
    def area(self):
        return "welcome, " + str(cherrypy.request.login)


class MyApp:
    protected = Protected()

    @cherrypy.expose
    def index(self):
        return "public page"


myapp = MyApp()

"""

needs_auth = needs("drupe.tools", "auth_basic", "drupe-tool-auth")


def _curl(*arguments: str) -> tuple[int, str]:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    done = subprocess.run([curl, "-s", "-o", "-", "-w", "\n%{http_code}", *arguments],
                          capture_output=True, text=True, timeout=30, check=False)
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


def _requests() -> Any:
    return pytest.importorskip("requests", reason="requests is not installed (pip install requests)")


@needs_auth
@pytest.mark.slow
def test_4_9_1_basic(serve) -> None:
    code = as_drupe(section("4.9.1").block(0))
    assert "from drupe.lib import auth_basic" in code
    served = serve(MYAPP + code)
    url = f"http://127.0.0.1:{served.port}/protected/area"

    status, headers, _ = served.get("/protected/area")
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="localhost", charset="UTF-8"'
    good = "Basic " + base64.b64encode(b"jon:secret").decode()
    assert served.get("/protected/area", headers={"Authorization": good})[::2] == (200, b"welcome, jon")
    bad = "Basic " + base64.b64encode(b"jon:guess").decode()
    assert served.get("/protected/area", headers={"Authorization": bad})[0] == 401
    assert served.get("/")[2] == b"public page"

    assert _curl("--basic", "-u", "jon:secret", url) == (200, "welcome, jon")
    assert _curl("--basic", "-u", "jon:nope", url)[0] == 401
    requests = _requests()
    assert requests.get(url, auth=requests.auth.HTTPBasicAuth("jon", "secret"), timeout=10).text \
        == "welcome, jon"
    served.stop()


@needs_auth
@pytest.mark.slow
def test_4_9_2_digest(serve) -> None:
    code = as_drupe(section("4.9.2").block(0))
    assert "from drupe.lib import auth_digest" in code
    served = serve(MYAPP + code)
    url = f"http://127.0.0.1:{served.port}/protected/area"

    status, headers, _ = served.get("/protected/area")
    assert status == 401
    assert headers["www-authenticate"].startswith('Digest realm="localhost"')

    assert _curl("--digest", "-u", "jon:secret", url) == (200, "welcome, jon")
    assert _curl("--digest", "-u", "jon:nope", url)[0] == 401
    requests = _requests()
    with requests.Session() as session:
        session.auth = requests.auth.HTTPDigestAuth("jon", "secret")
        assert [session.get(url, timeout=10).text for _ in range(3)] == ["welcome, jon"] * 3
    assert requests.get(url, auth=requests.auth.HTTPDigestAuth("jon", "x"), timeout=10).status_code == 401
    served.stop()
