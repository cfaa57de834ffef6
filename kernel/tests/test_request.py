"""The request pipeline: hook points, errors, redirects, streaming, headers and params."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_support import access_lines, call, call_environ, error_text, make_environ, mount

import drupe
from drupe import HookMap
from drupe._request import hookpoints

ALL_POINTS = ["on_start_resource", "before_request_body", "before_handler", "before_finalize",
              "on_end_resource", "before_error_response", "after_error_response",
              "on_end_request"]


def recorder_config(log: list[str]) -> dict[str, Any]:
    """Config attaching one recording hook at every hook point."""
    def make(point: str) -> Any:
        return lambda: log.append(point)

    return {f"hooks.{point}": make(point) for point in ALL_POINTS}


class Pages:
    @drupe.expose
    def index(self) -> str:
        return "index"

    @drupe.expose
    def fail(self, **params: Any) -> str:
        raise ValueError("deliberate failure")

    @drupe.expose
    def forbidden(self) -> str:
        raise drupe.HTTPError(403, "Go <away> & stay")

    @drupe.expose
    def post(self, **params: Any) -> str:
        return repr(sorted(params.items()))


# ---------------------------------------------------------------------------
# Hook points


def test_hook_point_order_on_success() -> None:
    log: list[str] = []
    mount(Pages(), config={"/": recorder_config(log)})
    assert call(path="/").text == "index"
    assert log == ["on_start_resource", "before_request_body", "before_handler",
                   "before_finalize", "on_end_resource", "on_end_request"]


def test_hook_point_order_on_http_error() -> None:
    log: list[str] = []
    mount(Pages(), config={"/": recorder_config(log)})
    assert call(path="/forbidden").code == 403
    # An HTTPError still passes through before_finalize; no error-response hooks.
    assert log == ["on_start_resource", "before_request_body", "before_handler",
                   "before_finalize", "on_end_resource", "on_end_request"]


def test_hook_point_order_on_unexpected_error() -> None:
    log: list[str] = []
    mount(Pages(), config={"/": recorder_config(log)})
    assert call(path="/fail").code == 500
    assert log == ["on_start_resource", "before_request_body", "before_handler",
                   "on_end_resource", "before_error_response", "after_error_response",
                   "on_end_request"]


def test_hookpoints_list_is_cherrypys() -> None:
    assert sorted(hookpoints) == sorted(ALL_POINTS)
    with pytest.raises(ValueError, match="not a hook point"):
        HookMap().attach("before_everything", lambda: None)


def test_hookmap_priorities_and_ties_in_attach_order() -> None:
    order: list[str] = []
    hooks = HookMap()

    def make(name: str) -> Any:
        return lambda: order.append(name)

    hooks.attach("before_handler", make("b50-first"))
    hooks.attach("before_handler", make("c90"), priority=90)
    hooks.attach("before_handler", make("a10"), priority=10)
    hooks.attach("before_handler", make("b50-second"), priority=50)
    own = make("own-priority-20")
    own.priority = 20
    hooks.attach("before_handler", own)
    hooks.run("before_handler")
    assert order == ["a10", "own-priority-20", "b50-first", "b50-second", "c90"]
    assert [hook.priority for hook in hooks["before_handler"]] == [10, 20, 50, 50, 90]
    copy = hooks.copy()
    copy.attach("before_handler", make("extra"))
    assert len(hooks["before_handler"]) == 5


def test_hook_keyword_arguments_and_repr() -> None:
    received: list[Any] = []
    hooks = HookMap()
    hooks.attach("on_end_request", lambda level: received.append(level), level=3)
    hooks.run("on_end_request")
    assert received == [3]
    assert "level=3" in repr(hooks["on_end_request"][0])


def test_tools_with_equal_priority_run_in_config_order() -> None:
    order: list[str] = []
    for name in ("zeta", "alpha"):
        setattr(drupe.tools, name, drupe.Tool("before_handler",
                                              lambda who=name: order.append(who)))
    mount(Pages(), config={"/": {"tools.zeta.on": True, "tools.alpha.on": True}})
    call(path="/")
    assert order == ["zeta", "alpha"]


def test_failsafe_hooks_run_after_a_failure() -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise ValueError("hook failure")

    def skipped() -> None:
        ran.append("skipped")

    def safe() -> None:
        ran.append("safe")

    safe.failsafe = True  # type: ignore[attr-defined]

    class Hooks(drupe.Tool):
        def __init__(self) -> None:
            super().__init__("before_handler", broken, priority=10)

        def _setup(self) -> None:
            super()._setup()
            drupe.request.hooks.attach("before_handler", skipped, priority=20)
            drupe.request.hooks.attach("before_handler", safe, priority=30)

    drupe.tools.failsafe_demo = Hooks()
    mount(Pages(), config={"/": {"tools.failsafe_demo.on": True}})
    result = call(path="/")
    assert result.code == 500
    assert ran == ["broken", "safe"]


def test_failsafe_hooks_run_after_an_http_error_in_a_hook() -> None:
    ran: list[str] = []

    def deny() -> None:
        raise drupe.HTTPError(401)

    drupe.tools.deny = drupe.Tool("before_handler", deny, priority=1)
    hooks = HookMap()
    hooks.attach("before_finalize", lambda: ran.append("finalize-safe"), failsafe=True)

    mount(Pages(), config={"/": {"tools.deny.on": True,
                                 "hooks.before_finalize": hooks["before_finalize"][0]}})
    result = call(path="/")
    assert result.code == 401
    assert ran == ["finalize-safe"]


def test_request_hooks_attached_by_a_handler_are_private() -> None:
    seen: list[str] = []

    class App:
        @drupe.expose
        def index(self, tag: str = "") -> str:
            if tag:
                drupe.request.hooks.attach("on_end_request", lambda: seen.append(tag))
            return "ok"

    mount(App())
    call(path="/?tag=one")
    call(path="/")
    call(path="/?tag=two")
    assert seen == ["one", "two"]


# ---------------------------------------------------------------------------
# HTTPError and error pages


def test_http_error_status_and_escaped_message() -> None:
    mount(Pages())
    result = call(path="/forbidden")
    assert result.status == "403 Forbidden"
    assert "Go &lt;away&gt; &amp; stay" in result.text
    assert "<away>" not in result.text
    assert result.header("Content-Type") == "text/html;charset=utf-8"
    assert result.header("Content-Length") == str(len(result.body))


def test_http_error_attributes() -> None:
    error = drupe.HTTPError(404)
    assert (error.status, error.code, error.reason) == (404, 404, "Not Found")
    custom = drupe.HTTPError("499 Client Went Away")
    assert (custom.code, custom.reason) == (499, "Client Went Away")
    with pytest.raises(ValueError, match="between 400 and 599"):
        drupe.HTTPError(302)
    with pytest.raises(drupe.HTTPError) as info:
        drupe.HTTPError("abc")  # an invalid status is itself a server error
    assert info.value.code == 500
    assert "non-numeric" in str(info.value)


def test_http_error_handle_context_manager() -> None:
    class App:
        @drupe.expose
        def item(self, key: str) -> str:
            with drupe.HTTPError.handle(KeyError, 404, "No such item"):
                return {"a": "found"}[key]

        @drupe.expose
        def number(self, value: str) -> str:
            with drupe.HTTPError.handle((ValueError, TypeError), 400):
                return str(int(value))

    mount(App())
    assert call(path="/item?key=a").text == "found"
    missing = call(path="/item?key=b")
    assert missing.code == 404
    assert "No such item" in missing.text
    bad = call(path="/number?value=x")
    assert bad.code == 400
    assert "invalid literal" in bad.text


def test_an_http_error_can_be_the_handler() -> None:
    def dispatch(path_info: str) -> None:
        request = drupe.serving.request
        request.config = dict(drupe.config)
        request.handler = drupe.HTTPError(410, "gone for good")
        request.is_index = False

    mount(Pages(), config={"/": {"request.dispatch": dispatch}})
    result = call(path="/anything")
    assert result.code == 410
    assert "gone for good" in result.text


def test_not_found() -> None:
    mount(Pages(), "/app")
    result = call(path="/app/nowhere")
    assert result.code == 404
    assert "The path &#x27;/app/nowhere&#x27; was not found." in result.text or \
        "The path '/app/nowhere' was not found." in result.text
    assert drupe.NotFound("/x").code == 404


def test_custom_error_page_template_file(tmp_path: Path) -> None:
    page = tmp_path / "404.html"
    page.write_text("<h1>Lost: %(status)s</h1><p>%(message)s</p><i>%(version)s</i>",
                    encoding="utf-8")
    mount(Pages(), config={"/": {"error_page.404": str(page)}})
    result = call(path="/missing")
    assert result.code == 404
    assert result.text.startswith("<h1>Lost: 404 Not Found</h1>")
    assert f"<i>{drupe.__version__}</i>" in result.text
    # Other statuses keep the default page.
    assert "<h1>Lost" not in call(path="/forbidden").text


def test_custom_error_page_callable_and_default() -> None:
    calls: list[dict[str, Any]] = []

    def page(**kwargs: Any) -> str:
        calls.append(kwargs)
        return f"custom {kwargs['status']}: {kwargs['message']}"

    mount(Pages(), config={"/": {"error_page.default": page}})
    result = call(path="/forbidden")
    assert result.text == "custom 403 Forbidden: Go &lt;away&gt; &amp; stay"
    assert set(calls[0]) == {"status", "message", "traceback", "version"}
    # The page's text went out as UTF-8, and the Content-Type says so.
    assert result.header("Content-Type") == "text/html;charset=utf-8"
    assert call(path="/fail").text.startswith("custom 500 Internal Server Error")


def test_error_page_callable_returning_bytes_or_chunks() -> None:
    mount(Pages(), config={"/": {"error_page.403": lambda **kw: b"bytes page",
                                 "error_page.404": lambda **kw: iter(["a", b"b"])}})
    assert call(path="/forbidden").body == b"bytes page"
    assert call(path="/missing").body == b"ab"


def test_a_failing_custom_error_page_falls_back(tmp_path: Path,
                                                drupe_logs: pytest.LogCaptureFixture) -> None:
    def broken(**kwargs: Any) -> str:
        raise RuntimeError("page broke")

    mount(Pages(), config={"/": {"error_page.403": broken,
                                 "error_page.404": str(tmp_path / "missing.html")}})
    result = call(path="/forbidden")
    assert result.code == 403
    assert "In addition, the custom error page failed." in result.text
    assert "page broke" in result.text  # show_tracebacks is on by default
    assert "page broke" in error_text(drupe_logs)
    missing = call(path="/missing")
    assert missing.code == 404
    assert "In addition, the custom error page failed." in missing.text


def test_an_error_page_callable_returning_nonsense(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Pages(), config={"/": {"error_page.403": lambda **kw: 42}})
    result = call(path="/forbidden")
    assert result.code == 403
    assert "In addition, the custom error page failed." in result.text


# ---------------------------------------------------------------------------
# Unexpected errors, tracebacks, throw_errors


def test_show_tracebacks_on() -> None:
    mount(Pages())
    result = call(path="/fail")
    assert result.status == "500 Internal Server Error"
    assert "Traceback (most recent call last)" in result.text
    assert "ValueError: deliberate failure" in result.text


def test_show_tracebacks_off() -> None:
    mount(Pages(), config={"/": {"request.show_tracebacks": False}})
    result = call(path="/fail")
    assert result.code == 500
    assert "Traceback" not in result.text
    assert "deliberate failure" not in result.text


def test_no_traceback_text_in_production(drupe_logs: pytest.LogCaptureFixture) -> None:
    drupe.config.update({"environment": "production"})
    mount(Pages())
    for path in ("/fail", "/forbidden", "/missing", "/index?unexpected=1"):
        result = call(path=path)
        assert result.code >= 400
        assert "Traceback" not in result.text
        assert "File &quot;" not in result.text
        assert 'File "' not in result.text
    # The log still has it.
    assert "ValueError: deliberate failure" in error_text(drupe_logs)


def test_errors_are_logged_with_the_request_line(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Pages())
    call(path="/fail?x=1")
    text = error_text(drupe_logs)
    assert "Error while handling 'GET /fail?x=1 HTTP/1.1'" in text
    assert "ValueError: deliberate failure" in text


def test_throw_errors_lets_the_exception_out() -> None:
    mount(Pages(), config={"/": {"request.throw_errors": True}})
    with pytest.raises(ValueError, match="deliberate failure"):
        call(path="/fail")
    assert call(path="/").text == "index"


def test_throws_are_never_trapped() -> None:
    class Stop(Exception):
        pass

    class App:
        @drupe.expose
        def index(self) -> str:
            raise Stop

    mount(App(), config={"/": {"request.throws": (Stop, KeyboardInterrupt, SystemExit,
                                                  drupe.InternalRedirect)}})
    with pytest.raises(Stop):
        call(path="/")


def test_custom_error_response() -> None:
    def answer() -> None:
        drupe.response.status = 502
        drupe.response.body = b"custom error response"

    mount(Pages(), config={"/": {"request.error_response": answer}})
    result = call(path="/fail")
    assert result.status == "502 Bad Gateway"
    assert result.body == b"custom error response"


def test_a_failing_error_response_gives_the_bare_500(drupe_logs: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("error machinery failed")

    mount(Pages(), config={"/": {"request.error_response": broken}})
    result = call(path="/fail")
    assert result.status == "500 Internal Server Error"
    assert result.body.startswith(b"Unrecoverable error in the server.")
    assert result.header("Content-Type") == "text/plain"
    assert "error machinery failed" in error_text(drupe_logs)


def test_an_invalid_status_set_by_a_handler_is_a_500() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.response.status = "abc"
            return "x"

    mount(App())
    result = call(path="/")
    assert result.code == 500


def test_a_custom_status_line() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.response.status = "299 Custom Thing"
            return "x"

        @drupe.expose
        def created(self) -> str:
            drupe.response.status = 201
            return "made"

    mount(App())
    assert call(path="/").status == "299 Custom Thing"
    assert call(path="/created").status == "201 Created"


# ---------------------------------------------------------------------------
# Redirects


class Redirects:
    @drupe.expose
    def go(self, to: str = "/target", status: str | None = None) -> str:
        raise drupe.HTTPRedirect(to, int(status) if status else None)

    @drupe.expose
    def many(self) -> str:
        raise drupe.HTTPRedirect(["/first", "/second"], 300)

    class deep:
        exposed = True

        @drupe.expose
        def page(self, to: str) -> str:
            raise drupe.HTTPRedirect(to)

        @drupe.expose
        def index(self, to: str) -> str:
            raise drupe.HTTPRedirect(to)

    deep = deep()  # type: ignore[misc, assignment]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_statuses_with_location_and_body(status: int) -> None:
    mount(Redirects())
    result = call(path=f"/go?status={status}")
    assert result.code == status
    assert result.header("Location") == "http://127.0.0.1:8080/target"
    assert 'href="http://127.0.0.1:8080/target"' in result.text
    assert result.header("Content-Type") == "text/html;charset=utf-8"


def test_redirect_default_status_depends_on_the_protocol() -> None:
    mount(Redirects())
    assert call(path="/go").code == 303
    assert call(path="/go", protocol="HTTP/1.0").code == 302


def test_redirect_300_lists_every_url() -> None:
    mount(Redirects())
    result = call(path="/many")
    assert result.code == 300
    assert result.header("Location") == "http://127.0.0.1:8080/first"
    assert "http://127.0.0.1:8080/second" in result.text


def test_redirect_304_has_no_body_and_no_entity_headers() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.response.headers["Last-Modified"] = "Sat, 01 Jan 2000 00:00:00 GMT"
            drupe.response.headers["ETag"] = '"v1"'
            raise drupe.HTTPRedirect([], 304)

    mount(App())
    result = call(path="/")
    assert result.code == 304
    assert result.body == b""
    assert result.header("Content-Type") is None
    assert result.header("Content-Length") is None
    assert result.header("Last-Modified") is None
    assert result.header("ETag") == '"v1"'


def test_redirect_305() -> None:
    mount(Redirects())
    result = call(path="/go?to=http://proxy.example:3128/&status=305")
    assert result.code == 305
    assert result.header("Location") == "http://proxy.example:3128/"
    assert result.body == b""


def test_redirect_status_must_be_3xx() -> None:
    with pytest.raises(ValueError, match="between 300 and 399"):
        drupe.HTTPRedirect("/x", 200)
    mount(Redirects())
    assert call(path="/go?status=399").code == 500  # a 3xx nobody knows how to send


@pytest.mark.parametrize(("start", "target", "expected"), [
    ("/deep/page", "other", "http://127.0.0.1:8080/deep/other"),
    ("/deep/page", "../top", "http://127.0.0.1:8080/top"),
    ("/deep/page", "/abs", "http://127.0.0.1:8080/abs"),
    ("/deep/page", "?q=1", "http://127.0.0.1:8080/deep/page?q=1"),
    ("/deep/", "child", "http://127.0.0.1:8080/deep/child"),
    ("/deep/page", "https://example.org/x", "https://example.org/x"),
    ("/deep/page", "//cdn.example/y", "http://cdn.example/y"),
])
def test_relative_redirects_are_joined_to_the_current_url(start: str, target: str,
                                                           expected: str) -> None:
    mount(Redirects())
    import urllib.parse

    result = call(path=f"{start}?to={urllib.parse.quote(target)}")
    assert result.header("Location") == expected


def test_redirect_in_a_mounted_app_keeps_the_script_name() -> None:
    mount(Redirects(), "/shop")
    result = call(path="/shop/deep/page?to=other")
    assert result.header("Location") == "http://127.0.0.1:8080/shop/deep/other"


def test_redirect_cannot_inject_headers() -> None:
    class App:
        @drupe.expose
        def index(self, to: str) -> str:
            raise drupe.HTTPRedirect(to)

    mount(App())
    for target in ("/x\r\nSet-Cookie: owned=1", "/x\nSet-Cookie: owned=1",
                   "/x%0d%0aSet-Cookie: owned=1"):
        import urllib.parse

        result = call(path="/?to=" + urllib.parse.quote(target))
        assert result.header("Set-Cookie") is None
        for _, value in result.headers:
            assert "\r" not in value
            assert "\n" not in value
        assert "<script" not in result.text


def test_redirect_body_escapes_the_url() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            raise drupe.HTTPRedirect('/x"><script>alert(1)</script>')

    mount(App())
    result = call(path="/")
    assert "<script>" not in result.text


# ---------------------------------------------------------------------------
# Internal redirects


class Internal:
    @drupe.expose
    def start(self, **params: Any) -> str:
        raise drupe.InternalRedirect("/target?from=start")

    @drupe.expose
    def relative(self) -> str:
        raise drupe.InternalRedirect("target", "from=relative")

    @drupe.expose
    def target(self, **params: Any) -> str:
        prev = drupe.request.prev
        return (f"{drupe.request.method} {drupe.request.path_info} {sorted(params.items())} "
                f"prev={prev.path_info if prev else None} prev_method={prev.method if prev else None}")

    @drupe.expose
    def loop_a(self) -> str:
        raise drupe.InternalRedirect("/loop_b")

    @drupe.expose
    def loop_b(self) -> str:
        raise drupe.InternalRedirect("/loop_a")

    @drupe.expose
    def again(self, count: str = "0") -> str:
        if int(count) < 3:
            raise drupe.InternalRedirect("/again", f"count={int(count) + 1}")
        return f"done after {count}"

    @drupe.expose
    def self_loop(self) -> str:
        raise drupe.InternalRedirect("/self_loop")


def test_internal_redirect_to_a_new_path() -> None:
    mount(Internal())
    result = call(path="/start", method="POST", body=b"a=1",
                  headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert result.code == 200
    assert result.text == "GET /target [('from', 'start')] prev=/start prev_method=POST"


def test_internal_redirect_relative_path_and_query_string() -> None:
    mount(Internal(), "/app")
    result = call(path="/app/relative")
    assert result.text == "GET /target [('from', 'relative')] prev=/relative prev_method=GET"


def test_internal_redirect_chain_with_changing_query() -> None:
    mount(Internal())
    assert call(path="/again").text == "done after 3"


def test_internal_redirect_loops_are_detected(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Internal())
    result = call(path="/loop_a")
    assert result.code == 500
    assert "visited the same URL twice" in error_text(drupe_logs)
    assert call(path="/self_loop").code == 500


def test_recursive_internal_redirects_can_be_allowed() -> None:
    class Counter:
        count = 0

        @drupe.expose
        def index(self) -> str:
            Counter.count += 1
            if Counter.count < 4:
                raise drupe.InternalRedirect("/")
            return f"visited {Counter.count}"

    mount(Counter(), config={"/": {"request.recursive_redirect": True}})
    assert call(path="/").text == "visited 4"


def test_internal_redirect_from_a_hook() -> None:
    def bounce() -> None:
        if drupe.request.path_info == "/start":
            raise drupe.InternalRedirect("/target")

    mount(Internal(), config={"/": {"hooks.on_start_resource": bounce}})
    assert call(path="/start").text.startswith("GET /target [] prev=/start")


# ---------------------------------------------------------------------------
# Timeouts


def test_a_response_that_timed_out_is_a_503() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            return "never seen"

    def check() -> None:
        time.sleep(0.01)
        drupe.response.check_timeout()

    mount(App(), config={"/": {"response.timeout": 0.001, "hooks.before_handler": check}})
    result = call(path="/")
    assert result.code == 503
    assert "never seen" not in result.text


def test_check_timeout_in_the_handler() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.response.time -= 100
            drupe.response.check_timeout()
            return "too late"

        @drupe.expose
        def fast(self) -> str:
            drupe.response.check_timeout()
            return "in time"

    mount(App(), config={"/": {"response.timeout": 10}})
    assert call(path="/").code == 503
    assert call(path="/fast").text == "in time"


# ---------------------------------------------------------------------------
# Response bodies, encoding, HEAD, streaming


class Bodies:
    @drupe.expose
    def text(self) -> str:
        return "h\u00e9llo \u2603"

    @drupe.expose
    def json(self) -> str:
        drupe.response.headers["Content-Type"] = "application/json"
        return '{"snow": "\u2603"}'

    @drupe.expose
    def charset(self) -> str:
        drupe.response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return "\u2603"

    @drupe.expose
    def raw(self) -> bytes:
        return b"\x00\x01"

    @drupe.expose
    def chunks(self) -> list[Any]:
        return ["a", b"b", "c"]

    @drupe.expose
    def generator(self) -> Iterator[str]:
        yield "one "
        yield "two"

    @drupe.expose
    def none(self) -> None:
        return None

    @drupe.expose
    def nocontent(self) -> str:
        drupe.response.status = 204
        return "dropped"

    @drupe.expose
    def file(self) -> Any:
        import io

        return io.BytesIO(b"file contents")


def test_str_bodies_are_utf8_with_charset_for_text_types() -> None:
    mount(Bodies())
    result = call(path="/text")
    assert result.body == "h\u00e9llo \u2603".encode()
    assert result.header("Content-Type") == "text/html;charset=utf-8"
    assert result.header("Content-Length") == str(len(result.body))


def test_non_text_types_get_no_charset() -> None:
    mount(Bodies())
    result = call(path="/json")
    assert result.header("Content-Type") == "application/json"
    assert result.body == '{"snow": "\u2603"}'.encode()


def test_an_existing_charset_is_kept() -> None:
    mount(Bodies())
    assert call(path="/charset").header("Content-Type") == "text/plain; charset=utf-8"


def test_bytes_lists_generators_files_and_none() -> None:
    mount(Bodies())
    assert call(path="/raw").body == b"\x00\x01"
    assert call(path="/chunks").body == b"abc"
    generated = call(path="/generator")
    assert generated.body == b"one two"
    assert generated.header("Content-Length") == "7"
    assert call(path="/file").body == b"file contents"
    empty = call(path="/none")
    assert (empty.code, empty.body, empty.header("Content-Length")) == (200, b"", "0")


def test_no_body_for_204() -> None:
    mount(Bodies())
    result = call(path="/nocontent")
    assert result.code == 204
    assert result.body == b""
    assert result.header("Content-Length") is None


def test_head_has_the_headers_of_get_and_no_body() -> None:
    mount(Bodies())
    get = call(path="/text")
    head = call(path="/text", method="HEAD")
    assert head.code == 200
    assert head.body == b""
    assert head.header("Content-Length") == get.header("Content-Length")
    assert head.header("Content-Type") == get.header("Content-Type")
    error = call(path="/missing", method="HEAD")
    assert error.code == 404
    assert error.body == b""


class Streams:
    closed: list[str] = []

    @drupe.expose
    @drupe.config(**{"response.stream": True})
    def index(self) -> Iterator[str]:
        yield "first,"
        yield "second"

    @drupe.expose
    @drupe.config(**{"response.stream": True})
    def broken(self) -> Iterator[bytes]:
        try:
            yield b"partial"
            raise RuntimeError("stream broke")
        finally:
            Streams.closed.append("broken")

    @drupe.expose
    @drupe.config(**{"response.stream": True})
    def sized(self) -> Iterator[bytes]:
        drupe.response.headers["Content-Length"] = "4"
        return iter([b"ab", b"cd"])


def test_streaming_a_generator() -> None:
    mount(Streams())
    environ = make_environ("/")
    statuses: list[str] = []
    body = drupe.tree(environ, lambda status, headers, exc=None: statuses.append(status))
    assert statuses == ["200 OK"]  # headers went out before the body was produced
    chunks = list(body)
    body.close()  # type: ignore[attr-defined]
    assert chunks == [b"first,", b"second"]


def test_a_streamed_response_has_no_content_length_unless_set() -> None:
    mount(Streams())
    assert call(path="/").header("Content-Length") is None
    assert call(path="/sized").header("Content-Length") == "4"


def test_an_exception_while_streaming_propagates_after_logging(
        drupe_logs: pytest.LogCaptureFixture) -> None:
    Streams.closed.clear()
    ended: list[str] = []
    mount(Streams(), config={"/": {"hooks.on_end_request": lambda: ended.append("end")}})
    with pytest.raises(RuntimeError, match="stream broke"):
        call(path="/broken")
    assert Streams.closed == ["broken"]
    assert ended == ["end"]  # close() still ended the request
    assert "Error while streaming the response body" in error_text(drupe_logs)
    assert "stream broke" in error_text(drupe_logs)


def test_closing_a_stream_early_closes_the_generator() -> None:
    Streams.closed.clear()
    mount(Streams())
    body = drupe.tree(make_environ("/broken"), lambda *args: None)
    assert next(iter(body)) == b"partial"
    body.close()  # type: ignore[attr-defined]
    assert Streams.closed == ["broken"]


# ---------------------------------------------------------------------------
# Cookies


def test_cookies_in_and_out() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            cookie = drupe.request.cookie
            drupe.response.cookie["visits"] = str(int(cookie["visits"].value) + 1)
            drupe.response.cookie["visits"]["path"] = "/"
            drupe.response.cookie["flavour"] = "oatmeal"
            return ",".join(sorted(cookie.keys()))

        @drupe.expose
        def ignore(self) -> str:
            return "did not look"

    mount(App())
    result = call(path="/", headers=[("Cookie", "visits=4; theme=dark")])
    assert result.text == "theme,visits"
    set_cookies = result.header_values("Set-Cookie")
    assert "visits=5; Path=/" in set_cookies
    assert "flavour=oatmeal" in set_cookies


def test_a_malformed_cookie_header_is_a_400_only_when_read() -> None:
    class App:
        @drupe.expose
        def read(self) -> str:
            return str(len(drupe.request.cookie))

        @drupe.expose
        def ignore(self) -> str:
            return "fine"

    mount(App())
    for header in ("a=b; =c", 'a="unterminated', "a b=c"):
        assert call(path="/ignore", headers=[("Cookie", header)]).text == "fine"
        result = call(path="/read", headers=[("Cookie", header)])
        assert result.code == 400, header
        assert "Malformed Cookie header" in result.text
    assert call(path="/read", headers=[("Cookie", "ok=1")]).text == "1"
    assert call(path="/read").text == "0"


def test_cookie_values_cannot_split_headers() -> None:
    class App:
        @drupe.expose
        def index(self, value: str) -> str:
            drupe.response.cookie["c"] = value
            return "x"

    mount(App())
    import urllib.parse

    result = call(path="/?value=" + urllib.parse.quote("a\r\nX-Injected: 1"))
    assert result.header("X-Injected") is None


# ---------------------------------------------------------------------------
# Request line, Host, query string, parameters


def test_request_attributes() -> None:
    class App:
        @drupe.expose
        def index(self, **params: Any) -> str:
            request = drupe.request
            return repr((request.method, request.scheme, request.protocol,
                         request.script_name, request.path_info, request.query_string,
                         request.base, request.remote.ip, request.remote.port,
                         request.local.port, request.headers["X-Custom"],
                         request.request_line, str(request.unique_id) != ""))

    mount(App(), "/app")
    result = call(path="/app/?a=1", headers=[("X-Custom", "value")])
    assert result.text == repr(("GET", "http", (1, 1), "/app", "/", "a=1",
                                "http://127.0.0.1:8080", "127.0.0.1", 54321, 8080, "value",
                                "GET /app/?a=1 HTTP/1.1", True))


def test_missing_host_on_http_11_is_a_400() -> None:
    mount(Pages())
    result = call(path="/", host=None)
    assert result.code == 400
    assert "requires a 'Host' request header" in result.text
    assert call(path="/", host=None, protocol="HTTP/1.0").code == 200


@pytest.mark.parametrize("host", ["bad host", "a:99999", "user@host", "[::1", "h:p", "a\tb"])
def test_malformed_host_is_a_400(host: str) -> None:
    mount(Pages())
    assert call(path="/", host=host).code == 400


@pytest.mark.parametrize("host", ["example.com", "example.com:8080", "[::1]:80", "10.0.0.1"])
def test_valid_hosts(host: str) -> None:
    mount(Pages())
    assert call(path="/", host=host).code == 200


def test_an_undecodable_query_string_is_a_404() -> None:
    mount(Pages())
    result = call(path="/post", raw_query="name=%FF%FE")
    assert result.code == 404
    assert "could not be processed" in result.text


def test_query_string_encoding_can_be_configured() -> None:
    mount(Pages(), config={"/": {"request.query_string_encoding": "latin-1"}})
    assert call(path="/post", raw_query="name=%E9t%E9").text == "[('name', '\u00e9t\u00e9')]"


def test_query_string_parsing() -> None:
    mount(Pages())
    assert call(path="/post?a=1&a=2&b=&c=%20x").text == \
        "[('a', ['1', '2']), ('b', ''), ('c', ' x')]"
    assert call(path="/post?12,34").text == "[('x', 12), ('y', 34)]"
    assert call(path="/post?name=%E2%98%83").text == "[('name', '\u2603')]"


def test_too_many_query_params_is_a_413() -> None:
    mount(Pages(), config={"/": {"request.max_params": 3}})
    assert call(path="/post?a=1&b=2&c=3").code == 200
    result = call(path="/post?a=1&b=2&c=3&d=4")
    assert result.code == 413
    assert "limit is 3" in result.text


def test_a_non_ascii_path() -> None:
    class App:
        @drupe.expose
        def default(self, *segments: str) -> str:
            return "|".join(segments)

    mount(App())
    assert call(path="/caf\u00e9/\u2603").text == "caf\u00e9|\u2603"
    bad = call(path="/x", raw_path="/\xff\xfe")
    assert bad.code == 400


def test_url_encoded_slashes_in_segments() -> None:
    class App:
        @drupe.expose
        def default(self, *segments: str) -> str:
            return "|".join(segments)

    mount(App())
    assert call(path="/a%2Fb/c").text in ("a/b|c", "a%2Fb|c")


# ---------------------------------------------------------------------------
# Handler signatures


class Signatures:
    @drupe.expose
    def one(self, name: str) -> str:
        return name

    @drupe.expose
    def page(self, number: str) -> str:
        return number

    @drupe.expose
    def none(self) -> str:
        return "none"

    @drupe.expose
    def buggy(self) -> str:
        return len(5)  # type: ignore[arg-type]  # a TypeError inside the handler

    @drupe.expose
    def kwonly(self, *, flag: str) -> str:
        return flag

    @drupe.expose
    def varargs(self, *args: str, **kwargs: str) -> str:
        return f"{args} {sorted(kwargs.items())}"


def test_missing_parameter_is_a_404_with_message() -> None:
    mount(Signatures())
    result = call(path="/one")
    assert result.code == 404
    assert "Missing parameters: name" in result.text
    assert call(path="/kwonly").code == 404
    assert call(path="/kwonly?flag=x").text == "x"


def test_extra_path_segments_are_a_404() -> None:
    mount(Signatures())
    assert call(path="/none/extra").code == 404
    assert call(path="/page/5").text == "5"
    assert call(path="/varargs/a/b?c=1").text == "('a', 'b') [('c', '1')]"


def test_unexpected_query_parameter_is_a_404() -> None:
    mount(Signatures())
    result = call(path="/none?surprise=1")
    assert result.code == 404
    assert "Unexpected query string parameters: surprise" in result.text


def test_unexpected_body_parameter_is_a_400() -> None:
    mount(Signatures())
    result = call(path="/none", method="POST", body=b"surprise=1",
                  headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert result.code == 400
    assert "Unexpected body parameters: surprise" in result.text


def test_multiple_values_for_a_parameter() -> None:
    mount(Signatures())
    # From the path and the query string: the URL names nothing (404).
    from_query = call(path="/page/5?number=6")
    assert from_query.code == 404
    assert "Multiple values for parameters: number" in from_query.text
    # From the path and the body: a bad request (400), never a server error.
    from_body = call(path="/page/5", method="POST", body=b"number=6",
                     headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert from_body.code == 400
    assert "Multiple values for parameters: number" in from_body.text


def test_mismatch_messages_are_hidden_unless_asked() -> None:
    mount(Signatures(), config={"/": {"request.show_mismatched_params": False}})
    result = call(path="/one")
    assert result.code == 404
    assert "Missing parameters: name" not in result.text


def test_a_type_error_inside_a_handler_is_a_500() -> None:
    mount(Signatures())
    result = call(path="/buggy")
    assert result.code == 500
    assert "TypeError" in result.text


def test_callable_object_handlers() -> None:
    class Greeter:
        exposed = True

        def __call__(self, who: str = "world") -> str:
            return f"hello {who}"

    class App:
        greet = Greeter()

    mount(App())
    assert call(path="/greet?who=you").text == "hello you"
    assert call(path="/greet?nobody=1").code == 404


# ---------------------------------------------------------------------------
# Response headers and the access log


def test_response_headers_from_config_and_default_headers() -> None:
    mount(Pages(), config={"/": {"response.headers.X-Frame-Options": "DENY"}})
    result = call(path="/")
    assert result.header("X-Frame-Options") == "DENY"
    assert result.header("Server") == f"drupe/{drupe.__version__}"
    assert result.header("Date", "").endswith(" GMT")


def test_a_handler_cannot_set_a_header_with_a_newline() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.response.headers["X-Test"] = "a\r\nInjected: yes"
            return "x"

    mount(App())
    result = call(path="/")
    assert result.code == 500
    assert result.header("Injected") is None


def test_unicode_header_values_are_encoded() -> None:
    class App:
        @drupe.expose
        def index(self) -> str:
            drupe.response.headers["X-Snow"] = "\u2603"
            return "x"

    mount(App())
    assert call(path="/").header("X-Snow") == "=?utf-8?b?4piD?="


def test_one_access_line_per_request(drupe_logs: pytest.LogCaptureFixture) -> None:
    mount(Pages())
    call(path="/")
    call(path="/forbidden")
    lines = access_lines(drupe_logs)
    assert len(lines) == 2
    assert '"GET / HTTP/1.1" 200 5' in lines[0]
    assert '"GET /forbidden HTTP/1.1" 403' in lines[1]


def test_requests_outside_any_mount_point() -> None:
    mount(Pages(), "/app")
    result = call(path="/elsewhere")
    assert result.code == 404


def test_direct_application_call_with_a_foreign_script_name() -> None:
    app = drupe.Application(Pages(), "/app")
    result = call_environ(app, make_environ("/", script_name="/other"))
    assert result.code == 404


# ---------------------------------------------------------------------------
# Outside requests; native gateways


def test_placeholders_outside_a_request() -> None:
    assert drupe.request.app is None
    assert drupe.request.path_info == "/"
    assert drupe.response.status == ""
    assert "drupe.request proxy" in repr(drupe.request)
    drupe.thread_data.value = 1
    assert drupe.thread_data.value == 1


def test_a_native_gateway_drives_request_run() -> None:
    import io

    from drupe.lib.httputil import Host

    app = mount(Pages(), "/app")
    request, response = app.get_serving(Host("127.0.0.1", 8080), Host("10.0.0.9", 5555),
                                        "http", "HTTP/1.1")
    try:
        assert drupe.request.app is app
        result = request.run("POST", "/app/post", "q=1", "HTTP/1.1",
                             [("Host", "example.com"), ("Content-Type", FORM_TYPE),
                              ("Content-Length", "3")], io.BytesIO(b"b=2"))
        assert result is response
        assert response.status == "200 OK"
        assert b"".join(response.body) == b"[('b', '2'), ('q', '1')]"
        assert request.remote.ip == "10.0.0.9"
        assert request.path_info == "/post"
    finally:
        app.release_serving()
    assert drupe.request.app is None


FORM_TYPE = "application/x-www-form-urlencoded"


def test_a_stream_that_times_out_stops(drupe_logs: pytest.LogCaptureFixture) -> None:
    produced: list[str] = []

    class App:
        @drupe.expose
        @drupe.config(**{"response.stream": True})
        def index(self) -> Iterator[bytes]:
            produced.append("first")
            yield b"first"
            produced.append("second")
            yield b"second"

    mount(App())
    body = drupe.tree(make_environ("/"), lambda *args: None)
    iterator = iter(body)
    assert next(iterator) == b"first"
    # What a timeout monitor does between two chunks:
    body.response.time -= 1000  # type: ignore[attr-defined]
    body.response.check_timeout()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="timed out while streaming"):
        next(iterator)
    body.close()  # type: ignore[attr-defined]
    assert produced == ["first"]
    assert "The streamed response timed out" in error_text(drupe_logs)


def test_a_failing_end_request_hook_does_not_reach_the_client(
        drupe_logs: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("end hook failed")

    later: list[str] = []

    def safe() -> None:
        later.append("safe")

    safe.failsafe = True  # type: ignore[attr-defined]
    safe.priority = 90  # type: ignore[attr-defined]
    hooks = HookMap()
    hooks.attach("on_end_request", safe)
    mount(Pages(), config={"/": {"hooks.on_end_request": broken,
                                 "hooks.on_end_request.safe": hooks["on_end_request"][0]}})
    result = call(path="/")
    assert result.text == "index"
    assert later == ["safe"]
    assert "end hook failed" in error_text(drupe_logs)
