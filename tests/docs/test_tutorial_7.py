"""Tutorial 7 "Give us a REST" (section 3.7), run as the documentation runs it.

The program is read from the documentation (changed only by ``as_drupe``), saved to a
file and started with ``python``; the test then replays the documented ``requests``
session: the 500s before any string was generated and after it was deleted, POST
generating an 8-digit hex string, GET giving it back, 406 for ``Accept:
application/json``, PUT replacing it and DELETE removing it. The session cookie is carried
from response to request as ``requests.Session`` does.

It serves on a free port (the server's port is set before the program runs), not 8080,
so it cannot collide with another run.

The example needs the sessions tool (drupe-sessions); without it the documented session
is skipped, saying so. A second test always runs the example without its
``'tools.sessions.on': True`` line (with the tool missing, that key would be a startup
error) and checks what does not depend on sessions: the accept tool's 406, the
MethodDispatcher's 405, and a 500 from every handler that touches ``cherrypy.session``.
"""

from __future__ import annotations

import http.client
import re

import pytest
from docs_support import HOST, TIMEOUT, random_hex
from seed import as_drupe, indent_lines, replace_once, section

import drupe

pytestmark = pytest.mark.slow

SESSIONS = drupe.registry.has("drupe.tools", "sessions")

_LINE_NUMBER = re.compile(r"^\d+ ?", re.MULTILINE)


def repaired_3_7() -> str:
    """The tutorial's program: a page break split it after line 32.

    The second block keeps its printed line numbers (33-35: the cleaner strips numbers only
    from blocks numbered from 1) and lost the indentation of the ``if __name__`` block.
    """
    part = section("3.7")
    tail = _LINE_NUMBER.sub("", part.block(1))
    code = part.block(0).rstrip("\n") + "\n" + tail
    return indent_lines(code, "}", None, 4).replace("\n    }\n    }\n", "\n        }\n    }\n", 1)


class SessionClient:
    """What the tutorial's ``requests.Session`` does here: keep the session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie: str | None = None

    def request(self, method: str, path: str, accept: str = "*/*") -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        headers = {"Accept": accept}
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            connection.request(method, path, body=b"" if method in ("POST", "PUT") else None,
                               headers=headers)
            response = connection.getresponse()
            body = response.read().decode("utf-8")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("session_id="):
                    self.cookie = value.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            connection.close()


def test_the_repair_gives_the_documented_program() -> None:
    code = repaired_3_7()
    compile(code, "tut07.py", "exec")
    assert "        }\n    }\n    cherrypy.quickstart(StringGeneratorWebService(), '/', conf)\n" in code


@pytest.mark.skipif(not SESSIONS, reason="the sessions tool (drupe-sessions) is not installed; "
                    "test_tutorial_7_without_sessions runs the example without it")
def test_tutorial_7_rest_session(serve) -> None:
    served = serve(as_drupe(repaired_3_7()), name="tut07.py")
    client = SessionClient(served.port)

    assert client.request("GET", "/")[0] == 500
    status, headers, generated = client.request("POST", "/")
    assert status == 200
    assert random_hex(generated, 8)
    assert headers["content-type"].startswith("text/plain")
    assert client.request("GET", "/")[::2] == (200, generated)
    assert client.request("GET", "/", accept="application/json")[0] == 406
    assert client.request("PUT", "/?another_string=hello")[0] == 200
    assert client.request("GET", "/")[::2] == (200, "hello")
    assert client.request("DELETE", "/")[0] == 200
    assert client.request("GET", "/")[0] == 500
    # MethodDispatcher answers the verbs the resource lacks.
    status, headers, _ = client.request("PATCH", "/")
    assert status == 405
    assert headers["allow"] == "DELETE, GET, HEAD, OPTIONS, POST, PUT"
    served.stop()


def test_tutorial_7_without_sessions(serve) -> None:
    # What runs when drupe-sessions is missing; with it installed the line is simply off.
    code = replace_once(repaired_3_7(), "'tools.sessions.on': True,", "")
    served = serve(as_drupe(code), name="tut07.py")
    client = SessionClient(served.port)
    # The accept tool refuses JSON before the handler runs; the rest needs a session.
    assert client.request("GET", "/", accept="application/json")[0] == 406
    for method in ("GET", "POST", "PUT", "DELETE"):
        path = "/?another_string=x" if method == "PUT" else "/"
        assert client.request(method, path)[0] == 500, method
    assert client.request("PATCH", "/")[0] == 405
    served.stop()
