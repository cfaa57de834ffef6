"""Chapter 4 "Basics", sections 4.1–4.5: every example, as the documentation describes it.

(4.1, the one-minute application, is run with the tutorials in ``test_tutorials.py``.)
The examples come from the documentation through ``seed``; fragments get what they need
(a ``Blog`` class, ``myapp``, a ``key``) from the test, and run as extracted.
"""

from __future__ import annotations

import gzip
import re
import signal
from pathlib import Path

import pytest
from docs_support import fetch, load, require_free_port, run_fragment
from seed import as_drupe, indent_lines, replace_once, section

import drupe
from drupe_testing import Client

# -- 4.2 Hosting one or more applications ----------------------------------------------

# What the 4.2 fragments need: the applications they host. "Blog" and "Forum" are ours.
APPLICATIONS = """\
import drupe as cherrypy


class Blog:
    @cherrypy.expose
    def index(self):
        return "The blog's front page. " * 20


class Forum:
    @cherrypy.expose
    def index(self):
        return "The forum's front page."


blog_conf = {"/": {"tools.gzip.on": True}}
forum_conf = {}

"""


def gunzipped(headers: dict[str, str], body: bytes) -> str:
    assert headers.get("content-encoding") == "gzip", headers
    return gzip.decompress(body).decode()


@pytest.mark.slow
@pytest.mark.parametrize("line", [0, 1, 2], ids=["root", "blog", "blog-with-config"])
def test_4_2_1_single_application(serve, line: int) -> None:
    statement = section("4.2.1").block(0).splitlines()[line]
    served = serve(APPLICATIONS + statement + "\n")
    gzip_please = {"Accept-Encoding": "gzip"}
    if line == 0:
        # "available at http://hostname:port/"
        status, _, body = served.get("/")
        assert status == 200
        assert body.startswith(b"The blog's front page.")
        assert served.get("/blog/")[0] == 404
    else:
        # "available at http://hostname:port/blog"
        status, headers, body = served.get("/blog/", headers=gzip_please)
        assert status == 200
        assert served.get("/")[0] == 404
        if line == 2:
            # The settings are relative to the application ({'/': ...}), not to /blog.
            assert gunzipped(headers, body).startswith("The blog's front page.")
        else:
            assert "content-encoding" not in headers
            assert body.startswith(b"The blog's front page.")
    served.stop()


