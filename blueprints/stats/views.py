"""Views of the stats feature (being built)."""

from . import bp  # noqa: F401
