"""Section 8.8 "Virtual Hosting": the documentation's example, run as a program.

The example maps ``company.com:8080`` to ``/app1`` and ``home.net:8080`` to ``/app2``
with ``cherrypy.dispatch.VirtualHost``. The documentation asks the reader to point both
names at 127.0.0.1 in the hosts file; the test sends the ``Host`` header a browser would
send instead. The program serves on a free port (set before it runs): the host map
matches the ``Host`` header, which names port 8080 whatever port the socket uses.
"""

from __future__ import annotations

import pytest
from seed import as_drupe, indent_lines, section

pytestmark = pytest.mark.slow


def repaired_8_8() -> str:
    """The example: a page break after ``@cherrypy.expose`` in ``App1`` lost the
    indentation of ``App1.index`` (two lines)."""
    part = section("8.8")
    code = part.code(0, 1)
    return indent_lines(code, "def index(self):", 'return "Hello world from app1"', 4)


def test_the_repair_gives_the_documented_program() -> None:
    code = repaired_8_8()
    compile(code, "vhost.py", "exec")
    # The decorator and the method it decorates are separated by the blank line of the break.
    assert '    @cherrypy.expose\n\n    def index(self):\n        return "Hello world from app1"' in code


def test_8_8_virtual_hosting(serve) -> None:
    served = serve(as_drupe(repaired_8_8()), name="vhost.py")

    def page(host: str) -> tuple[int, str]:
        status, _headers, body = served.get("/", headers={"Host": host})
        return status, body.decode("utf-8")

    assert page("company.com:8080") == (200, "Hello world from app1")
    assert page("home.net:8080") == (200, "Hello world from app2")
    # Host names are case-insensitive.
    assert page("HOME.net:8080") == (200, "Hello world from app2")
    # Any other host reaches the root, which has no index.
    assert page(f"127.0.0.1:{served.port}")[0] == 404
    # Only a valid Host is routed.
    status, body = page("company.com:8080/../app2")
    assert status == 400
    assert "Host" in body
    served.stop()
