"""Extension points: features add panels to the dashboard and to the unit page.

A provider takes the viewer (and the unit, for unit panels) and returns a
(template name, context) pair, or None to show nothing. Providers must load
what they show in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Panel = tuple[str, dict[str, Any]] | None

DASHBOARD: list[Callable[..., Panel]] = []
UNIT_PAGE: list[Callable[..., Panel]] = []


def dashboard_panel(fn: Callable[..., Panel]) -> Callable[..., Panel]:
    """Register fn(user) -> (template, context) | None for the dashboard."""
    DASHBOARD.append(fn)
    return fn


def unit_panel(fn: Callable[..., Panel]) -> Callable[..., Panel]:
    """Register fn(user, unit) -> (template, context) | None for the unit page."""
    UNIT_PAGE.append(fn)
    return fn


def render(providers: list[Callable[..., Panel]], *args) -> list[tuple[str, dict[str, Any]]]:
    return [p for p in (fn(*args) for fn in providers) if p is not None]
