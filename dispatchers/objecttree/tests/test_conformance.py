"""The default dispatcher passes drupe-testing's dispatcher conformance suite."""

from __future__ import annotations

import pytest

import drupe
from drupe_testing import Client
from drupe_testing.conformance import dispatch as conformance


class TestObjectTreeConformance(conformance.DispatcherConformance):
    not_applicable = {
        "test_method_not_allowed": "the object tree does not look at the request method "
                                   "(a handler restricts methods with tools.allow)",
    }

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(conformance.object_tree(), "/",
                         conformance.app_config(drupe.dispatch.Dispatcher()))
        return conformance.ConformanceApp(Client(drupe.tree))


class TestObjectTreeConformanceByShortName(conformance.DispatcherConformance):
    """The same application, the dispatcher named in config and mounted below the root."""

    not_applicable = TestObjectTreeConformance.not_applicable

    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(conformance.object_tree(), "/mounted", conformance.app_config("default"))
        return conformance.ConformanceApp(Client(drupe.tree), prefix="/mounted")
