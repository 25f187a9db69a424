"""Mail after the request: send it at once (inline delivery) or wake the process's sender thread.

Services queue mail in the request's transaction (services.mail); after the response
this sends it or wakes a sender thread per app, which also polls for retries.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, g

from models import db
from services import mail

log = logging.getLogger(__name__)

# --- sender thread --------------------------------------------------------------------

# One sender per app: a thread bound to whichever app woke it first would send another
# app's mail (a second app in the same process, as in tests) with the wrong settings.
_lock = threading.Lock()


def _sender(app: Flask) -> dict:
    return app.extensions.setdefault(
        "gongjian_mailer", {"wake": threading.Event(), "stop": threading.Event(), "thread": None}
    )


def _run(app: Flask, wake_event: threading.Event, stop_event: threading.Event) -> None:
    while not stop_event.is_set():
        wake_event.wait(timeout=app.config.get("MAIL_POLL_SECONDS", 60))
        wake_event.clear()
        if stop_event.is_set():
            break
        with app.app_context():
            try:
                mail.deliver_due()
            except Exception:  # keep the sender alive whatever happens
                log.exception("mail delivery failed")
                db.session.rollback()
            finally:
                db.session.remove()


def _running(app: Flask) -> bool:
    thread = _sender(app)["thread"]
    return thread is not None and thread.is_alive()


def wake(app: Flask) -> None:
    """Start this app's sender thread if needed and let it send now."""
    state = _sender(app)
    with _lock:
        if not _running(app):
            state["stop"].clear()
            state["thread"] = threading.Thread(
                target=_run, args=(app, state["wake"], state["stop"]), name="gongjian-mailer", daemon=True
            )
            state["thread"].start()
    state["wake"].set()


def stop(app: Flask, timeout: float = 10.0) -> bool:
    """Stop this app's sender thread, letting a message being sent finish; True once it has
    stopped. An app that is done with (a test's) must not leave a thread polling the
    database its successor uses: it would take that app's mail and send it with its own
    settings."""
    state = app.extensions.get("gongjian_mailer")
    if state is None or state["thread"] is None:
        return True
    state["stop"].set()
    state["wake"].set()
    state["thread"].join(timeout)
    return not state["thread"].is_alive()


def init_app(app: Flask) -> None:
    """After a request that queued mail, send it (inline) or wake the sender thread."""
    mail.check_sender(app)

    @app.after_request
    def _after(response):
        if not app.config.get("MAIL_SERVER"):
            return response
        pending = g.pop("mail_pending", False)
        mode = app.config.get("MAIL_DELIVERY", "thread")
        if mode == "inline" and pending:
            try:
                mail.deliver_due()
            except Exception:
                log.exception("inline mail delivery failed")
                db.session.rollback()
        elif mode == "thread" and (pending or not _running(app)):
            # The first request of a process starts the sender too, so mail that waited
            # (no server yet, a retry after a restart) goes out without new mail.
            wake(app)
        return response
