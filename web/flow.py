"""The last step of a view that changes state: commit and say so, or roll back and say why."""

from collections.abc import Callable

from flask import flash

from models import db
from models.base import RuleError


def attempt(operation: Callable[[], object], success: str) -> bool:
    """Run a service call; commit and flash `success`, or roll back and flash the rule it broke."""
    try:
        operation()
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True
