"""The pytest plugin (entry point ``pytest11``): drupe's fixtures and the reset marker.

pytest loads this module in every run where drupe-testing is installed, so it is kept
inert: it imports neither drupe nor anything heavy, adds no autouse behaviour unless a
test asks for it, and registers:

``drupe_reset``
    ``drupe.reset()`` before and after the test. Not autouse. Request it explicitly —
    best from the fixture that mounts your application, so the reset comes first — or
    mark tests, classes or modules with ``@pytest.mark.drupe_reset`` (``pytestmark =
    pytest.mark.drupe_reset``), or set ``drupe_autoreset = true`` in the ini file for a
    whole run: then it runs before every other function-scoped fixture.
``client``
    ``drupe_testing.Client(drupe.tree)``: in-process requests to whatever is mounted.
``live_server``
    a started :class:`~drupe_testing.LiveServer` (real HTTP server, 127.0.0.1, free
    port), stopped after the test; skipped when no HTTP server is installed.
``drupe_error_log``
    a list that collects every message (with its traceback) written to drupe's error log
    during the test, including the applications' logs, which propagate to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from drupe_testing import _runner

if TYPE_CHECKING:
    from drupe_testing._client import Client
    from drupe_testing._live import LiveServer

_MARKER = "drupe_reset"
_INI = "drupe_autoreset"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(_INI, type="bool", default=False,
                  help="drupe-testing: call drupe.reset() around every test of the run.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}: call drupe.reset() before and after each marked test (drupe-testing).",
    )
    # pytest calls CPWebCase.setup_class itself; unittest's setUpClass must then not.
    _runner.pytest_runs_setup_class = True


def pytest_unconfigure(config: pytest.Config) -> None:
    _runner.pytest_runs_setup_class = False


@pytest.fixture
def drupe_reset() -> Iterator[None]:
    """``drupe.reset()`` before and after the test: nothing mounted, default config."""
    import drupe

    drupe.reset()
    yield
    drupe.reset()


@pytest.fixture(autouse=True)
def _drupe_autoreset(request: pytest.FixtureRequest) -> None:
    # Autouse only in name: it does something only for marked tests or with the ini
    # option, and being autouse it runs before the test's own fixtures mount anything.
    if request.node.get_closest_marker(_MARKER) is not None or request.config.getini(_INI):
        request.getfixturevalue("drupe_reset")


@pytest.fixture
def client() -> Client:
    """An in-process client for ``drupe.tree`` (mount before or after requesting it)."""
    import drupe
    from drupe_testing._client import Client

    return Client(drupe.tree)


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """A started live server; it mounts nothing and is stopped (port checked) afterwards."""
    from drupe_testing._live import LiveServer, ServerUnavailable

    server = LiveServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


class _Messages(logging.Handler):
    """Keeps each formatted record (the message, and its traceback when there is one)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


@pytest.fixture
def drupe_error_log() -> Iterator[list[str]]:
    """The messages written to drupe's error log (and the applications' logs) meanwhile."""
    import drupe

    handler = _Messages()
    logger = drupe.log.error_log
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
