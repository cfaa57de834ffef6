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
``daemonizer``         Daemonizer          double fork into the background (start, 65)
``pidfile``            PIDFile             writes / removes a PID file (start 70, exit)
``drop_privileges``    DropPrivileges      uid / gid / umask after the server binds (77)
``health``             Health              ``/healthz`` and ``/readyz`` on ``drupe.tree``
=====================  ==================  ================================================

The helpers (:class:`Monitor`, :class:`BackgroundTask`, :class:`PerpetualTimer`) and the
plugin classes are also reachable as ``drupe.process.plugins.<Name>`` (``drupe.compat``
group, :mod:`drupe_process.compat`). :mod:`drupe_process.hooks` contributes the config
defaults that subscribe the autoreloader, timeout monitor and thread manager, and turns
the autoreloader off in the production, staging, embedded and test_suite environments.
:mod:`drupe_process.hosting` runs the engine inside a foreign WSGI host (gunicorn, ...).
"""

from drupe_process._autoreload import Autoreloader
from drupe_process._daemon import DaemonizeError, Daemonizer
from drupe_process._health import Health
from drupe_process._monitor import Monitor
from drupe_process._pidfile import PIDFile, PIDFileError
from drupe_process._privileges import DropPrivileges, PrivilegeError
from drupe_process._signals import SignalHandler
from drupe_process._tasks import BackgroundTask, PerpetualTimer
from drupe_process._threads import ThreadManager
from drupe_process._timeouts import TimeoutMonitor

__all__ = [
    "Autoreloader",
    "BackgroundTask",
    "DaemonizeError",
    "Daemonizer",
    "DropPrivileges",
    "Health",
    "Monitor",
    "PIDFile",
    "PIDFileError",
    "PerpetualTimer",
    "PrivilegeError",
    "SignalHandler",
    "ThreadManager",
    "TimeoutMonitor",
]
