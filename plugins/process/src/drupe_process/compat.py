"""The names drupe-process adds to ``drupe.process.plugins`` (CherryPy's module path).

Registered as ``process.plugins`` in the ``drupe.compat`` entry-point group: the kernel's
``drupe.process.plugins`` facade looks up here every name it does not hold itself
(``SimplePlugin`` is the kernel's). Only the public names are imported into this module,
since any attribute found here becomes reachable through the facade.
"""

from drupe_process._autoreload import Autoreloader
from drupe_process._daemon import Daemonizer
from drupe_process._monitor import Monitor
from drupe_process._pidfile import PIDFile
from drupe_process._privileges import DropPrivileges
from drupe_process._signals import SignalHandler
from drupe_process._tasks import BackgroundTask, PerpetualTimer
from drupe_process._threads import ThreadManager
from drupe_process._timeouts import TimeoutMonitor, _TimeoutMonitor

__all__ = [
    "Autoreloader",
    "BackgroundTask",
    "Daemonizer",
    "DropPrivileges",
    "Monitor",
    "PIDFile",
    "PerpetualTimer",
    "SignalHandler",
    "ThreadManager",
    "TimeoutMonitor",
    "_TimeoutMonitor",
]
