"""The in-process client: the environ it builds, how it drives WSGI apps, what it returns.

Foreign WSGI callables written here record what they receive, so the environ is checked
key by key; ``wsgiref.validate`` (the standard library's PEP 3333 checker) double-checks
the client as a server. drupe applications show the client serving the real pipeline,
error pages included.
"""

from __future__ import annotations

import sys
import wsgiref.validate
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import drupe
from drupe_testing import Client, Response, WSGIProtocolError

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class Recorder:
    """A WSGI app that records each environ (and the body it read) and answers 200."""

    def __init__(self, body: bytes = b"ok", headers: list[tuple[str, str]] | None = None) -> None:
        self.environ: Environ = {}
        self.input = b""
        self.body = body
        self.headers = headers or [("Content-Type", "text/plain")]

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        self.environ = environ
        length = environ.get("CONTENT_LENGTH", "")
        # read() with one argument, as wsgiref.validate insists; -1 reads everything.
        self.input = environ["wsgi.input"].read(int(length) if length.isdigit() else -1)
        start_response("200 OK", list(self.headers))
        return [self.body]


class ClosingBody:
    """A body iterable that records whether the server closed it."""

    def __init__(self, chunks: list[bytes | str], fail_at: int | None = None,
                 close_error: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.close_error = close_error
        self.closed = 0

    def __iter__(self) -> Iterator[bytes | str]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise RuntimeError("the body broke")
            yield chunk

    def close(self) -> None:
        self.closed += 1
        if self.close_error is not None:
            raise self.close_error


def app_returning(body: Any, status: str = "200 OK",
                  headers: list[tuple[str, str]] | None = None) -> Callable[..., Any]:
    def app(environ: Environ, start_response: StartResponse) -> Any:
        start_response(status, headers if headers is not None else [("Content-Type", "text/plain")])
        return body

    return app


# -- the environ -------------------------------------------------------------------------


def test_environ_has_every_required_key_with_its_type() -> None:
    app = Recorder()
    Client(app).get("/a/b?x=1")
    environ = app.environ
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/a/b"
    assert environ["QUERY_STRING"] == "x=1"
    assert environ["SERVER_NAME"] == "localhost"
    assert environ["SERVER_PORT"] == "80"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"] == "54321"
    assert environ["HTTP_HOST"] == "localhost"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is False
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert hasattr(environ["wsgi.errors"], "write")
    assert "CONTENT_LENGTH" not in environ
    assert "CONTENT_TYPE" not in environ
    assert all(type(value) is str for key, value in environ.items() if not key.startswith("wsgi."))


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD", "PUT", "DELETE"])
def test_the_standard_pep_3333_validator_accepts_the_client_as_a_server(method: str) -> None:
    recorder = Recorder(body=b"" if method == "HEAD" else b"ok")
    response = Client(wsgiref.validate.validator(recorder)).request(
        method, "/x?y=1", body=b"data" if method in ("POST", "PUT") else None)
    assert response.status == 200


def test_path_info_is_the_percent_decoded_path_bytes_as_latin1() -> None:
    app = Recorder()
    client = Client(app)
    client.get("/caf%C3%A9/a%2Fb")
    assert app.environ["PATH_INFO"] == b"/caf\xc3\xa9/a/b".decode("latin-1")
    client.get("/café")  # a str URL is encoded as UTF-8 first, as a browser does
    assert app.environ["PATH_INFO"] == "/café".encode().decode("latin-1")
    client.get(b"/raw%FF")
    assert app.environ["PATH_INFO"] == "/raw\xff"


def test_query_string_stays_encoded_and_unsafe_characters_are_escaped() -> None:
    app = Recorder()
    client = Client(app)
    client.get("/echo?message=Hello world&x=%F4")
    assert app.environ["QUERY_STRING"] == "message=Hello%20world&x=%F4"
    client.get("/p", params={"a": "1 2", "b": ["x", "y"]})
    assert app.environ["QUERY_STRING"] == "a=1+2&b=x&b=y"
    client.get("/p?z=0", params=[("a", "1")])
    assert app.environ["QUERY_STRING"] == "z=0&a=1"
    client.get(b"/raw?a b\xff")
    assert app.environ["QUERY_STRING"] == "a b\xff"


def test_a_fragment_is_not_sent() -> None:
    app = Recorder()
    Client(app).get("/page?q=1#section")
    assert (app.environ["PATH_INFO"], app.environ["QUERY_STRING"]) == ("/page", "q=1")


def test_script_name_takes_the_mount_point_out_of_the_path() -> None:
    app = Recorder()
    client = Client(app, script_name="/app/")
    client.get("/app/x/y")
    assert (app.environ["SCRIPT_NAME"], app.environ["PATH_INFO"]) == ("/app", "/x/y")
    client.get("/app")
    assert (app.environ["SCRIPT_NAME"], app.environ["PATH_INFO"]) == ("/app", "")
    with pytest.raises(ValueError, match="outside the client's script_name"):
        client.get("/application")


def test_server_address_scheme_and_host_follow_the_client_and_absolute_urls() -> None:
    app = Recorder()
    Client(app, host="example.org", port=8080).get("/")
    assert (app.environ["SERVER_NAME"], app.environ["SERVER_PORT"]) == ("example.org", "8080")
    assert app.environ["HTTP_HOST"] == "example.org:8080"
    Client(app, scheme="https", host="secure.test").get("/")
    assert app.environ["wsgi.url_scheme"] == "https"
    assert (app.environ["SERVER_PORT"], app.environ["HTTP_HOST"]) == ("443", "secure.test")
    Client(app).get("https://other.test:8443/p?q=1")
    assert app.environ["wsgi.url_scheme"] == "https"
    assert app.environ["HTTP_HOST"] == "other.test:8443"
    assert (app.environ["PATH_INFO"], app.environ["QUERY_STRING"]) == ("/p", "q=1")


def test_headers_become_http_variables_and_repeats_are_joined() -> None:
    app = Recorder()
    client = Client(app)
    client.get("/", headers=[("X-Thing", "a"), ("x-thing", "b"), ("Accept-Language", "fr"),
                             ("Cookie", "a=1"), ("Cookie", "b=2")])
    assert app.environ["HTTP_X_THING"] == "a, b"
    assert app.environ["HTTP_ACCEPT_LANGUAGE"] == "fr"
    assert app.environ["HTTP_COOKIE"] == "a=1; b=2"
    client.get("/", headers={"Host": "virtual.test", "X-Raw": b"caf\xe9", "X-Number": 5})
    assert app.environ["HTTP_HOST"] == "virtual.test"
    assert app.environ["HTTP_X_RAW"] == "caf\xe9"
    assert app.environ["HTTP_X_NUMBER"] == "5"


def test_none_removes_a_default_header_and_text_outside_latin1_is_refused() -> None:
    app = Recorder()
    client = Client(app)
    client.post("/", headers={"Host": None, "Content-Length": None}, body=b"abc")
    assert "HTTP_HOST" not in app.environ
    assert "CONTENT_LENGTH" not in app.environ
    with pytest.raises(ValueError, match="outside latin-1"):
        client.get("/", headers={"X-Name": "Łukasz"})


def test_bodies_set_content_type_and_length() -> None:
    app = Recorder()
    client = Client(app)
    client.post("/", data={"a": "1", "b": "x y"})
    assert app.environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert app.environ["CONTENT_LENGTH"] == "9"
    assert app.input == b"a=1&b=x+y"
    client.put("/", json={"k": [1, 2]})
    assert app.environ["CONTENT_TYPE"] == "application/json"
    assert app.input == b'{"k": [1, 2]}'
    assert app.environ["CONTENT_LENGTH"] == str(len(app.input))
    client.patch("/", body="é")
    assert "CONTENT_TYPE" not in app.environ
    assert (app.environ["CONTENT_LENGTH"], app.input) == ("2", "é".encode())
    client.post("/")
    assert app.environ["CONTENT_LENGTH"] == "0"
    client.post("/", body=b"x", headers={"Content-Type": "text/csv"})
    assert app.environ["CONTENT_TYPE"] == "text/csv"
    with pytest.raises(TypeError, match="at most one"):
        client.post("/", data={"a": 1}, json={"a": 1})


def test_malformed_requests_are_sent_as_given() -> None:
    app = Recorder()
    client = Client(app)
    client.request("brew", "/", headers={"Content-Length": "-1"}, body=b"12345",
                   protocol="HTTP/9.9")
    assert app.environ["REQUEST_METHOD"] == "brew"
    assert app.environ["CONTENT_LENGTH"] == "-1"
    assert app.environ["SERVER_PROTOCOL"] == "HTTP/9.9"
    assert app.input == b"12345"
    client.get("/", headers={"Transfer-Encoding": "chunked"}, body=b"zz\r\n")
    assert "CONTENT_LENGTH" not in app.environ
    assert app.environ["HTTP_TRANSFER_ENCODING"] == "chunked"


def test_environ_overrides_apply_last() -> None:
    app = Recorder()
    client = Client(app, environ={"wsgi.url_scheme": "https", "X_EXTRA": "1"})
    client.get("/", environ={"REMOTE_ADDR": "10.0.0.9"})
    assert (app.environ["wsgi.url_scheme"], app.environ["X_EXTRA"]) == ("https", "1")
    assert app.environ["REMOTE_ADDR"] == "10.0.0.9"


def test_wsgi_errors_collects_what_the_app_writes() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        environ["wsgi.errors"].write("something went wrong\n")
        start_response("200 OK", [])
        return []

    client = Client(app)
    client.get("/")
    assert client.errors.getvalue() == "something went wrong\n"


# -- driving the app ---------------------------------------------------------------------


def test_the_body_iterable_is_consumed_and_closed() -> None:
    body = ClosingBody([b"a", b"", b"bc"])
    response = Client(app_returning(body)).get("/")
    assert response.body == b"abc"
    assert body.closed == 1


def test_the_body_is_closed_when_iterating_fails_and_the_error_propagates() -> None:
    body = ClosingBody([b"a", b"b"], fail_at=1, close_error=OSError("close failed too"))
    with pytest.raises(RuntimeError, match="the body broke"):
        Client(app_returning(body)).get("/")
    assert body.closed == 1


def test_an_error_in_close_alone_propagates() -> None:
    body = ClosingBody([b"a"], close_error=OSError("close failed"))
    with pytest.raises(OSError, match="close failed"):
        Client(app_returning(body)).get("/")


def test_the_body_is_closed_when_a_chunk_breaks_the_protocol() -> None:
    body = ClosingBody([b"a", "text"])
    with pytest.raises(WSGIProtocolError, match="yielded str"):
        Client(app_returning(body)).get("/")
    assert body.closed == 1


def test_an_exception_raised_by_the_app_reaches_the_test() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        raise KeyError("from the app")

    with pytest.raises(KeyError, match="from the app"):
        Client(app).get("/")


def test_the_legacy_write_callable_is_supported() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"returned"]

    assert Client(app).get("/").body == b"written returned"


