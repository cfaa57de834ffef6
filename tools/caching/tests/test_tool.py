"""The caching tool through whole requests: what is answered from the cache, what is stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe
from drupe_testing import Client

from .conftest import sweepers


class Site:
    """Handlers that count their calls, so a test can tell a cached answer from a fresh one."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.slow = 0.0

    def _count(self, name: str) -> int:
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1
            return self.calls[name]

    @drupe.expose
    def index(self, **params: Any) -> str:
        number = self._count("index")
        if self.slow:
            time.sleep(self.slow)
        return f"index #{number} {sorted(params.items())}"

    @drupe.expose
    def language(self) -> str:
        number = self._count("language")
        drupe.response.headers["Vary"] = "Accept-Language"
        return f"{drupe.request.headers.get('Accept-Language', 'none')} #{number}"

    @drupe.expose
    def star(self) -> str:
        drupe.response.headers["Vary"] = "*"
        return f"star #{self._count('star')}"

    @drupe.expose
    def headers(self, cache_control: str = "", pragma: str = "", expires: str = "") -> str:
        number = self._count("headers")
        if cache_control:
            drupe.response.headers["Cache-Control"] = cache_control
        if pragma:
            drupe.response.headers["Pragma"] = pragma
        if expires:
            drupe.response.headers["Expires"] = expires
        return f"headers #{number}"

    @drupe.expose
    def cookie(self) -> str:
        drupe.response.cookie["session"] = "secret"
        return f"cookie #{self._count('cookie')}"

    @drupe.expose
    def status(self, code: str = "200") -> str:
        number = self._count(f"status{code}")
        drupe.response.status = int(code)
        return f"status {code} #{number}"

    @drupe.expose
    def missing(self) -> str:
        self._count("missing")
        raise drupe.NotFound()

    @drupe.expose
    def broken(self) -> str:
        self._count("broken")
        raise RuntimeError("boom")

    @drupe.expose
    def validated(self) -> str:
        number = self._count("validated")
        drupe.response.headers["ETag"] = '"v1"'
        drupe.response.headers["Last-Modified"] = "Tue, 15 Nov 1994 12:45:26 GMT"
        return f"validated #{number}"

    @drupe.expose
    def big(self, size: str = "1000") -> str:
        self._count("big")
        return "x" * int(size)

    @drupe.expose
    def stream(self) -> Iterator[bytes]:
        number = self._count("stream")

        def chunks() -> Iterator[bytes]:
            for index in range(5):
                yield f"chunk {index} of #{number};".encode()

        return chunks()

    stream._cp_config = {"response.stream": True}


@pytest.fixture
def site() -> Site:
    return Site()


def mount(site: Site, **conf: Any) -> None:
    settings: dict[str, Any] = {"tools.caching.on": True}
    settings.update({f"tools.caching.{key}": value for key, value in conf.items()})
    drupe.tree.mount(site, "/", {"/": settings})


@pytest.fixture
def cached(site: Site, client: Client) -> Client:
    mount(site)
    return client


# -- the basics -----------------------------------------------------------------------------


def test_second_request_comes_from_the_cache(cached: Client, site: Site) -> None:
    first = cached.get("/")
    second = cached.get("/")
    assert first.status == second.status == 200
    assert first.body == second.body == b"index #1 []"
    assert site.calls == {"index": 1}
    assert "Age" not in first.headers
    assert second.headers["Age"] == "0"
    # Everything else is replayed exactly, Date and Content-Length included.
    assert [pair for pair in second.header_list if pair[0] != "Age"] == first.header_list


def test_age_grows(cached: Client) -> None:
    cached.get("/")
    time.sleep(1.1)
    assert int(cached.get("/").headers["Age"]) >= 1


def test_request_flags(site: Site, client: Client) -> None:
    seen: list[tuple[bool, bool]] = []

    def record() -> None:
        request = drupe.request
        seen.append((request.cached, request.cacheable))

    drupe.tree.mount(site, "/", {"/": {"tools.caching.on": True, "hooks.before_finalize": record}})
    client.get("/")
    client.get("/")
    client.post("/")
    assert seen == [(False, True), (True, False), (False, False)]


def test_off_by_default(site: Site, client: Client) -> None:
    drupe.tree.mount(site, "/")
    client.get("/")
    client.get("/")
    assert site.calls == {"index": 2}


