"""drupe-process: the engine plugins a drupe process needs to run as a server.

Each plugin is a class registered in the ``drupe.engine`` entry-point group under the
attribute name CherryPy uses; the kernel creates it (``cls(drupe.engine)``) the first
time ``drupe.engine.<name>`` or an ``engine.<name>.*`` config key names it:

=====================  ==================  ================================================
``drupe.engine.``      class               what it does
=====================  ==================  ================================================
``signal_handler``     SignalHandler       SIGTERM exits, SIGHUP restarts (daemon) or exits,
                                           SIGUSR1 reloads; one bus channel per signal
``autoreload``         Autoreloader        restarts the process when a source file changes
``timeout_monitor``    TimeoutMonitor      marks requests running past ``response.timeout``
``thread_manager``     ThreadManager       ``start_thread`` / ``stop_thread`` per worker
=====================  ==================  ================================================

The helpers (:class:`Monitor`, :class:`BackgroundTask`, :class:`PerpetualTimer`) and the
plugin classes are also reachable as ``drupe.process.plugins.<Name>`` (``drupe.compat``
group, :mod:`drupe_process.compat`). :mod:`drupe_process.hooks` contributes the config
defaults that subscribe the autoreloader, timeout monitor and thread manager, and turns
the autoreloader off in the production, staging, embedded and test_suite environments.
"""

from drupe_process._autoreload import Autoreloader
from drupe_process._monitor import Monitor
from drupe_process._signals import SignalHandler
from drupe_process._tasks import BackgroundTask, PerpetualTimer
from drupe_process._threads import ThreadManager
from drupe_process._timeouts import TimeoutMonitor

__all__ = [
    "Autoreloader",
    "BackgroundTask",
    "Monitor",
    "PerpetualTimer",
    "SignalHandler",
    "ThreadManager",
    "TimeoutMonitor",
]