def test_exc_info_replaces_the_status_before_the_body_started() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"error"]

    response = Client(app).get("/")
    assert (response.status, response.body) == (500, b"error")


def test_exc_info_after_the_body_started_reraises_the_error() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        yield b"never"

    with pytest.raises(ValueError, match="too late"):
        Client(app).get("/")


@pytest.mark.parametrize(("status", "headers", "message"), [
    ("200", [], "not 'NNN Reason-Phrase'"),
    (b"200 OK", [], "must be a str"),
    ("200 OK", (("A", "b"),), "must be a list"),
    ("200 OK", [("A", b"b")], "must be str"),
    ("200 OK", [("A", "b\r\nInjected: 1")], "CR, LF or NUL"),
    ("200 OK", [("Connection", "close")], "hop-by-hop"),
    ("200 OK", [("X-Name", "Łukasz")], "latin-1"),
])
def test_start_response_arguments_are_checked(status: Any, headers: Any, message: str) -> None:
    with pytest.raises(WSGIProtocolError, match=message):
        Client(app_returning([b""], status=status, headers=headers)).get("/")


def test_an_app_that_never_starts_the_response_is_reported() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        return []

    with pytest.raises(WSGIProtocolError, match="without calling start_response"):
        Client(app).get("/")


def test_a_second_start_response_without_exc_info_is_reported() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        start_response("200 OK", [])
        return []

    with pytest.raises(WSGIProtocolError, match="second time"):
        Client(app).get("/")


