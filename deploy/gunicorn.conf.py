"""gunicorn configuration: drupe's kernel as a WSGI app, the engine started in each worker.

    gunicorn -c gunicorn.conf.py            # serves app:application on 127.0.0.1:8080

gunicorn forks its workers from the master; threads do not survive a fork, so the drupe
engine (monitors, session clean-up, the application's own start/stop listeners) must be
started in each worker, after the fork and after the worker loaded the application:
``post_worker_init`` does that, ``worker_exit`` stops it. ``hosting.embed()`` runs here,
in the master, before the fork: the ``embedded`` environment, no autoreloader, and drupe's
own HTTP server unsubscribed (gunicorn serves HTTP).
"""

from drupe_process import hosting
from drupe_process.hosting import post_worker_init, worker_exit

wsgi_app = "app:application"
bind = "127.0.0.1:8080"
workers = 2
# Graceful stop (SIGTERM / SIGQUIT for an immediate one): requests in flight get this long.
graceful_timeout = 10

hosting.embed()
