"""Access matrix: every route x every persona, in the style of Indico's access tests.

Each cell is its own test. A refusal must change nothing in the database and, for a
logged-in user, leave a "forbidden" audit event. A new route without a row here fails
``test_every_route_is_in_the_matrix``.

The world is conftest's plus ``_build_extras``: community 1's meetings in each state
({draft}, {scheduled} with a {topic}, {started}, {held} with submitted minutes, {recorded}
with draft minutes, {archived} with approved minutes), an {action} with an {attachment},
a failed outbox {message} and a community feed {token}; unit A's {resource} (shared with
all), {local_resource} (community 1 only) and {inactive_resource}, pending bookings
({booking}, {room_booking}, {other_booking}), community 1's needs ({need} open,
{claimed_need}, {active_need} with a {photo}) and matches ({unit_c_match},
{community_match}, {accepted_match}). In a URL, {me} is the persona's own user id.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import (
    Action,
    ActionEvent,
    ActionProgress,
    ActionStatus,
    ApiToken,
    ArchiveCounter,
    Area,
    Attachment,
    Attendance,
    AuditEvent,
    Booking,
    BookingStatus,
    Building,
    CalendarFeed,
    City,
    Community,
    Confirmation,
    District,
    Grid,
    GridStaff,
    Invitation,
    MailStatus,
    Match,
    MatchStatus,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Minutes,
    MinutesRevision,
    MinutesStatus,
    Need,
    NeedStatus,
    NeedUpdate,
    NoticeKind,
    NoticePreference,
    Notification,
    OutboxMessage,
    PersonSignIn,
    PlaceImport,
    PointRule,
    Reply,
    Resource,
    ResourceKind,
    Retention,
    Room,
    Street,
    Topic,
    Unit,
    UnitImport,
    UnitStatusChange,
    User,
    Visibility,
    db,
)
from models.base import today, utcnow
from services.notify import unsubscribe_token
from services.signin import poster_token
from services.tokens import derived_secret, digest
from tests import conftest
from tests.conftest import PASSWORD, _clear

SHANGHAI = ZoneInfo("Asia/Shanghai")

PERSONAS = ("anonymous", "admin", "archivist", "secretary1", "secretary2", "liaison_a", "liaison_c")
NEW_PASSWORD = "矩阵测试新口令二〇二六"
LOGIN = "login"  # expected: redirect to the login page
API_KEY = "matrix-api"  # the key the personas' API tokens are derived from


def api_headers(username: str) -> dict:
    """The persona's bearer token (made with the world; anonymous sends none)."""
    if username == "anonymous":
        return {}
    return {"Authorization": f"Bearer {derived_secret(username, API_KEY)}"}


def add_api_tokens(usernames) -> None:
    """A read-write API token per user, derived from API_KEY (tests know it without storing it)."""
    for user in db.session.scalars(select(User).where(User.username.in_(list(usernames)))):
        secret = derived_secret(user.username, API_KEY)
        db.session.add(
            ApiToken(
                user_id=user.id, name="矩阵令牌", scope="write", digest=digest(secret), prefix=secret[:10]
            )
        )


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    url: str  # formatted with the world's ids and {batch}
    expect: dict[str, Any]  # persona -> status code or LOGIN
    data: Any = None  # callable(world) or callable(world, persona) -> form data
    success: frozenset[str] = field(default_factory=frozenset)  # personas whose POST changes state
    api: bool = False  # a JSON API route: the persona's bearer token, a JSON body

    def status(self, persona: str):
        return self.expect[persona]


def grid(anonymous=LOGIN, default=403, **cells) -> dict[str, Any]:
    """The expected status per persona; unnamed users get `default`."""
    table = {p: default for p in PERSONAS}
    table["anonymous"] = anonymous
    table.update(cells)
    return table


EVERYONE = {p: 200 for p in PERSONAS if p != "anonymous"}
STAFF_READ = {"admin": 200, "archivist": 200, "secretary1": 200, "secretary2": 200}
UNIT_MANAGERS = {"admin": 200, "secretary1": 200, "secretary2": 200}
UNIT_A_MANAGERS = {"admin": 200, "secretary1": 200}
UNIT_A_EDITORS = {"admin": 200, "secretary1": 200, "liaison_a": 200}
INVITED_READ = {**STAFF_READ, "liaison_a": 200}  # staff, and unit A's liaison (invited)
MEETING_CREATORS = {"admin": 200, "secretary1": 200, "secretary2": 200}
C1_MANAGERS = {"admin": 200, "secretary1": 200}  # manage community 1's meetings and minutes
C1_MANAGERS_POST = {"admin": 302, "secretary1": 302}
C1_MANAGER_SET = frozenset(C1_MANAGERS)


def unit_form(world) -> dict:
    return {
        "name": "矩阵测试单位",
        "short_name": "矩阵",
        "category": "other",
        "community_id": str(world.community1),
        "address": "青年路 99 号",
        "party_org_name": "",
        "party_member_count": "3",
        "liaison_name": "测试联络人",
        "liaison_phone": "010-12345678",
        "liaison_email": "",
        "introduction": "",
        "registered_on": today().isoformat(),
        "agreement_date": "",
    }


def unit_edit_form(world) -> dict:
    data = unit_form(world)
    data.update(name="东大街第一小学", category="school", address="矩阵路 1 号", version="1", original="")
    del data["registered_on"]
    return data


def status_form(world) -> dict:
    return {"to_status": "active", "effective_on": today().isoformat(), "reason": "签订共建协议"}


def import_upload(world) -> dict:
    csv_text = "单位名称,单位类别,所属社区\r\n矩阵导入单位,学校,青年路社区\r\n"
    return {"file": (io.BytesIO(csv_text.encode("utf-8-sig")), "units.csv")}


def user_form(world) -> dict:
    return {
        "username": "matrix_user",
        "display_name": "矩阵用户",
        "email": "",
        "role": "secretary",
        "community_id": str(world.community1),
        "unit_id": "0",
        "new_password": NEW_PASSWORD,
        "active": "y",
    }


def user_edit_form(world) -> dict:
    return {
        "username": "liaison_a",
        "display_name": "改过的名字",
        "email": "",
        "role": "liaison",
        "community_id": "0",
        "unit_id": str(world.unit_a),
        "new_password": "",
        "active": "y",
    }


