"""Fixtures for the kernel's tests: a clean drupe around every test, fake distributions.

Helpers shared by the test modules live in ``kernel_support`` (this folder is put on
``sys.path`` so that the modules can import it under ``--import-mode=importlib``).
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from kernel_support import FakeDistributions, forget_loaded_tools

import drupe
from drupe import _body, _boot, _config


@pytest.fixture
def fake_dists(tmp_path: Path) -> Iterator[FakeDistributions]:
    fakes = FakeDistributions(tmp_path)
    try:
        yield fakes
    finally:
        fakes.cleanup()
        forget_loaded_tools()
        _forget_dispatch_cache()
        _boot.reboot()


_DISPATCH_NAMES = set(vars(__import__("drupe.dispatch").dispatch))


def _forget_dispatch_cache() -> None:
    """Drop dispatcher classes ``drupe.dispatch`` cached from (fake) entry points."""
    from drupe import dispatch

    for name in set(vars(dispatch)) - _DISPATCH_NAMES:
        delattr(dispatch, name)


# ---------------------------------------------------------------------------
# A clean process for every test


_AUTOLOAD = "DRUPE_DISABLE_PLUGIN_AUTOLOAD"


@pytest.fixture(autouse=True)
def clean_drupe() -> Iterator[None]:
    """``drupe.reset()`` around each test; quiet logs; no leaked threads."""
    threads_before = set(threading.enumerate())
    # The kernel's tests run as if only the kernel and the object-tree dispatcher were
    # installed: hook modules of other installed distributions (drupe-process subscribes
    # an autoreloader, for one) are not loaded. Tests of the hooks install their own.
    autoload = os.environ.get(_AUTOLOAD)
    os.environ[_AUTOLOAD] = "1"
    if _boot.is_booted() and _boot.get_plugin_manager().get_plugins():
        _boot.reboot()
        drupe.config.defaults.clear()  # only plugins contribute defaults
    _boot.boot()
    global_namespaces = dict(drupe.config.namespaces)
    request_namespaces = dict(drupe.Request.namespaces)
    environments = copy.deepcopy(_config.environments)
    defaults = dict(drupe.config.defaults)
    processors = dict(_body.default_processors)
    checker_state = dict(vars(drupe.checker))
    drupe.reset()
    drupe.config.update({"log.screen": False})
    yield
    forget_loaded_tools()
    for namespaces, saved in ((drupe.config.namespaces, global_namespaces),
                              (drupe.Request.namespaces, request_namespaces)):
        namespaces.clear()
        namespaces.update(saved)
    _config.environments.clear()
    _config.environments.update(environments)
    drupe.config.defaults.clear()
    drupe.config.defaults.update(defaults)
    _body.default_processors.clear()
    _body.default_processors.update(processors)
    # reset() leaves what config did to the checker (checker.on, disabled checks) alone.
    vars(drupe.checker).clear()
    vars(drupe.checker).update(checker_state)
    drupe.reset()
    drupe.log.error_file = ""
    drupe.log.access_file = ""
    if autoload is None:
        del os.environ[_AUTOLOAD]
    else:
        os.environ[_AUTOLOAD] = autoload
    _boot.reboot()  # the next user of drupe (another distribution's tests) boots as usual
    deadline = time.monotonic() + 5
    while True:
        leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"the test left threads running: {leaked}"


@pytest.fixture
def drupe_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture everything drupe logs (error and access logs, every application)."""
    caplog.set_level(logging.DEBUG, logger="cherrypy")
    return caplog


