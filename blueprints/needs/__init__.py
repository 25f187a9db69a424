from flask import Blueprint

bp = Blueprint("needs", __name__)

from . import views  # noqa: E402,F401
