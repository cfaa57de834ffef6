"""Configuration of the memcached backend: every bad value is refused naming its key."""

from __future__ import annotations

from typing import Any

import pytest

import drupe
from drupe_session_memcached import MemcachedSession, parse_servers


def configured(**options: Any) -> type[MemcachedSession]:
    store = type("MemcachedSession", (MemcachedSession,), {})
    store.setup(**options)
    return store


@pytest.mark.parametrize(("value", "expected"), [
    (["127.0.0.1:11211"], [("127.0.0.1", 11211)]),
    ("cache-1:11300, cache-2", [("cache-1", 11300), ("cache-2", 11211)]),
    (("[::1]:11222", "[fe80::1]"), [("::1", 11222), ("fe80::1", 11211)]),
    (["unix:/run/memcached.sock", "/tmp/other.sock"], ["/run/memcached.sock", "/tmp/other.sock"]),
])
def test_servers_are_parsed(value: Any, expected: list[Any]) -> None:
    assert parse_servers(value) == expected


@pytest.mark.parametrize("value", [
    [], "", 11211, None, ["host:port"], ["host:0"], ["host:70000"], ["bad host:1"],
    ["[::1"], ["unix:relative.sock"], [""], [b"127.0.0.1:11211"], ["a:1", "a:1"],
    ["host:11211\r\nflush_all"],
])
def test_bad_servers_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.servers"):
        configured(servers=value)


@pytest.mark.parametrize(("key", "value"), [
    ("key_prefix", ""), ("key_prefix", "has space"), ("key_prefix", "x" * 151), ("key_prefix", 3),
    ("connect_timeout", 0), ("connect_timeout", -1), ("connect_timeout", "2"),
    ("socket_timeout", True), ("socket_timeout", float("inf")), ("lock_expiry", 0),
    ("max_pool_size", 0), ("max_pool_size", 2.5),
])
def test_bad_options_are_refused(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"tools\.sessions\.{key}"):
        configured(**{key: value})


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match=r"tools\.sessions\.storage_path"):
        configured(storage_path="/tmp")


def test_setup_configures_the_subclass_only() -> None:
    store = configured(servers=["10.0.0.1:1234"], key_prefix="app1:", lock_expiry=5)
    assert store.servers == [("10.0.0.1", 1234)]
    assert store.key_prefix == "app1:"
    assert store.lock_expiry == 5.0
    assert store.clean_freq == 0  # memcached expires sessions itself
    assert MemcachedSession.servers == [("127.0.0.1", 11211)]
    assert MemcachedSession.key_prefix == "drupe-session:"


def test_registered_names() -> None:
    import drupe.lib.sessions as lib_sessions

    assert drupe.registry.load("drupe.sessions", "memcached") is MemcachedSession
    assert lib_sessions.MemcachedSession is MemcachedSession


def test_bad_config_stops_the_engine_naming_the_key() -> None:
    from drupe_testing import LiveServer

    class Root:
        @drupe.expose
        def index(self) -> str:
            return "unused"

    drupe.tree.mount(Root(), "/", {"/": {"tools.sessions.on": True,
                                         "tools.sessions.storage_type": "memcached",
                                         "tools.sessions.servers": ["nowhere:port"]}})
    server = LiveServer()
    with pytest.raises(Exception, match=r"tools\.sessions\.servers"):
        server.start()
    assert not server.running