def test_query_strings_and_hosts_are_different_resources(cached: Client, site: Site) -> None:
    assert cached.get("/?a=1").body == b"index #1 [('a', '1')]"
    assert cached.get("/?a=2").body == b"index #2 [('a', '2')]"
    assert cached.get("/?a=1").body == b"index #1 [('a', '1')]"
    assert cached.get("/", headers={"Host": "other.example"}).body == b"index #3 []"
    assert cached.get("/", headers={"Host": "OTHER.example"}).body == b"index #3 []"


def test_head_is_answered_from_a_get(cached: Client, site: Site) -> None:
    get = cached.get("/")
    head = cached.head("/")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert site.calls == {"index": 1}


def test_head_alone_stores_nothing(cached: Client, site: Site) -> None:
    cached.head("/")
    cached.get("/")
    assert site.calls == {"index": 2}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_unsafe_methods_invalidate(cached: Client, site: Site, method: str) -> None:
    cached.get("/")
    cached.get("/", headers={"Accept-Language": "x"})
    cached.request(method, "/")
    assert cached.get("/").body == f"index #{3} []".encode()


def test_invalid_methods_setting(site: Site, client: Client) -> None:
    mount(site, invalid_methods=["PURGE"])
    client.get("/")
    client.post("/")
    assert client.get("/").body == b"index #1 []"
    client.request("PURGE", "/")
    assert client.get("/").body == b"index #4 []"


def test_other_methods_pass_through(cached: Client, site: Site) -> None:
    cached.get("/")
    assert cached.options("/").body == b"index #2 []"
    assert cached.get("/").body == b"index #1 []"


# -- Vary -----------------------------------------------------------------------------------


def test_vary_keeps_one_response_per_header_value(cached: Client, site: Site) -> None:
    english = {"Accept-Language": "en"}
    french = {"Accept-Language": "fr"}
    assert cached.get("/language", headers=english).body == b"en #1"
    assert cached.get("/language", headers=french).body == b"fr #2"
    assert cached.get("/language").body == b"none #3"
    assert cached.get("/language", headers=english).body == b"en #1"
    assert cached.get("/language", headers=french).body == b"fr #2"
    assert cached.get("/language").body == b"none #3"
    assert site.calls == {"language": 3}


def test_vary_star_is_never_stored(cached: Client, site: Site) -> None:
    cached.get("/star")
    cached.get("/star")
    assert site.calls == {"star": 2}


# -- what the request says --------------------------------------------------------------------


def test_request_no_cache_gets_a_fresh_response_and_stores_it(cached: Client) -> None:
    cached.get("/")
    assert cached.get("/", headers={"Cache-Control": "no-cache"}).body == b"index #2 []"
    assert cached.get("/").body == b"index #2 []"
    assert cached.get("/", headers={"Pragma": "no-cache"}).body == b"index #3 []"
    # Cache-Control present: Pragma is ignored (RFC 9111 §5.4).
    assert cached.get("/", headers={"Pragma": "no-cache", "Cache-Control": "max-age=60"}).body == \
        b"index #3 []"


def test_request_no_store_stores_nothing(cached: Client, site: Site) -> None:
    cached.get("/", headers={"Cache-Control": "no-store"})
    assert cached.get("/").body == b"index #2 []"
    # It may still be answered from the cache.
    assert cached.get("/", headers={"Cache-Control": "no-store"}).body == b"index #2 []"


def test_request_max_age(cached: Client) -> None:
    cached.get("/")
    time.sleep(1.1)
    assert cached.get("/", headers={"Cache-Control": "max-age=60"}).body == b"index #1 []"
    assert cached.get("/", headers={"Cache-Control": "max-age=0"}).body == b"index #2 []"
    assert cached.get("/").body == b"index #2 []"


def test_request_min_fresh(site: Site, client: Client) -> None:
    mount(site, delay=30)
    client.get("/")
    assert client.get("/", headers={"Cache-Control": "min-fresh=10"}).body == b"index #1 []"
    assert client.get("/", headers={"Cache-Control": "min-fresh=60"}).body == b"index #2 []"


def test_only_if_cached(cached: Client, site: Site) -> None:
    response = cached.get("/", headers={"Cache-Control": "only-if-cached"})
    assert response.status == 504
    assert "only-if-cached" in response.text
    cached.get("/")
    assert cached.get("/", headers={"Cache-Control": "only-if-cached"}).body == b"index #1 []"
    assert site.calls == {"index": 1}


