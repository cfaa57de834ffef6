"""uWSGI serves HTTP; the engine starts in each worker (the documentation's section 8.7.4).

    uwsgi --http 127.0.0.1:8080 --master --processes 2 --wsgi-file uwsgi_host.py --callable wsgiapp

The documentation's version calls ``engine.start()`` at import time. uWSGI imports the
file in the master and then forks the workers, and threads do not survive a fork: the
monitors would be dead in every worker. ``hosting.wsgi_app`` starts the engine in each
worker on its first request instead (``--lazy-apps`` with ``engine.start()`` at import
works too: each worker then imports the file itself).
"""

import app

from drupe_process import hosting

wsgiapp = hosting.wsgi_app()   # embedded environment, no autoreloader, no drupe HTTP server
