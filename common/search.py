"""Search boxes: what a user types is matched literally, so LIKE's wildcards are escaped."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so % and _ in a search match literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