@pytest.mark.parametrize("value", ["max-age=soon", "max-age", "max-age=-1", "min-fresh=1.5"])
def test_malformed_request_cache_control_is_400(cached: Client, value: str) -> None:
    response = cached.get("/", headers={"Cache-Control": value})
    assert response.status == 400
    assert "Cache-Control" in response.text


@pytest.mark.parametrize("header", [("Range", "bytes=0-3"), ("If-Match", '"x"'),
                                    ("If-Range", '"x"'),
                                    ("If-Unmodified-Since", "Tue, 15 Nov 1994 12:45:26 GMT")])
def test_range_and_preconditions_pass_by(cached: Client, site: Site, header: tuple[str, str]) -> None:
    cached.get("/")
    assert cached.get("/", headers=dict([header])).body == b"index #2 []"
    assert cached.get("/").body == b"index #1 []"


def test_authorization(cached: Client, site: Site) -> None:
    credentials = {"Authorization": "Basic dXNlcjpwYXNz"}
    cached.get("/", headers=credentials)
    assert cached.get("/").body == b"index #2 []"
    cached.get("/headers?cache_control=public", headers=credentials)
    assert cached.get("/headers?cache_control=public").body == b"headers #1"


# -- what the response says -------------------------------------------------------------------


@pytest.mark.parametrize("query", ["cache_control=no-store", "cache_control=private",
                                   "cache_control=no-cache", "cache_control=max-age%3D0",
                                   "cache_control=max-age%3Dsoon", "pragma=no-cache",
                                   "expires=Thu,%2001%20Dec%201994%2016:00:00%20GMT",
                                   "expires=never"])
def test_responses_that_forbid_storing(cached: Client, query: str) -> None:
    cached.get(f"/headers?{query}")
    assert cached.get(f"/headers?{query}").body == b"headers #2"


def test_response_max_age_shortens_the_stay(cached: Client) -> None:
    cached.get("/headers?cache_control=max-age%3D1")
    assert cached.get("/headers?cache_control=max-age%3D1").body == b"headers #1"
    time.sleep(1.1)
    assert cached.get("/headers?cache_control=max-age%3D1").body == b"headers #2"


def test_set_cookie_is_never_stored(cached: Client, site: Site) -> None:
    cached.get("/cookie")
    second = cached.get("/cookie")
    assert second.body == b"cookie #2"
    assert site.calls == {"cookie": 2}


@pytest.mark.parametrize(("code", "stored"), [("200", True), ("203", True), ("301", True),
                                              ("410", True), ("201", False), ("202", False),
                                              ("302", False), ("400", False), ("503", False)])
def test_cacheable_statuses(cached: Client, code: str, stored: bool) -> None:
    first = cached.get(f"/status?code={code}")
    second = cached.get(f"/status?code={code}")
    assert first.status == second.status == int(code)
    assert (second.body == first.body) is stored


def test_errors(cached: Client, site: Site) -> None:
    assert cached.get("/missing").status == 404
    assert cached.get("/missing").status == 404
    assert site.calls["missing"] == 1
    assert cached.get("/broken").status == 500
    assert cached.get("/broken").status == 500
    assert site.calls["broken"] == 2


def test_delay(site: Site, client: Client) -> None:
    mount(site, delay=1)
    client.get("/")
    assert client.get("/").body == b"index #1 []"
    time.sleep(1.1)
    assert client.get("/").body == b"index #2 []"


# -- conditional requests --------------------------------------------------------------------


def test_304_from_the_cache(cached: Client, site: Site) -> None:
    cached.get("/validated")
    response = cached.get("/validated", headers={"If-None-Match": 'W/"v1", "other"'})
    assert response.status == 304
    assert response.body == b""
    assert response.headers["ETag"] == '"v1"'
    assert "Age" in response.headers
    assert cached.get("/validated", headers={"If-None-Match": '"v2"'}).status == 200
    response = cached.get("/validated", headers={"If-Modified-Since": "Tue, 15 Nov 1994 12:45:26 GMT"})
    assert response.status == 304
    # If-None-Match wins over If-Modified-Since.
    assert cached.get("/validated", headers={"If-None-Match": '"v2"',
                                             "If-Modified-Since": "Tue, 15 Nov 1994 12:45:26 GMT"}
                      ).status == 200
    assert site.calls == {"validated": 1}


