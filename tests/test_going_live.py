"""Going live: the steps from an empty install to the first published meeting, on the admin's
dashboard; the meeting form says what is missing when there is no room yet."""

from sqlalchemy import select

from models import MeetingStatus, Role, Street, User, db
from services.passwords import hash_password
from tests.conftest import PASSWORD


def _steps(html: str) -> dict[str, bool]:
    out = {}
    for key in ("places", "rooms", "users", "units", "meeting"):
        chunk = html.split(f'id="setup-{key}"')[1].split("</li>")[0]
        out[key] = "已完成" in chunk
    return out


def test_an_empty_install_shows_every_step_undone(app, client, login_as):
    with app.app_context():
        db.session.add(
            User(
                username="chief",
                display_name="书记",
                role=Role.SYSADMIN,
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()
    login_as("chief")
    html = client.get("/").get_data(as_text=True)
    assert "开始使用" in html
    assert _steps(html) == dict.fromkeys(("places", "rooms", "users", "units", "meeting"), False)
    # No room yet: the meeting form says so, and where to add one.
    html = client.get("/meetings/new").get_data(as_text=True)
    assert 'id="no-rooms"' in html and "/places" in html


def test_steps_tick_off_and_the_guide_goes_once_a_meeting_is_published(
    app, client, world, login_as, make_meeting
):
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    assert _steps(html) == {"places": True, "rooms": True, "users": True, "units": True, "meeting": False}
    make_meeting()  # a draft does not count
    assert "开始使用" in client.get("/").get_data(as_text=True)
    make_meeting(days=3, status=MeetingStatus.SCHEDULED)
    assert "开始使用" not in client.get("/").get_data(as_text=True)
    # Nobody but admins is led through setting up.
    login_as("secretary1")
    assert "开始使用" not in client.get("/").get_data(as_text=True)


def test_a_new_streets_admin_sees_their_own_streets_steps(app, client, world, login_as, make_meeting):
    make_meeting(status=MeetingStatus.SCHEDULED)  # street 1 is live
    with app.app_context():
        street = Street(name="八一路街道", short_name="八一路")
        db.session.add(street)
        db.session.flush()
        db.session.add(
            User(
                username="admin2",
                display_name="八一路管理员",
                role=Role.ADMIN,
                street_id=street.id,
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()
    login_as("admin2")
    html = client.get("/").get_data(as_text=True)
    assert _steps(html) == dict.fromkeys(("places", "rooms", "users", "units", "meeting"), False)
    # The street's admin starts at their street on the places pages.
    resp = client.get("/places")
    with app.app_context():
        street_id = db.session.scalar(select(Street.id).where(Street.name == "八一路街道"))
    assert resp.headers["Location"].endswith(f"/places/street/{street_id}")
