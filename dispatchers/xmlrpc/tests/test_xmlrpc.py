"""XML-RPC: calls, faults, config, hostile bodies — with xmlrpc.client.ServerProxy over a socket."""

from __future__ import annotations

import datetime
import xmlrpc.client
from collections.abc import Iterator
from typing import Any

import pytest

import drupe
from drupe_dispatch_xmlrpc import XMLRPCController, XMLRPCDispatcher, patched_path
from drupe_testing import Client, LiveServer


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


class Math:
    @drupe.expose
    def add(self, a: int, b: int) -> int:
        return a + b

    def hidden(self) -> str:
        return "never"


class Service(XMLRPCController):
    math = Math()

    @drupe.expose
    def echo(self, *values: Any) -> Any:
        return values[0] if len(values) == 1 else list(values)

    @drupe.expose
    def greet(self, name: str) -> str:
        return f"Hello, {name}"

    @drupe.expose
    def fail(self) -> None:
        raise ValueError("the service failed")

    @drupe.expose
    def nothing(self) -> None:
        return None

    @drupe.expose
    def missing(self) -> None:
        raise drupe.NotFound()

    @drupe.expose
    def refuse(self) -> None:
        raise xmlrpc.client.Fault(42, "refused on purpose")

    @drupe.expose
    def faulty(self) -> xmlrpc.client.Fault:
        return xmlrpc.client.Fault(43, "returned fault")

    @drupe.expose
    def with_query(self, value: Any, flag: str | None = None) -> str:
        return f"{value}/{flag}"

    @drupe.expose
    def buggy(self) -> None:
        # A TypeError from inside the method is a bug in the method, not bad arguments.
        return len(3)  # type: ignore[arg-type,return-value]

    def _private(self) -> str:
        return "never"


class Root:
    @drupe.expose
    def index(self) -> str:
        return "plain page"


def mount(config: dict[str, Any] | None = None, at: str = "/") -> Root:
    root = Root()
    root.xmlrpc = Service()  # type: ignore[attr-defined]
    conf: dict[str, Any] = {"/": {"request.dispatch": XMLRPCDispatcher()}}
    for section, values in (config or {}).items():
        conf.setdefault(section, {}).update(values)
    drupe.tree.mount(root, at, conf)
    return root


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = LiveServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def proxy(server: LiveServer, path: str = "/xmlrpc/", **kwargs: Any) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(server.url + path, **kwargs)


def call_raw(client: Client, body: bytes, path: str = "/xmlrpc", **kwargs: Any) -> Any:
    response = client.post(path, body=body, headers={"Content-Type": "text/xml", **kwargs})
    assert response.status == 200, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/xml")
    return xmlrpc.client.loads(response.body)


def fault_of(client: Client, body: bytes, path: str = "/xmlrpc") -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as raised:
        call_raw(client, body, path)
    return raised.value


# -- over a real socket, as clients use it ------------------------------------------------


def test_calls_with_server_proxy(live: LiveServer) -> None:
    mount()
    with proxy(live) as server:
        assert server.math.add(2, 3) == 5
        assert server.greet("Zoë") == "Hello, Zoë"
        assert server.echo({"a": [1, 2.5, True]}) == {"a": [1, 2.5, True]}
        stamp = datetime.datetime(2024, 1, 2, 3, 4, 5)
        assert server.echo(xmlrpc.client.DateTime(stamp)) == xmlrpc.client.DateTime(stamp)
        assert server.echo(xmlrpc.client.Binary(b"\x00\xff")).data == b"\x00\xff"


def test_faults_with_server_proxy(live: LiveServer) -> None:
    mount()
    with proxy(live) as server:
        with pytest.raises(xmlrpc.client.Fault) as raised:
            server.fail()
        assert (raised.value.faultCode, raised.value.faultString) == (1, "the service failed")
        with pytest.raises(xmlrpc.client.Fault) as raised:
            server.no_such_method()
        assert raised.value.faultCode == -32601
        assert raised.value.faultString == 'method "no_such_method" is not supported'
        with pytest.raises(xmlrpc.client.Fault) as raised:
            server.math.add(1)
        assert raised.value.faultCode == -32602


def test_the_rpc2_default_path_and_the_root(live: LiveServer) -> None:
    # ServerProxy posts to /RPC2 when the URL has no path: the dispatcher drops it.
    drupe.tree.mount(Service(), "/", {"/": {"request.dispatch": XMLRPCDispatcher()}})
    with xmlrpc.client.ServerProxy(live.url) as server:
        assert server.greet("root") == "Hello, root"
    with proxy(live, "/") as server:
        assert server.greet("slash") == "Hello, slash"