def password_form(world) -> dict:
    return {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


def _local_day(days: int) -> str:
    return (datetime.now(SHANGHAI) + timedelta(days=days)).date().isoformat()


def _own(world, persona: str) -> dict:
    """The community, room and unit a persona schedules with (secretary2 only has community 2)."""
    if persona == "secretary2":
        return {"community": world.community2, "room": world.room2, "unit": world.unit_c}
    return {"community": world.community1, "room": world.room1, "unit": world.unit_a}


def meeting_form(world, persona) -> dict:
    """A new meeting in the persona's own community, in a free slot a month ahead."""
    own = _own(world, persona)
    return {
        "kind": "regular",
        "title": "矩阵测试会议",
        "community_id": str(own["community"]),
        "room_id": str(own["room"]),
        "day": _local_day(30),
        "start_time": "09:00",
        "end_time": "11:00",
        "description": "",
        "agenda-0-title": "通报共建项目进展",
        "agenda-0-minutes": "30",
        "agenda-0-presenter_unit_id": "0",
        "agenda-1-title": "",
        "units": [str(own["unit"])],
        "save": "保存",
    }


def meeting_edit_form(world) -> dict:
    """The draft meeting, renamed, at its own time."""
    data = meeting_form(world, "secretary1")
    data.update(
        title="改过名的草稿会议", day=_local_day(10), start_time="14:00", end_time="16:00", version="1"
    )
    return data


def series_form(world, persona) -> dict:
    """A weekly series over one week two months ahead (one occurrence), confirmed."""
    own = _own(world, persona)
    return {
        "title": "矩阵测试例会",
        "community_id": str(own["community"]),
        "room_id": str(own["room"]),
        "rule": "weekly",
        "nth": "1",
        "weekday": "2",
        "interval": "1",
        "start_time": "09:00",
        "duration": "90",
        "first_date": _local_day(60),
        "until": _local_day(66),
        "units": [str(own["unit"])],
        "confirm": "1",
        **{f"occ-{i}-action": "keep" for i in range(3)},
    }


def reason_form(world) -> dict:
    return {"reason": "矩阵测试原因"}


def reply_form(world) -> dict:
    return {"reply": "accept"}


def topic_form(world) -> dict:
    return {"title": "矩阵测试议题", "detail": "", "cooperation": ""}


def attendance_form(world) -> dict:
    return {f"att-{world.started_invitation}": "present"}


def minutes_form(world) -> dict:
    return {
        "recorder": "矩阵记录人",
        "summary": "改过的会议概况",
        "actions-0-title": "",
        "actions-0-lead_unit_id": "0",
        "actions-1-title": "",
        "actions-1-lead_unit_id": "0",
        "version": "1",
        "save": "保存草稿",
    }


def submit_minutes_form(world) -> dict:
    return {"ask_confirmation": "y", "confirm_days": "3"}


def confirm_form(world) -> dict:
    return {"decision": "confirm", "comment": ""}


def progress_form(world) -> dict:
    return {"on": today().isoformat(), "text": "矩阵测试进展"}


def done_form(world) -> dict:
    return {"on": today().isoformat(), "result": "矩阵测试完成情况"}


def no_data(world) -> dict:
    return {}


def approve_form(world) -> dict:
    """签发 having seen the units that have not confirmed."""
    return {"unconfirmed_ok": "y"}


def _local_slot(days: int, start: int, end: int) -> tuple[datetime, datetime]:
    day = (datetime.now(SHANGHAI) + timedelta(days=days)).date()
    return (
        datetime(day.year, day.month, day.day, start, tzinfo=SHANGHAI),
        datetime(day.year, day.month, day.day, end, tzinfo=SHANGHAI),
    )


def resource_form(world) -> dict:
    """Unit A's venue: a new one, or (with a version) the edited `resource`."""
    return {
        "owner": f"u:{world.unit_a}",
        "kind": "venue",
        "title": "矩阵测试报告厅",
        "description": "报告厅一间，投影、音响齐全。",
        "capacity": "80",
        "quantity": "",
        "availability": "工作日 9:00—17:00",
        "available_from": "",
        "available_until": "",
        "conditions": "",
        "contact_name": "王老师",
        "contact_phone": "010-6512 3456",
        "visibility": "all",
        "bookable": "y",
    }


def resource_edit_form(world) -> dict:
    return {**resource_form(world), "title": "改过名的报告厅", "version": "1", "original": ""}


def booking_form(world) -> dict:
    """A morning two weeks ahead: nothing approved then, no meeting in the room."""
    start, end = _local_slot(14, 9, 11)
    return {
        "start_at": start.strftime("%Y-%m-%dT%H:%M"),
        "end_at": end.strftime("%Y-%m-%dT%H:%M"),
        "purpose": "矩阵测试：开展党员冬训，约 40 人",
    }


def room_hours_form(world) -> dict:
    """A room's opening hours: weekdays, 08:30 to 17:30."""
    return {
        "name": "青年路社区共驻共建会议室",
        "capacity": "30",
        "bookable": "y",
        "opens_at": "08:30",
        "closes_at": "17:30",
        "open_days": list("12345"),
        "open_days_shown": "1",
    }


def new_room_form(world) -> dict:
    """A second meeting room for community 2."""
    return {**room_hours_form(world), "name": "和平里社区党群服务中心二楼", "capacity": "20"}


def staff_form(world) -> dict:
    return {"staff-name": "新网格员", "staff-unit_id": "0", "staff-duties": ["culture"]}


def new_place_form(world) -> dict:
    return {"new-name": "矩阵网格", "new-short_name": "矩阵"}


def place_edit_form(world) -> dict:
    return {"name": "和平里社区", "short_name": "和平", "address": "和平里三巷 6 号"}


def move_down_form(world) -> dict:
    return {"direction": "down"}


def need_form(world) -> dict:
    """A community need; the admin chooses community 1, a secretary posts in their own."""
    return {
        "community_id": str(world.community1),
        "is_wish": "0",
        "kind": "venue",
        "title": "矩阵测试需求",
        "description": "",
        "people_served": "",
        "wanted_by": "",
        "resident_name": "",
        "resident_phone": "",
    }


def need_edit_form(world) -> dict:
    data = need_form(world)
    del data["community_id"]
    data.update(title="改过的需求", version="1")
    return data


def need_progress_form(world) -> dict:
    return {"progress-on": today().isoformat(), "progress-text": "矩阵测试进展"}


def need_fulfil_form(world) -> dict:
    return {"fulfil-on": today().isoformat(), "fulfil-note": "矩阵测试完成情况"}


def release_form(world) -> dict:
    return {"release-reason": "单位人手不足"}


def withdraw_form(world) -> dict:
    return {"withdraw-reason": "居民已不需要"}


def propose_form(world) -> dict:
    return {"resource_id": str(world.resource)}


def match_action_form(world) -> dict:
    return {"meeting_id": str(world.scheduled)}


def point_rules_form(world) -> dict:
    from services.points import RULES

    return {r.key: str(r.default + 1) for r in RULES}


LOGGED_IN = frozenset(p for p in PERSONAS if p != "anonymous")


def token_form(world) -> dict:
    return {"name": "矩阵接口令牌", "scope": "read", "expires_on": ""}


def api_reply(world) -> dict:
    return {"reply": "accept"}


def api_topic(world) -> dict:
    return {"title": "矩阵测试议题"}


def api_progress(world) -> dict:
    return {"on": today().isoformat(), "text": "矩阵测试进展"}


def api_booking(world) -> dict:
    start, end = _local_slot(14, 9, 11)
    return {"start_at": start.isoformat(), "end_at": end.isoformat(), "purpose": "矩阵测试：开展党员冬训"}


def api(endpoint: str, method: str, url: str, expect: dict, **kwargs) -> Row:
    """A row of the JSON API: anonymous gets 401, the others send their token."""
    return Row(f"api.{endpoint}", method, "/api/v1" + url, expect, api=True, **kwargs)


def api_grid(default=403, **cells) -> dict:
    return grid(anonymous=401, default=default, **cells)


API_READ_ALL = {p: 200 for p in PERSONAS if p != "anonymous"}
API_ROWS = [
    Row("api.openapi", "GET", "/api/v1/openapi.json", grid(anonymous=200, default=200), api=True),
    Row("api.docs", "GET", "/api/v1/docs", grid(anonymous=200, default=200), api=True),
    api("me", "GET", "/me", api_grid(**API_READ_ALL)),
    api("communities", "GET", "/communities", api_grid(**API_READ_ALL)),
    api("communities", "GET", "/communities?street_id={street}&limit=1", api_grid(**API_READ_ALL)),
    api("rooms", "GET", "/rooms?bookable=true", api_grid(**API_READ_ALL)),
    api("streets", "GET", "/streets", api_grid(**API_READ_ALL)),
    api("grids", "GET", "/grids?community_id={community1}", api_grid(**API_READ_ALL)),
    api("units", "GET", "/units", api_grid(**API_READ_ALL)),
    api("units", "GET", "/units?community_id={community2}&status=active&q=%25", api_grid(**API_READ_ALL)),
    api("units", "GET", "/units?updated_since=2026-01-01T00:00:00%2B08:00", api_grid(**API_READ_ALL)),
    api("units", "GET", "/units?limit=abc", api_grid(default=400)),
    api("unit", "GET", "/units/{unit_a}", api_grid(**API_READ_ALL)),
    api("unit", "GET", "/units/999999", api_grid(default=404)),
    api("unit_points", "GET", "/units/{unit_a}/points", api_grid(**STAFF_READ, liaison_a=200)),
    api("unit_points", "GET", "/units/{unit_a}/points?year={year}", api_grid(**STAFF_READ, liaison_a=200)),
    api("meetings", "GET", "/meetings", api_grid(**API_READ_ALL)),
    api("meetings", "GET", "/meetings?community_id={community1}&status=scheduled", api_grid(**API_READ_ALL)),
    api("meeting", "GET", "/meetings/{draft}", api_grid(**C1_MANAGERS)),
    api("meeting", "GET", "/meetings/{scheduled}", api_grid(**INVITED_READ)),
    api("meeting", "GET", "/meetings/999999", api_grid(default=404)),
    api("signins", "GET", "/meetings/{started}/signins", api_grid(**C1_MANAGERS)),
    api("signins", "GET", "/meetings/999999/signins", api_grid(default=404)),
    api(
        "reply",
        "POST",
        "/meetings/{scheduled}/reply",
        api_grid(liaison_a=200),
        data=api_reply,
        success=frozenset({"liaison_a"}),
    ),
    api("reply", "POST", "/meetings/999999/reply", api_grid(default=404), data=api_reply),
    api(
        "submit_topic",
        "POST",
        "/meetings/{scheduled}/topics",
        api_grid(liaison_a=201),
        data=api_topic,
        success=frozenset({"liaison_a"}),
    ),
    api("minutes_list", "GET", "/minutes", api_grid(**API_READ_ALL)),
    api("meeting_minutes", "GET", "/meetings/{archived}/minutes", api_grid(**INVITED_READ)),
    api("meeting_minutes", "GET", "/meetings/{recorded}/minutes", api_grid(**STAFF_READ)),
    api("meeting_minutes", "GET", "/meetings/{scheduled}/minutes", api_grid(default=404, liaison_c=403)),
    api("minutes_pdf", "GET", "/meetings/{archived}/minutes/revisions/1/pdf", api_grid(**INVITED_READ)),
    api("minutes_pdf", "GET", "/meetings/{recorded}/minutes/revisions/1/pdf", api_grid(**STAFF_READ)),
    api(
        "minutes_pdf",
        "GET",
        "/meetings/{archived}/minutes/revisions/9/pdf",
        api_grid(default=404, liaison_c=403),
    ),
    api("actions", "GET", "/actions", api_grid(**API_READ_ALL)),
    api("actions", "GET", "/actions?status=in_progress&unit_id={unit_a}", api_grid(**API_READ_ALL)),
    api("action", "GET", "/actions/{action}", api_grid(**INVITED_READ)),
    api("action", "GET", "/actions/999999", api_grid(default=404)),
    api(
        "report_progress",
        "POST",
        "/actions/{action}/progress",
        api_grid(admin=201, secretary1=201, liaison_a=201),
        data=api_progress,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    api("resources", "GET", "/resources", api_grid(**API_READ_ALL)),
    api("resources", "GET", "/resources?kind=venue&bookable=true&q=%E7%9F%A9", api_grid(**API_READ_ALL)),
    api("resource", "GET", "/resources/{resource}", api_grid(**API_READ_ALL)),
    api("resource", "GET", "/resources/{local_resource}", api_grid(**{**API_READ_ALL, "liaison_c": 403})),
    api("resource", "GET", "/resources/999999", api_grid(default=404)),
    api(
        "request_booking",
        "POST",
        "/resources/{resource}/bookings",
        api_grid(secretary1=201, secretary2=201, liaison_c=201, liaison_a=422),  # unit A's own
        data=api_booking,
        success=frozenset({"secretary1", "secretary2", "liaison_c"}),
    ),
    api("bookings", "GET", "/bookings", api_grid(**API_READ_ALL)),
    api("bookings", "GET", "/bookings?status=pending", api_grid(**API_READ_ALL)),
    api("needs", "GET", "/needs", api_grid(**API_READ_ALL)),
    api("needs", "GET", "/needs?status=open&wish=false&community_id={community1}", api_grid(**API_READ_ALL)),
    api("need", "GET", "/needs/{need}", api_grid(**API_READ_ALL)),
    api("need", "GET", "/needs/999999", api_grid(default=404)),
    api(
        "claim_need",
        "POST",
        "/needs/{need}/claim",
        api_grid(liaison_a=200, liaison_c=200),
        success=frozenset({"liaison_a", "liaison_c"}),
    ),
    api("claim_need", "POST", "/needs/{claimed_need}/claim", api_grid(liaison_a=422, liaison_c=422)),
]

MATRIX: list[Row] = [
    # auth
    Row("auth.login", "GET", "/login", grid(anonymous=200, default=302)),
    Row("auth.login", "POST", "/login", grid(anonymous=200, default=302), data=lambda w: {}),
    Row("auth.logout", "POST", "/logout", grid(default=302), data=lambda w: {}, success=LOGGED_IN),
    Row("auth.account", "GET", "/account", grid(**EVERYONE)),
    Row("auth.account", "POST", "/account", grid(default=302), data=password_form, success=LOGGED_IN),
    # main
    Row("main.dashboard", "GET", "/", grid(**EVERYONE)),
    # units: reading
    Row("units.index", "GET", "/units", grid(**EVERYONE)),
    Row("units.index", "GET", "/units?q=%25&community={community2}&status=active&page=2", grid(**EVERYONE)),
    Row("units.detail", "GET", "/units/{unit_a}", grid(**EVERYONE)),
    Row("units.detail", "GET", "/units/{unit_c}", grid(**EVERYONE)),
    Row("units.detail", "GET", "/units/999999", grid(default=404)),
    Row("units.export", "GET", "/units/export.xlsx", grid(**STAFF_READ)),
    Row("units.export", "GET", "/units/export.csv", grid(**STAFF_READ)),
    # units: creating and changing
    Row("units.create", "GET", "/units/new", grid(**UNIT_MANAGERS)),
    Row(
        "units.create",
        "POST",
        "/units/new",
        # secretary2 may create units, but not in community 1: the form refuses it.
        grid(admin=302, secretary1=302, secretary2=200),
        data=unit_form,
        success=frozenset({"admin", "secretary1"}),
    ),
    Row("units.edit", "GET", "/units/{unit_a}/edit", grid(**UNIT_A_EDITORS)),
    Row("units.edit", "GET", "/units/999999/edit", grid(default=404)),
    Row(
        "units.edit",
        "POST",
        "/units/{unit_a}/edit",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=unit_edit_form,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row(
        "units.change_status",
        "POST",
        "/units/{unit_a}/status",
        grid(admin=302, secretary1=302),
        data=status_form,
        success=frozenset({"admin", "secretary1"}),
    ),
    Row(
        "units.change_status",
        "POST",
        "/units/999999/status",
        grid(default=404),
        data=status_form,
    ),
    # units: import
    Row("units.import_template", "GET", "/units/import/template.xlsx", grid(**UNIT_MANAGERS)),
    Row("units.import_upload", "GET", "/units/import", grid(**UNIT_MANAGERS)),
    Row(
        "units.import_upload",
        "POST",
        "/units/import",
        grid(admin=302, secretary1=302, secretary2=302),
        data=import_upload,
        # secretary2's batch is staged too, with the community-1 row rejected.
        success=frozenset({"admin", "secretary1", "secretary2"}),
    ),
    # A staged import belongs to whoever uploaded it (here secretary1); an admin may act on any.
    Row("units.import_preview", "GET", "/units/import/{batch}", grid(admin=200, secretary1=200)),
    Row("units.import_preview", "GET", "/units/import/999999", grid(default=404)),
    Row(
        "units.import_confirm",
        "POST",
        "/units/import/{batch}/confirm",
        grid(admin=302, secretary1=302),
        data=lambda w: {},
        success=frozenset({"admin", "secretary1"}),
    ),
    # admin
    Row("admin.users", "GET", "/admin/users", grid(admin=200)),
    Row("admin.user_create", "GET", "/admin/users/new", grid(admin=200)),
    Row(
        "admin.user_create",
        "POST",
        "/admin/users/new",
        grid(admin=302),
        data=user_form,
        success=frozenset({"admin"}),
    ),
    Row("admin.user_edit", "GET", "/admin/users/{liaison_a}/edit", grid(admin=200)),
    Row("admin.user_edit", "GET", "/admin/users/999999/edit", grid(admin=404)),
    Row(
        "admin.user_edit",
        "POST",
        "/admin/users/{liaison_a}/edit",
        grid(admin=302),
        data=user_edit_form,
        success=frozenset({"admin"}),
    ),
    Row("admin.audit", "GET", "/admin/audit", grid(admin=200, archivist=200)),
    Row(
        "admin.audit",
        "GET",
        "/admin/audit?action=forbidden&start=2026-01-01&end=bad",
        grid(admin=200, archivist=200),
    ),
    # admin: the mail outbox
    Row("admin.outbox", "GET", "/admin/outbox", grid(admin=200)),
    Row("admin.outbox", "GET", "/admin/outbox?status=failed&page=2", grid(admin=200)),
    Row(
        "admin.outbox_retry",
        "POST",
        "/admin/outbox/{message}/retry",
        grid(admin=302),
        data=no_data,
        success=frozenset({"admin"}),
    ),
    Row("admin.outbox_retry", "POST", "/admin/outbox/999999/retry", grid(admin=404), data=no_data),
    # meetings: reading (liaisons see published meetings their unit is invited to)
    Row("meetings.index", "GET", "/meetings", grid(**EVERYONE)),
    Row(
        "meetings.index",
        "GET",
        "/meetings?when=past&community={community1}&status=held&kind=regular&unit={unit_a}&page=2",
        grid(**EVERYONE),
    ),
    Row("meetings.calendar", "GET", "/meetings/calendar", grid(**EVERYONE)),
    Row("meetings.calendar", "GET", "/meetings/calendar?month=2026-13&community=street", grid(**EVERYONE)),
    # A draft is its hosts' working copy: not other communities, the archivist or invited units.
    Row("meetings.detail", "GET", "/meetings/{draft}", grid(**C1_MANAGERS)),
    Row("meetings.detail", "GET", "/meetings/{scheduled}", grid(**INVITED_READ)),
    Row("meetings.detail", "GET", "/meetings/{held}", grid(**INVITED_READ)),
    Row("meetings.detail", "GET", "/meetings/999999", grid(default=404)),
    Row("meetings.invite", "GET", "/meetings/{draft}/invite.ics", grid(**C1_MANAGERS)),
    Row("meetings.invite", "GET", "/meetings/{scheduled}/invite.ics", grid(**INVITED_READ)),
    # meetings: scheduling (any secretary, in their own community)
    Row("meetings.create", "GET", "/meetings/new", grid(**MEETING_CREATORS)),
    Row(
        "meetings.create",
        "POST",
        "/meetings/new",
        grid(admin=302, secretary1=302, secretary2=302),
        data=meeting_form,
        success=frozenset(MEETING_CREATORS),
    ),
    Row("meetings.series_new", "GET", "/meetings/series/new", grid(**MEETING_CREATORS)),
    Row(
        "meetings.series_new",
        "POST",
        "/meetings/series/new",
        grid(admin=302, secretary1=302, secretary2=302),
        data=series_form,
        success=frozenset(MEETING_CREATORS),
    ),
    # meetings: managing a community-1 meeting (admin and its secretary; secretary2 only reads)
    Row("meetings.edit", "GET", "/meetings/{draft}/edit", grid(**C1_MANAGERS)),
    Row("meetings.edit", "GET", "/meetings/{scheduled}/edit", grid(**C1_MANAGERS)),
    Row("meetings.edit", "GET", "/meetings/999999/edit", grid(default=404)),
    Row(
        "meetings.edit",
        "POST",
        "/meetings/{draft}/edit",
        grid(**C1_MANAGERS_POST),
        data=meeting_edit_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "meetings.publish",
        "POST",
        "/meetings/{draft}/publish",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row("meetings.publish", "POST", "/meetings/999999/publish", grid(default=404), data=no_data),
    Row(
        "meetings.cancel",
        "POST",
        "/meetings/{scheduled}/cancel",
        grid(**C1_MANAGERS_POST),
        data=reason_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "meetings.mark_held",
        "POST",
        "/meetings/{started}/held",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "meetings.attendance",
        "POST",
        "/meetings/{started}/attendance",
        grid(**C1_MANAGERS_POST),
        data=attendance_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "meetings.accept_topic",
        "POST",
        "/meetings/{scheduled}/topics/{topic}/accept",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "meetings.decline_topic",
        "POST",
        "/meetings/{scheduled}/topics/{topic}/decline",
        grid(**C1_MANAGERS_POST),
        data=reason_form,
        success=C1_MANAGER_SET,
    ),
    # meetings: what an invited unit does
    Row(
        "meetings.reply",
        "POST",
        "/meetings/{scheduled}/reply",
        grid(liaison_a=302),
        data=reply_form,
        success=frozenset({"liaison_a"}),
    ),
    Row(
        "meetings.submit_topic",
        "POST",
        "/meetings/{scheduled}/topics",
        grid(liaison_a=302),
        data=topic_form,
        success=frozenset({"liaison_a"}),
    ),
    # calendar feeds: the token is the credential, no login
    Row("feeds.feed", "GET", "/calendar/{token}.ics", grid(anonymous=200, default=200)),
    Row("feeds.feed", "GET", "/calendar/no-such-token.ics", grid(anonymous=404, default=404)),
    # {me} is each persona's own user id.
    Row(
        "feeds.manage", "POST", "/account/feeds/user/{me}", grid(default=302), data=no_data, success=LOGGED_IN
    ),
    Row("feeds.manage", "POST", "/account/feeds/user/{liaison_b}", grid(), data=no_data),
    Row(
        "feeds.manage",
        "POST",
        "/account/feeds/community/{community1}",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "feeds.manage",
        "POST",
        "/account/feeds/unit/{unit_a}",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=no_data,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row("feeds.manage", "POST", "/account/feeds/street/{street}", grid(default=404), data=no_data),
    # minutes: reading
    Row("minutes.edit", "GET", "/meetings/{draft}/minutes", grid(**C1_MANAGERS)),  # a draft meeting
    Row("minutes.edit", "GET", "/meetings/{started}/minutes", grid(**INVITED_READ)),  # none yet
    Row("minutes.edit", "GET", "/meetings/{recorded}/minutes", grid(**INVITED_READ)),  # draft: text hidden
    Row("minutes.edit", "GET", "/meetings/{held}/minutes", grid(**INVITED_READ)),  # submitted
    Row("minutes.revision", "GET", "/meetings/{recorded}/minutes/revisions/1", grid(**STAFF_READ)),
    Row("minutes.revision", "GET", "/meetings/{archived}/minutes/revisions/1", grid(**INVITED_READ)),
    Row(
        "minutes.revision",
        "GET",
        "/meetings/{archived}/minutes/revisions/9",
        grid(admin=404, archivist=404, secretary1=404, secretary2=404, liaison_a=404),
    ),
    # A draft is rendered on the fly (slow): one row per endpoint is enough.
    Row("minutes.revision_pdf", "GET", "/meetings/{recorded}/minutes/revisions/1.pdf", grid(**STAFF_READ)),
    Row("minutes.revision_pdf", "GET", "/meetings/{archived}/minutes/revisions/1.pdf", grid(**INVITED_READ)),
    Row("minutes.pdf", "GET", "/meetings/{archived}/minutes.pdf", grid(**INVITED_READ)),
    # The OFD is made at filing: these minutes are not filed yet.
    Row(
        "minutes.ofd",
        "GET",
        "/meetings/{archived}/minutes.ofd",
        grid(**{p: 404 for p in INVITED_READ}, liaison_c=403),
    ),
    # One archival file exactly as stored (1: the original); a rendition not made is 404.
    Row(
        "minutes.rendition_pdf",
        "GET",
        "/meetings/{archived}/minutes/revisions/1/renditions/1.pdf",
        grid(**INVITED_READ),
    ),
    Row(
        "minutes.rendition_pdf",
        "GET",
        "/meetings/{archived}/minutes/revisions/1/renditions/2.pdf",
        grid(admin=404, archivist=404, secretary1=404, secretary2=404, liaison_a=404),
    ),
    # The invited liaison may not read a draft: refused (and audited) like any other refusal.
    Row("minutes.pdf", "GET", "/meetings/{recorded}/minutes.pdf", grid(**STAFF_READ)),
    # minutes: the workflow (admin and the host community's secretary)
    Row(
        "minutes.edit",
        "POST",
        "/meetings/{recorded}/minutes",
        grid(**C1_MANAGERS_POST),
        data=minutes_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "minutes.start",
        "POST",
        "/meetings/{started}/minutes/start",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "minutes.submit",
        "POST",
        "/meetings/{recorded}/minutes/submit",
        grid(**C1_MANAGERS_POST),
        data=submit_minutes_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "minutes.withdraw",
        "POST",
        "/meetings/{held}/minutes/withdraw",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "minutes.approve",
        "POST",
        "/meetings/{held}/minutes/approve",
        grid(**C1_MANAGERS_POST),
        data=approve_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "minutes.correct",
        "POST",
        "/meetings/{archived}/minutes/correct",
        grid(**C1_MANAGERS_POST),
        data=reason_form,
        success=C1_MANAGER_SET,
    ),
    # 会签: only a unit on the revision's confirmation list
    Row(
        "minutes.confirm",
        "POST",
        "/meetings/{held}/minutes/confirm",
        grid(liaison_a=302),
        data=confirm_form,
        success=frozenset({"liaison_a"}),
    ),
    # actions: an action of a community-1 meeting led by unit A with unit B
    Row("actions.index", "GET", "/actions", grid(**EVERYONE)),
    Row(
        "actions.index",
        "GET",
        "/actions?community={community1}&unit={unit_a}&status=in_progress&principle=share&overdue=1"
        "&month=2026-13&q=%25",
        grid(**EVERYONE),
    ),
    Row("actions.detail", "GET", "/actions/{action}", grid(**INVITED_READ)),
    Row("actions.detail", "GET", "/actions/999999", grid(default=404)),
    # 督办: street admins and observers (here the system administrator); changing the due date
    # or the lead, with a reason: whoever manages the meeting it was agreed at.
    Row("actions.board", "GET", "/actions/supervision", grid(admin=200)),
    Row("actions.board", "GET", "/actions/supervision?sort=idle&community={community1}", grid(admin=200)),
    Row(
        "actions.supervise",
        "POST",
        "/actions/{action}/supervise",
        grid(admin=302),
        data=lambda world: {
            "text": "请本周内报送进展",
            "deadline": (today() + timedelta(days=7)).isoformat(),
        },
        success=frozenset({"admin"}),
    ),
    Row(
        "actions.extend",
        "POST",
        "/actions/{action}/extend",
        grid(**C1_MANAGERS_POST),
        data=lambda world: {"due_on": (today() + timedelta(days=60)).isoformat(), "reason": "等待上级批复"},
        success=C1_MANAGER_SET,
    ),
    Row(
        "actions.change_lead",
        "POST",
        "/actions/{action}/lead",
        grid(**C1_MANAGERS_POST),
        data=lambda world: {"unit_id": world.unit_c, "reason": "原牵头单位搬迁"},
        success=C1_MANAGER_SET,
    ),
    Row("actions.supervise", "POST", "/actions/999999/supervise", grid(default=404), data=no_data),
    Row("actions.attachment", "GET", "/attachments/{attachment}", grid(**INVITED_READ)),
    Row("actions.attachment", "GET", "/attachments/999999", grid(default=404)),
    Row(
        "actions.progress",
        "POST",
        "/actions/{action}/progress",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=progress_form,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row(
        "actions.done",
        "POST",
        "/actions/{action}/done",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=done_form,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row("actions.export", "GET", "/actions/export.xlsx", grid(**STAFF_READ)),
    Row("actions.export", "GET", "/actions/export.csv?status=in_progress", grid(**STAFF_READ)),
    # resources: the catalogue ({resource} is unit A's, shared with all; {local_resource} only
    # with community 1; {inactive_resource} is unit A's, switched off)
    Row("resources.index", "GET", "/resources", grid(**EVERYONE)),
    Row(
        "resources.index",
        "GET",
        "/resources?q=%25&kind=venue&community={community1}&owner={unit_a}&bookable=1&inactive=1&page=2",
        grid(**EVERYONE),
    ),
    Row("resources.detail", "GET", "/resources/{resource}", grid(**EVERYONE)),
    Row("resources.detail", "GET", "/resources/{local_resource}", grid(**{**EVERYONE, "liaison_c": 403})),
    Row("resources.detail", "GET", "/resources/999999", grid(default=404)),
    Row("resources.create", "GET", "/resources/new", grid(**{**EVERYONE, "archivist": 403})),
    Row(
        "resources.create",
        "POST",
        "/resources/new",
        # secretary2 and liaison_c may publish, but not for unit A: the form refuses the owner.
        grid(admin=302, secretary1=302, liaison_a=302, secretary2=400, liaison_c=400),
        data=resource_form,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row("resources.edit", "GET", "/resources/{resource}/edit", grid(**UNIT_A_EDITORS)),
    Row("resources.edit", "GET", "/resources/999999/edit", grid(default=404)),
    Row(
        "resources.edit",
        "POST",
        "/resources/{resource}/edit",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=resource_edit_form,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row(
        "resources.deactivate",
        "POST",
        "/resources/{resource}/deactivate",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=no_data,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row(
        "resources.activate",
        "POST",
        "/resources/{inactive_resource}/activate",
        grid(admin=302, secretary1=302, liaison_a=302),
        data=no_data,
        success=frozenset({"admin", "secretary1", "liaison_a"}),
    ),
    Row("resources.activate", "POST", "/resources/999999/activate", grid(default=404), data=no_data),
    # bookings: any unit or community but the owner asks; staff who speak for nobody cannot
    Row(
        "resources.book",
        "POST",
        "/resources/{resource}/book",
        grid(secretary1=302, secretary2=302, liaison_c=302, liaison_a=400),  # unit A's own
        data=booking_form,
        success=frozenset({"secretary1", "secretary2", "liaison_c"}),
    ),
    Row("resources.rooms", "GET", "/rooms", grid(**EVERYONE)),
    Row("resources.room", "GET", "/rooms/{room1}", grid(**EVERYONE)),
    Row("resources.room", "GET", "/rooms/999999", grid(default=404)),
    Row("resources.edit_room", "GET", "/rooms/{room1}/edit", grid(admin=200, secretary1=200)),
    Row("resources.edit_room", "GET", "/rooms/999999/edit", grid(default=404)),
    Row(
        "resources.edit_room",
        "POST",
        "/rooms/{room1}/edit",
        grid(admin=302, secretary1=302),
        data=room_hours_form,
        success=frozenset({"admin", "secretary1"}),
    ),
    Row("resources.new_room", "GET", "/rooms/new?community={community1}", grid(admin=200, secretary1=200)),
    Row("resources.new_room", "GET", "/rooms/new?street={street}", grid(admin=200)),
    Row("resources.new_room", "GET", "/rooms/new?community=999999", grid(default=404)),
    Row(
        "resources.new_room",
        "POST",
        "/rooms/new?community={community2}",
        grid(admin=302, secretary2=302),
        data=new_room_form,
        success=frozenset({"admin", "secretary2"}),
    ),
    Row(
        "resources.retire_room",
        "POST",
        "/rooms/{room2}/retire",
        grid(admin=302, secretary2=302),
        data=no_data,
        success=frozenset({"admin", "secretary2"}),
    ),
    # Restoring a room in use changes nothing.
    Row(
        "resources.restore_room",
        "POST",
        "/rooms/{room1}/restore",
        grid(admin=302, secretary1=302),
        data=no_data,
    ),
    # places: the system administrator only
    Row("places.index", "GET", "/places", grid(admin=200)),
    Row("places.detail", "GET", "/places/street/{street}", grid(admin=200)),
    # A community's and its grids' pages: the street's admins and the community's secretary.
    Row("places.detail", "GET", "/places/community/{community1}?retired=1", grid(admin=200, secretary1=200)),
    Row("places.detail", "GET", "/places/grid/{grid1}", grid(admin=200, secretary1=200)),
    Row("places.detail", "GET", "/places/nowhere/1", grid(default=404)),
    Row(
        "places.add_staff",
        "POST",
        "/places/grid/{grid1}/staff",
        grid(admin=302, secretary1=302),
        data=staff_form,
        success=frozenset({"admin", "secretary1"}),
    ),
    Row(
        "places.edit_staff",
        "GET",
        "/places/grid/{grid1}/staff/{staff1}/edit",
        grid(admin=200, secretary1=200),
    ),
    Row(
        "places.edit_staff",
        "POST",
        "/places/grid/{grid1}/staff/{staff1}/edit",
        grid(admin=302, secretary1=302),
        data=lambda w: {"name": "矩阵网格员", "phone": "", "unit_id": "0", "duties": ["policy", "safety"]},
        success=frozenset({"admin", "secretary1"}),
    ),
    Row(
        "places.staff_status",
        "POST",
        "/places/grid/{grid1}/staff/{staff1}/leave",
        grid(admin=302, secretary1=302),
        data=no_data,
        success=frozenset({"admin", "secretary1"}),
    ),
    Row("places.create", "GET", "/places/grid/new?parent={community1}", grid(admin=200)),
    Row(
        "places.create",
        "POST",
        "/places/grid/new?parent={community1}",
        grid(admin=302),
        data=new_place_form,
        success=frozenset({"admin"}),
    ),
    Row("places.edit", "GET", "/places/street/{street}/edit", grid(admin=200)),
    Row(
        "places.edit",
        "POST",
        "/places/community/{community2}/edit",
        grid(admin=302),
        data=place_edit_form,
        success=frozenset({"admin"}),
    ),
    Row(
        "places.move",
        "POST",
        "/places/community/{community1}/move",
        grid(admin=302),
        data=move_down_form,
        success=frozenset({"admin"}),
    ),
    Row(
        "places.retire",
        "POST",
        "/places/community/{community2}/retire",
        grid(admin=302),
        data=no_data,
        success=frozenset({"admin"}),
    ),
    Row("places.restore", "POST", "/places/community/{community1}/restore", grid(admin=302), data=no_data),
    # 片区: the admins (this world's admin is the system administrator)
    Row("places.areas_index", "GET", "/places/areas", grid(admin=200)),
    Row("places.area_create", "GET", "/places/areas/new", grid(admin=200)),
    Row(
        "places.area_create",
        "POST",
        "/places/areas/new",
        grid(admin=302),
        data=lambda w: {"name": "矩阵片区", "communities": [w.community1, w.community2]},
        success=frozenset({"admin"}),
    ),
    Row("places.area_edit", "GET", "/places/areas/999999/edit", grid(admin=404)),
    Row("places.area_edit", "POST", "/places/areas/999999/edit", grid(admin=404), data=no_data),
    Row("places.area_status", "POST", "/places/areas/999999/retire", grid(admin=404), data=no_data),
    Row("places.import_template", "GET", "/places/import/template.xlsx", grid(admin=200)),
    Row("places.import_upload", "GET", "/places/import", grid(admin=200)),
    Row("places.import_upload", "POST", "/places/import", grid(admin=400), data=no_data),
    Row("places.import_preview", "GET", "/places/import/999999", grid(admin=404)),
    Row("places.import_confirm", "POST", "/places/import/999999/confirm", grid(admin=404), data=no_data),
    Row(
        "resources.book_room",
        "POST",
        "/rooms/{room1}/book",
        grid(secretary2=302, liaison_a=302, liaison_c=302, secretary1=400),  # community 1's own
        data=booking_form,
        success=frozenset({"secretary2", "liaison_a", "liaison_c"}),
    ),
    # {booking}: unit C asks for unit A's {resource}; {room_booking}: unit C asks for community
    # 1's room; {other_booking}: community 2 asks for unit B's equipment. All pending.
    Row("resources.bookings", "GET", "/bookings", grid(**EVERYONE)),
    Row("resources.bookings", "GET", "/bookings?tab=all&status=pending&page=2", grid(**EVERYONE)),
    Row("resources.booking", "GET", "/bookings/{booking}", grid(**EVERYONE)),
    Row("resources.booking", "GET", "/bookings/{other_booking}", grid(**STAFF_READ)),
    Row("resources.booking", "GET", "/bookings/999999", grid(default=404)),
    Row(
        "resources.approve",
        "POST",
        "/bookings/{booking}/approve",
        grid(admin=302, liaison_a=302),
        data=no_data,
        success=frozenset({"admin", "liaison_a"}),
    ),
    Row(
        "resources.decline",
        "POST",
        "/bookings/{booking}/decline",
        grid(admin=302, liaison_a=302),
        data=reason_form,
        success=frozenset({"admin", "liaison_a"}),
    ),
    Row(
        "resources.approve",
        "POST",
        "/bookings/{room_booking}/approve",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "resources.decline",
        "POST",
        "/bookings/{room_booking}/decline",
        grid(**C1_MANAGERS_POST),
        data=reason_form,
        success=C1_MANAGER_SET,
    ),
    Row("resources.approve", "POST", "/bookings/999999/approve", grid(default=404), data=no_data),
    Row(
        "resources.cancel",
        "POST",
        "/bookings/{booking}/cancel",
        grid(admin=302, liaison_c=302),
        data=no_data,
        success=frozenset({"admin", "liaison_c"}),
    ),
    # needs: community 1's {need} (open), {claimed_need} (claimed by unit A, to confirm) and
    # {active_need} (under way with unit A, with a progress {photo})
    Row("needs.index", "GET", "/needs", grid(**EVERYONE)),
    Row(
        "needs.index",
        "GET",
        "/needs?community={community1}&kind=venue&status=open&type=wish&q=%25&mine=1&stale=1&page=2",
        grid(**EVERYONE),
    ),
    Row("needs.detail", "GET", "/needs/{need}", grid(**EVERYONE)),
    Row("needs.detail", "GET", "/needs/{active_need}", grid(**EVERYONE)),
    Row("needs.detail", "GET", "/needs/999999", grid(default=404)),
    Row("needs.photo", "GET", "/needs/photos/{photo}", grid(**EVERYONE)),
    Row("needs.photo", "GET", "/needs/photos/{attachment}", grid(default=404)),  # an action's file
    Row("needs.create", "GET", "/needs/new", grid(**UNIT_MANAGERS)),
    Row(
        "needs.create",
        "POST",
        "/needs/new",
        grid(admin=302, secretary1=302, secretary2=302),
        data=need_form,
        success=frozenset(UNIT_MANAGERS),
    ),
    Row("needs.edit", "GET", "/needs/{need}/edit", grid(**C1_MANAGERS)),
    Row("needs.edit", "GET", "/needs/{claimed_need}/edit", grid(**C1_MANAGERS)),
    Row("needs.edit", "GET", "/needs/999999/edit", grid(default=404)),
    Row(
        "needs.edit",
        "POST",
        "/needs/{need}/edit",
        grid(**C1_MANAGERS_POST),
        data=need_edit_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "needs.claim",
        "POST",
        "/needs/{need}/claim",
        grid(liaison_a=302, liaison_c=302),
        data=no_data,
        success=frozenset({"liaison_a", "liaison_c"}),
    ),
    Row("needs.claim", "POST", "/needs/999999/claim", grid(default=404), data=no_data),
    Row(
        "needs.confirm",
        "POST",
        "/needs/{claimed_need}/confirm",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "needs.release",
        "POST",
        "/needs/{claimed_need}/release",
        grid(**C1_MANAGERS_POST),
        data=release_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "needs.withdraw",
        "POST",
        "/needs/{need}/withdraw",
        grid(**C1_MANAGERS_POST),
        data=withdraw_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "needs.progress",
        "POST",
        "/needs/{active_need}/progress",
        grid(liaison_a=302),
        data=need_progress_form,
        success=frozenset({"liaison_a"}),
    ),
    Row(
        "needs.fulfil",
        "POST",
        "/needs/{active_need}/fulfil",
        grid(liaison_a=302),
        data=need_fulfil_form,
        success=frozenset({"liaison_a"}),
    ),
    # matching: {unit_c_match} proposes unit C's resource, {community_match} community 1's own,
    # for the open need; {accepted_match} (unit A's resource, accepted) may become an action
    Row(
        "needs.propose",
        "POST",
        "/needs/{need}/matches",
        grid(**C1_MANAGERS_POST),
        data=propose_form,
        success=C1_MANAGER_SET,
    ),
    Row(
        "needs.decide",
        "POST",
        "/needs/matches/{unit_c_match}/accept",
        grid(admin=302, liaison_c=302),
        data=no_data,
        success=frozenset({"admin", "liaison_c"}),
    ),
    Row(
        "needs.decide",
        "POST",
        "/needs/matches/{unit_c_match}/decline",
        grid(admin=302, liaison_c=302),
        data=reason_form,
        success=frozenset({"admin", "liaison_c"}),
    ),
    Row(
        "needs.decide",
        "POST",
        "/needs/matches/{community_match}/accept",
        grid(**C1_MANAGERS_POST),
        data=no_data,
        success=C1_MANAGER_SET,
    ),
    Row(
        "needs.decide",
        "POST",
        "/needs/matches/{community_match}/decline",
        grid(**C1_MANAGERS_POST),
        data=reason_form,
        success=C1_MANAGER_SET,
    ),
    Row("needs.decide", "POST", "/needs/matches/999999/accept", grid(default=404), data=no_data),
    Row(
        "needs.to_action",
        "POST",
        "/needs/matches/{accepted_match}/action",
        grid(**C1_MANAGERS_POST),
        data=match_action_form,
        success=C1_MANAGER_SET,
    ),
    # stats: the street dashboard and annual report for staff; points for everyone, a unit's
    # detail for staff and the unit itself; the rules for admins
    Row("stats.index", "GET", "/stats", grid(**STAFF_READ)),
    Row("stats.index", "GET", "/stats?from={year}-01-01&to={year}-06-30&street={street}", grid(**STAFF_READ)),
    # The report renders a PDF (slow): one row.
    Row("stats.report", "GET", "/stats/report.pdf?year={year}", grid(**STAFF_READ)),
    # notifications: each user their own (another's is not found); the unsubscribe link from a
    # mail works without logging in, a forged one is not found.
    Row("notifications.index", "GET", "/notifications", grid(**EVERYONE)),
    Row("notifications.index", "GET", "/notifications?unread=1", grid(**EVERYONE)),
    Row(
        "notifications.open_one",
        "POST",
        "/notifications/{notice}/open",
        grid(default=404, liaison_a=302),
        data=no_data,
        success=frozenset({"liaison_a"}),
    ),
    Row(
        "notifications.read_one",
        "POST",
        "/notifications/{notice}/read",
        grid(default=404, liaison_a=302),
        data=no_data,
        success=frozenset({"liaison_a"}),
    ),
    Row(
        "notifications.read_all",
        "POST",
        "/notifications/read-all",
        grid(default=302),
        data=no_data,
        success=frozenset({"liaison_a"}),
    ),
    Row("notifications.settings", "GET", "/notifications/settings", grid(**EVERYONE)),
    Row(
        "notifications.settings",
        "POST",
        "/notifications/settings",
        grid(default=302),
        data=lambda world: {f"kind_{k.value}": "digest" for k in NoticeKind},
        success=LOGGED_IN,
    ),
    Row(
        "notifications.unsubscribe",
        "GET",
        "/notifications/unsubscribe/{unsubscribe}",
        grid(anonymous=200, default=200),
    ),
    Row(
        "notifications.unsubscribe",
        "GET",
        "/notifications/unsubscribe/forged",
        grid(anonymous=404, default=404),
    ),
    Row(
        "notifications.unsubscribe",
        "POST",
        "/notifications/unsubscribe/{unsubscribe}",
        grid(anonymous=200, default=200),
        data=no_data,
        success=frozenset(PERSONAS),
    ),
    # 扫码签到: the host's screen and count; the phone's page needs no account (a forged link: 410).
    Row("signin.screen", "GET", "/meetings/{started}/signin", grid(**C1_MANAGERS)),
    Row("signin.live_count", "GET", "/meetings/{started}/signin/count", grid(**C1_MANAGERS)),
    Row("signin.poster", "GET", "/meetings/{started}/signin/poster.pdf", grid(**C1_MANAGERS)),
    Row("signin.screen", "GET", "/meetings/999999/signin", grid(default=404)),
    Row("signin.form", "GET", "/s/{signin_token}", grid(anonymous=200, default=200)),
    Row("signin.form", "GET", "/s/forged", grid(anonymous=410, default=410)),
    Row(
        "signin.form",
        "POST",
        "/s/{signin_token}",
        grid(anonymous=200, default=200),
        data=lambda world: {"unit_id": world.unit_a, "name": "张晓明", "post": "办公室主任"},
        success=frozenset(PERSONAS),
    ),
    # The roll-up by district and city: observers and the system administrator.
    Row("stats.rollup_view", "GET", "/stats/rollup", grid(admin=200)),
    Row("stats.ranking", "GET", "/stats/points", grid(**EVERYONE)),
    Row("stats.ranking", "GET", "/stats/points?year={year}&community={community2}", grid(**EVERYONE)),
    Row("stats.ranking_export", "GET", "/stats/points.xlsx", grid(**STAFF_READ)),
    Row("stats.unit_points", "GET", "/stats/points/units/{unit_a}", grid(**STAFF_READ, liaison_a=200)),
    Row("stats.unit_points", "GET", "/stats/points/units/999999", grid(default=404)),
    Row("stats.rules", "GET", "/stats/points/rules", grid(admin=200)),
    Row(
        "stats.rules",
        "POST",
        "/stats/points/rules",
        grid(admin=302),
        data=point_rules_form,
        success=frozenset({"admin"}),
    ),
    # API tokens on the account page: one's own only.
    Row(
        "auth.create_token",
        "POST",
        "/account/tokens",
        grid(**EVERYONE),
        data=token_form,
        success=LOGGED_IN,
    ),
    Row(
        "auth.revoke_token",
        "POST",
        "/account/tokens/{api_token}/revoke",
        grid(default=404, liaison_a=302),
        data=no_data,
        success=frozenset({"liaison_a"}),
    ),
    # The archive (档案): the register, description and filing, appraisal: archivists and admins.
    Row("records.index", "GET", "/archive", grid(admin=200, archivist=200)),
    Row(
        "records.index",
        "GET",
        "/archive?q=%25&year={year}&retention=D30&state=unfiled&community={community1}&street={street}",
        grid(admin=200, archivist=200),
    ),
    Row("records.export", "GET", "/archive/export.xlsx?state=unfiled", grid(admin=200, archivist=200)),
    Row("records.item", "GET", "/archive/{archived_minutes}", grid(admin=200, archivist=200)),
    Row("records.item", "GET", "/archive/999999", grid(admin=404, archivist=404)),
    Row(
        "records.describe",
        "POST",
        "/archive/{archived_minutes}",
        grid(admin=302, archivist=302),
        data=lambda w: {"retention": "D30", "organ": "党建办", "reason": ""},
        success=frozenset({"admin", "archivist"}),
    ),
    # Refused for everyone here: the street has no 全宗号 yet (tests/test_filing.py files).
    Row(
        "records.file_minutes",
        "POST",
        "/archive/{archived_minutes}/file",
        grid(admin=302, archivist=302),
        data=no_data,
    ),
    Row("records.appraisal", "GET", "/archive/appraisal?year=2060", grid(admin=200, archivist=200)),
    # No 全宗号 in this world: back to the register with the reason (tests/test_filing.py exports).
    Row(
        "records.package",
        "GET",
        "/archive/package.zip?year={year}&street={street}",
        grid(admin=302, archivist=302),
    ),
    Row(
        "records.appraisal_export", "GET", "/archive/appraisal.xlsx?year=2060", grid(admin=200, archivist=200)
    ),
    # The JSON API: the same permissions as the pages, by bearer token (anonymous: 401).
    *API_ROWS,
]


def _cells(shared: bool):
    for row in MATRIX:
        for persona in PERSONAS:
            if (persona in row.success) != shared:
                yield pytest.param(row, persona, id=f"{row.method} {row.url} {persona}")


def _snapshot() -> dict:
    """The state a refused request must leave alone (logs excluded)."""
    units = db.session.execute(
        select(
            Unit.id,
            Unit.name,
            Unit.short_name,
            Unit.community_id,
            Unit.status,
            Unit.address,
            Unit.liaison_phone,
            Unit.version,
        ).order_by(Unit.id)
    ).all()
    users = db.session.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            User.role,
            User.community_id,
            User.unit_id,
            User.active,
            User.password_hash,
            User.session_token,
        ).order_by(User.id)
    ).all()
    imports = db.session.execute(
        select(UnitImport.id, UnitImport.confirmed_at, UnitImport.created_count).order_by(UnitImport.id)
    ).all()
    changes = db.session.scalar(select(func.count()).select_from(UnitStatusChange))

    def rows(*columns, order):
        return db.session.execute(select(*columns).order_by(order)).all()

    progress = (
        select(func.count()).select_from(ActionProgress).where(ActionProgress.action_id == Action.id)
    ).scalar_subquery()
    return {
        "units": units,
        "users": users,
        "imports": imports,
        "status_changes": changes,
        "meetings": rows(
            Meeting.id,
            Meeting.status,
            Meeting.title,
            Meeting.start_at,
            Meeting.version,
            Meeting.sequence,
            order=Meeting.id,
        ),
        "invitations": rows(Invitation.id, Invitation.reply, Invitation.attendance, order=Invitation.id),
        "topics": rows(Topic.id, Topic.status, order=Topic.id),
        "revisions": rows(
            MinutesRevision.id, MinutesRevision.status, MinutesRevision.version, order=MinutesRevision.id
        ),
        "confirmations": rows(Confirmation.id, Confirmation.status, order=Confirmation.id),
        "actions": rows(
            Action.id, Action.status, Action.due_on, Action.lead_unit_id, progress, order=Action.id
        ),
        "action_events": rows(ActionEvent.id, order=ActionEvent.id),
        "feeds": rows(CalendarFeed.id, CalendarFeed.token, order=CalendarFeed.id),
        "outbox": rows(OutboxMessage.id, OutboxMessage.status, order=OutboxMessage.id),
        "resources": rows(Resource.id, Resource.active, Resource.version, order=Resource.id),
        "bookings": rows(Booking.id, Booking.status, order=Booking.id),
        "needs": rows(Need.id, Need.status, Need.claimed_unit_id, Need.version, order=Need.id),
        "need_updates": rows(NeedUpdate.id, NeedUpdate.need_id, order=NeedUpdate.id),
        "matches": rows(Match.id, Match.status, Match.action_id, order=Match.id),
        "notifications": rows(Notification.id, Notification.read_at, order=Notification.id),
        "sign_ins": rows(PersonSignIn.id, PersonSignIn.name, order=PersonSignIn.id),
        "notice_preferences": rows(
            NoticePreference.kind, NoticePreference.channel, order=NoticePreference.id
        ),
        "point_rules": rows(PointRule.key, PointRule.points, order=PointRule.key),
        "api_tokens": rows(ApiToken.id, ApiToken.name, ApiToken.revoked_at, order=ApiToken.id),
        "filing": rows(Minutes.id, Minutes.retention, Minutes.organ, Minutes.file_no, order=Minutes.id),
        "rooms": rows(
            Room.id,
            Room.name,
            Room.bookable,
            Room.opens_at,
            Room.closes_at,
            Room.open_days,
            Room.retired_at,
            order=Room.id,
        ),
        "places": [
            rows(model.id, model.name, model.short_name, model.position, model.retired_at, order=model.id)
            for model in (City, District, Street, Community, Grid, Building)
        ],
        "place_imports": rows(PlaceImport.id, PlaceImport.confirmed_at, order=PlaceImport.id),
        "areas": rows(Area.id, Area.name, Area.retired_at, order=Area.id),
        "grid_staff": rows(GridStaff.id, GridStaff.duties, GridStaff.left_at, order=GridStaff.id),
    }


def _forbidden_events(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "forbidden", AuditEvent.actor_id == user_id)
    )


def _stage_import(world) -> int:
    """An import checked by secretary1, waiting for confirmation."""
    batch = UnitImport(
        created_by_id=world.secretary1,
        filename="units.csv",
        valid_rows=[
            {
                "row": 2,
                "name": "矩阵导入单位",
                "category": "school",
                "community_id": world.community1,
                "short_name": "",
                "address": "",
                "party_org_name": "",
                "liaison_name": "",
                "party_member_count": 0,
                "liaison_phone": "",
                "liaison_email": "",
            }
        ],
        rejected_rows=[],
    )
    db.session.add(batch)
    db.session.commit()
    return batch.id


class SharedWorld:
    """One world for every cell that must change nothing, rebuilt if anything did change it.

    Building the world and an app per cell costs most of the matrix's time; cells that
    are refused or only read share this one. Cells that change state get a fresh world.
    """

    def __init__(self, app):
        self.app = app
        self.world = None
        self.pristine = None
        # Whether the last cell ended with the database as pristine (its own "after"
        # snapshot said so); a failed cell leaves it False and the world is rebuilt.
        self.intact = False
        self.clients: dict[str, Any] = {}

    def ready(self):
        if self.world is not None and self.intact:
            self.intact = False
            return self.world
        _clear(self.app)
        self.world = _build_world(self.app)
        with self.app.app_context():
            self.pristine = _snapshot()
        self.clients = {}
        return self.world

    def release(self):
        """Empty the database so a test can build its own world."""
        if self.world is not None:
            _clear(self.app)
            self.world = None
        self.intact = False

    def client(self, persona: str):
        if persona == "anonymous":
            return self.app.test_client()
        if persona not in self.clients:
            c = self.app.test_client()
            resp = c.post("/login", data={"username": persona, "password": PASSWORD})
            assert resp.status_code == 302
            self.clients[persona] = c
        return self.clients[persona]


@dataclass
class MatrixWorld(conftest.World):
    """The conftest world plus meetings, minutes, an action, mail and feeds to aim routes at."""

    room1: int  # community 1's meeting room
    grid1: int  # a grid of community 1
    staff1: int  # on grid1's roster
    room2: int  # community 2's meeting room
    draft: int  # community 1, draft, in ten days, inviting units A and B
    scheduled: int  # community 1, published, in five days, topics open, inviting A and B
    topic: int  # unit A's submitted topic for `scheduled`
    started: int  # community 1, published, began an hour ago (sign-in and minutes open)
    started_invitation: int  # unit A's invitation to `started`
    held: int  # community 1, held; minutes submitted, unit A asked to confirm
    recorded: int  # community 1, held; minutes still a draft
    archived: int  # community 1, held; minutes approved (stored PDF, no rendering)
    archived_minutes: int  # those minutes (described: 年度, 30 年; not filed: no 全宗号 set)
    action: int  # from `archived`, led by unit A with unit B, in progress
    attachment: int  # a file on the action's progress report
    message: int  # a failed outbox message
    token: str  # community 1's calendar feed
    year: int  # this year (Beijing time), for the stats pages
    resource: int  # unit A's bookable venue, shared with all units
    local_resource: int  # unit A's bookable equipment, shared with community 1 only
    inactive_resource: int  # unit A's venue, switched off
    booking: int  # unit C asks for `resource` (pending)
    room_booking: int  # unit C asks for community 1's room (pending)
    other_booking: int  # community 2 asks for unit B's equipment (pending)
    need: int  # community 1, open
    claimed_need: int  # community 1, claimed by unit A, waiting for confirmation
    active_need: int  # community 1, under way with unit A, one progress report with a photo
    photo: int  # the photo on `active_need`'s progress report
    unit_c_match: int  # unit C's resource proposed for `need`
    community_match: int  # community 1's own resource proposed for `need`
    accepted_match: int  # unit A's `resource` accepted for `active_need`, no action yet
    signin_token: str  # the printed poster's sign-in link of `started`
    notice: int  # liaison A's unread notification
    unsubscribe: str  # liaison A's link to stop booking-request mail
    api_token: int  # liaison A's API token (every persona has one: api_headers)


def _build_extras(app, world: conftest.World) -> MatrixWorld:
    """Add the objects the meeting, minutes, action, feed and outbox rows need."""
    from services.actions import upload_folder

    with app.app_context():
        room1 = db.session.scalar(select(Room.id).where(Room.community_id == world.community1))
        grid1 = Grid(community_id=world.community1, name="矩阵第一网格")
        db.session.add(grid1)
        db.session.flush()
        staff1 = GridStaff(grid_id=grid1.id, name="矩阵网格员", duties=["policy"])
        db.session.add(staff1)
        db.session.flush()
        room2 = Room(community_id=world.community2, name="和平里社区共驻共建会议室", capacity=20)
        db.session.add(room2)
        now = utcnow()
        base = datetime.now(SHANGHAI).replace(hour=14, minute=0, second=0, microsecond=0)

        def meeting(title, start, status, units=(world.unit_a, world.unit_b), **fields):
            m = Meeting(
                street_id=world.street,
                community_id=world.community1,
                kind=MeetingKind.REGULAR,
                title=title,
                start_at=start,
                end_at=start + timedelta(hours=2),
                room_id=room1,
                status=status,
                topic_deadline=start - timedelta(days=3),
                created_by_id=world.secretary1,
                published_at=None if status == MeetingStatus.DRAFT else now - timedelta(days=30),
                held_at=now if status == MeetingStatus.HELD else None,
                **fields,
            )
            for unit_id in units:
                m.invitations.append(Invitation(unit_id=unit_id))
            db.session.add(m)
            return m

        draft = meeting("筹备中的联席会议", base + timedelta(days=10), MeetingStatus.DRAFT)
        scheduled = meeting("已发布的联席会议", base + timedelta(days=5), MeetingStatus.SCHEDULED)
        topic = Topic(unit_id=world.unit_a, submitted_by_id=world.liaison_a, title="共建议题")
        scheduled.topics.append(topic)
        started = meeting("正在召开的联席会议", now - timedelta(hours=1), MeetingStatus.SCHEDULED)
        held = meeting("待签发纪要的联席会议", base - timedelta(days=7), MeetingStatus.HELD)
        recorded = meeting("纪要起草中的联席会议", base - timedelta(days=14), MeetingStatus.HELD)
        archived = meeting(
            "纪要已签发的联席会议", base - timedelta(days=21), MeetingStatus.HELD, units=(world.unit_a,)
        )
        for m in (held, recorded, archived):
            m.invitations[0].reply = Reply.ACCEPT
            m.invitations[0].attendance = Attendance.PRESENT
        db.session.flush()

        def minutes(m, status, **fields):
            mins = Minutes(meeting=m)
            rev = MinutesRevision(
                number=1,
                status=status,
                recorder="记录人",
                summary="<p>会议概况</p>",
                discussion=[],
                created_by_id=world.secretary1,
                **fields,
            )
            mins.revisions.append(rev)
            db.session.add(mins)
            return mins, rev

        _, submitted = minutes(
            held, MinutesStatus.SUBMITTED, submitted_at=now, submitted_by_id=world.secretary1
        )
        submitted.confirmations.append(Confirmation(unit_id=world.unit_a))
        minutes(recorded, MinutesStatus.DRAFT)
        # Approved straight in the database: fake PDF bytes, nothing rendered.
        year = now.astimezone(SHANGHAI).year
        pdf = b"%PDF-1.7\n% matrix test\n%%EOF\n"
        scope = f"community:{world.community1}"
        approved, _ = minutes(
            archived,
            MinutesStatus.APPROVED,
            submitted_at=now,
            approved_at=now,
            approved_by_id=world.secretary1,
            approved_by_name="secretary1",
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            pdf_sm3=hashlib.new("sm3", pdf).hexdigest(),
            version=3,
        )
        approved.archive_no = f"青年路联席〔{year}〕1号"
        approved.filing_year, approved.retention = year, Retention.D30
        approved.archive_scope, approved.archive_year, approved.archive_seq = scope, year, 1
        db.session.add(ArchiveCounter(scope=scope, year=year, last_number=1))

        unit_b = db.session.get(Unit, world.unit_b)
        action = Action(
            meeting=archived,
            street_id=world.street,
            community_id=world.community1,
            title="共建矩阵议定事项",
            lead_unit_id=world.unit_a,
            due_on=today() + timedelta(days=30),
            status=ActionStatus.IN_PROGRESS,
            co_units=[unit_b],
        )
        data = b"%PDF-1.4\n% attachment\n%%EOF\n"
        storage = secrets.token_hex(16)
        (upload_folder() / storage).write_bytes(data)
        attachment = Attachment(
            storage_name=storage,
            filename="进展材料.pdf",
            content_type="application/pdf",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by_id=world.liaison_a,
        )
        action.progress.append(
            ActionProgress(
                on=today(),
                text="已对接",
                author_id=world.liaison_a,
                unit_id=world.unit_a,
                attachment=attachment,
            )
        )
        db.session.add(action)

        message = OutboxMessage(
            to_addr="liaison@example.cn",
            subject="【会议通知】已发布的联席会议",
            body_text="……",
            status=MailStatus.FAILED,
            attempts=8,
            last_error="connection refused",
        )
        feed = CalendarFeed(
            token="matrix-feed-token-community-1",
            community_id=world.community1,
            created_by_id=world.secretary1,
        )
        db.session.add_all([message, feed])

        # Resources and bookings.
        def resource(title, kind=ResourceKind.VENUE, unit=world.unit_a, community=world.community1, **fields):
            r = Resource(
                street_id=world.street,
                owner_unit_id=unit,
                owner_community_id=None if unit else community,
                community_id=community,
                kind=kind,
                title=title,
                **fields,
            )
            db.session.add(r)
            return r

        hall = resource("第一小学报告厅", bookable=True)
        projector = resource(
            "第一小学投影仪", ResourceKind.EQUIPMENT, bookable=True, visibility=Visibility.COMMUNITY
        )
        closed = resource("第一小学旧礼堂", active=False)
        ultrasound = resource("医院便携B超", ResourceKind.EQUIPMENT, unit=world.unit_b, bookable=True)
        patrol = resource(
            "派出所防诈骗宣讲", ResourceKind.VENUE, unit=world.unit_c, community=world.community2
        )
        community_hall = resource("青年路社区活动室", unit=None)
        db.session.flush()

        def booking(target, start, end, **requester):
            b = Booking(start_at=start, end_at=end, purpose="矩阵测试预约", **target, **requester)
            db.session.add(b)
            return b

        by_unit_c = {"requester_unit_id": world.unit_c, "requested_by_id": world.liaison_c}
        booking_ = booking({"resource_id": hall.id}, *_local_slot(12, 10, 12), **by_unit_c)
        room_booking = booking({"room_id": room1}, *_local_slot(20, 9, 11), **by_unit_c)
        other_booking = booking(
            {"resource_id": ultrasound.id},
            *_local_slot(12, 10, 12),
            requester_community_id=world.community2,
            requested_by_id=world.secretary2,
        )

        # Needs, a progress photo and matches.
        def need(title, status=NeedStatus.OPEN, **fields):
            n = Need(
                street_id=world.street,
                community_id=world.community1,
                kind=ResourceKind.VENUE,
                title=title,
                status=status,
                posted_by_id=world.secretary1,
                **fields,
            )
            db.session.add(n)
            return n

        claim = {"claimed_unit_id": world.unit_a, "claimed_by_id": world.liaison_a, "claimed_at": now}
        open_need = need("暑期托管班需要活动场地")
        claimed_need = need("老年活动室需要场地", NeedStatus.CLAIMED, **claim)
        active_need = need("青少年科普讲座需要场地", NeedStatus.IN_PROGRESS, claim_confirmed_at=now, **claim)
        png = (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
            b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
            b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
        )
        storage = secrets.token_hex(16)
        (upload_folder() / storage).write_bytes(png)
        photo = Attachment(
            storage_name=storage,
            filename="现场.png",
            content_type="image/png",
            size=len(png),
            sha256=hashlib.sha256(png).hexdigest(),
            uploaded_by_id=world.liaison_a,
        )
        active_need.updates.append(
            NeedUpdate(
                author_id=world.liaison_a, unit_id=world.unit_a, on=today(), text="已联系", photos=[photo]
            )
        )
        db.session.flush()
        unit_c_match = Match(need_id=open_need.id, resource_id=patrol.id, proposed_by_id=world.secretary1)
        community_match = Match(
            need_id=open_need.id, resource_id=community_hall.id, proposed_by_id=world.secretary1
        )
        accepted_match = Match(
            need_id=active_need.id,
            resource_id=hall.id,
            proposed_by_id=world.secretary1,
            status=MatchStatus.ACCEPTED,
            decided_by_id=world.liaison_a,
            decided_at=now,
        )
        db.session.add_all([unit_c_match, community_match, accepted_match])
        notice = Notification(
            user_id=world.liaison_a,
            kind=NoticeKind.BOOKING_DECIDED,
            text="矩阵提醒",
            url=f"/bookings/{booking_.id}",
        )
        db.session.add(notice)
        add_api_tokens(
            ["admin", "archivist", "secretary1", "secretary2", "liaison_a", "liaison_b", "liaison_c"]
        )
        db.session.flush()
        api_token = db.session.scalar(
            select(ApiToken.id).where(ApiToken.digest == digest(derived_secret("liaison_a", API_KEY)))
        )
        db.session.commit()
        return MatrixWorld(
            api_token=api_token,
            signin_token=poster_token(started),
            notice=notice.id,
            unsubscribe=unsubscribe_token(world.liaison_a, NoticeKind.BOOKING_REQUESTED),
            **vars(world),
            room1=room1,
            grid1=grid1.id,
            staff1=staff1.id,
            room2=room2.id,
            draft=draft.id,
            scheduled=scheduled.id,
            topic=topic.id,
            started=started.id,
            started_invitation=started.invitations[0].id,
            held=held.id,
            recorded=recorded.id,
            archived=archived.id,
            archived_minutes=approved.id,
            action=action.id,
            attachment=attachment.id,
            message=message.id,
            token=feed.token,
            year=year,
            resource=hall.id,
            local_resource=projector.id,
            inactive_resource=closed.id,
            booking=booking_.id,
            room_booking=room_booking.id,
            other_booking=other_booking.id,
            need=open_need.id,
            claimed_need=claimed_need.id,
            active_need=active_need.id,
            photo=photo.id,
            unit_c_match=unit_c_match.id,
            community_match=community_match.id,
            accepted_match=accepted_match.id,
        )


def _build_world(app) -> MatrixWorld:
    build = getattr(conftest.world, "__wrapped__", conftest.world)
    return _build_extras(app, build(app))


@pytest.fixture(scope="module")
def shared(database_url, tmp_path_factory):
    instance = tmp_path_factory.mktemp("matrix")
    app = conftest._new_app(database_url, instance)
    yield SharedWorld(app)
    _clear(app)


@pytest.fixture
def app(shared):
    """The module's app (creating one per test is slow), emptied for a test with its own world."""
    shared.release()
    yield shared.app
    _clear(shared.app)


@pytest.fixture
def world(app):
    """The matrix world, built once the shared world is out of the way."""
    return _build_world(app)


def request_kwargs(row: Row, world, persona: str) -> dict:
    """The form (or, for the API, the JSON body and the persona's token) a row sends."""
    kwargs: dict[str, Any] = {}
    if row.method == "POST" and row.data is not None:
        takes_persona = row.data.__code__.co_argcount == 2
        data = row.data(world, persona) if takes_persona else row.data(world)
        kwargs["json" if row.api else "data"] = data
    if row.api:
        kwargs["headers"] = api_headers(persona)
    return kwargs


def _check_cell(app, client, world, row: Row, persona: str, ids: dict, before=None) -> dict:
    """Run one cell; return the database state after it."""
    with app.app_context():
        if before is None:
            before = _snapshot()
        user_id = getattr(world, persona, None)
        forbidden_before = _forbidden_events(user_id) if user_id else 0
    kwargs = request_kwargs(row, world, persona)
    # {me}: the persona's own user id (0 for anonymous).
    url = row.url.format(**ids, me=user_id or 0)
    resp = client.open(url, method=row.method, **kwargs)

    expected = row.status(persona)
    if row.api and persona != "anonymous" and expected in (403, 404, 400, 401, 422):
        assert resp.mimetype == "application/problem+json", resp.get_data(as_text=True)[:300]
    if expected == LOGIN:
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        assert resp.headers["Location"].startswith("/login")
    else:
        assert resp.status_code == expected, resp.get_data(as_text=True)[:1500]
    if expected == 302 and persona in row.success:
        assert not resp.headers["Location"].startswith("/login?")

    with app.app_context():
        after = _snapshot()
        if persona in row.success:
            assert after != before, "the allowed request changed nothing"
        else:
            assert after == before, "a refused or read-only request changed the database"
        if user_id:
            expected_events = 1 if expected == 403 else 0
            assert _forbidden_events(user_id) - forbidden_before == expected_events
    return after


@pytest.mark.parametrize(("row", "persona"), list(_cells(shared=True)))
def test_access(shared, row: Row, persona: str):
    """Cells that read, or are refused: status as listed, database unchanged."""
    world = shared.ready()
    ids = dict(vars(world))
    if "{batch}" in row.url:
        with shared.app.app_context():
            ids["batch"] = _stage_import(world)
        # The staged batch is part of the state this cell must leave alone.
        with shared.app.app_context():
            shared.pristine = _snapshot()
    after = _check_cell(shared.app, shared.client(persona), world, row, persona, ids, before=shared.pristine)
    shared.intact = after == shared.pristine


@pytest.mark.parametrize(("row", "persona"), list(_cells(shared=False)))
def test_access_allowed_change(app, client, world, login_as, row: Row, persona: str):
    """Cells that change state, each on a fresh world: status as listed, something changed."""
    ids = dict(vars(world))
    if "{batch}" in row.url:
        with app.app_context():
            ids["batch"] = _stage_import(world)
    if persona != "anonymous":
        login_as(persona)
    _check_cell(app, client, world, row, persona, ids)


def test_every_route_is_in_the_matrix(app):
    """A route added without an access row fails here."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for row in MATRIX:
        path = row.url.split("?")[0].format_map(defaultdict(lambda: 1))
        endpoint, _ = adapter.match(path, method=row.method)
        assert endpoint == row.endpoint, (row, endpoint)
        covered.add((row.endpoint, row.method))
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = sorted(routes - covered)
    assert not missing, f"routes without an access-matrix row: {missing}"
    assert covered <= routes


def test_refusals_are_server_side_for_a_liaisons_own_unit(app, client, world, login_as):
    """A liaison editing their own unit cannot move it, rename it or change its status."""
    login_as("liaison_a")
    data = unit_edit_form(world)
    data.update(name="被改名的单位", community_id=str(world.community2), category="agency", version="1")
    resp = client.post(f"/units/{world.unit_a}/edit", data=data)
    assert resp.status_code == 302
    with app.app_context():
        unit = db.session.get(Unit, world.unit_a)
        assert unit.name == "东大街第一小学"
        assert unit.community_id == world.community1
        assert unit.category.value == "school"
        assert unit.address == "矩阵路 1 号"  # the profile field did change


def test_secretary_cannot_move_own_unit_to_another_community(app, client, world, login_as):
    login_as("secretary1")
    data = unit_edit_form(world)
    data.update(community_id=str(world.community2))
    resp = client.post(f"/units/{world.unit_a}/edit", data=data)
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.get(Unit, world.unit_a).community_id == world.community1


def test_allowed_cells_really_happened(app, client, world, login_as):
    """Spot-check that the success cells above did what the user asked."""
    login_as("secretary1")
    client.post("/units/new", data=unit_form(world))
    client.post(f"/units/{world.unit_a}/status", data=status_form(world))
    with app.app_context():
        created = db.session.scalar(select(Unit).where(Unit.name == "矩阵测试单位"))
        assert created is not None and created.community_id == world.community1
        assert db.session.get(Unit, world.unit_a).status.value == "active"


def test_liaisons_see_only_their_units_meetings_and_actions(app, client, world, login_as):
    """The lists answer 200 to everyone, but a liaison's lists hold only what their unit may see."""
    with app.app_context():

        def calendar(meeting_id):
            start = db.session.get(Meeting, meeting_id).start_at.astimezone(SHANGHAI)
            return f"/meetings/calendar?month={start:%Y-%m}"

        pages = {
            "已发布的联席会议": ("/meetings", calendar(world.scheduled)),
            "筹备中的联席会议": ("/meetings", calendar(world.draft)),
        }

    def shown(title):
        return [title in client.get(page).get_data(as_text=True) for page in pages[title]]

    login_as("secretary1")  # the host community's secretary: its drafts too
    assert shown("筹备中的联席会议") == [True, True]
    login_as("secretary2")  # staff read every community's published meetings, not their drafts
    assert shown("已发布的联席会议") == [True, True]
    assert shown("筹备中的联席会议") == [False, False]
    assert "共建矩阵议定事项" in client.get("/actions").get_data(as_text=True)
    login_as("liaison_a")  # invited: the published meeting, not the draft
    assert shown("已发布的联席会议") == [True, True]
    assert shown("筹备中的联席会议") == [False, False]
    assert "共建矩阵议定事项" in client.get("/actions").get_data(as_text=True)
    login_as("liaison_c")  # not invited, not involved
    assert shown("已发布的联席会议") == [False, False]
    assert shown("筹备中的联席会议") == [False, False]
    assert "共建矩阵议定事项" not in client.get("/actions").get_data(as_text=True)


def test_allowed_resource_and_need_cells_really_happened(app, client, world, login_as):
    """Spot-check that the new features' success cells did what the user asked."""
    login_as("liaison_a")
    client.post(f"/bookings/{world.booking}/approve", data={})
    client.post(f"/needs/{world.active_need}/fulfil", data=need_fulfil_form(world))
    login_as("liaison_c")
    client.post(f"/needs/{world.need}/claim", data={})
    login_as("secretary1")
    resp = client.post(f"/needs/matches/{world.accepted_match}/action", data=match_action_form(world))
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/actions/")
    with app.app_context():
        assert db.session.get(Booking, world.booking).status == BookingStatus.APPROVED
        assert db.session.get(Need, world.active_need).status == NeedStatus.FULFILLED
        claimed = db.session.get(Need, world.need)
        assert (claimed.status, claimed.claimed_unit_id) == (NeedStatus.CLAIMED, world.unit_c)
        action_id = db.session.get(Match, world.accepted_match).action_id
        action = db.session.get(Action, action_id)
        assert (action.meeting_id, action.lead_unit_id) == (world.scheduled, world.unit_a)
