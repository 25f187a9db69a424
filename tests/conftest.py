"""Shared fixtures: one suite, two databases (SQLite by default, PostgreSQL via DATABASE_URL).

Each test gets a fresh app on a schema migrated once per session (per xdist worker), emptied
after the test. A test that asks for `seeded_demo` gets its app on a copy of the demo instead:
`flask seed-demo` runs once per session into a template database, copied for each such test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import traceback
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

from app import create_app
from config import normalise_database_url
from models import (
    AgendaItem,
    Attendance,
    Community,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Resource,
    ResourceKind,
    Role,
    Room,
    Street,
    Unit,
    UnitCategory,
    User,
    Visibility,
    db,
)
from services.passwords import hash_password
from web import mail as web_mail

PASSWORD = "共建测试口令2026"
DEMO_PASSWORD = "演示口令共建2026"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# pytest-xdist names its workers gw0, gw1, ...: each gets databases of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _test_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        # A cheap hash keeps the suite fast; production uses the strong defaults.
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_COST": 8,
        "PASSWORD_PARALLELISM": 1,
    }


def _new_app(url: str, instance: Path):
    """An app on url whose instance folder (uploads) is instance."""
    app = create_app(_test_config(url))
    app.instance_path = str(instance)
    return app


def _release(app) -> None:
    """Close the app's session and every pooled connection (so its database can be copied or dropped)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class PostgresServer:
    """Databases beside DATABASE_URL's on the same server, created and dropped by the suite."""

    def __init__(self, url: str):
        self.url = make_url(normalise_database_url(url))
        self.engine = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def name(self, suffix: str) -> str:
        return f"{self.url.database}{'_' + WORKER if WORKER else ''}_{suffix}"

    def create(self, name: str, template: str | None = None) -> str:
        """(Re)create database name, empty or as a copy of template; return its URL."""
        self.drop(name)
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        return self.url_of(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """The PostgreSQL server of DATABASE_URL (None on SQLite)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield None
        return
    server = PostgresServer(url)
    yield server
    server.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, postgres) -> Iterator[str]:
    """Build the schema once per session through the migrations, on an empty database.

    SQLite: a temporary file. PostgreSQL: DATABASE_URL's database with its public schema
    dropped and recreated, or under xdist a database of the worker's own beside it.
    """
    root = tmp_path_factory.mktemp("db")
    if postgres is None:
        url = f"sqlite:///{root / 'test.db'}"
    elif WORKER:
        url = postgres.create(postgres.name("tests"))
    else:
        url = postgres.url_of(postgres.url.database)
    app = _new_app(url, root)
    with app.app_context():
        if postgres is not None and not WORKER:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(MIGRATIONS))
    _release(app)
    yield url
    if postgres is not None and WORKER:
        postgres.drop(postgres.name("tests"))


def _clear(app) -> None:
    """Empty every table and restart the ids, as on a freshly migrated database."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                _clear_postgres(conn, tables)
            else:
                # The archive triggers refuse deleting approved minutes: lift them while emptying.
                triggers = conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                ).all()
                for name, _ in triggers:
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))
                for _, sql in triggers:
                    conn.execute(text(sql))
        db.engine.dispose()


