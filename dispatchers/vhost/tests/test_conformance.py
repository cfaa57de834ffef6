"""VirtualHost passes drupe-testing's dispatcher conformance suite.

The conformance application lives under ``/site`` of a root whose own pages must never
be reached; the client asks for the host mapped to ``/site``.
"""

from __future__ import annotations

import pytest

import drupe
from drupe_testing import Client
from drupe_testing.conformance import dispatch as conformance

HOST = "conformance.example"


class _Root:
    def __init__(self) -> None:
        self.site = conformance.object_tree()

    @drupe.expose
    def index(self) -> str:
        return "the wrong site"


def _config(dispatcher: object) -> dict[str, dict[str, object]]:
    return {"/": {"request.dispatch": dispatcher, **conformance.ROOT_CONFIG},
            "/site/configured": dict(conformance.SECTION_CONFIG)}


class TestVirtualHostConformance(conformance.DispatcherConformance):
    not_applicable = {
        "test_method_not_allowed": "VirtualHost's default next dispatcher (the object tree) "
                                   "does not look at the request method",
    }

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(_Root(), "/", _config(drupe.dispatch.VirtualHost(**{HOST: "/site"})))
        return conformance.ConformanceApp(Client(drupe.tree, host=HOST))


class TestVirtualHostWithPortConformance(conformance.DispatcherConformance):
    """The host map names a port; the client sends the same port in Host."""

    not_applicable = TestVirtualHostConformance.not_applicable

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(_Root(), "/", _config(drupe.dispatch.VirtualHost(**{f"{HOST}:8080": "/site"})))
        return conformance.ConformanceApp(Client(drupe.tree, host=HOST, port=8080))


class TestVirtualHostOverMethodDispatcherConformance(conformance.DispatcherConformance):
    """VirtualHost in front of MethodDispatcher: 405 applies, and the plan key includes both."""

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        root = conformance.resource_tree()
        root.site = conformance.resource_tree()
        dispatcher = drupe.dispatch.VirtualHost(drupe.dispatch.MethodDispatcher(), **{HOST: "/site"})
        drupe.tree.mount(root, "/", _config(dispatcher))
        return conformance.ConformanceApp(Client(drupe.tree, host=HOST))