def test_no_redirect_without_the_trailing_slash(live: LiveServer) -> None:
    mount()
    with proxy(live, "/xmlrpc") as server:
        assert server.math.add(1, 1) == 2


def test_allow_none_config(live: LiveServer) -> None:
    mount()
    with proxy(live) as server, pytest.raises(xmlrpc.client.Fault, match="allow_none"):
        server.nothing()
    drupe.tree.apps.clear()
    mount({"/xmlrpc": {"tools.xmlrpc.allow_none": True}})
    with proxy(live, allow_none=True) as server:
        assert server.nothing() is None


def test_production_faults_carry_no_traceback(live: LiveServer, drupe_error_log: list[str]) -> None:
    drupe.config.update({"environment": "production"})
    mount()
    with proxy(live) as server, pytest.raises(xmlrpc.client.Fault) as raised:
        server.fail()
    assert raised.value.faultString == "the service failed"
    assert "Traceback" not in raised.value.faultString
    # The traceback is in the server's error log, not on the wire.
    assert any("ValueError: the service failed" in message for message in drupe_error_log)


# -- in-process, for the details ------------------------------------------------------------


def test_http_errors_become_faults_with_their_status() -> None:
    mount()
    client = Client(drupe.tree)
    fault = fault_of(client, xmlrpc.client.dumps((), "missing").encode())
    assert fault.faultCode == 404
    assert fault.faultString.startswith("404 Not Found")


def test_raised_and_returned_faults_keep_their_code() -> None:
    mount()
    client = Client(drupe.tree)
    assert fault_of(client, xmlrpc.client.dumps((), "refuse").encode()).faultCode == 42
    assert fault_of(client, xmlrpc.client.dumps((), "faulty").encode()).faultCode == 43


def test_a_type_error_inside_the_method_is_fault_1_not_invalid_params() -> None:
    mount()
    fault = fault_of(Client(drupe.tree), xmlrpc.client.dumps((), "buggy").encode())
    assert fault.faultCode == 1


@pytest.mark.parametrize("name", ["math.hidden", "_private", "__init__", "math.__class__", "math..add",
                                  "echo.__globals__", ""])
def test_unexposed_private_and_empty_names_are_not_found(name: str) -> None:
    mount()
    body = xmlrpc.client.dumps((), name or "x").encode()
    if not name:
        body = body.replace(b"<methodName>x</methodName>", b"<methodName></methodName>")
    fault = fault_of(Client(drupe.tree), body)
    assert fault.faultCode in (-32601, -32600)


def test_query_string_params_are_keyword_arguments() -> None:
    mount()
    result = call_raw(Client(drupe.tree), xmlrpc.client.dumps((7,), "with_query").encode(),
                      path="/xmlrpc?flag=on")
    assert result == (("7/on",), None)


def test_a_post_where_nothing_is_mounted_is_a_fault_404() -> None:
    mount()
    fault = fault_of(Client(drupe.tree), xmlrpc.client.dumps((), "x").encode(), path="/nowhere")
    assert fault.faultCode == 404
    assert "/nowhere" in fault.faultString


def test_a_get_where_nothing_is_mounted_is_an_http_404() -> None:
    mount()
    assert Client(drupe.tree).get("/nowhere").status == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
def test_non_post_to_a_controller_is_405(method: str) -> None:
    mount()
    response = Client(drupe.tree).request(method, "/xmlrpc/")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"


def test_plain_pages_still_serve() -> None:
    mount()
    assert Client(drupe.tree).get("/").text == "plain page"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>echo</methodName>
