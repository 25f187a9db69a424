from flask import Blueprint

bp = Blueprint("resources", __name__)

from blueprints.resources import views  # noqa: E402,F401