def test_a_head_body_is_handed_over_untouched() -> None:
    # A server drops it on the wire; in-process the test sees what the app produced.
    response = Client(app_returning([b"should not be here"])).head("/")
    assert response.body == b"should not be here"


# -- the response ------------------------------------------------------------------------


def test_response_fields() -> None:
    headers = [("Content-Type", "application/json; charset=latin-1"), ("Vary", "Accept"),
               ("vary", "Cookie"), ("Set-Cookie", "a=1, 2"), ("Set-Cookie", "b=3")]
    response = Client(app_returning([b'{"t": "\xe9"}'], "201 Created", headers)).get("/")
    assert isinstance(response, Response)
    assert (response.status, response.reason, response.status_line) == (201, "Created", "201 Created")
    assert response.header_list == headers
    assert response.headers["VARY"] == "Accept, Cookie"
    assert response.headers.get_all("set-cookie") == ["a=1, 2", "b=3"]
    assert "content-type" in response.headers
    assert "X-Missing" not in response.headers
    assert list(response.headers) == ["Content-Type", "Vary", "Set-Cookie"]
    assert len(response.headers) == 3
    assert response.content_type == "application/json"
    assert response.charset == "latin-1"
    assert response.text == '{"t": "é"}'
    assert response.json() == {"t": "é"}
    assert response.environ is not None
    assert response.environ["PATH_INFO"] == "/"
    assert repr(response) == "<Response '201 Created', 10 bytes>"


