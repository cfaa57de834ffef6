"""Fixtures for the deployment tests: real processes, real sockets, the recipes in deploy/.

Every process a test starts is registered with the ``processes`` fixture, which kills
whatever is still running afterwards (the process, its process group, and any pid a PID
file names) so that no test leaves a server behind. ``deploy_support`` (this folder is put
on ``sys.path``) holds the helpers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from deploy_support import Processes, copy_recipes


@pytest.fixture
def processes() -> Iterator[Processes]:
    running = Processes()
    try:
        yield running
    finally:
        running.cleanup()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory holding deploy/app.py and deploy/app.conf (the recipes' application)."""
    copy_recipes(tmp_path, "app.py", "app.conf")
    return tmp_path
