"""Places pages: the hierarchy from city to building, created, renamed, reordered, retired
and imported by the system administrator."""

from flask import Blueprint

bp = Blueprint("places", __name__, url_prefix="/places")

from blueprints.places import views  # noqa: E402,F401
