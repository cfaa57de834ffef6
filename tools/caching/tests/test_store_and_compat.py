"""The stores on their own, and CherryPy's module paths."""

from __future__ import annotations

import threading
import time

import pytest

import drupe
from drupe_tool_caching import AntiStampedeCache, CacheStore, MemoryCache
from drupe_tool_caching._policy import cache_control, freshness_lifetime, not_modified, vary_names


def test_anti_stampede_cache() -> None:
    cache = AntiStampedeCache()
    assert cache.wait("key", timeout=None) is None
    assert "key" not in cache
    assert cache.wait("key", timeout=1) is None  # a miss leaves a marker: we compute it
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(cache.wait("key", timeout=10)))
    waiter.start()
    time.sleep(0.05)
    cache["key"] = "value"
    waiter.join(10)
    assert got == ["value"]
    assert cache.wait("key") == "value"


def test_anti_stampede_cache_times_out() -> None:
    cache = AntiStampedeCache()
    cache.wait("key", timeout=1)
    started = time.monotonic()
    assert cache.wait("key", timeout=0.05) is None
    assert time.monotonic() - started < 1
    assert cache.wait("key", timeout=None) is None


def test_memory_cache_is_a_store() -> None:
    store = MemoryCache()
    assert isinstance(store, CacheStore)
    assert len(store) == 0
    store.start()
    store.start()
    store.stop()
    store.stop()


def test_policy_helpers() -> None:
    assert cache_control('max-age=5, No-Cache, private="x, y", max-age=9') == {
        "max-age": "5", "no-cache": None, "private": "x, y"}
    assert vary_names("Accept-Encoding, accept-encoding, User-Agent") == ("accept-encoding", "user-agent")
    assert vary_names("Accept, *") is None
    assert vary_names(None) == ()
    date = "Tue, 15 Nov 1994 08:12:31 GMT"
    assert freshness_lifetime({"Cache-Control": "max-age=30, s-maxage=10"}, 0, 600) == 10
    assert freshness_lifetime({"Cache-Control": "max-age=3000"}, 0, 600) == 600
    assert freshness_lifetime({"Expires": "Tue, 15 Nov 1994 08:13:31 GMT", "Date": date}, 0, 600) == 60
    assert freshness_lifetime({"Expires": "0"}, 0, 600) == 0
    assert freshness_lifetime({}, 0, 600) == 600
    assert not_modified({"ETag": 'W/"a"'}, {"If-None-Match": '"a"'})
    assert not_modified({}, {"If-None-Match": "*"})
    assert not not_modified({"ETag": '"a"'}, {"If-None-Match": '"b"'})
    assert not not_modified({"Last-Modified": date}, {"If-Modified-Since": "garbage"})
    assert not_modified({"Last-Modified": date}, {"If-Modified-Since": date})


def test_lib_caching_names() -> None:
    import drupe_tool_caching
    from drupe.lib import caching

    assert caching.get is drupe_tool_caching.get
    assert caching.tee_output is drupe_tool_caching.tee_output
    assert caching.MemoryCache is MemoryCache
    assert caching.AntiStampedeCache is AntiStampedeCache
    assert issubclass(caching.MemoryCache, caching.Cache)
    assert drupe._cptools.CachingTool is drupe_tool_caching.CachingTool


def test_expires_is_the_standard_tools_own() -> None:
    from drupe_tool_caching import compat

    if not drupe.registry.has("drupe.tools", "expires"):
        with pytest.raises(AttributeError, match="drupe-tool-standard"):
            compat.expires  # noqa: B018
        pytest.skip("drupe-tool-standard is not installed: no expires to re-export")
    import drupe_tool_standard  # type: ignore[import-not-found,unused-ignore]
    from drupe.lib import caching

    assert compat.expires is drupe_tool_standard.expires
    # Both distributions provide lib.caching; the facade sees one object, not a conflict.
    assert caching.expires is drupe_tool_standard.expires
