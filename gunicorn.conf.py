"""Gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

Environment: GUNICORN_BIND (default 127.0.0.1:8000; put a reverse proxy in front),
GUNICORN_WORKERS or WEB_CONCURRENCY (default 2 x CPUs + 1, at most 8),
GUNICORN_TIMEOUT (seconds, default 60: PDF and Excel exports can take a while).
"""

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
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
