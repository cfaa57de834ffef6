"""A clean drupe around every test; ``client`` (in-process) and ``live_server`` come from
drupe-testing, ``error_log`` is its ``drupe_error_log``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import drupe


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()


@pytest.fixture
def error_log(drupe_error_log: list[str]) -> list[str]:
    return drupe_error_log
