"""Tutorial 5 (3.5) "Track my end-user's activity", run as the documentation says: saved as
``tut05.py``, started with ``python`` and served on 127.0.0.1:8080.

The program is extracted from the documentation and changed only by ``as_drupe``, after
one named repair of the extraction (``repaired_3_5``). Port 8080 is the documentation's:
the test fails, saying so, when something else holds it.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from docs_support import Program, fetch, port_in_use, program, random_hex, require_free_port, wait_until
from seed import as_drupe, clean, section

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("requires_http_server")]

PORT = 8080


def repaired_3_5() -> str:
    """The tutorial's listing, whole again.

    A page break split the numbered listing after line 4; the second half's numbers start
    at 5, so the mechanical cleaning (which strips numbers counting from 1) left them in.
    Joining the two raw halves gives back one listing numbered from 1, which it cleans.
    """
    part = section("3.5")
    first, second = part.raw_blocks[0].strip("\n"), part.raw_blocks[1].strip("\n")
    assert first.startswith("1 import random"), first
    assert second.startswith("5"), second
    return clean(first + "\n" + second)


@pytest.fixture
def tut05(tmp_path: Path) -> Iterator[Program]:
    require_free_port(PORT)
    running = program(tmp_path, as_drupe(repaired_3_5()), "tut05.py")
    try:
        running.wait_for("ENGINE Bus STARTED")
        yield running
    finally:
        running.cleanup()


def session_cookie(headers: dict[str, str]) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers["set-cookie"])
    return cookie["session_id"].value


def test_the_listing_turns_sessions_on() -> None:
    code = repaired_3_5()
    assert "'tools.sessions.on': True" in code
    assert "cherrypy.session['mystring'] = some_string" in code


def test_3_5_tutorial_5_track_my_end_users_activity(tut05: Program) -> None:
    status, _, page = fetch(PORT, "/")
    assert status == 200
    assert re.search(r'<form method="get" action="generate">', page.decode())

    # "generate a random string, then go to /display, you will see the string you just
    # generated": the browser carries the session cookie between the two.
    status, headers, generated = fetch(PORT, "/generate?length=8")
    assert status == 200
    text = generated.decode()
    assert random_hex(text, 8)
    session_id = session_cookie(headers)
    assert re.fullmatch(r"[0-9a-f]{40}", session_id)
    cookie = {"Cookie": f"session_id={session_id}"}
    status, headers, displayed = fetch(PORT, "/display", headers=cookie)
    assert (status, displayed.decode()) == (200, text)
    assert "cookie" in headers.get("vary", "").lower()

    # Another user (another cookie) has their own string.
    status, other_headers, other = fetch(PORT, "/generate?length=12")
    other_cookie = {"Cookie": f"session_id={session_cookie(other_headers)}"}
    assert fetch(PORT, "/display", headers=other_cookie)[2].decode() == other.decode()
    assert fetch(PORT, "/display", headers=cookie)[2].decode() == text

    # A user without a session has no string: the tutorial's handler raises KeyError,
    # which is a 500, as in CherryPy.
    assert fetch(PORT, "/display")[0] == 500

    status = tut05.stop(signal.SIGTERM)
    output = tut05.output()
    assert status == 0, output
    assert "ENGINE Bus EXITED" in output
    wait_until(lambda: not port_in_use(PORT), timeout=5, message="port 8080 to be free")
