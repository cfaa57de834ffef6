"""XMLRPCDispatcher passes drupe-testing's dispatcher conformance suite.

Ordinary (non-XML-RPC) pages behind the XML-RPC dispatcher behave as under the object
tree, apart from the path patching the dispatcher does.
"""

from __future__ import annotations

import pytest

import drupe
from drupe_testing import Client
from drupe_testing.conformance import dispatch as conformance


class TestXMLRPCDispatcherConformance(conformance.DispatcherConformance):
    not_applicable = {
        "test_method_not_allowed": "XMLRPCDispatcher's default next dispatcher (the object "
                                   "tree) does not look at the request method; XML-RPC "
                                   "controllers answer non-POST requests with 405 themselves",
    }

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(conformance.object_tree(), "/",
                         conformance.app_config(drupe.dispatch.XMLRPCDispatcher()))
        return conformance.ConformanceApp(Client(drupe.tree))


class TestXMLRPCDispatcherByShortNameConformance(conformance.DispatcherConformance):
    not_applicable = TestXMLRPCDispatcherConformance.not_applicable

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(conformance.object_tree(), "/rpc", conformance.app_config("xmlrpc"))
        return conformance.ConformanceApp(Client(drupe.tree), prefix="/rpc")