@pytest.mark.slow
def test_4_2_2_multiple_applications(serve) -> None:
    served = serve(APPLICATIONS + section("4.2.2").block(0))
    status, headers, body = served.get("/blog/", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert gunzipped(headers, body).startswith("The blog's front page.")
    assert served.get("/forum/")[2] == b"The forum's front page."
    # engine.start() and engine.block() without quickstart() install no signal handlers
    # (see 5.6), so this program is stopped with Ctrl-C.
    assert "Listening for SIGTERM" not in served.output()
    served.stop(signal.SIGINT)


@pytest.mark.slow
def test_4_2_2_mount_and_quickstart_together(serve) -> None:
    served = serve(APPLICATIONS + section("4.2.2").block(1))
    status, headers, body = served.get("/blog/", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert gunzipped(headers, body).startswith("The blog's front page.")
    assert served.get("/forum/")[2] == b"The forum's front page."
    served.stop()


# -- 4.3 Logging -------------------------------------------------------------------------


def fill_elided_code(code: str) -> str:
    """4.3's second fragment elides the code that fails (``try: ...``): put a failure there.

    Not a repair: ``...`` stands for the application's code, and an exception must occur
    for ``except:`` to log one.
    """
    return replace_once(code, "    ...\n", "    raise ValueError('the elided code failed')\n")


def test_4_3_logging_to_files(tmp_path: Path) -> None:
    # Both logs write to the files named by log.access_file and log.error_file.
    drupe.config.update({"log.screen": False, "log.access_file": str(tmp_path / "access.log"),
                         "log.error_file": str(tmp_path / "error.log")})
    part = section("4.3")

    class Root:
        @drupe.expose
        def index(self):
            run_fragment(part.block(0))
            run_fragment(fill_elided_code(part.block(1)))
            return "logged"

    drupe.tree.mount(Root())
    response = Client(drupe.tree).get("/", headers={"User-Agent": "docs-test",
                                                    "Referer": "http://example.com/"})
    assert response.text == "logged"
    errors = (tmp_path / "error.log").read_text()
    assert re.search(r"^\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\]\s+hello there$", errors, re.M), errors
    assert "kaboom!" in errors
    assert "Traceback (most recent call last):" in errors
    assert "ValueError: the elided code failed" in errors
    # Incoming requests, in the common log format (plus referrer and user agent).
    access = (tmp_path / "access.log").read_text()
    assert re.search(
        r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\] "GET / HTTP/1\.1" 200 6 '
        r'"http://example\.com/" "docs-test"$', access, re.M), access


def test_4_3_1_disable_logging(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    class Root:
        @drupe.expose
        def index(self):
            drupe.log("an application message")
            return "ok"

    drupe.tree.mount(Root())
    client = Client(drupe.tree)
    # By default both logs go to the console ...
    client.get("/")
    printed = capfd.readouterr()
    assert "an application message" in printed.out + printed.err
    assert '"GET / HTTP/1.1" 200' in printed.out + printed.err

    run_fragment(section("4.3.1").block(0))
    # ... and with the documented settings, nowhere: no console, no file.
    client.get("/")
    printed = capfd.readouterr()
    assert printed.out + printed.err == ""
    assert list(tmp_path.iterdir()) == []


def repaired_4_3_2() -> str:
    """4.3.2 spans three pages. The third page prints the end of ``Root.index`` without
    its indentation (``db_logger.info("bam")`` ... ``return "hello world"`` would stand at
    module level, where ``return`` is a syntax error); those lines go back into the method.

    The same page prints the last three lines of the ``__main__`` block at module level;
    run as the program, they run all the same, so they are left as printed.
    """
    code = section("4.3.2").code(0, 1, 2)
    return indent_lines(code, 'db_logger.info("bam")', 'return "hello world"', 8)


@pytest.mark.slow
def test_4_3_2_play_along_with_your_other_loggers(serve, tmp_path: Path) -> None:
    served = serve(as_drupe(repaired_4_3_2()))
    status, _, body = served.get("/")
    assert (status, body) == (200, b"hello world")
    output = served.stop()
    # The root and db loggers print to stdout with the "standard" format ...
    assert re.search(r"^\d{4}-\d\d-\d\d [\d:,]+ \[INFO\] root: boom$", output, re.M), output
    assert re.search(r"^\d{4}-\d\d-\d\d [\d:,]+ \[INFO\] db: bam$", output, re.M), output
    # ... cherrypy.error to the console (the empty "void" format: the message only) and
    # to errors.log; log.screen is off, so nothing is printed twice.
    assert len(re.findall(r"^\[[^]]+\]\s+bang$", output, re.M)) == 1, output
    errors = (tmp_path / "errors.log").read_text()
    assert re.search(r"^\[[^]]+\]\s+bang$", errors, re.M), errors
    assert "ENGINE Bus STARTED" in errors
    assert "ENGINE Bus STARTED" in output
    # cherrypy.access logs the request to access.log, and only there.
    access = (tmp_path / "access.log").read_text()
    assert '"GET / HTTP/1.1" 200 11' in access
    assert '"GET / HTTP/1.1"' not in output


# -- 4.4 Configuring ---------------------------------------------------------------------


class HelloRoot:
    @drupe.expose
    def index(self):
        return "hello from the configured server"


def test_4_4_1_global_server_configuration(tmp_path: Path) -> None:
    part = section("4.4.1")
    run_fragment(part.block(0))
    assert drupe.server.socket_port == 9090
    assert drupe.config["server.socket_port"] == 9090

    drupe.reset()
    assert drupe.server.socket_port == 8080
    (tmp_path / "server.conf").write_text(part.block(1))
    run_fragment(part.block(2))
    assert drupe.server.socket_port == 9090

    # And the server then listens there.
    require_free_port(9090)
    drupe.config.update({"log.screen": False, "engine.autoreload.on": False})
    drupe.tree.mount(HelloRoot())
    drupe.engine.start()
    try:
        assert fetch(9090, "/")[2] == b"hello from the configured server"
    finally:
        drupe.engine.exit()


# What the 4.4.2 fragments need: an application called myapp.
MYAPP = """\
import drupe as cherrypy


class MyApp:
    @cherrypy.expose
    def index(self):
        return "hello world! " * 20


myapp = MyApp()

"""


@pytest.mark.slow
@pytest.mark.parametrize("source", ["dict", "file"])
def test_4_4_2_per_application_config(serve, tmp_path: Path, source: str) -> None:
    part = section("4.4.2")
    if source == "dict":
        served = serve(MYAPP + part.block(0))
    else:
        (tmp_path / "app.conf").write_text(part.block(1))
        served = serve(MYAPP + part.block(2))
    status, headers, body = served.get("/", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert gunzipped(headers, body).startswith("hello world! ")
    served.stop()


@pytest.mark.parametrize("block", [3, 4], ids=["decorator", "_cp_config"])
def test_4_4_2_per_application_config_in_code(block: int) -> None:
    root = run_fragment(section("4.4.2").block(block))["Root"]
    drupe.tree.mount(root())
    client = Client(drupe.tree)
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.body) == b"hello world!"
    assert client.get("/").body == b"hello world!"


@pytest.mark.slow
def test_4_4_3_additional_application_settings(serve, tmp_path: Path) -> None:
    part = section("4.4.3")
    (tmp_path / "app.conf").write_text(part.block(0))
    # The fragment uses cherrypy without importing it; the program does that first.
    served = serve("import drupe as cherrypy\n\n" + part.block(1))
    # The handler reads googleapi/appid (a missing section or key would be a 500).
    status, headers, body = served.get("/", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert gunzipped(headers, body) == "hello world!"
    served.stop()


def test_4_4_3_additional_settings_read_by_the_handler(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text(section("4.4.3").block(0))

    class Root:
        @drupe.expose
        def index(self):
            return drupe.request.app.config["googleapi"]["appid"]

    app = drupe.tree.mount(Root(), "/", "app.conf")
    assert app.config["googleapi"] == {"key": "...", "appid": "..."}
    assert Client(drupe.tree).get("/").text == "..."


# -- 4.5 Cookies -------------------------------------------------------------------------


def repaired_4_5() -> str:
    """In 4.5's extended example, ``read`` builds ``res`` from a two-line triple-quoted
    string; the PDF extraction printed it as two separate string literals, the second on a
    continuation line (an indentation error). Parentheses join them again (Python
    concatenates adjacent literals), losing only the line break inside the HTML.
    """
    code = section("4.5").block(1)
    code = replace_once(code, 'res = "<html>', 'res = ("<html>')
    return replace_once(code, "% len(cookie)\n", "% len(cookie))\n")


def test_4_5_cookies(tmp_path: Path) -> None:
    app_class = load(as_drupe(repaired_4_5()), tmp_path, "cookie_app")["MyCookieApp"]

    class Expirer:
        # The first 4.5 fragment, run where it belongs: in a page handler.
        @drupe.expose
        def expire(self):
            run_fragment(section("4.5").block(0), key="cookieName", value="cookieValue")
            return "expired"

    drupe.tree.mount(app_class(), "/cookie")
    # At the site's root, so the expired cookie has the path of the one it replaces (a
    # cookie's default path is the request path's directory).
    drupe.tree.mount(Expirer(), "")
    client = Client(drupe.tree)

    response = client.get("/cookie/set")
    assert response.text == "<html><body>Hello, I just sent you a cookie</body></html>"
    (set_cookie,) = response.headers.get_all("Set-Cookie")
    attributes = {item.split("=", 1)[0].strip().lower(): item.partition("=")[2]
                  for item in set_cookie.split(";")}
    assert attributes["cookiename"] == "cookieValue"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == "3600"
    assert attributes["version"] == "1"
    assert client.cookies["cookieName"] == "cookieValue"

    response = client.get("/cookie/read")
    assert "Hi, you sent me 1 cookies." in response.text
    assert "name: cookieName, value: cookieValue<br>" in response.text
    # Request cookies are not copied to the response.
    assert response.headers.get_all("Set-Cookie") == []

    response = client.get("/expire")
    (expired,) = response.headers.get_all("Set-Cookie")
    assert expired.startswith("cookieName=cookieValue")
    assert "expires=" in expired.lower()
    assert "cookieName" not in client.cookies
    assert "Hi, you sent me 0 cookies." in client.get("/cookie/read").text


@pytest.mark.slow
def test_4_5_cookies_served(serve) -> None:
    served = serve(as_drupe(repaired_4_5()))
    status, headers, _ = served.get("/cookie/set")
    assert status == 200
    cookie = headers["set-cookie"].split(";", 1)[0]
    assert cookie == "cookieName=cookieValue"
    status, _, body = served.get("/cookie/read", headers={"Cookie": cookie})
    assert status == 200
    assert b"Hi, you sent me 1 cookies." in body
    served.stop()