<params><param><value><string>&lol9;</string></value></param></params></methodCall>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE call [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>echo</methodName>
<params><param><value><string>&secret;</string></value></param></params></methodCall>"""

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"not xml at all", id="not-xml"),
    pytest.param(b"<methodCall><methodName>echo</methodName><params>", id="truncated"),
    pytest.param(b"<methodCall><params></params></methodCall>", id="no-method-name"),
    pytest.param(b"<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
                 id="a-fault"),
    pytest.param(b"<methodCall><methodName>echo</methodName><params><param><value><int>12x</int>"
                 b"</value></param></params></methodCall>", id="bad-int"),
    pytest.param(b"<methodCall><methodName>echo</methodName><params><param><value><int>"
                 + b"9" * 100_000 + b"</int></value></param></params></methodCall>", id="huge-int"),
    pytest.param(b"<methodCall><methodName>echo</methodName><params><param><value><base64>abc"
                 b"</base64></value></param></params></methodCall>", id="bad-base64"),
    pytest.param(b"<methodCall><methodName>echo</methodName><params><param><value><boolean>7"
                 b"</boolean></value></param></params></methodCall>", id="bad-boolean"),
    pytest.param(b'<?xml version="1.0" encoding="no-such-codec"?><methodCall/>', id="bad-encoding"),
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(EXTERNAL_ENTITY, id="external-entity"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_calls_are_faults_never_500(body: bytes) -> None:
    mount()
    fault = fault_of(Client(drupe.tree), body)
    assert fault.faultCode in (-32700, -32600)
    assert "passwd" not in fault.faultString
    assert "lollollol" not in fault.faultString


def test_a_body_over_the_limit_is_413() -> None:
    mount({"/xmlrpc": {"tools.xmlrpc.max_body_size": 200}})
    client = Client(drupe.tree)
    assert call_raw(client, xmlrpc.client.dumps(("x",), "echo").encode()) == (("x",), None)
    body = xmlrpc.client.dumps(("x" * 201,), "echo").encode()
    response = client.post("/xmlrpc", body=body, headers={"Content-Type": "text/xml"})
    assert response.status == 413
    assert "tools.xmlrpc.max_body_size" in response.text


def test_a_body_without_length_is_411() -> None:
    mount()
    response = Client(drupe.tree).post("/xmlrpc", body=b"<x/>", headers={"Content-Length": None})
    assert response.status == 411


def test_the_encoding_config() -> None:
    mount({"/xmlrpc": {"tools.xmlrpc.encoding": "iso-8859-1"}})
    response = Client(drupe.tree).post("/xmlrpc", body=xmlrpc.client.dumps(("Zoë ☃",), "echo").encode(),
                                       headers={"Content-Type": "text/xml"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/xml; charset=iso-8859-1"
    assert b"encoding='iso-8859-1'" in response.body
    assert "Zoë".encode("iso-8859-1") in response.body
    assert xmlrpc.client.loads(response.body)[0] == ("Zoë ☃",)


@pytest.mark.parametrize(("key", "value"), [("encoding", "no-such-codec"), ("encoding", 8),
                                            ("allow_none", "yes"), ("max_body_size", 0),
                                            ("max_body_size", "1k"), ("no_such_option", 1)])
def test_bad_config_is_a_startup_error_naming_the_key(key: str, value: Any) -> None:
    mount({"/xmlrpc": {f"tools.xmlrpc.{key}": value}})
    with pytest.raises(drupe.ConfigError, match=rf"tools\.xmlrpc\.{key}"):
        LiveServer().start()
    assert drupe.engine.state == drupe.engine.states.STOPPED


def test_registered_names() -> None:
    import drupe_dispatch_xmlrpc

    assert drupe.dispatch.XMLRPCDispatcher is XMLRPCDispatcher
    assert drupe.tools.xmlrpc is drupe_dispatch_xmlrpc.xmlrpc
    assert drupe.tools.xmlrpc.point is None  # it replaces request.error_response
    assert drupe._cptools.XMLRPCController is XMLRPCController


def test_compat_xmlrpcutil() -> None:
    from drupe.lib import xmlrpcutil

    assert xmlrpcutil.patched_path("/RPC2") == "/"
    assert xmlrpcutil.patched_path("/RPC2/x") == "/x/"
    assert xmlrpcutil.patched_path("/api") == "/api/"
    assert patched_path("/") == "/"
    assert xmlrpcutil.get_xmlrpclib() is xmlrpc.client

    class Legacy:
        """A CherryPy-style endpoint written with the helpers directly."""

        @drupe.expose
        def index(self) -> Any:
            params, method = xmlrpcutil.process_body()
            if method == "ERRORMETHOD":
                try:
                    raise ValueError("bad call")
                except ValueError:
                    xmlrpcutil.on_error()
                return drupe.response.body
            xmlrpcutil.respond(f"{method}{params}")
            return drupe.response.body

    drupe.tree.mount(Legacy(), "/")
    client = Client(drupe.tree)
    assert call_raw(client, xmlrpc.client.dumps((1,), "m").encode(), path="/") == (("m(1,)",), None)
    with pytest.raises(xmlrpc.client.Fault, match="bad call"):
        call_raw(client, b"junk", path="/")


def test_the_short_name_selects_it() -> None:
    root = Root()
    root.xmlrpc = Service()  # type: ignore[attr-defined]
    drupe.tree.mount(root, "/", {"/": {"request.dispatch": "xmlrpc"}})
    assert call_raw(Client(drupe.tree), xmlrpc.client.dumps((1, 2), "math.add").encode()) == ((3,), None)
