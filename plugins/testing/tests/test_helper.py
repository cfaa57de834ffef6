"""``drupe.test.helper.CPWebCase``: CherryPy's test class against a live drupe server.

The classes below are real ``CPWebCase`` subclasses run by pytest exactly as CherryPy's
own suite runs them; their test methods also check that each ``assert*`` fails when it
should. How the class's server lives and dies under pytest and under plain unittest is
checked in fresh processes.
"""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import tempfile
import unittest
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe.test import helper


class Root:
    @drupe.expose
    def index(self) -> str:
        return "Hello world"

    @drupe.expose
    def echo(self, message: str) -> str:
        return message

    @drupe.expose
    def form(self, **params: str) -> str:
        return f"{drupe.request.method} " + ",".join(
            f"{key}={value}" for key, value in sorted(params.items()))

    @drupe.expose
    def headers(self) -> str:
        drupe.response.headers["Vary"] = "Accept-Encoding, Cookie"
        drupe.response.headers["X-Param"] = 'form-data ; name="a;b"'
        drupe.response.cookie["flavour"] = "cherry"
        drupe.response.cookie["flavour"]["path"] = "/"
        return "headers"

    @drupe.expose
    def cookie(self) -> str:
        morsel = drupe.request.cookie.get("flavour")
        return morsel.value if morsel is not None else "none"

    @drupe.expose
    def peer(self) -> str:
        return str(drupe.request.remote.port)

    @drupe.expose
    def protocol(self) -> str:
        return drupe.request.server_protocol + " " + ".".join(map(str, drupe.request.protocol))

    @drupe.expose
    def close(self) -> str:
        drupe.response.headers["Connection"] = "close"
        return "bye"

    @drupe.expose
    def boom(self) -> str:
        raise ValueError("kaboom")

    @drupe.expose
    def forbidden(self) -> str:
        raise drupe.HTTPError(403, "Members only.")


