"""Static files over a real socket (drupe-server-cheroot): traversal attempts sent as raw
bytes, ranges, conditional GET and HEAD as they appear on the wire."""

from __future__ import annotations

import http.client
from typing import Any

import pytest

import drupe
from drupe_testing import LiveServer


class Root:
    @drupe.expose
    def index(self) -> str:
        return "root"


@pytest.fixture
def server(site: Any, live_server: LiveServer) -> LiveServer:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": str(site.static),
                                               "tools.staticdir.index": "index.html"}})
    return live_server


def request_line(target: bytes, method: bytes = b"GET", headers: bytes = b"") -> bytes:
    return (method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + headers + b"\r\n")


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


TRAVERSALS = [
    b"/static/../secret.txt", b"/static/../../../../etc/passwd", b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E/%2E%2E/etc/passwd", b"/static/..%2fsecret.txt", b"/static/..%2Fsecret.txt",
    b"/static/%2e%2e%2fsecret.txt", b"/static/..%5csecret.txt", b"/static/..\\secret.txt",
    b"/static/%252e%252e/secret.txt", b"/static/%252e%252e%252fsecret.txt", b"/static/%00",
    b"/static/css/style.css%00.txt", b"/static/%c0%ae%c0%ae/secret.txt", b"/static/link-out",
    b"/static/dirlink-out/key.txt", b"/static/./../secret.txt", b"/static/css/%2e%2e/%2e%2e/secret.txt",
    b"/static/..;/secret.txt", b"/static/%u002e%u002e/secret.txt",
]


def test_traversal_attempts_are_refused(server: LiveServer) -> None:
    # One server for all of them (starting one per attempt would only cost time).
    for target in TRAVERSALS:
        answer = server.raw(request_line(target))
        assert status_of(answer) in (400, 404), (target, answer[:300])
        assert b"SECRET" not in answer, target
        assert b"root:" not in answer, target


def test_the_server_keeps_serving_after_the_attempts(server: LiveServer, site: Any) -> None:
    for target in (b"/static/../secret.txt", b"/static/%00", b"/static/..%5c"):
        server.raw(request_line(target))
    answer = server.raw(request_line(b"/static/css/style.css"))
    assert status_of(answer) == 200
    assert answer.endswith(site.style)


def test_head_sends_no_body_on_the_wire(server: LiveServer, site: Any) -> None:
    answer = server.raw(request_line(b"/static/big.bin", b"HEAD"))
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 200
    assert f"Content-Length: {site.big_size}".encode() in head
    assert rest == b""


def test_a_range_on_the_wire(server: LiveServer, site: Any) -> None:
    answer = server.raw(request_line(b"/static/big.bin", headers=b"Range: bytes=1000-1999\r\n"))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 206
    assert f"Content-Range: bytes 1000-1999/{site.big_size}".encode() in head
    assert b"Content-Length: 1000" in head
    assert body == site.big()[1000:2000]


def test_multipart_ranges_on_the_wire(server: LiveServer, site: Any) -> None:
    response = server.get("/static/css/style.css", headers={"Range": "bytes=0-3,-4"})
    assert response.status == 206
    assert response.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert int(response.headers["Content-Length"]) == len(response.body)
    assert site.style[:4] in response.body
    assert site.style[-4:] in response.body


ODD_RANGES = [b"Range: bytes=99999999-\r\n", b"Range: bytes=x\r\n",
              b"Range: bytes=" + b"0-0," * 5000 + b"1-1\r\n",
              b"Range: bytes=0-,0-,0-,0-,0-,0-,0-,0-\r\n", b"Range: \xff\xfe\r\n"]


def test_odd_ranges_on_the_wire(server: LiveServer, site: Any) -> None:
    for header in ODD_RANGES:
        answer = server.raw(request_line(b"/static/big.bin", headers=header))
        status = status_of(answer)
        assert status in (200, 400, 416, 431), (header[:40], answer[:300])
        if status == 200:
            # Served once, whole: never amplified.
            assert len(answer) < site.big_size + 1000, header[:40]


def test_conditional_get_on_the_wire(server: LiveServer) -> None:
    first = server.get("/static/js/app.js")
    etag = first.headers["ETag"]
    again = server.get("/static/js/app.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    since = server.get("/static/js/app.js", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status == 304
    assert server.get("/static/js/app.js", headers={"If-Match": '"other"'}).status == 412


def test_a_large_file_streams_completely(server: LiveServer, site: Any) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/static/big.bin")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(site.big_size)
        assert response.read() == site.big()
    finally:
        connection.close()
