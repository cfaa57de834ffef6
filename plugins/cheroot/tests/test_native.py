"""The native server (``_cpnative_server.CPHTTPServer``): drupe applications without WSGI."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import drupe
from drupe_server_cheroot import NativeServer


class NativeRoot:
    @drupe.expose
    def index(self) -> str:
        return "Hello World!"

    @drupe.expose
    def environ(self, name: str) -> str:
        return repr(drupe.request.wsgi_environ.get(name))

    @drupe.expose
    def details(self, **params: Any) -> str:
        request = drupe.request
        return repr((request.method, request.script_name, request.path_info, sorted(params.items()),
                     request.headers.get("X-Test"), request.scheme, request.local.port,
                     request.remote.ip, request.remote.name))

    @drupe.expose
    def upload(self) -> str:
        return drupe.request.body.read().decode()

    @drupe.expose
    def redirect(self) -> str:
        raise drupe.InternalRedirect("/target", "from=redirect")

    @drupe.expose
    def target(self, **params: Any) -> str:
        previous = drupe.request.prev
        return f"target {sorted(params.items())} after {previous.path_info}"

    @drupe.expose
    def loop(self) -> str:
        raise drupe.InternalRedirect("/loop")

    @drupe.expose
    def fails(self) -> str:
        raise ValueError("boom")

    @drupe.expose
    def stream(self) -> Iterator[bytes]:
        drupe.response.stream = True

        def chunks() -> Iterator[bytes]:
            yield b"one,"
            yield b"two"

        return chunks()

    @drupe.expose
    def overlong(self) -> Iterator[bytes]:
        drupe.response.stream = True
        drupe.response.headers["Content-Length"] = "3"

        def chunks() -> Iterator[bytes]:
            yield b"abcdef"

        return chunks()

    @drupe.expose
    def unicode(self, word: str) -> str:
        return word


def raw_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    # The documentation's foreign application (section "Host a foreign WSGI application").
    start_response("200 OK", [("Content-type", "text/plain")])
    return [b"Hello world!"]


def request(address: tuple[str, int], method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


@pytest.fixture
def native(root: Any) -> tuple[str, int]:
    """The documentation's example, on a free port: CPHTTPServer serving NativeRoot at '/'."""
    from drupe._cpnative_server import CPHTTPServer

    drupe.config.update({"server.socket_port": 0})
    drupe.server.httpserver = CPHTTPServer(drupe.server)
    drupe.tree.mount(NativeRoot(), "/")
    drupe.engine.start()
    address = drupe.server.bound_addr
    assert isinstance(address, tuple)
    return address


def test_the_compat_module_provides_the_native_server() -> None:
    from drupe._cpnative_server import CPHTTPServer, NativeGateway

    assert issubclass(CPHTTPServer, NativeServer)
    assert NativeGateway is drupe.registry.load_all("drupe.compat", "_cpnative_server")[0].NativeGateway


def test_hello_world_without_wsgi(native: tuple[str, int]) -> None:
    server = drupe.server.httpserver
    assert type(server).__name__ == "CPHTTPServer"
    assert server.ready
    assert request(native, "GET", "/")[:2] == (200, b"Hello World!")
    # No WSGI gateway ran: the environ the kernel built has no wsgi.version.
    assert request(native, "GET", "/environ?name=wsgi.version")[:2] == (200, b"None")


def test_the_request_reaches_the_kernel_intact(native: tuple[str, int]) -> None:
    status, body, _ = request(native, "GET", "/details?a=1&b=%C3%A9", headers={"X-Test": "yes"})
    assert status == 200
    assert body.decode() == repr(("GET", "", "/details", [("a", "1"), ("b", "é")], "yes", "http",
                                  native[1], "127.0.0.1", ""))


def test_reverse_dns_names_the_client(root: Any) -> None:
    from drupe._cpnative_server import CPHTTPServer

    try:
        expected = socket.gethostbyaddr("127.0.0.1")[0]
    except OSError:
        expected = "127.0.0.1"
    drupe.config.update({"server.socket_port": 0, "server.reverse_dns": True})
    drupe.server.httpserver = CPHTTPServer(drupe.server)
    drupe.tree.mount(NativeRoot(), "/")
    drupe.engine.start()
    body = request(drupe.server.bound_addr, "GET", "/details")[1].decode()
    assert body.endswith(f"'127.0.0.1', {expected!r})")


