"""The access matrix across streets: every route of tests/test_access.py aimed at street 1's
objects, tried by the users of a second street of the same district and by an observer of
another district, changes nothing and shows nothing (404, or 403 where the object's
existence is no secret); the district's own observer reads but never writes anything of a street.

The matrix world (东大街街道, its meetings, minutes, actions, resources, bookings, needs,
grid, feeds and attachments) is built once; the outsiders are added beside it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from models import (
    ActionEvent,
    City,
    Community,
    District,
    Notification,
    OutboxMessage,
    Role,
    Street,
    Unit,
    UnitCategory,
    User,
    db,
)
from models.base import today
from services.passwords import hash_password
from tests import conftest
from tests.conftest import PASSWORD
from tests.test_access import MATRIX, SharedWorld, _clear, _snapshot, add_api_tokens, request_kwargs

# Placeholders that are not objects of a street: the user's own id, a feed's secret token
# (a capability URL, readable by whoever holds it), a year.
NOT_OBJECTS = ("{me}", "{token}", "{year}")
OUTSIDERS = ("admin2", "secretary2-1", "liaison2", "west")


@pytest.fixture(scope="module")
def streets(database_url, tmp_path_factory):
    """The matrix world of street 1, and beside it street 2 of the same district and the
    observers of the district and of another district."""
    app = conftest._new_app(database_url, tmp_path_factory.mktemp("streets"))
    shared = SharedWorld(app)
    world = shared.ready()
    with app.app_context():
        city = City(name="西宁市")
        db.session.add(city)
        db.session.flush()
        district = District(city_id=city.id, name="城东区")
        west = District(city_id=city.id, name="城西区")
        db.session.add_all([district, west])
        db.session.flush()
        db.session.get(Street, world.street).district_id = district.id
        street2 = Street(name="八一路街道", short_name="八一路", district_id=district.id)
        db.session.add(street2)
        db.session.flush()
        c3 = Community(street_id=street2.id, name="青年路社区", short_name="青年路")
        db.session.add(c3)
        db.session.flush()
        unit = Unit(
            street_id=street2.id,
            community_id=c3.id,
            name="八一路派出所",
            category=UnitCategory.AGENCY,
            registered_on=today(),
        )
        db.session.add(unit)
        db.session.flush()
        pw = hash_password(PASSWORD)
        for username, role, fields in (
            ("admin2", Role.ADMIN, {"street_id": street2.id}),
            ("secretary2-1", Role.SECRETARY, {"community_id": c3.id}),
            ("liaison2", Role.LIAISON, {"unit_id": unit.id}),
            ("west", Role.OBSERVER, {"district_id": west.id}),
            ("district", Role.OBSERVER, {"district_id": district.id}),
        ):
            db.session.add(
                User(username=username, display_name=username, role=role, password_hash=pw, **fields)
            )
        db.session.flush()
        add_api_tokens(["admin2", "secretary2-1", "liaison2", "west", "district"])
        db.session.commit()
    with app.app_context():
        shared.pristine = _snapshot()
    yield shared, world
    _clear(app)


def _aimed_at_street_one(row) -> bool:
    url = row.url
    for placeholder in NOT_OBJECTS:
        url = url.replace(placeholder, "")
    # A mail's unsubscribe link and a meeting's sign-in QR code are capabilities: whoever holds
    # them may use them (the sign-in page asks for no account), in any street.
    return "{" in url and not row.endpoint.startswith(("auth.", "notifications.unsubscribe", "signin.form"))


ROWS = [row for row in MATRIX if _aimed_at_street_one(row)]


def _request(shared: SharedWorld, world, row, persona: str):
    ids = dict(vars(world))
    if "{batch}" in row.url:
        ids["batch"] = 999999  # a staged import of street 1: none of the outsiders' either way
    with shared.app.app_context():
        me = db.session.scalar(select(User.id).where(User.username == persona))
    url = row.url.format(**ids, me=me)
    return shared.client(persona).open(url, method=row.method, **request_kwargs(row, world, persona))


# What street 1's pages would show: its units' names and its meetings' and actions' titles.
STREET_ONE = ("东大街第一小学", "市第三人民医院", "和平里派出所", "和平里社区", "东大街街道", "矩阵")


def _is_list(row) -> bool:
    """A list page whose filters name street 1's objects (the path names none)."""
    return "{" not in row.url.split("?")[0]


@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.url}" for r in ROWS])
def test_another_streets_users_reach_nothing_of_street_one(streets, row, persona):
    shared, world = streets
    resp = _request(shared, world, row, persona)
    if row.method == "GET" and _is_list(row):
        # The list answers (their own street's, filtered by what is not theirs): nothing of street 1.
        assert resp.status_code in (200, 400, 403, 404), (persona, row.url, resp.status_code)
        body = resp.get_data(as_text=True)
        assert not [name for name in STREET_ONE if name in body], (persona, row.url)
    else:
        assert resp.status_code in (403, 404), (persona, row.url, resp.status_code)
    with shared.app.app_context():
        assert _snapshot() == shared.pristine, "a refused request changed the database"


# Observers read what is published and approved; the minutes of {recorded} are still a draft,
# the working copy of street 1's staff.
READS = [
    row
    for row in ROWS
    if row.method == "GET"
    and (
        row.endpoint.split(".")[0] in ("meetings", "minutes", "actions")
        or row.endpoint in ("api.meeting", "api.meeting_minutes", "api.minutes_pdf", "api.action")
    )
    and "{recorded}" not in row.url
]


@pytest.mark.parametrize("row", READS, ids=[f"{r.method} {r.url}" for r in READS])
def test_the_districts_observer_reads_street_one_as_staff_do(streets, row):
    """Wherever street 1's archivist (who reads everything of the street) gets a page, the
    district's observer does too; they write nothing (below)."""
    shared, world = streets
    # The 督办 board is the observers' and admins' (not the archivist's).
    expected = 200 if row.endpoint == "actions.board" else row.status("archivist")
    resp = _request(shared, world, row, "district")
    if expected == 200:
        assert resp.status_code == 200, (row.url, resp.status_code)
    else:
        assert resp.status_code in (403, 404), (row.url, resp.status_code)


# Of a street's business the district's observer writes nothing; 督办 is what they do.
WRITES = [row for row in ROWS if row.method == "POST" and row.endpoint != "actions.supervise"]


@pytest.mark.parametrize("row", WRITES, ids=[f"{r.method} {r.url}" for r in WRITES])
def test_the_districts_observer_writes_nothing(streets, row):
    shared, world = streets
    resp = _request(shared, world, row, "district")
    assert resp.status_code in (403, 404), (row.url, resp.status_code)
    with shared.app.app_context():
        assert _snapshot() == shared.pristine


def test_the_districts_observer_supervises_street_ones_actions(streets):
    shared, world = streets
    row = next(r for r in ROWS if r.endpoint == "actions.supervise" and "{action}" in r.url)
    with shared.app.app_context():
        last_note = db.session.scalar(select(func.max(Notification.id))) or 0
        last_mail = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
    assert _request(shared, world, row, "district").status_code == 302
    with shared.app.app_context():  # leave the shared world as the other tests expect it
        assert db.session.scalar(select(func.count()).select_from(ActionEvent)) == 1
        db.session.execute(delete(ActionEvent))
        db.session.execute(delete(Notification).where(Notification.id > last_note))
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id > last_mail))
        db.session.commit()
        assert _snapshot() == shared.pristine
