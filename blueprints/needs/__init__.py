from flask import Blueprint

bp = Blueprint("needs", __name__)

from blueprints.needs import views  # noqa: E402,F401
