from flask import Blueprint

bp = Blueprint("actions", __name__)

from blueprints.actions import views  # noqa: E402,F401