class HelperTest(helper.CPWebCase):
    @staticmethod
    def setup_server() -> None:
        drupe.tree.mount(Root())
        drupe.tree.mount(Root(), "/sub")

    def test_the_server_listens_on_a_free_loopback_port(self) -> None:
        assert self.HOST == "127.0.0.1"
        assert self.PORT > 0
        assert self.base() == f"http://127.0.0.1:{self.PORT}"
        assert self.prefix() == ""
        assert self.interactive is False
        assert drupe.engine.state == drupe.states.STARTED

    def test_getPage_returns_and_stores_status_headers_body(self) -> None:
        status, headers, body = self.getPage("/")
        assert (status, body) == ("200 OK", b"Hello world")
        assert headers is self.headers
        assert ("Content-Length", "11") in headers
        assert self.status_code == 200
        assert self.url == "/"
        assert self.time is not None
        assert self.response is not None
        assert self.response.status == 200

    def test_assertStatus_accepts_int_code_status_line_and_lists(self) -> None:
        self.getPage("/missing")
        self.assertStatus(404)
        self.assertStatus("404")
        self.assertStatus("404 Not Found")
        self.assertStatus([200, "404 Not Found"])
        self.assertStatus((301, 404))
        for wrong in (200, "200", "404 Gone", [200, 500]):
            with pytest.raises(AssertionError, match="does not match"):
                self.assertStatus(wrong)
        with pytest.raises(AssertionError, match="custom"):
            self.assertStatus(200, "custom")

    def test_assertHeader_ignores_optional_whitespace_around_semicolons_only(self) -> None:
        self.getPage("/")
        assert self.assertHeader("content-type") == "text/html;charset=utf-8"
        self.assertHeader("Content-Type", "text/html;charset=utf-8")
        self.assertHeader("Content-Type", "text/html; charset=utf-8")
        self.assertHeader("Content-Type", "text/html \t;  charset=utf-8")
        for wrong in ("text/html; charset = utf-8", "text/html; charset=UTF-8", "text/html",
                      "text/plain; charset=utf-8", "text/html;charset=utf-8;"):
            with pytest.raises(AssertionError, match="not in headers"):
                self.assertHeader("Content-Type", wrong)
        with pytest.raises(AssertionError, match="'X-Missing' not in headers"):
            self.assertHeader("X-Missing")
        self.assertHeader("Content-Length", 11)

    def test_the_other_header_assertions(self) -> None:
        self.getPage("/headers")
        assert self.assertHeaderIn("Content-Type", ["text/plain", "text/html; charset=utf-8"]) == [
            "text/html; charset=utf-8"]
        with pytest.raises(AssertionError, match="is not one of"):
            self.assertHeaderIn("Content-Type", ["text/plain"])
        assert self.assertHeaderItemValue("Vary", "Cookie") == "Cookie"
        with pytest.raises(AssertionError, match="'Accept' not in the 'Vary' items"):
            self.assertHeaderItemValue("Vary", "Accept")
        with pytest.raises(AssertionError, match="not in headers"):
            self.assertHeaderItemValue("Allow", "GET")
        self.assertNoHeader("X-Missing")
        with pytest.raises(AssertionError, match="'vary' in headers"):
            self.assertNoHeader("vary")
        self.assertNoHeaderItemValue("Vary", "Cookie")
        with pytest.raises(AssertionError, match="in headers"):
            self.assertNoHeaderItemValue("Vary", "Accept-Encoding, Cookie")
        # Whitespace inside a quoted-string is content, not a separator's padding.
        self.assertHeader("X-Param", 'form-data;name="a;b"')
        with pytest.raises(AssertionError):
            self.assertHeader("X-Param", 'form-data;name="a ; b"')

    def test_body_assertions(self) -> None:
        self.getPage("/echo?message=caf%C3%A9")
        self.assertBody("café")
        self.assertBody("café".encode())
        self.assertInBody("af")
        self.assertNotInBody("tea")
        self.assertMatchesBody(r"c.f")
        self.assertMatchesBody(b"^caf")
        with pytest.raises(AssertionError, match="expected body"):
            self.assertBody("cafe")
        with pytest.raises(AssertionError, match="not in body"):
            self.assertInBody("tea")
        with pytest.raises(AssertionError, match="found in body"):
            self.assertNotInBody("caf")
        with pytest.raises(AssertionError, match="No match"):
            self.assertMatchesBody("^af")

    def test_assertErrorPage(self) -> None:
        self.getPage("/boom")
        self.assertStatus(500)
        self.assertErrorPage(500, pattern="ValueError: kaboom")
        with pytest.raises(AssertionError, match="does not match"):
            self.assertErrorPage(500, pattern="KeyError")
        with pytest.raises(AssertionError, match="shows a traceback"):
            self.assertErrorPage(500, pattern=None)
        with pytest.raises(AssertionError, match="not the error page"):
            self.assertErrorPage(404)
        self.getPage("/forbidden")
        self.assertErrorPage(403, "Members only.")
        with pytest.raises(AssertionError, match="not the error page"):
            self.assertErrorPage(403, "Everyone welcome.")
        self.getPage("/")
        with pytest.raises(AssertionError, match="not the error page"):
            self.assertErrorPage(200)

    def test_post_sends_a_form_by_default(self) -> None:
        self.getPage("/form", method="POST", body="a=1&b=x+y")
        self.assertBody("POST a=1,b=x y")
        self.getPage("/form", method="put", body=b'{"a": 1}',
                     headers=[("Content-Type", "application/octet-stream")])
        self.assertBody("PUT ")

    def test_cookies_from_the_last_response(self) -> None:
        self.getPage("/headers")
        assert self.cookies == [("Cookie", "flavour=cherry; Path=/")]
        self.getPage("/cookie", headers=self.cookies)
        self.assertBody("cherry")
        self.getPage("/cookie")
        self.assertBody("none")

    def test_persistent_connections(self) -> None:
        assert not self.persistent
        self.getPage("/peer")
        first = self.body
        self.getPage("/peer")
        assert self.body != first
        self.persistent = True
        assert self.persistent
        self.getPage("/peer")
        kept = self.body
        self.getPage("/peer")
        assert self.body == kept
        assert isinstance(self.HTTP_CONN, http.client.HTTPConnection)
        self.persistent = False
        assert not self.persistent

    def test_a_closed_persistent_connection(self) -> None:
        self.persistent = True
        self.getPage("/close")
        self.assertBody("bye")
        with pytest.raises(http.client.NotConnected):
            self.getPage("/")
        self.set_persistent(True, auto_open=True)
        self.getPage("/close")
        self.getPage("/")
        self.assertBody("Hello world")

    def test_protocol_and_raw_urls(self) -> None:
        self.getPage("/protocol", protocol="HTTP/1.0")
        self.assertBody("HTTP/1.1 1.0")
        self.getPage("/protocol")
        self.assertBody("HTTP/1.1 1.1")
        self.getPage(b"/echo?message=raw%20bytes")
        self.assertBody("raw bytes")
        self.getPage("/echo?message=spaces are escaped")
        self.assertBody("spaces are escaped")

    def test_script_name_is_prepended(self) -> None:
        self.script_name = "/sub"
        assert self.prefix() == "/sub"
        assert self.base().endswith(f":{self.PORT}/sub")
        self.getPage("/echo?message=below")
        self.assertBody("below")
        assert self.url == "/sub/echo?message=below"

    def test_dates_and_skip(self) -> None:
        import datetime

        now = datetime.datetime(2026, 1, 1, 12, 0, 0)
        self.assertEqualDates(now, now + datetime.timedelta(seconds=1))
        with pytest.raises(AssertionError, match="not within"):
            self.assertEqualDates(now, now + datetime.timedelta(seconds=3))
        self.assertEqualDates(now, now + datetime.timedelta(seconds=3), seconds=5)
        with pytest.raises(unittest.SkipTest, match="not today"):
            self.skip("not today")


