"""The archive (档案室): the minutes register, description and filing (归档), appraisal."""

from flask import Blueprint

bp = Blueprint("records", __name__, url_prefix="/archive")

from blueprints.records import views  # noqa: E402,F401
