"""Gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

Environment: GUNICORN_BIND (default 127.0.0.1:8000; put a reverse proxy in front),
GUNICORN_WORKERS or WEB_CONCURRENCY (default 2 x CPUs + 1, at most 8),
GUNICORN_TIMEOUT (seconds, default 60: PDF and Excel exports can take a while).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(
    os.environ.get("GUNICORN_WORKERS")
    or os.environ.get("WEB_CONCURRENCY")
    or min(multiprocessing.cpu_count() * 2 + 1, 8)
)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Load the app once, in the master, and fork the workers from it: they share its memory, and
# a recycled worker answers within milliseconds instead of importing everything again (about
# 3 s, while its share of the requests waits). create_app opens no database connection, so no
# worker inherits one. New code needs a restart of gunicorn, not a HUP.
preload_app = True
# Recycle workers now and then so a slow leak cannot grow without bound; the jitter (added,
# 0 to 1,000) keeps the workers from reaching the limit together.
max_requests = 2000
max_requests_jitter = 1000

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


def when_ready(server):
    """Before the first fork: hide what the app loaded from the cyclic garbage collector.

    The modules, models and compiled templates live as long as the process; frozen, the
    workers' full collections no longer walk them (and copy their memory pages).
    """
    gc.freeze()
