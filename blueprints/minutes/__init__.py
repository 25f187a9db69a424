from flask import Blueprint

bp = Blueprint("minutes", __name__, url_prefix="/meetings/<int:meeting_id>")

from blueprints.minutes import views  # noqa: E402,F401
