"""MethodDispatcher passes drupe-testing's dispatcher conformance suite."""

from __future__ import annotations

import pytest

import drupe
from drupe_testing import Client
from drupe_testing.conformance import dispatch as conformance


class TestMethodDispatcherConformance(conformance.DispatcherConformance):
    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(conformance.resource_tree(), "/",
                         conformance.app_config(drupe.dispatch.MethodDispatcher()))
        return conformance.ConformanceApp(Client(drupe.tree))


class TestMethodDispatcherConformanceByShortName(conformance.DispatcherConformance):
    @pytest.fixture
    def conformance_app(self) -> conformance.ConformanceApp:
        drupe.tree.mount(conformance.resource_tree(), "/api", conformance.app_config("method"))
        return conformance.ConformanceApp(Client(drupe.tree), prefix="/api")
