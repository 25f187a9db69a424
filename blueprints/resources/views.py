"""Views of the resources feature (being built)."""

from . import bp  # noqa: F401
