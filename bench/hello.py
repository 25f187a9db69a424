"""The yardstick of bench/http_load.py: a Flask hello world, served like Gongjian.

gunicorn -c gunicorn.conf.py --pythonpath bench 'hello:create_app()'
"""

from flask import Flask


def create_app() -> Flask:
    """Return an app with one route answering a short text."""
    app = Flask(__name__)

    @app.route("/")
    def hello() -> str:
        """Say hello."""
        return "Hello, World!"

    return app
