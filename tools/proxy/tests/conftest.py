"""A clean drupe around each test of the proxy tool, and an app that shows what it sees."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import drupe
from drupe_testing import Client


class Echo:
    """Shows the request as the application sees it once the tool has run."""

    @drupe.expose
    def index(self) -> str:
        request = drupe.request
        return f"{request.base}|{request.scheme}|{request.remote.ip}|{request.remote.port}"

    @drupe.expose
    def url(self) -> str:
        return drupe.url("/page")

    @drupe.expose
    def go(self) -> None:
        raise drupe.HTTPRedirect("/target")


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


@pytest.fixture
def error_log(drupe_error_log: list[str]) -> list[str]:
    return drupe_error_log


@pytest.fixture
def seen() -> Callable[..., tuple[str, str, str, int]]:
    """``seen(headers, peer=..., **conf)``: mount Echo with the tool on; base, scheme, ip, port."""

    def seen(headers: dict[str, str] | None = None, peer: str = "127.0.0.1",
             **conf: Any) -> tuple[str, str, str, int]:
        mount(**conf)
        response = Client(drupe.tree, host="app.internal", port=8080, remote_addr=peer).get(
            "/", headers=headers or {})
        assert response.status == 200, response.text
        base, scheme, ip, port = response.text.split("|")
        return base, scheme, ip, int(port)

    return seen


def mount(**conf: Any) -> None:
    settings: dict[str, Any] = {"tools.proxy.on": True}
    settings.update({f"tools.proxy.{key}": value for key, value in conf.items()})
    drupe.tree.apps.clear()
    drupe.tree.mount(Echo(), "/", {"/": settings})