class TLSTest(helper.CPWebCase):
    """A server with a certificate: the helper switches to https (self-signed, unverified)."""

    certificate_directory: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def setup_class(cls) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise unittest.SkipTest("the 'openssl' command is not installed; it makes the certificate")
        cls.certificate_directory = tempfile.TemporaryDirectory()
        directory = Path(cls.certificate_directory.name)
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-keyout", str(directory / "key.pem"),
             "-out", str(directory / "cert.pem")],
            check=True, capture_output=True, timeout=60,
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        cls.ssl_context = context
        try:
            super().setup_class()
        except BaseException:
            # No teardown_class follows a failed (or skipped) setup_class.
            cls.certificate_directory.cleanup()
            cls.certificate_directory = None
            raise

    @classmethod
    def teardown_class(cls) -> None:
        try:
            super().teardown_class()
        finally:
            if cls.certificate_directory is not None:
                cls.certificate_directory.cleanup()
                cls.certificate_directory = None

    @staticmethod
    def setup_server() -> None:
        directory = Path(TLSTest.certificate_directory.name)  # type: ignore[union-attr]
        drupe.config.update({"server.ssl_certificate": str(directory / "cert.pem"),
                             "server.ssl_private_key": str(directory / "key.pem")})
        drupe.tree.mount(Root())

    def test_pages_come_over_tls(self) -> None:
        assert self.scheme == "https"
        assert self.base() == f"https://127.0.0.1:{self.PORT}"
        self.getPage("/echo?message=secret")
        self.assertBody("secret")
        self.persistent = True
        self.getPage("/peer")
        kept = self.body
        self.getPage("/peer")
        self.assertBody(kept)
        assert isinstance(self.HTTP_CONN.sock, ssl.SSLSocket)


class NoServerTest(helper.CPWebCase):
    def test_without_setup_server_there_is_no_server(self) -> None:
        assert self.PORT == 0
        assert drupe.engine.state != drupe.states.STARTED
        with pytest.raises(RuntimeError, match="no live server"):
            self.getPage("/")


# -- unit tests of the header comparison -------------------------------------------------


@pytest.mark.parametrize(("expected", "actual"), [
    ("text/html; charset=utf-8", "text/html;charset=utf-8"),
    ("text/html;charset=utf-8", "text/html ; charset=utf-8"),
    ("a;b;c", "a ;\tb; c"),
    ('x; q="a;b"', 'x;q="a;b"'),
    (5, "5"),
])
def test_header_values_that_are_equal(expected: Any, actual: str) -> None:
    assert helper.header_values_equal(expected, actual)


@pytest.mark.parametrize(("expected", "actual"), [
    ("text/html; charset=utf-8", "text/html; charset =utf-8"),
    ("text/html; charset=utf-8", "text/html; charset=UTF-8"),
    ("text/html; charset=utf-8", "Text/html; charset=utf-8"),
    ('x; q="a;b"', 'x; q="a ; b"'),
    ("a, b", "a,b"),
    ("a b", "ab"),
])
def test_header_values_that_differ(expected: Any, actual: str) -> None:
    assert not helper.header_values_equal(expected, actual)


# -- the class's life, in fresh processes ------------------------------------------------

_LIFECYCLE = """
    import socket
    import unittest

    import drupe
    from drupe.test import helper

    calls = []


    class Root:
        @drupe.expose
        def index(self):
            return "up"


    class LifeTest(helper.CPWebCase):
        @staticmethod
        def setup_server():
            calls.append("setup_server")
            drupe.tree.mount(Root())

        @classmethod
        def setup_class(cls):
            calls.append("setup_class")
            super().setup_class()

        @classmethod
        def teardown_class(cls):
            calls.append("teardown_class")
            super().teardown_class()
            with socket.socket() as sock:
                refused = sock.connect_ex(("127.0.0.1", cls.PORT)) != 0
            calls.append("port free" if refused else "port busy")
            calls.append("tree empty" if not drupe.tree.apps else "tree kept")
            print("CALLS", calls)

        def test_a(self):
            self.getPage("/")
            self.assertBody("up")
            assert calls == ["setup_class", "setup_server"], calls

        def test_b(self):
            self.test_a()
"""

_EXPECTED_CALLS = ("CALLS ['setup_class', 'setup_server', 'teardown_class', 'port free', "
                   "'tree empty']")


def test_under_pytest_the_server_starts_once_per_class(requires_http_server: None,
                                                       inner_pytest: Any) -> None:
    run = inner_pytest(_LIFECYCLE, "-s")
    assert run.count("passed") == 2, run.output
    assert _EXPECTED_CALLS in run.output


def test_under_plain_unittest_too(requires_http_server: None, run_script: Any) -> None:
    result = run_script(_LIFECYCLE + """
    if __name__ == "__main__":
        unittest.main(exit=False, verbosity=0)
    """)
    assert "OK" in result.stderr, result.stderr
    assert "Ran 2 tests" in result.stderr
    assert _EXPECTED_CALLS in result.stdout
