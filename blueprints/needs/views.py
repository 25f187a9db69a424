"""Views of the needs feature (being built)."""

from . import bp  # noqa: F401
