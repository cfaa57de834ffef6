"""A clean drupe around each test; puts this folder on sys.path for ``auth_support``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import drupe

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    drupe.reset()
