"""Chapter 4.6 "Using sessions": the RAM default (4.6), the filesystem backend (4.6.1) and
the memcached backend (4.6.2), read from the documentation.

The chapter's examples are fragments: a config file (``[/] tools.sessions.on: True``), a
``quickstart(myapp, '/', "app.conf")`` line and an ``index(self)`` page handler counting
visits in ``cherrypy.session``. The test gives them their context — a class holding the
handler, ``myapp``, and a ``count`` page that shows the counter — and runs them as one
program, started with ``python`` on a free port. The file backend's program is run twice,
one process after the other, to show what the chapter promises: sessions that survive a
restart. The documentation's ``/some/directory`` is a placeholder; the test puts a
temporary directory in its place.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from docs_support import Served, needs, run_fragment, wait_until
from seed import as_drupe, section

import drupe
import drupe.lib.sessions
from drupe_testing import Client

pytestmark = [pytest.mark.usefixtures("requires_http_server")]

CONTEXT = '''
# Context given by the test: the class the handler belongs to, and a page showing the count.
class MyApp:
    index = index

    @cherrypy.expose
    def count(self):
        return str(cherrypy.session.get('count'))


myapp = MyApp()
'''


def program_code() -> str:
    """The handler fragment, the test's context and the quickstart line, as one program."""
    handler = section("4.6").find("cherrypy.session['count'] += 1")
    quickstart = section("4.6").find("quickstart(myapp")
    return as_drupe(handler) + CONTEXT + as_drupe(quickstart)


def session_id(headers: dict[str, str]) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers["set-cookie"])
    return cookie["session_id"].value


def visit(served: Served, cookie: str | None, times: int) -> tuple[str, str]:
    """Visit ``/`` ``times`` times with the session ``cookie``; (cookie, shown count)."""
    for _ in range(times):
        headers = {"Cookie": f"session_id={cookie}"} if cookie else {}
        status, response_headers, _ = served.get("/", headers=headers)
        assert status == 200
        cookie = session_id(response_headers)
    assert cookie is not None
    status, _, body = served.get("/count", headers={"Cookie": f"session_id={cookie}"})
    assert status == 200
    return cookie, body.decode()


def test_4_6_sessions_in_ram(tmp_path: Path, serve: Callable[..., Served]) -> None:
    (tmp_path / "app.conf").write_text(section("4.6").block(0))
    served = serve(program_code())
    cookie, count = visit(served, None, 3)
    assert count == "3"
    assert re.fullmatch(r"[0-9a-f]{40}", cookie)
    # Another browser has its own count.
    assert visit(served, None, 1)[1] == "1"
    assert visit(served, cookie, 1)[1] == "4"
    served.stop()
    # "Sessions are, by default, stored in RAM so, if you restart your server all of your
    # current sessions will be lost."
    again = serve(program_code())
    fresh, count = visit(again, cookie, 1)
    assert count == "1"
    assert fresh != cookie
    again.stop()


def file_config(directory: Path) -> str:
    placeholder = '"/some/directory"'
    config = section("4.6.1").block(0)
    assert placeholder in config
    return config.replace(placeholder, repr(str(directory)))


def test_4_6_1_filesystem_backend_survives_a_restart(tmp_path: Path,
                                                     serve: Callable[..., Served]) -> None:
    storage = tmp_path / "sessions"
    storage.mkdir()
    (tmp_path / "app.conf").write_text(file_config(storage))
    first = serve(program_code())
    cookie, count = visit(first, None, 2)
    assert count == "2"
    assert (storage / f"session-{cookie}").is_file()
    first.stop()
    # A new process, the same directory: the session goes on.
    second = serve(program_code())
    same, count = visit(second, cookie, 1)
    assert (same, count) == (cookie, "3")
    second.stop()


def test_4_6_1_config_names_the_file_session_class(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text(file_config(tmp_path))
    namespace = run_fragment(as_drupe(section("4.6").find("cherrypy.session['count'] += 1")))
    my_app = type("MyApp", (), {"index": namespace["index"]})()
    app = drupe.tree.mount(my_app, "/", str(tmp_path / "app.conf"))
    assert app.config["/"]["tools.sessions.storage_class"] is drupe.lib.sessions.FileSession
    client = Client(drupe.tree)
    assert client.get("/").status == 200
    assert client.get("/").status == 200
    assert len(list(tmp_path.glob("session-*"))) == 1


@pytest.fixture
def memcached_on_default_port() -> Iterator[None]:
    """A real memcached on 127.0.0.1:11211, the backend's default server."""
    binary = shutil.which("memcached")
    if binary is None:
        pytest.skip("install memcached (the server) to run the 4.6.2 example")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 11211)) == 0:
            yield  # one is running already: the example uses it
            return
    # memcached refuses to run as root unless told which user to be.
    user = ["-u", "root"] if os.geteuid() == 0 else []
    process = subprocess.Popen([binary, "-l", "127.0.0.1", "-p", "11211", "-U", "0", *user],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", 11211)) == 0

        wait_until(answers, timeout=10, message="memcached to listen on 11211")
        yield
    finally:
        process.terminate()
        process.wait(10)


@needs("drupe.sessions", "memcached", "drupe-session-memcached")
def test_4_6_2_memcached_backend(tmp_path: Path, serve: Callable[..., Served],
                                 memcached_on_default_port: None) -> None:
    (tmp_path / "app.conf").write_text(section("4.6.2").block(0))
    first = serve(program_code())
    cookie, count = visit(first, None, 2)
    assert count == "2"
    first.stop()
    # memcached lives outside the process: the session survives the restart too.
    second = serve(program_code())
    assert visit(second, cookie, 1) == (cookie, "3")
    second.stop()
