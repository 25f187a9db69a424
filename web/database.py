"""Transactions per request: SQLite pragmas, and BEGIN IMMEDIATE for requests that write."""

from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def wants_write_transaction() -> bool:
    """Whether the transaction being opened may write.

    Requests that change state (and the CLI) take SQLite's write lock up front
    with BEGIN IMMEDIATE, so a read-then-write never fails on lock upgrade under
    several worker processes; GET requests read without blocking writers.
    A GET that must write (auditing a refusal) sets ``g.write_transaction``.
    """
    if has_request_context():
        return request.method not in SAFE_METHODS or bool(g.get("write_transaction"))
    return True


def configure_engine(engine: Engine) -> None:
    """Apply SQLite pragmas and explicit BEGIN handling; PostgreSQL needs none."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy, not the driver, emit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if wants_write_transaction() else "BEGIN")


def begin_write(session) -> None:
    """End the current read transaction so the next one starts as a write (GET views that write)."""
    session.commit()
    g.write_transaction = True
