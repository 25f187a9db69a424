"""The one way a view finishes a request that writes: commit once, or roll back and say why.

A view loads what it needs (404), authorizes (403) and validates its form, then hands the
service call to `attempt`. On success the change is committed and the success message
flashed; a broken rule (`RuleError`) rolls everything back and its message goes where the
user looks: flashed after a one-click action, or beside a field (or on top of the form) so
the page is shown again with what was typed. A GET that must write (an audited download,
a feed storing the events it rebuilt) goes through `write_in_get`. Views never commit or
roll back themselves (tests/test_architecture.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash
from wtforms import Field
from wtforms import Form as WTForm

from models import db
from models.base import RuleError
from web.database import begin_write

T = TypeVar("T")

# Where a broken rule's message goes: None flashes it; a field shows it beside the field; a
# form above its fields; a callable gets the message to show it its own way.
ErrorTarget = Field | WTForm | Callable[[str], object] | None


@dataclass
class Outcome(Generic[T]):
    """What an attempt came to: true when committed, with the service's return value, or
    false with the message of the rule it broke."""

    value: T | None = None
    error: str | None = None

    def __bool__(self) -> bool:
        return self.error is None


def attempt(
    operation: Callable[[], T],
    success: str | Callable[[T], str] | None = None,
    *,
    errors: ErrorTarget = None,
) -> Outcome[T]:
    """Run a service call; commit and flash `success`, or roll back and show the rule it broke."""
    try:
        value = operation()
    except RuleError as exc:
        db.session.rollback()
        _show(str(exc), errors)
        return Outcome(error=str(exc))
    db.session.commit()
    if success is not None:
        # After the commit, so a message built from the result shows what was stored.
        flash(success(value) if callable(success) else success, "success")
    return Outcome(value=value)


def _show(message: str, target: ErrorTarget) -> None:
    """Put a broken rule's message where the view asked for it."""
    if target is None:
        flash(message, "error")
    elif isinstance(target, Field):
        # Before validation a field's errors are a tuple, after it a list.
        target.errors = [*target.errors, message]
    elif isinstance(target, WTForm):
        target.form_errors.append(message)
    else:
        target(message)


def write_in_get(operation: Callable[[], T], *, lock: bool = True) -> T:
    """Let a GET write: take the write lock (unless `lock` is false), run, commit."""
    if lock:
        begin_write(db.session)
    value = operation()
    db.session.commit()
    return value
