"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app

app = create_app()

# Behind a reverse proxy every request comes from the proxy's address, which would make
# the per-address login throttle lock everyone out at once. GONGJIAN_PROXIES=N trusts the
# X-Forwarded-For/-Proto headers set by N proxies in front; leave it unset without a proxy.
if proxies := int(os.environ.get("GONGJIAN_PROXIES", "0") or 0):
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
