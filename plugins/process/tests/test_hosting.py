"""drupe_process.hosting: the engine inside a foreign WSGI host."""

from __future__ import annotations

import os

from process_support import call, mount_handler

import drupe
from drupe_process import hosting


def test_embed_prepares_the_process_for_a_host() -> None:
    app = hosting.embed()
    assert app is drupe.tree
    assert drupe.config["environment"] == "embedded"
    assert drupe.engine.autoreload.start not in drupe.engine.listeners["start"]
    assert drupe.server.start not in drupe.engine.listeners["start"]


def test_the_hosted_app_starts_the_engine_on_its_first_request_and_stop_exits() -> None:
    mount_handler(lambda: f"engine {drupe.engine.state.name}")
    started: list[int] = []
    drupe.engine.subscribe("start", lambda: started.append(os.getpid()))
    ticks: list[int] = []
    drupe.engine.subscribe("main", lambda: ticks.append(1))
    app = hosting.wsgi_app()
    try:
        assert call(app, "/").body == b"engine STARTED"
        assert call(app, "/").body == b"engine STARTED"
        assert started == [os.getpid()]          # once per process
        from process_support import wait_until

        wait_until(lambda: ticks, timeout=5, message="the main channel")
    finally:
        hosting.stop()
    assert drupe.engine.state is drupe.states.EXITING


def test_gunicorn_hooks() -> None:
    hosting.embed()
    hosting.post_worker_init(object())
    assert drupe.engine.state is drupe.states.STARTED
    hosting.worker_exit(object(), object())
    assert drupe.engine.state is drupe.states.EXITING
