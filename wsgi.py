"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app

app = create_app()

# Compile every template now: under gunicorn's preload_app that is once, in the master, for
# all workers and their replacements, instead of on each new worker's first requests.
for _name in app.jinja_env.list_templates():
    app.jinja_env.get_template(_name)

# Behind a reverse proxy every request comes from the proxy's address, which would make
# the per-address login throttle lock everyone out at once. GONGJIAN_PROXIES=N trusts the
# X-Forwarded-For/-Proto headers set by N proxies in front; leave it unset without a proxy.
if proxies := int(os.environ.get("GONGJIAN_PROXIES", "0") or 0):
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
