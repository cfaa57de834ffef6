"""RoutesDispatcher passes drupe-testing's dispatcher conformance suite."""

from __future__ import annotations

from typing import Any

import pytest

import drupe
from drupe_testing import Client
from drupe_testing.conformance import dispatch as conformance


class _Controller:
    """The conformance handlers as actions (instance attributes: plain functions)."""

    def __init__(self) -> None:
        for name in ("index", "hello", "echo", "item", "dir_index", "configured", "readonly",
                     "boom", "unicode_page"):
            setattr(self, name, getattr(conformance, name))


def routes_dispatcher() -> Any:
    controller = _Controller()
    dispatcher = drupe.dispatch.RoutesDispatcher()
    dispatcher.connect("index", "/", controller, action="index")
    dispatcher.connect("hello", "/hello", controller, action="hello")
    dispatcher.connect("echo", "/echo", controller, action="echo")
    dispatcher.connect("item", "/items/{item_id}", controller, action="item")
    # Routes patterns match exactly: the index answers with and without its slash.
    dispatcher.connect("dir", "/dir/", controller, action="dir_index")
    dispatcher.connect("dir_without_slash", "/dir", controller, action="dir_index")
    dispatcher.connect("configured", "/configured", controller, action="configured")
    dispatcher.connect("readonly", "/readonly", controller, action="readonly",
                       conditions={"method": ["GET"]})
    dispatcher.connect("boom", "/boom", controller, action="boom")
    dispatcher.connect("unicode", "/" + conformance.UNICODE_SEGMENT, controller, action="unicode_page")
    return dispatcher


class TestRoutesDispatcherConformance(conformance.DispatcherConformance):
    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(None, "/", conformance.app_config(routes_dispatcher()))
        return conformance.ConformanceApp(Client(drupe.tree))


class TestRoutesDispatcherMountedConformance(conformance.DispatcherConformance):
    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(None, "/shop", conformance.app_config(routes_dispatcher()))
        return conformance.ConformanceApp(Client(drupe.tree), prefix="/shop")
