"""An error page drops the headers that described the original entity, and only those."""

from __future__ import annotations

import pytest
from kernel_support import call, mount

import drupe

ENTITY = {
    "Accept-Ranges": "bytes", "Age": "3", "ETag": '"v1"', "Location": "/elsewhere",
    "Retry-After": "10", "Vary": "Accept", "Content-Encoding": "gzip",
    "Expires": "Sat, 01 Jan 2000 00:00:00 GMT", "Content-Location": "/x",
    "Content-MD5": "Q2hlY2sgSW50ZWdyaXR5IQ==", "Last-Modified": "Sat, 01 Jan 2000 00:00:00 GMT",
}


class App:
    @drupe.expose
    def fail(self, status: str = "404") -> str:
        headers = drupe.response.headers
        for name, value in ENTITY.items():
            headers[name.lower()] = value  # any case: the map title-cases the key
        headers["Content-Range"] = "bytes */100"
        headers["X-Kept"] = "yes"
        headers["Cache-Control"] = "no-cache"
        raise drupe.HTTPError(int(status))


@pytest.mark.parametrize("status", [404, 416, 500])
def test_entity_headers_are_dropped(status: int) -> None:
    mount(App())
    result = call(path=f"/fail?status={status}")
    assert result.code == status
    for name in ENTITY:
        assert result.header(name) is None, name
    # Content-Range describes the resource's size on a 416, so it stays there only.
    assert result.header("Content-Range") == ("bytes */100" if status == 416 else None)
    assert result.header("X-Kept") == "yes"
    assert result.header("Cache-Control") == "no-cache"
    # The error page's own length, not the original entity's.
    assert result.header("Content-Length") == str(len(result.body))
