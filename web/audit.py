"""Tell the audit trail where each request comes from: the client's address and the path."""

from __future__ import annotations

from flask import Flask, g, request


def init_app(app: Flask) -> None:
    """Before each request, note its address and path for services.audit."""

    @app.before_request
    def _where():
        g.audit_where = ((request.remote_addr or "")[:64], request.path[:200])
