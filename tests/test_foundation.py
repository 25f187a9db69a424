"""Configuration, database set-up and the schema built by the migrations."""

from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.exc import StatementError

from app import create_app
from models import AuditEvent, Unit, UnitCategory, db


# SQLite cannot reflect expression indexes, so ix_action_ledger (PostgreSQL only) is compared
# on PostgreSQL alone; alembic says so on SQLite.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_build_exactly_the_models(app):
    """A model change without a migration fails here."""
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_migrations_form_one_line():
    """Branches merged with a migration each must be put in one line (two heads: `db upgrade` fails)."""
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    config = Config(str(migrations / "alembic.ini"))
    config.set_main_option("script_location", str(migrations))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_sqlite_pragmas(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_writing_requests_begin_immediate(app, client, world, login_as):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    login_as("secretary1")
    seen = []
    with app.app_context():
        engine = db.engine

    def spy(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        client.get(f"/units/{world.unit_a}")
        assert seen and set(seen) == {"BEGIN"}
        seen.clear()
        client.post(f"/units/{world.unit_a}/status", data={"to_status": "active", "reason": ""})
        assert seen and set(seen) == {"BEGIN IMMEDIATE"}
    finally:
        event.remove(engine, "before_cursor_execute", spy)


def test_naive_datetimes_are_refused(app, world):
    with app.app_context():
        db.session.add(AuditEvent(action="update", at=datetime(2026, 1, 1, 12, 0)))
        with pytest.raises(StatementError):
            db.session.flush()
        db.session.rollback()


def test_times_come_back_in_utc(app, world):
    with app.app_context():
        ev = db.session.scalar(db.select(AuditEvent).limit(1))
        assert ev.at.tzinfo is not None and ev.at.utcoffset().total_seconds() == 0


def test_unit_names_unique_per_street_in_the_database(app, world):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(
            Unit(
                street_id=world.street,
                community_id=world.community2,
                name="东大街第一小学",
                category=UnitCategory.SCHOOL,
                registered_on=date(2026, 1, 1),
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_category_is_checked_by_the_database(app, world):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(
                text("UPDATE unit SET category = 'nonsense' WHERE id = :id"), {"id": world.unit_a}
            )
            db.session.commit()
        db.session.rollback()


def test_secret_key_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")

    monkeypatch.setenv("GONGJIAN_INSTANCE_PATH", str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_urls_use_psycopg3():
    from config import normalise_database_url

    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_huge_numbers_in_urls_are_not_found_not_errors(app, client, world, login_as):
    login_as("admin")
    for url in (
        "/units/99999999999999999999999",
        "/units/2147483648",
        "/meetings/99999999999999999999/edit",
        "/units?page=99999999999999999999999",
        "/units?community=99999999999999999999999",
        "/actions?community=99999999999999999999999&unit=99999999999999999999999",
        "/meetings?unit=99999999999999999999999&page=99999999999999999999999",
        "/admin/audit?object_type=unit&object_id=99999999999999999999999",
    ):
        resp = client.get(url)
        assert resp.status_code in (200, 404), (url, resp.status_code)
