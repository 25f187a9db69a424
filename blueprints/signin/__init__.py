from flask import Blueprint

bp = Blueprint("signin", __name__)

from blueprints.signin import views  # noqa: E402,F401