def _clear_postgres(conn, tables: list[str]) -> None:
    """Empty the tables: by DELETE without triggers when allowed, else by TRUNCATE."""
    if conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
        # A TRUNCATE gives each table new files (about 70 ms for all); deleting the few rows a
        # test made takes a fifth of that. The replica role skips the archive guards and the
        # foreign-key checks, which are triggers too; it is a superuser's setting.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("; ".join(f'DELETE FROM "{t}"' for t in tables)))
        sequences = conn.scalars(
            text("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        if sequences:
            conn.execute(text("SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in sequences)))
    else:
        quoted = ", ".join(f'"{t}"' for t in tables)
        conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@dataclass
class Demo:
    """The demo, seeded once per session by `flask seed-demo` on an empty database."""

    password: str
    seeded: Result  # that first seed-demo run: exit code and the logins it printed
    url: str  # the template database: never opened by tests, only copied
    instance: Path  # the template's instance folder (the demo's uploaded photos)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, database_url, postgres) -> Iterator[Demo]:
    """Seed the demo once per session into a database of its own (about 10 s of work)."""
    root = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{root / 'demo.db'}" if postgres is None else postgres.create(postgres.name("demo"))
    app = _new_app(url, root / "instance")
    # As `make run` does: the command applies the migrations itself, then seeds.
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    _release(app)
    if result.exit_code != 0:
        trace = "".join(traceback.format_exception(result.exception)) if result.exception else ""
        pytest.fail(f"seed-demo failed (exit {result.exit_code}):\n{result.output}\n{trace}", pytrace=False)
    yield Demo(DEMO_PASSWORD, result, url, root / "instance")
    if postgres is not None:
        postgres.drop(postgres.name("demo"))


@contextmanager
def _demo_copy(demo: Demo, postgres: PostgresServer | None, folder: Path) -> Iterator[str]:
    """A private copy of the demo's database and uploads for one test; yield its URL."""
    if (demo.instance / "uploads").is_dir():
        shutil.copytree(demo.instance / "uploads", folder / "uploads")
    if postgres is None:
        path = folder / "demo.db"
        # The backup API copies a consistent database whatever the WAL file holds.
        with (
            closing(sqlite3.connect(make_url(demo.url).database)) as source,
            closing(sqlite3.connect(path)) as target,
        ):
            source.backup(target)
        yield f"sqlite:///{path}"
        return
    name = postgres.name("demo_copy")
    yield postgres.create(name, template=make_url(demo.url).database)
    postgres.drop(name)


@pytest.fixture
def app(request, database_url, postgres, tmp_path):
    """A fresh app on the shared schema, emptied afterwards; on a copy of the demo for `seeded_demo`."""
    if "seeded_demo" in request.fixturenames:
        with _demo_copy(request.getfixturevalue("demo_template"), postgres, tmp_path) as url:
            app = _new_app(url, tmp_path)
            yield app
            _stop_mailer(app)
            _release(app)
        return
    app = _new_app(database_url, tmp_path)
    yield app
    _stop_mailer(app)
    _clear(app)


def _stop_mailer(app) -> None:
    """Stop the app's mail sender thread, if a test started one: left running, it polled the
    shared database and took a later test's mail (sent to its own, long gone server)."""
    assert web_mail.stop(app, timeout=30), "the mail sender thread did not stop"


@pytest.fixture
def seeded_demo(app, demo_template) -> Demo:
    """The demo data (street, units, logins, a year of meetings): `app` runs on a copy of it."""
    return demo_template


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for direct database work in a test."""
    with app.app_context():
        yield


@dataclass
class World:
    """Ids of the standard fixture data: two communities, three units, a user per role."""

    street: int
    community1: int
    community2: int
    unit_a: int  # community 1
    unit_b: int  # community 1
    unit_c: int  # community 2
    admin: int
    archivist: int
    secretary1: int
    secretary2: int
    liaison_a: int
    liaison_b: int
    liaison_c: int


@pytest.fixture
def world(app) -> World:
    """Create the standard data set."""
    with app.app_context():
        street = Street(name="东大街街道", short_name="东大街")
        c1 = Community(street=street, name="青年路社区", short_name="青年路", position=1)
        c2 = Community(street=street, name="和平里社区", short_name="和平里", position=2)
        db.session.add_all([street, c1, c2])
        db.session.flush()
        db.session.add(Room(community=c1, name="青年路社区共驻共建会议室", capacity=30))
        units = []
        for name, community, category in (
            ("东大街第一小学", c1, UnitCategory.SCHOOL),
            ("市第三人民医院", c1, UnitCategory.HOSPITAL),
            ("和平里派出所", c2, UnitCategory.AGENCY),
        ):
            unit = Unit(
                street_id=street.id,
                community=community,
                name=name,
                category=category,
                registered_on=date(2026, 1, 5),
                liaison_name="联络人" + name[:2],
            )
            db.session.add(unit)
            units.append(unit)
        db.session.flush()
        pw = hash_password(PASSWORD)

        def user(username, role, **kw):
            u = User(username=username, display_name=username, role=role, password_hash=pw, **kw)
            db.session.add(u)
            return u

        users = [
            # The one street's world: its admin is the system administrator (sees every street);
            # street admins and observers are in tests/test_scoping.py.
            user("admin", Role.SYSADMIN),
            user("archivist", Role.ARCHIVIST, street_id=street.id),
            user("secretary1", Role.SECRETARY, community_id=c1.id),
            user("secretary2", Role.SECRETARY, community_id=c2.id),
            user("liaison_a", Role.LIAISON, unit_id=units[0].id),
            user("liaison_b", Role.LIAISON, unit_id=units[1].id),
            user("liaison_c", Role.LIAISON, unit_id=units[2].id),
        ]
        db.session.commit()
        return World(street.id, c1.id, c2.id, *(u.id for u in units), *(u.id for u in users))


@pytest.fixture
def login_as(client, app):
    """Log the test client in as a user (by id or username) through the real form."""

    def _login(user, password: str = PASSWORD, the_client=None):
        c = the_client or client
        with app.app_context():
            username = db.session.get(User, user).username if isinstance(user, int) else user
        c.post("/logout")  # switch users within one test
        resp = c.post("/login", data={"username": username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    return _login


@pytest.fixture
def make_unit(app, world):
    """Factory for extra units: make_unit(name=..., community=world.community1, ...)."""

    serial = itertools.count(1)

    def _make(**overrides) -> int:
        with app.app_context():
            data = {
                "street_id": world.street,
                "community_id": world.community1,
                "name": f"测试单位{next(serial)}",
                "category": UnitCategory.OTHER,
                "registered_on": date(2026, 2, 1),
            }
            data.update(overrides)
            unit = Unit(**data)
            db.session.add(unit)
            db.session.commit()
            return unit.id

    return _make


def count(model, *where) -> int:
    """Rows of a model (in an app context)."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def make_meeting(app, world):
    """Factory for meetings: make_meeting(days=1, status=..., units=[...], **fields) -> id.

    By default a draft in community 1's room, tomorrow 14:00-16:00 Beijing time,
    inviting units A and B.
    """

    def _make(days: int = 1, at: time = time(14, 0), hours: float = 2, units=None, **fields) -> int:
        with app.app_context():
            room = db.session.scalar(select(Room).where(Room.community_id == world.community1))
            day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=days)).date()
            start = datetime.combine(day, at, ZoneInfo("Asia/Shanghai"))
            data = {
                "street_id": world.street,
                "community_id": world.community1,
                "kind": MeetingKind.REGULAR,
                "title": "第四季度共驻共建联席会议",
                "start_at": start,
                "end_at": start + timedelta(hours=hours),
                "room_id": room.id,
                "status": MeetingStatus.DRAFT,
                "topic_deadline": start - timedelta(days=3),
            }
            data.update(fields)
            meeting = Meeting(**data)
            for unit_id in units if units is not None else (world.unit_a, world.unit_b):
                meeting.invitations.append(Invitation(unit_id=unit_id))
            db.session.add(meeting)
            db.session.commit()
            return meeting.id

    return _make


@pytest.fixture
def held_meeting(app, world, make_meeting):
    """A meeting that took place yesterday with two agenda items; unit A attended, B excused."""

    def _make(**fields) -> int:
        mid = make_meeting(days=-1, status=MeetingStatus.HELD, **fields)
        with app.app_context():
            m = db.session.get(Meeting, mid)
            m.agenda_items.append(
                AgendaItem(position=1, title="通报共建项目", minutes=30, presenter_unit_id=world.unit_a)
            )
            m.agenda_items.append(AgendaItem(position=2, title="研究暑期托管", minutes=30))
            for inv in m.invitations:
                inv.attendance = (
                    Attendance.PRESENT if inv.unit_id == world.unit_a else Attendance.ABSENT_LEAVE
                )
            db.session.commit()
        return mid

    return _make


@pytest.fixture
def make_resource(app, world):
    """Factory: make_resource(owner_unit_id=..., **fields) -> id; by default unit A's public venue."""

    def _make(**overrides) -> int:
        with app.app_context():
            data = {
                "street_id": world.street,
                "owner_unit_id": world.unit_a,
                "community_id": world.community1,
                "kind": ResourceKind.VENUE,
                "title": "第一小学多功能厅",
                "description": "可容纳 120 人，有投影和音响。",
                "capacity": 120,
                "visibility": Visibility.ALL,
                "bookable": True,
            }
            data.update(overrides)
            if data.get("owner_community_id"):
                data["owner_unit_id"] = None
            resource = Resource(**data)
            db.session.add(resource)
            db.session.commit()
            return resource.id

    return _make


@pytest.fixture
def make_service(app, world):
    """Factory: make_service(title=..., unit=world.unit_a, **fields) -> id (a unit's volunteer service)."""

    def _make(title="党员志愿服务队", unit=None, community=None, **fields) -> int:
        with app.app_context():
            data = {"street_id": world.street, "kind": ResourceKind.VOLUNTEER, "title": title}
            if community is not None:
                data.update(owner_community_id=community, community_id=community)
            else:
                owner = db.session.get(Unit, unit or world.unit_a)
                data.update(owner_unit_id=owner.id, community_id=owner.community_id)
            data.update(fields)
            resource = Resource(**data)
            db.session.add(resource)
            db.session.commit()
            return resource.id

    return _make
