"""drupe.in_flight(): the requests being served, in every thread."""

from __future__ import annotations

import threading
from typing import Any

from kernel_support import call, mount

import drupe


def test_a_request_is_in_flight_only_while_it_is_served() -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[Any] = []

    class Root:
        @drupe.expose
        def index(self) -> str:
            seen.append((drupe.serving.request, drupe.serving.response))
            inside.set()
            release.wait(10)
            return "ok"

        @drupe.expose
        def stream(self) -> Any:
            def chunks() -> Any:
                yield "a"
                yield "b"
            return chunks()

        stream._cp_config = {"response.stream": True}  # type: ignore[attr-defined]

    mount(Root())
    assert drupe.in_flight() == []
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(call(path="/")))
    worker.start()
    try:
        assert inside.wait(10)
        assert drupe.in_flight() == seen
    finally:
        release.set()
        worker.join(10)
    assert results[0].body == b"ok"
    assert drupe.in_flight() == []
    # A streamed response stays in flight until its body was sent and closed.
    assert call(path="/stream").body == b"ab"
    assert drupe.in_flight() == []
