"""staticdir: mapping paths to files, indexes, content types, and every escape attempt."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe
from drupe_testing import Client

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


class Root:
    @drupe.expose
    def index(self) -> str:
        return "dynamic root"

    @drupe.expose
    def page(self) -> str:
        return "dynamic page"


def mount(site: Any, **settings: Any) -> None:
    static = {"tools.staticdir.on": True, "tools.staticdir.dir": str(site.static)}
    static.update({f"tools.staticdir.{key}": value for key, value in settings.items()})
    drupe.tree.mount(Root(), "/", {"/static": static})


@pytest.fixture
def served(site: Any, client: Client) -> Client:
    mount(site)
    return client


def test_serves_a_file_with_its_headers(site: Any, served: Client) -> None:
    response = served.get("/static/css/style.css")
    assert response.status == 200
    assert response.body == site.style
    headers = response.headers
    assert headers["Content-Type"] == "text/css"
    assert headers["Content-Length"] == str(len(site.style))
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Last-Modified"] == drupe.lib.httputil.HTTPDate(
        int((site.static / "css" / "style.css").stat().st_mtime))
    assert headers["ETag"].startswith('"')
    assert headers["ETag"].endswith('"')


def test_head_sends_the_same_headers_and_no_body(served: Client) -> None:
    get = served.get("/static/js/app.js")
    head = served.head("/static/js/app.js")
    assert head.status == 200
    assert head.body == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_not_served(served: Client, method: str) -> None:
    response = served.request(method, "/static/css/style.css")
    assert response.status == 404
    assert b"background-color" not in response.body


def test_the_rest_of_the_site_is_untouched(served: Client) -> None:
    assert served.get("/").text == "dynamic root"
    assert served.get("/page").text == "dynamic page"


def test_missing_files_are_404(served: Client) -> None:
    assert served.get("/static/nothing.css").status == 404
    assert served.get("/static/css/nothing/deeper.css").status == 404


def test_a_directory_without_index_is_404_never_a_listing(served: Client) -> None:
    for path in ("/static/sub", "/static/sub/", "/static/css/"):
        response = served.get(path)
        assert response.status == 404
        assert b"style.css" not in response.body


def test_index(site: Any, client: Client) -> None:
    seen: list[Any] = []

    def record() -> None:
        seen.append(drupe.request.is_index)

    mount(site, index="index.html")
    drupe.tree.apps[""].merge({"/static": {"hooks.before_finalize": record}})
    response = client.get("/static/")
    assert response.status == 200
    assert response.body == b"<h1>static index</h1>"
    assert response.headers["Content-Type"] == "text/html"
    assert client.get("/static/docs/").body == b"<h1>docs</h1>"
    assert client.get("/static/sub/").status == 404
    assert seen[:2] == [True, True]


def test_an_index_asked_for_without_slash_is_redirected_by_trailing_slash(site: Any, client: Client) -> None:
    if not drupe.registry.has("drupe.tools", "trailing_slash"):
        pytest.skip("the trailing_slash tool comes from drupe-tool-standard, not installed here")
    mount(site, index="index.html")
    response = client.get("/static/docs")
    assert response.status == 301
    assert response.headers["Location"] == "http://localhost/static/docs/"


def test_relative_dir_joins_root(site: Any, client: Client) -> None:
    drupe.tree.mount(Root(), "/", {"/": {"tools.staticdir.root": str(site.root)},
                                   "/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": "static"}})
    assert client.get("/static/css/style.css").body == site.style


def test_a_relative_dir_without_root_is_a_config_error_naming_the_keys(
        site: Any, client: Client, error_log: list[str]) -> None:
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": "static"}})
    assert client.get("/static/css/style.css").status == 500
    logged = "\n".join(error_log)
    assert "'tools.staticdir.dir'" in logged
    assert "'tools.staticdir.root'" in logged


def test_a_relative_root_is_a_config_error(site: Any, client: Client, error_log: list[str]) -> None:
    with pytest.raises(drupe.ConfigError, match=r"'tools\.staticdir\.root'"):
        drupe.tools.staticdir(root="relative/dir")
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": "static",
                                               "tools.staticdir.root": "relative"}})
    assert client.get("/static/css/style.css").status == 500
    assert any("'tools.staticdir.root'" in message for message in error_log)


def test_section_at_the_root_of_the_site(site: Any, client: Client) -> None:
    drupe.tree.mount(None, "/files", {"/": {"tools.staticdir.on": True,
                                            "tools.staticdir.dir": str(site.static)}})
    assert client.get("/files/css/style.css").body == site.style


def test_match_limits_what_is_served(site: Any, client: Client) -> None:
    mount(site, match=r"\.(css|js)$")
    assert client.get("/static/css/style.css").status == 200
    assert client.get("/static/index.html").status == 404


# -- content types -------------------------------------------------------------------------


def test_content_types_override_mimetypes(site: Any, client: Client) -> None:
    mount(site, content_types={"css": "text/x-special", "unknownext": "application/x-mine"})
    assert client.get("/static/css/style.css").headers["Content-Type"] == "text/x-special"
    assert client.get("/static/data.unknownext").headers["Content-Type"] == "application/x-mine"
    assert client.get("/static/js/app.js").headers["Content-Type"] in (
        "application/javascript", "text/javascript")


def test_unknown_types_are_octet_stream_not_html(served: Client) -> None:
    assert served.get("/static/data.unknownext").headers["Content-Type"] == "application/octet-stream"


@pytest.fixture
def custom_type() -> Iterator[None]:
    mimetypes.types_map[".unknownext"] = "application/x-documented"
    yield
    del mimetypes.types_map[".unknownext"]


def test_mimetypes_types_map_edits_are_honoured(custom_type: None, served: Client) -> None:
    # What the documentation's note in 4.7 says to do.
    assert served.get("/static/data.unknownext").headers["Content-Type"] == "application/x-documented"


def test_file_names_are_not_decoded_twice(served: Client) -> None:
    assert served.get("/static/100%25.txt").body == b"percent"
    assert served.get("/static/%E5%90%8D%E5%89%8D.txt").body == "名前".encode()


def test_empty_and_dot_segments_are_ignored(served: Client, site: Any) -> None:
    assert served.get("/static//css/./style.css").body == site.style


# -- escapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/static/../secret.txt",
    "/static/css/../../secret.txt",
    "/static/%2e%2e/secret.txt",           # the client decodes %2e: PATH_INFO has ".."
    "/static/..%2fsecret.txt",
    "/static/%2E%2E%2Fsecret.txt",
    "/static/..",
    "/static/css/..",
])
def test_dot_dot_is_400(served: Client, error_log: list[str], path: str) -> None:
    response = served.get(path)
    assert response.status == 400
    assert "'..' segment" in response.text
    assert b"SECRET" not in response.body
    assert not error_log


@pytest.mark.parametrize("path", ["/static/..\\secret.txt", "/static/css%5c..%5c..%5csecret.txt",
                                  "/static/css\\style.css"])
def test_backslashes_are_400(served: Client, path: str) -> None:
    response = served.get(path)
    assert response.status == 400
    assert "backslash" in response.text


@pytest.mark.parametrize("path", ["/static/css/style.css%00", "/static/css/style.css%00.txt",
                                  "/static/%00/../secret.txt"])
def test_nul_bytes_are_400(served: Client, path: str) -> None:
    response = served.get(path)
    assert response.status == 400
    assert b"color: blue" not in response.body


@pytest.mark.parametrize("path", ["/static/%252e%252e/secret.txt", "/static/%252e%252e%252fsecret.txt"])
def test_double_encoded_traversal_names_a_missing_file(served: Client, path: str) -> None:
    # PATH_INFO holds "%2e%2e": a file of that name, which does not exist.
    response = served.get(path)
    assert response.status == 404
    assert b"SECRET" not in response.body


@needs_symlinks
def test_a_symlink_leading_outside_is_not_followed(served: Client, error_log: list[str]) -> None:
    assert served.get("/static/link-out").status == 404
    assert not error_log


@needs_symlinks
def test_a_sibling_directory_sharing_the_name_prefix_is_outside(served: Client) -> None:
    # site/static-secret starts with "site/static", but is not inside it.
    response = served.get("/static/dirlink-out/key.txt")
    assert response.status == 404
    assert b"SIBLING" not in response.body


@needs_symlinks
def test_a_symlink_inside_is_served(served: Client, site: Any) -> None:
    assert served.get("/static/link-in").body == site.style


@needs_symlinks
def test_follow_symlinks_serves_links_leading_outside(site: Any, client: Client) -> None:
    mount(site, follow_symlinks=True)
    assert client.get("/static/link-out").body == b"TOP SECRET\n"
    assert client.get("/static/dirlink-out/key.txt").body == b"SIBLING SECRET\n"
    # Only links: the path itself still cannot climb out.
    assert client.get("/static/../secret.txt").status == 400


@needs_symlinks
def test_a_served_directory_that_is_itself_a_symlink(site: Any, client: Client, tmp_path: Any) -> None:
    os.symlink(site.static, tmp_path / "alias")
    drupe.tree.mount(Root(), "/", {"/static": {"tools.staticdir.on": True,
                                               "tools.staticdir.dir": str(tmp_path / "alias")}})
    assert client.get("/static/css/style.css").body == site.style
    assert client.get("/static/link-out").status == 404


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.timeout(10)
def test_a_fifo_is_404_and_never_blocks(site: Any, served: Client) -> None:
    os.mkfifo(site.static / "pipe")
    assert served.get("/static/pipe").status == 404


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads every file; needs an unprivileged user")
def test_an_unreadable_file_is_403(site: Any, served: Client) -> None:
    locked = site.static / "locked.txt"
    locked.write_bytes(b"locked")
    locked.chmod(0)
    try:
        response = served.get("/static/locked.txt")
    finally:
        locked.chmod(0o600)
    assert response.status == 403
    assert b"locked" not in response.body.split(b"<")[0]


# -- bodies and files ----------------------------------------------------------------------


def test_a_large_file_is_read_in_chunks(site: Any, wsgi: Callable[..., Any]) -> None:
    mount(site)
    started = wsgi("/static/big.bin")
    assert started.code == 200
    assert started.headers["Content-Length"] == str(site.big_size)
    assert not isinstance(started.body, list)
    sizes = []
    received = bytearray()
    for chunk in started.body:
        sizes.append(len(chunk))
        received += chunk
    assert max(sizes) <= 65536
    assert len(sizes) >= site.big_size // 65536
    assert bytes(received) == site.big()


def test_the_file_is_closed_when_the_response_ends(site: Any, wsgi: Callable[..., Any],
                                                    open_descriptors: Callable[[], int]) -> None:
    mount(site)
    before = open_descriptors()
    started = wsgi("/static/big.bin")
    next(iter(started.body))
    assert open_descriptors() == before + 1
    started.close()  # the client went away half-way
    assert open_descriptors() == before


@pytest.mark.parametrize(("method", "headers"), [
    ("HEAD", {}),
    ("GET", {"Range": "bytes=99999999-"}),
    ("GET", {"If-None-Match": "*"}),
    ("GET", {"If-Match": '"nope"'}),
])
def test_no_file_stays_open_whatever_the_answer(site: Any, client: Client, method: str,
                                                headers: dict[str, str],
                                                open_descriptors: Callable[[], int]) -> None:
    mount(site)
    before = open_descriptors()
    client.request(method, "/static/big.bin", headers=headers)
    assert open_descriptors() == before


def test_a_file_that_shrinks_while_sent_aborts_the_response(site: Any, wsgi: Callable[..., Any],
                                                            error_log: list[str]) -> None:
    mount(site)
    started = wsgi("/static/big.bin")
    iterator = iter(started.body)
    next(iterator)
    os.truncate(site.static / "big.bin", 100_000)
    with pytest.raises(OSError, match="changed while it was sent"):
        for _ in iterator:
            pass
    assert any("Error while streaming" in message for message in error_log)