# -- sizes -------------------------------------------------------------------------------------


def test_maxobj_size(site: Site, client: Client) -> None:
    mount(site, maxobj_size=2000)
    client.get("/big?size=1000")
    client.get("/big?size=1000")
    client.get("/big?size=3000")
    client.get("/big?size=3000")
    assert site.calls == {"big": 3}


def test_maxsize_evicts_the_least_recently_used(site: Site, client: Client) -> None:
    mount(site, maxsize=3500)
    for size in ("1000", "1001", "1002"):
        client.get(f"/big?size={size}")
    client.get("/big?size=1000")          # now the most recently used
    client.get("/big?size=1003")          # pushes out 1001, the least recently used
    assert site.calls == {"big": 4}
    client.get("/big?size=1000")
    client.get("/big?size=1003")
    assert site.calls == {"big": 4}
    client.get("/big?size=1001")
    assert site.calls == {"big": 5}


def test_maxobjects(site: Site, client: Client) -> None:
    mount(site, maxobjects=2)
    for query in ("a=1", "a=2", "a=3", "a=1"):
        client.get(f"/?{query}")
    assert site.calls == {"index": 4}
    client.get("/?a=1")
    client.get("/?a=3")
    assert site.calls == {"index": 4}


# -- streams -------------------------------------------------------------------------------------


def test_a_stream_is_stored_once_sent(cached: Client, site: Site) -> None:
    first = cached.get("/stream")
    second = cached.get("/stream")
    assert first.body == second.body == b"".join(f"chunk {i} of #1;".encode() for i in range(5))
    assert site.calls == {"stream": 1}


def test_a_stream_cut_short_is_not_stored(site: Site, open_body: Callable[..., Any],
                                          cached: Client) -> None:
    status, body = open_body("/stream")
    assert status == "200 OK"
    assert next(iter(body)) == b"chunk 0 of #1;"
    body.close()
    assert cached.get("/stream").body.startswith(b"chunk 0 of #2;")


# -- anti-stampede ----------------------------------------------------------------------------------


def _concurrently(count: int, path: str = "/") -> list[bytes]:
    results: list[bytes] = [b""] * count
    barrier = threading.Barrier(count)

    def fetch(index: int) -> None:
        barrier.wait()
        results[index] = Client(drupe.tree).get(path).body

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_one_computes_the_others_wait(site: Site) -> None:
    mount(site)
    site.slow = 0.3
    results = _concurrently(6)
    assert site.calls == {"index": 1}
    assert set(results) == {b"index #1 []"}


def test_waiting_is_bounded_by_antistampede_timeout(site: Site) -> None:
    mount(site, antistampede_timeout=0.1)
    site.slow = 0.6
    started = time.monotonic()
    results = _concurrently(4)
    assert time.monotonic() - started < 2.4
    assert site.calls["index"] >= 2
    assert all(result.startswith(b"index #") for result in results)


def test_no_waiting_when_the_timeout_is_zero(site: Site) -> None:
    mount(site, antistampede_timeout=0)
    site.slow = 0.2
    _concurrently(3)
    assert site.calls == {"index": 3}