def test_a_request_body_is_read_from_the_connection(native: tuple[str, int]) -> None:
    assert request(native, "POST", "/upload", body=b"payload")[:2] == (200, b"payload")


def test_a_chunked_request_body_is_read(native: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*native, timeout=10)
    try:
        connection.request("POST", "/upload", body=iter([b"pay", b"load"]), encode_chunked=True,
                           headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"payload")
    finally:
        connection.close()


def test_utf8_paths_are_decoded(native: tuple[str, int]) -> None:
    assert request(native, "GET", "/unicode/%C3%A9t%C3%A9")[:2] == (200, "été".encode())


def test_an_invalid_path_encoding_is_a_400(native: tuple[str, int]) -> None:
    status, body, _ = request(native, "GET", "/unicode/%FF")
    assert status == 400
    assert b"not valid utf-8" in body


def test_head_sends_headers_only(native: tuple[str, int]) -> None:
    status, body, headers = request(native, "HEAD", "/")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == "12"


def test_internal_redirects_are_followed(native: tuple[str, int]) -> None:
    assert request(native, "GET", "/redirect")[:2] == (
        200, b"target [('from', 'redirect')] after /redirect")


def test_a_redirect_loop_is_a_server_error(native: tuple[str, int], log_messages: list[str]) -> None:
    assert request(native, "GET", "/loop")[0] == 500
    assert any("visited the same URL twice" in message for message in log_messages)


def test_handler_errors_get_the_kernels_error_page(native: tuple[str, int]) -> None:
    status, body, _ = request(native, "GET", "/fails")
    assert status == 500
    assert b"ValueError: boom" in body


def test_streamed_bodies_are_chunked(native: tuple[str, int]) -> None:
    status, body, headers = request(native, "GET", "/stream")
    assert (status, body) == (200, b"one,two")
    assert headers["Transfer-Encoding"] == "chunked"


def test_a_body_longer_than_its_content_length_drops_the_connection(native: tuple[str, int]) -> None:
    client = socket.create_connection(native, timeout=10)
    received = b""
    try:
        client.sendall(b"GET /overlong HTTP/1.1\r\nHost: x\r\n\r\n")
        while chunk := client.recv(4096):
            received += chunk
    finally:
        client.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Content-Length: 3" in head
    # Exactly the announced bytes, then the server closed: nothing leaks into what the
    # client would read as the next response.
    assert body == b"abc"


def test_keep_alive_on_the_native_server(native: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*native, timeout=10)
    try:
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"Hello World!"
        port = connection.sock.getsockname()[1]
        connection.request("GET", "/upload", body=b"x", headers={"Content-Type": "text/plain"})
        assert connection.getresponse().read() == b"x"
        assert connection.sock.getsockname()[1] == port
    finally:
        connection.close()


def test_a_grafted_wsgi_app_is_a_clear_server_error(native: tuple[str, int],
                                                    log_messages: list[str]) -> None:
    drupe.tree.graft(raw_wsgi_app, "/raw")
    status, body, _ = request(native, "GET", "/raw/anything")
    assert status == 500
    assert body == (b"The application at '/raw' is a foreign WSGI application, which the native "
                    b"HTTP server cannot run.")
    logged = [message for message in log_messages if "cannot serve" in message]
    assert len(logged) == 1
    assert "grafted at '/raw'" in logged[0]
    assert "server.type = 'cheroot'" in logged[0]
    # The drupe application next to it is still served.
    assert request(native, "GET", "/")[:2] == (200, b"Hello World!")


def test_nothing_mounted_is_a_404(root: Any) -> None:
    from drupe._cpnative_server import CPHTTPServer

    drupe.config.update({"server.socket_port": 0})
    drupe.server.httpserver = CPHTTPServer(drupe.server)
    drupe.tree.mount(NativeRoot(), "/app")
    drupe.engine.start()
    address = drupe.server.bound_addr
    assert request(address, "GET", "/elsewhere")[:2] == (404, b"Nothing is mounted at this path.")
    assert request(address, "GET", "/app/details")[1].decode().startswith("('GET', '/app', '/details'")


