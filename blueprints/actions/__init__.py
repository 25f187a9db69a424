from flask import Blueprint

bp = Blueprint("actions", __name__)

from . import views  # noqa: E402,F401