def test_a_failed_computation_releases_the_waiters(site: Site) -> None:
    mount(site, antistampede_timeout=20)
    results: list[int] = []

    def fetch(path: str) -> None:
        results.append(Client(drupe.tree).get(path).status)

    first = threading.Thread(target=fetch, args=("/headers?cache_control=no-store",))
    site.slow = 0.0
    first.start()
    first.join()
    started = time.monotonic()
    threads = [threading.Thread(target=fetch, args=("/headers?cache_control=no-store",))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert time.monotonic() - started < 10
    assert results == [200, 200, 200, 200]


# -- the expiry thread and the engine --------------------------------------------------------------


def test_the_expiry_thread_runs_with_the_engine(site: Site, client: Client) -> None:
    mount(site)
    client.get("/")
    assert sweepers() == []  # no engine: expiry is lazy, no thread
    drupe.server.unsubscribe()
    drupe.engine.start()
    try:
        assert len(sweepers()) == 1  # the existing store follows the engine
        client.get("/?other")
        assert len(sweepers()) == 1
    finally:
        drupe.engine.exit()
    assert sweepers() == []
    drupe.engine.start()
    try:
        assert len(sweepers()) == 1
    finally:
        drupe.engine.stop()
    assert sweepers() == []


def test_the_expiry_thread_sweeps(site: Site, client: Client) -> None:
    from drupe_tool_caching import stores

    mount(site, delay=0.2, expire_freq=0.05)
    drupe.server.unsubscribe()
    drupe.engine.start()
    try:
        client.get("/")
        (store,) = stores.of_app(drupe.tree.apps[""])
        assert len(store) == 1
        deadline = time.monotonic() + 5
        while len(store) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(store) == 0
        assert store.tot_expires == 1
    finally:
        drupe.engine.exit()


# -- config ----------------------------------------------------------------------------------------


class CherryPyStyleCache:
    """A store written against CherryPy's documented interface."""

    delay = 600
    shelf_label = "default"

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def get(self) -> Any:
        return self.items.get(drupe.url(qs=drupe.request.query_string))

    def put(self, variant: Any, size: int) -> None:
        _status, _headers, _body, _created = variant  # CherryPy's 4-tuple
        self.items[drupe.url(qs=drupe.request.query_string)] = variant

    def delete(self) -> None:
        self.items.pop(drupe.url(qs=drupe.request.query_string), None)

    def clear(self) -> None:
        self.items.clear()


def test_a_cherrypy_style_cache_class(site: Site, client: Client) -> None:
    from drupe_tool_caching import stores

    mount(site, cache_class=CherryPyStyleCache, shelf_label="tests")
    client.get("/")
    assert client.get("/").body == b"index #1 []"
    client.post("/")
    assert client.get("/").body == b"index #3 []"
    (store,) = stores.of_app(drupe.tree.apps[""])
    assert isinstance(store, CherryPyStyleCache)
    assert store.shelf_label == "tests"


def test_cache_class_by_dotted_name(site: Site, client: Client) -> None:
    mount(site, cache_class="drupe_tool_caching.MemoryCache")
    client.get("/")
    assert client.get("/").body == b"index #1 []"


@pytest.mark.parametrize(
    ("argument", "value"),
    [("delay", 0), ("delay", "10"), ("maxobjects", 1.5), ("maxobj_size", -1), ("maxsize", True),
     ("antistampede_timeout", -1), ("expire_freq", 0), ("cache_class", "no.such.Module"),
     ("cache_class", dict), ("cache_class", 42), ("invalid_methods", "POST"),
     ("invalid_methods", ["POST", "NOT A METHOD"]), ("debug", "yes"), ("delya", 10)],
)
def test_bad_arguments_name_the_key(site: Site, client: Client, error_log: list[str],
                                    argument: str, value: Any) -> None:
    key = rf"tools\.caching\.{argument}"
    with pytest.raises(drupe.ConfigError, match=key):
        drupe.tools.caching(**{argument: value})
    mount(site, **{argument: value})
    drupe.server.unsubscribe()
    with pytest.raises(drupe.ConfigError, match=key):
        drupe.engine.start()
    assert client.get("/").status == 500
    assert any(f"tools.caching.{argument}" in message for message in error_log)


def test_decorator_use(client: Client) -> None:
    calls: list[int] = []

    class Root:
        @drupe.expose
        @drupe.tools.caching(delay=60)
        def index(self) -> str:
            calls.append(1)
            return "decorated"

    drupe.tree.mount(Root(), "/")
    client.get("/")
    client.get("/")
    assert calls == [1]
    assert (drupe.tools.caching.point, drupe.tools.caching.priority) == ("before_handler", 90)


def test_debug(site: Site, client: Client, error_log: list[str]) -> None:
    mount(site, debug=True)
    client.get("/")
    client.get("/")
    assert any("Answered from the cache" in message for message in error_log), error_log


def test_applications_have_their_own_stores(site: Site, client: Client) -> None:
    other = Site()
    drupe.tree.mount(site, "/a", {"/": {"tools.caching.on": True}})
    drupe.tree.mount(other, "/b", {"/": {"tools.caching.on": True}})
    client.get("/a/")
    client.get("/b/")
    client.get("/a/")
    client.get("/b/")
    assert site.calls == other.calls == {"index": 1}