def test_the_native_server_speaks_tls(pki: Any) -> None:
    import ssl

    from drupe._cpnative_server import CPHTTPServer

    drupe.config.update({"server.socket_port": 0, "server.ssl_certificate": pki.certificate,
                         "server.ssl_private_key": pki.private_key})
    drupe.server.httpserver = CPHTTPServer(drupe.server)
    drupe.tree.mount(NativeRoot(), "/")
    drupe.engine.start()
    address = drupe.server.bound_addr
    assert drupe.server.description.startswith("https://")
    context = ssl.create_default_context(cafile=pki.certificate)
    connection = http.client.HTTPSConnection(*address, timeout=10, context=context)
    try:
        connection.request("GET", "/details")
        body = connection.getresponse().read().decode()
    finally:
        connection.close()
    assert "'https'" in body


def test_only_a_drupe_tree_can_be_served() -> None:
    with pytest.raises(drupe.ConfigError, match=r"serves a drupe.Tree of drupe applications"):
        NativeServer(drupe.server, raw_wsgi_app)


def test_cpwsgiserver_is_the_wsgi_server_configured_from_a_server(root: Any, http_get: Any) -> None:
    from drupe._cpwsgi_server import CPWSGIServer

    drupe.config.update({"server.socket_port": 0})
    drupe.server.httpserver = CPWSGIServer(drupe.server)
    drupe.tree.mount(root)
    drupe.tree.graft(raw_wsgi_app, "/raw")
    drupe.engine.start()
    address = drupe.server.bound_addr
    assert http_get(address, "/")[1] == b"Hello World!"
    # The WSGI server runs grafted applications too.
    assert http_get(address, "/raw")[1] == b"Hello world!"
    assert http_get(address, "/environ?name=wsgi.version")[1] == b"(1, 0)"


# Section 5.9.3 of the documentation, with its two imports of cherrypy made imports of
# drupe (a `from cherrypy.x import y` needs a module really named cherrypy).
EXAMPLE = '''\
import drupe as cherrypy

class Root(object):
    @cherrypy.expose
    def index(self):
        return "Hello World!"

if __name__ == '__main__':
    from drupe._cpnative_server import CPHTTPServer
    cherrypy.server.httpserver = CPHTTPServer(cherrypy.server)

    cherrypy.quickstart(Root(), '/')
'''

# Runs the example as a script, on a free port: it announces the port once the engine has
# started, and ends the engine when its standard input is closed.
RUNNER = '''\
import runpy, sys, threading
import drupe

settings = {"server.socket_port": 0, "log.screen": False}
if drupe.registry.has("drupe.engine", "autoreload"):
    settings["engine.autoreload.on"] = False
drupe.config.update(settings)

def announce():
    print(drupe.server.bound_addr[1], type(drupe.server.httpserver).__name__, flush=True)

drupe.engine.subscribe("start", announce, priority=90)

def exit_at_end_of_input():
    sys.stdin.read()
    drupe.engine.exit()

threading.Thread(target=exit_at_end_of_input, daemon=True).start()
runpy.run_path(sys.argv[1], run_name="__main__")
'''


@pytest.mark.timeout(60)
def test_the_documentation_example_runs_as_a_script(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(EXAMPLE)
    (tmp_path / "runner.py").write_text(RUNNER)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LISTEN_")}
    process = subprocess.Popen([sys.executable, "runner.py", "example.py"], cwd=tmp_path,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment, text=True)
    try:
        assert process.stdout is not None
        announcement = process.stdout.readline().split()
        assert announcement, process.stderr.read() if process.stderr else ""
        port, server_class = int(announcement[0]), announcement[1]
        assert server_class == "CPHTTPServer"
        assert request(("127.0.0.1", port), "GET", "/")[:2] == (200, b"Hello World!")
    finally:
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