# -- drupe applications ------------------------------------------------------------------


class Root:
    @drupe.expose
    def index(self) -> str:
        return "index"

    @drupe.expose
    def echo(self, message: str) -> str:
        return message

    @drupe.expose
    def form(self, **params: str) -> str:
        return ",".join(f"{key}={value}" for key, value in sorted(params.items()))

    @drupe.expose
    def where(self) -> str:
        request = drupe.request
        return f"{request.script_name}|{request.path_info}|{request.base}"

    @drupe.expose
    def boom(self) -> str:
        raise ValueError("the handler failed")


def test_a_drupe_tree_is_served_in_process(client: Client) -> None:
    drupe.tree.mount(Root())
    response = client.get("/echo", params={"message": "héllo"})
    assert (response.status, response.text) == (200, "héllo")
    assert response.headers["Content-Type"] == "text/html;charset=utf-8"
    assert client.post("/form", data={"b": "2", "a": "1"}).text == "a=1,b=2"


def test_head_on_a_drupe_app_has_the_get_headers_and_no_body(client: Client) -> None:
    drupe.tree.mount(Root())
    get = client.get("/echo?message=12345")
    head = client.head("/echo?message=12345")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == "5"


def test_an_application_mounted_below_the_root(client: Client) -> None:
    app = drupe.tree.mount(Root(), "/shop")
    assert client.get("/shop/where").text == "/shop|/where|http://localhost"
    direct = Client(app, script_name="/shop", host="shop.test", port=8000)
    assert direct.get("/shop/where").text == "/shop|/where|http://shop.test:8000"
    assert client.get("/elsewhere").status == 404


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/missing", {}, 404),
    ("GET", "/echo?message=A+bient%F4t", {}, 404),
    ("GET", "/boom", {}, 500),
    ("POST", "/form", {"headers": {"Content-Length": "abc"}, "body": b"a=1"}, 400),
    ("GET", "/", {"headers": {"Host": None}}, 400),
])
def test_drupe_error_answers(client: Client, method: str, path: str, kwargs: dict[str, Any],
                             status: int) -> None:
    drupe.tree.mount(Root())
    response = client.request(method, path, **kwargs)
    assert response.status == status
    assert response.content_type == "text/html"
    assert f"<title>{response.status_line}</title>" in response.text


def test_client_repr_names_the_app_and_address() -> None:
    client = Client(drupe.tree, host="h.test", port=81, script_name="/s")
    assert repr(client).endswith("at http://h.test:81/s>")
