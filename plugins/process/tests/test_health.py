"""The health endpoints follow the bus state (driven in-process through ``drupe.tree``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from process_support import call, mount_handler

import drupe
from drupe_process import Health


def answer(path: str) -> tuple[str, dict[str, Any]]:
    result = call(drupe.tree, path)
    return result.status, json.loads(result.body) if result.body else {}


@pytest.fixture
def health() -> Health:
    mount_handler(lambda: "app")
    drupe.server.unsubscribe()
    drupe.config.update({"engine.health.on": True, "engine.autoreload.on": False})
    plugin: Health = drupe.engine.health
    return plugin


def test_readyz_is_503_until_started_and_while_stopping(health: Health) -> None:
    assert answer("/readyz")[0].startswith("503")
    status, document = answer("/healthz")
    assert (status, document["status"], document["state"]) == ("200 OK", "ok", "STOPPED")
    during: dict[str, str] = {}
    drupe.engine.subscribe("start", lambda: during.setdefault("start", answer("/readyz")[0]), priority=90)
    drupe.engine.subscribe("stop", lambda: during.setdefault("stop", answer("/readyz")[0]), priority=10)
    drupe.engine.start()
    assert answer("/readyz")[0] == "200 OK"
    assert call(drupe.tree, "/").body == b"app"   # the application is untouched
    drupe.engine.stop()
    assert during == {"start": "503 Service Unavailable", "stop": "503 Service Unavailable"}


def test_checks_make_readiness_fail_with_their_message(health: Health) -> None:
    def database() -> bool:
        raise ConnectionError("database down")

    health.checks.append(database)
    drupe.engine.start()
    status, document = answer("/readyz")
    assert status.startswith("503")
    assert document["failures"] == ["database: database down"]
    health.checks[:] = [lambda: True]
    assert answer("/readyz")[0] == "200 OK"


def test_paths_methods_and_subpaths(health: Health) -> None:
    drupe.config.update({"engine.health.readyz_path": "/ready"})
    assert "/readyz" not in drupe.tree.apps
    assert "/ready" in drupe.tree.apps
    assert answer("/healthz/more")[0].startswith("404")
    environ_post = call_with_method("/healthz", "POST")
    assert environ_post.startswith("405")
    with pytest.raises(drupe.ConfigError, match=r"engine\.health\.healthz_path"):
        drupe.config.update({"engine.health.healthz_path": "healthz"})
    drupe.config.update({"engine.health.on": False})
    assert "/healthz" not in drupe.tree.apps
    assert "/ready" not in drupe.tree.apps


def call_with_method(path: str, method: str) -> str:
    import io

    statuses: list[str] = []
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "x", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http"}
    body = drupe.tree(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    return statuses[0]
