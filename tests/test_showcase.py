"""The showcase application (examples/showcase.py) serves what it says it shows."""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import drupe
from drupe_testing import Client

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "showcase.py"


@pytest.fixture
def showcase() -> Iterator[ModuleType]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    spec = importlib.util.spec_from_file_location("drupe_showcase_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_app()
    # The bus plugin fills the shelf on start; no HTTP server is needed in-process.
    drupe.server.unsubscribe()
    drupe.engine.start()
    try:
        yield module
    finally:
        drupe.engine.exit()
        drupe.reset()


def test_pages_are_gzipped_by_the_plugin_and_timed_by_the_local_tool(showcase: ModuleType) -> None:
    client = Client(drupe.tree)
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"drupe showcase" in gzip.decompress(response.body)
    assert float(response.headers["X-Elapsed-Ms"]) >= 0


def test_books_use_popargs_and_the_shelf_plugin(showcase: ModuleType) -> None:
    client = Client(drupe.tree)
    assert "Solaris" in client.get("/books/").text
    assert "Frank Herbert" in client.get("/books/dune/").text
    redirect = client.get("/books/dune")
    assert (redirect.status, redirect.headers["Location"]) == (301, "http://localhost/books/dune/")
    missing = client.get("/books/nope/")
    assert missing.status == 404
    assert "404 Not Found" in missing.text


def test_the_shelf_toolbox_refuses_writes(showcase: ModuleType) -> None:
    client = Client(drupe.tree)
    response = client.post("/books/", data={"title": "x"})
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_plugins_and_plan_pages_read_the_registry_and_the_plans(showcase: ModuleType) -> None:
    client = Client(drupe.tree)
    assert "drupe-tool-gzip" in client.get("/plugins").text
    client.get("/books/dune/")
    plan = client.get("/plan", params={"path": "/books/dune/"}).text
    assert "gzip" in plan
    assert "timing_header" in plan
    assert "read_only" in plan
    assert client.get("/old").status == 301
