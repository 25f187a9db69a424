"""Calendar outputs in a calendar client's eyes: invites, removal CANCELs and private feeds.

Every file produced goes through our own RFC 5545/5546 checker (tests/rfc5545.py) and
is read back by two independent parsers, icalendar and vobject.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import create_engine, event, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import exports.ics
from common.dates import to_local
from models import (
    AgendaItem,
    Community,
    Invitation,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Reply,
    Room,
    Street,
    Unit,
    User,
    db,
)
from services import calendar
from services import mail as mailer
from tests.conftest import count
from tests.rfc5545 import check_calendar, check_mime_method

BASE_URL = "https://gongjian.dongdajie.example.gov.cn"
SECRETARY_EMAIL = "shuji@qingnianlu.example.cn"
ROOM_ADDRESS = "青年路18号社区党群服务中心三楼"
LIAISON_EMAILS = {
    "unit_a": "xiaoxue@example.cn",
    "unit_b": "yiyuan@example.cn",
    "unit_c": "paichusuo@example.cn",
}


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture
def cal_world(app, world):
    """The standard world plus what invites show: addresses for the secretary, room and units."""
    app.config["BASE_URL"] = BASE_URL
    with app.app_context():
        db.session.get(User, world.secretary1).email = SECRETARY_EMAIL
        db.session.scalar(select(Room).where(Room.community_id == world.community1)).address = ROOM_ADDRESS
        for attr, email in LIAISON_EMAILS.items():
            db.session.get(Unit, getattr(world, attr)).liaison_email = email
        db.session.commit()
    return world


def parse_both(data: bytes):
    """Read a calendar with icalendar and with vobject; return their VEVENT lists."""
    ical = Calendar.from_ical(data)
    vcal = vobject.readOne(data.decode("utf-8"))
    ical_events = list(ical.walk("VEVENT"))
    vobj_events = list(getattr(vcal, "vevent_list", []))
    assert len(ical_events) == len(vobj_events)
    return ical, ical_events, vcal, vobj_events


def ical_attendees(event) -> list:
    found = event.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def conformant(data: bytes, method: str | None) -> bytes:
    problems = check_calendar(data, method)
    assert problems == [], "\n".join(problems)
    return data


def get_invite(client, meeting_id: int, method: str = "REQUEST"):
    resp = client.get(f"/meetings/{meeting_id}/invite.ics")
    assert resp.status_code == 200, resp.status_code
    assert check_mime_method(resp.headers["Content-Type"], resp.data) == []
    assert f"method={method}" in resp.headers["Content-Type"]
    conformant(resp.data, method)
    _, ical_events, _, vobj_events = parse_both(resp.data)
    assert len(ical_events) == 1
    return resp.data, ical_events[0], vobj_events[0]


def seq_uid(data: bytes) -> tuple[int, str]:
    (ev,) = Calendar.from_ical(data).walk("VEVENT")
    return int(ev["SEQUENCE"]), str(ev["UID"])


def edit_data(app, meeting_id: int, **changes) -> dict:
    """The meeting's edit form as the secretary would post it, with `changes` applied.

    `units` is a list of unit ids; `day`, `start_time`, `end_time` are form strings.
    """
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        start = to_local(m.start_at)
        end = to_local(m.end_at)
        data = {
            "kind": m.kind.value,
            "title": m.title,
            "community_id": str(m.community_id or 0),
            "room_id": str(m.room_id),
            "day": start.strftime("%Y-%m-%d"),
            "start_time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"),
            "topic_deadline": to_local(m.topic_deadline).strftime("%Y-%m-%dT%H:%M"),
            "description": m.description,
            "units": [inv.unit_id for inv in m.invitations],
            "invite_community": "0",
            "invite_category": "",
            "version": str(m.version),
            "original": "{}",
            "save": "保存",
        }
        items = list(m.agenda_items)
    for n, item in enumerate(items):
        data[f"agenda-{n}-title"] = item.title
        data[f"agenda-{n}-presenter_unit_id"] = str(item.presenter_unit_id or 0)
        data[f"agenda-{n}-minutes"] = str(item.minutes)
    for n in range(len(items), max(len(items), 3)):
        data[f"agenda-{n}-title"] = ""
        data[f"agenda-{n}-presenter_unit_id"] = "0"
        data[f"agenda-{n}-minutes"] = "10"
    data.update(changes)
    data["units"] = [str(u) for u in data["units"]]
    return data


def post_edit(client, app, meeting_id: int, **changes):
    resp = client.post(f"/meetings/{meeting_id}/edit", data=edit_data(app, meeting_id, **changes))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return resp


def add_agenda(app, meeting_id: int, *titles: str, presenter: int | None = None) -> None:
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        for n, title in enumerate(titles, start=1):
            m.agenda_items.append(
                AgendaItem(position=n, title=title, minutes=20, presenter_unit_id=presenter)
            )
        db.session.commit()


def feed_path(client, kind: str, target: int) -> str:
    """Create (or reset) a feed link as the logged-in user and read it from /account."""
    resp = client.post(f"/account/feeds/{kind}/{target}")
    assert resp.status_code == 302, resp.status_code
    page = client.get("/account").get_data(as_text=True)
    assert re.search(r"<title>我的账号 · 共建联席会议</title>", page), page[:500]
    links = re.findall(rf'id="feed-{kind}-{target}" value="([^"]+)"', page)
    assert len(links) == 1, page[:2000]
    url = links[0]
    assert url.startswith(f"{BASE_URL}/calendar/") and url.endswith(".ics")
    return url.removeprefix(BASE_URL)


def get_feed(app, path: str, **headers):
    """Fetch a feed as a calendar client does: no session cookie."""
    return app.test_client().get(path, headers=headers)


def feed_events(data: bytes) -> dict[str, object]:
    """A conformant, parseable feed's events by SUMMARY (icalendar's view)."""
    conformant(data, None)
    _, ical_events, _, vobj_events = parse_both(data)
    assert sorted(str(e["UID"]) for e in ical_events) == sorted(e.uid.value for e in vobj_events)
    return {str(e["SUMMARY"]): e for e in ical_events}


# --- the checker can fail --------------------------------------------------------------

GOOD = (
    "BEGIN:VCALENDAR\r\n"
    "PRODID:-//test//EN\r\n"
    "VERSION:2.0\r\n"
    "METHOD:{method}\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Asia/Shanghai\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:20200101T000000\r\n"
    "TZOFFSETFROM:+0800\r\n"
    "TZOFFSETTO:+0800\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:1@test\r\n"
    "DTSTAMP:20261101T000000Z\r\n"
    "DTSTART;TZID=Asia/Shanghai:20261130T140000\r\n"
    "SEQUENCE:0\r\n"
    "SUMMARY:会议\r\n"
    "ORGANIZER;CN=青年路社区:mailto:a@example.cn\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:b@example.cn\r\n"
    "{extra}"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def good(method="REQUEST", extra="") -> str:
    return GOOD.format(method=method, extra=extra)


def test_checker_accepts_a_good_file():
    assert check_calendar(good().encode(), "REQUEST") == []
    assert check_calendar(good("CANCEL", "STATUS:CANCELLED\r\n").encode(), "CANCEL") == []
    # A line of exactly 75 octets (21 three-octet CJK characters) is allowed.
    line = "DESCRIPTION:" + "议" * 21  # 12 + 63 = 75 octets
    assert check_calendar(good(extra=line + "\r\n").encode(), "REQUEST") == []


def test_checker_catches_a_76_octet_line():
    line = "DESCRIPTION:" + "议" * 21 + "x"  # 76 octets
    problems = check_calendar(good(extra=line + "\r\n").encode(), "REQUEST")
    assert any("76 octets" in p for p in problems), problems
    # The same text folded is fine.
    folded = "DESCRIPTION:" + "议" * 21 + "\r\n x"
    assert check_calendar(good(extra=folded + "\r\n").encode(), "REQUEST") == []


def test_checker_catches_lf_line_endings():
    problems = check_calendar(good().replace("\r\n", "\n").encode(), "REQUEST")
    assert problems and any("CRLF" in p for p in problems), problems


def test_checker_catches_a_missing_vtimezone():
    text = good()
    start, end = text.index("BEGIN:VTIMEZONE"), text.index("BEGIN:VEVENT")
    problems = check_calendar((text[:start] + text[end:]).encode(), "REQUEST")
    assert any("TZID=Asia/Shanghai has no VTIMEZONE" in p for p in problems), problems


def test_checker_catches_a_cancel_without_status_cancelled():
    problems = check_calendar(good("CANCEL").encode(), "CANCEL")
    assert any("STATUS:CANCELLED" in p for p in problems), problems
    problems = check_calendar(good("CANCEL", "STATUS:CONFIRMED\r\n").encode(), "CANCEL")
    assert any("STATUS:CANCELLED" in p for p in problems), problems


def test_checker_catches_a_cancel_with_an_alarm():
    alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:提醒\r\nTRIGGER:-PT1H\r\nEND:VALARM\r\n"
    problems = check_calendar(good("CANCEL", "STATUS:CANCELLED\r\n" + alarm).encode(), "CANCEL")
    assert any("VALARM" in p for p in problems), problems
    assert check_calendar(good(extra=alarm).encode(), "REQUEST") == []


def test_checker_catches_other_breakage():
    def problems(text: str, method="REQUEST"):
        return check_calendar(text.encode(), method)

    assert any("ATTENDEE" in p for p in problems(re.sub(r"ATTENDEE[^\r]*\r\n", "", good())))
    assert any("ORGANIZER" in p for p in problems(re.sub(r"ORGANIZER[^\r]*\r\n", "", good())))
    assert any("DTSTAMP" in p for p in problems(good().replace("20261101T000000Z", "20261101T000000")))
    assert any("SEQUENCE" in p for p in problems(good().replace("SEQUENCE:0\r\n", "")))
    assert any("UID" in p for p in problems(good().replace("UID:1@test\r\n", "")))
    assert any("METHOD" in p for p in problems(good(), "CANCEL"))
    assert any("METHOD" in p for p in problems(good(), None))
    assert any("PRODID" in p for p in problems(good().replace("PRODID:-//test//EN\r\n", "")))
    assert any("VERSION" in p for p in problems(good().replace("VERSION:2.0", "VERSION:1.0")))
    assert any("never closed" in p for p in problems(good().replace("END:VEVENT\r\n", "")))
    assert any("closes" in p for p in problems(good().replace("END:STANDARD", "END:DAYLIGHT")))
    assert check_mime_method("text/calendar; charset=utf-8; method=REQUEST", good().encode()) == []
    assert check_mime_method("text/calendar; method=CANCEL", good().encode())
    assert check_mime_method("text/calendar", good().encode())
    assert check_mime_method("text/plain; method=REQUEST", good().encode())


# --- invites ---------------------------------------------------------------------------


def test_invite_is_a_conformant_request(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED, description="请各单位带好年度共建计划。")
    add_agenda(app, mid, "通报第三季度共建项目进展", "研究冬季助老志愿服务安排", presenter=w.unit_a)
    with app.app_context():
        uid = db.session.get(Meeting, mid).uid
    login_as("secretary1")
    data, ev, vev = get_invite(client, mid)
    text = data.decode()

    assert "\r\nPRODID:-//Gongjian//" in text
    # VTIMEZONE: Asia/Shanghai in the short form (from 2020), no historical rules.
    (tz,) = Calendar.from_ical(data).walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Asia/Shanghai"
    observances = tz.subcomponents
    assert observances and all(o.decoded("DTSTART").year >= 2020 for o in observances)
    assert all(o.decoded("DTSTART").year == 2020 for o in observances)
    assert all(o.decoded("TZOFFSETTO") == timedelta(hours=8) for o in observances)
    assert "DTSTART:19" not in text and "RDATE" not in text

    # icalendar's reading.
    assert str(ev["UID"]) == uid
    assert int(ev["SEQUENCE"]) == 0
    start = ev.decoded("DTSTART")
    assert start.tzinfo is not None and (start.hour, start.minute) == (14, 0)
    assert start.astimezone(UTC).hour == 6 and start.utcoffset() == timedelta(hours=8)
    assert ev.decoded("DTEND") - start == timedelta(hours=2)
    assert re.search(r"\r\nDTSTAMP:\d{8}T\d{6}Z\r\n", text)
    assert ev.decoded("DTSTAMP").utcoffset() == timedelta(0)

    org = ev["ORGANIZER"]
    assert str(org) == f"mailto:{SECRETARY_EMAIL}"
    assert org.params["CN"] == "青年路社区"

    attendees = {str(a): a.params for a in ical_attendees(ev)}
    assert set(attendees) == {f"mailto:{LIAISON_EMAILS['unit_a']}", f"mailto:{LIAISON_EMAILS['unit_b']}"}
    a = attendees[f"mailto:{LIAISON_EMAILS['unit_a']}"]
    assert "东大街第一小学" in a["CN"] and "联络人东大" in a["CN"]
    assert "市第三人民医院" in attendees[f"mailto:{LIAISON_EMAILS['unit_b']}"]["CN"]
    for params in attendees.values():
        assert params["ROLE"] == "REQ-PARTICIPANT"
        assert params["RSVP"] == "TRUE"
        assert params["PARTSTAT"] == "NEEDS-ACTION"

    url = f"{BASE_URL}/meetings/{mid}"
    assert str(ev["URL"]) == url
    location = str(ev["LOCATION"])
    assert "青年路社区共驻共建会议室" in location and ROOM_ADDRESS in location
    description = str(ev["DESCRIPTION"])
    assert "通报第三季度共建项目进展" in description and "研究冬季助老志愿服务安排" in description
    assert url in description
    assert "请各单位带好年度共建计划。" in description
    assert str(ev["STATUS"]) == "CONFIRMED"

    alarms = ev.walk("VALARM")
    assert sorted(str(al["TRIGGER"].to_ical().decode()) for al in alarms) == ["-P1D", "-PT1H"]
    assert all(str(al["ACTION"]) == "DISPLAY" and al.get("DESCRIPTION") for al in alarms)

    # vobject's reading, independently.
    assert vev.uid.value == uid
    assert int(vev.sequence.value) == 0
    assert vev.dtstart.value.astimezone(UTC) == start.astimezone(UTC)
    assert vev.dtstart.value.astimezone(UTC).strftime("%H:%M") == "06:00"
    assert vev.dtstamp.value.utcoffset() == timedelta(0)
    assert vev.organizer.value == f"mailto:{SECRETARY_EMAIL}"
    vatt = {a.value: a.params for a in vev.attendee_list}
    assert set(vatt) == set(attendees)
    assert all(p["PARTSTAT"] == ["NEEDS-ACTION"] and p["RSVP"] == ["TRUE"] for p in vatt.values())
    assert any("东大街第一小学" in p["CN"][0] for p in vatt.values())
    assert ROOM_ADDRESS in vev.location.value
    assert url in vev.description.value
    assert len(vev.valarm_list) == 2


def test_partstat_follows_each_units_reply(app, client, cal_world, login_as, make_meeting, make_unit):
    w = cal_world
    third = make_unit(name="青年路储蓄所", liaison_name="王敏", liaison_email="wangmin@example.cn")
    mid = make_meeting(status=MeetingStatus.SCHEDULED, units=[w.unit_a, w.unit_b, third])
    login_as("secretary1")
    before, _, _ = get_invite(client, mid)

    login_as("liaison_a")
    client.post(f"/meetings/{mid}/reply", data={"reply": "accept"})
    login_as("liaison_b")
    client.post(f"/meetings/{mid}/reply", data={"reply": "decline", "reason": "同日有上级检查"})

    login_as("secretary1")
    after, ev, vev = get_invite(client, mid)
    partstat = {str(a): a.params["PARTSTAT"] for a in ical_attendees(ev)}
    assert partstat == {
        f"mailto:{LIAISON_EMAILS['unit_a']}": "ACCEPTED",
        f"mailto:{LIAISON_EMAILS['unit_b']}": "DECLINED",
        "mailto:wangmin@example.cn": "NEEDS-ACTION",
    }
    assert {a.value: a.params["PARTSTAT"][0] for a in vev.attendee_list} == partstat
    assert any("王敏" in a.params["CN"] and "青年路储蓄所" in a.params["CN"] for a in ical_attendees(ev))
    # A reply is not a change by the organizer: same UID, same SEQUENCE.
    assert seq_uid(after) == seq_uid(before)


def test_sequence_rises_on_time_room_title_and_status_only(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    with app.app_context():
        room1 = db.session.scalar(select(Room).where(Room.community_id == w.community1))
        room2 = Room(
            community_id=w.community1,
            name="青年路社区党群服务中心二楼活动室",
            capacity=40,
            address="青年路20号",
        )
        db.session.add(room2)
        db.session.commit()
        room1_id, room2_id = room1.id, room2.id
    mid = make_meeting(days=10)
    add_agenda(app, mid, "通报共建项目")
    login_as("secretary1")
    data, _, _ = get_invite(client, mid)
    seq, uid = seq_uid(data)
    assert seq == 0

    def step(expect_rise: bool, method: str = "REQUEST") -> bytes:
        nonlocal seq
        data, ev, vev = get_invite(client, mid, method)
        new_seq, new_uid = seq_uid(data)
        assert new_uid == uid and vev.uid.value == uid
        assert int(vev.sequence.value) == new_seq
        assert new_seq > seq if expect_rise else new_seq == seq, (seq, new_seq)
        seq = new_seq
        return data

    assert client.post(f"/meetings/{mid}/publish").status_code == 302
    step(True)
    post_edit(client, app, mid, description="会议说明有补充：请带好材料。")
    assert "会议说明有补充" in step(False).decode()
    post_edit(client, app, mid, **{"agenda-0-title": "通报共建项目（修订）"})
    assert "通报共建项目（修订）" in step(False).decode()
    post_edit(client, app, mid, **{"agenda-0-presenter_unit_id": str(w.unit_b)})
    description = str(Calendar.from_ical(step(False)).walk("VEVENT")[0]["DESCRIPTION"])
    assert "通报共建项目（修订）（市第三人民医院）" in description, description
    login_as("liaison_a")
    client.post(f"/meetings/{mid}/reply", data={"reply": "accept"})
    login_as("secretary1")
    assert "PARTSTAT=ACCEPTED" in step(False).decode().replace("\r\n ", "")
    post_edit(client, app, mid, title="第四季度共驻共建联席会议（扩大）")
    step(True)
    post_edit(client, app, mid, start_time="15:00", end_time="17:00")
    data = step(True)
    (ev,) = Calendar.from_ical(data).walk("VEVENT")
    assert ev.decoded("DTSTART").astimezone(UTC).hour == 7
    post_edit(client, app, mid, room_id=str(room2_id))
    location = str(Calendar.from_ical(step(True)).walk("VEVENT")[0]["LOCATION"])
    assert location == "青年路社区党群服务中心二楼活动室（青年路20号）", location
    assert room1_id != room2_id

    resp = client.post(f"/meetings/{mid}/cancel", data={"reason": "与区里的会议冲突"})
    assert resp.status_code == 302
    data = step(True, "CANCEL")
    (ev,) = Calendar.from_ical(data).walk("VEVENT")
    assert str(ev["STATUS"]) == "CANCELLED"
    vev = vobject.readOne(data.decode()).vevent
    assert vev.status.value == "CANCELLED"
    assert "与区里的会议冲突" in str(ev["DESCRIPTION"])
    with app.app_context():
        assert db.session.get(Meeting, mid).sequence == seq


def test_cancel_queues_conformant_cancel_mail(app, client, cal_world, login_as, make_meeting):
    mid = make_meeting()
    login_as("secretary1")
    client.post(f"/meetings/{mid}/publish")
    client.post(f"/meetings/{mid}/cancel", data={"reason": "天气原因"})
    with app.app_context():
        msgs = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        by_method = {}
        for msg in msgs:
            by_method.setdefault(msg.ics_method, []).append(msg)
            conformant(msg.ics_body.encode(), msg.ics_method)
            email = mailer.build_message(msg, "gongjian@localhost")
            (part,) = [p for p in email.walk() if p.get_content_type() == "text/calendar"]
            assert check_mime_method(part["Content-Type"], part.get_payload(decode=True)) == []
        assert {m.to_addr for m in by_method["CANCEL"]} == {
            LIAISON_EMAILS["unit_a"],
            LIAISON_EMAILS["unit_b"],
        }
        request_seq = max(seq_uid(m.ics_body.encode())[0] for m in by_method["REQUEST"])
        assert all(seq_uid(m.ics_body.encode())[0] > request_seq for m in by_method["CANCEL"])


# --- removal from the invitation -------------------------------------------------------


def _outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        msgs = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return msgs


def _check_removal_cancel(app, msg: OutboxMessage, uid: str, seq_now: int) -> None:
    assert msg.ics_method == "CANCEL"
    assert msg.to_addr == LIAISON_EMAILS["unit_b"]
    data = conformant(msg.ics_body.encode(), "CANCEL")
    _, (ev,), _, (vev,) = parse_both(data)
    assert str(ev["UID"]) == uid and vev.uid.value == uid
    assert str(ev["STATUS"]) == "CANCELLED"
    assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_b']}"]
    assert [a.value for a in vev.attendee_list] == [f"mailto:{LIAISON_EMAILS['unit_b']}"]
    assert int(ev["SEQUENCE"]) >= seq_now
    email = mailer.build_message(msg, "gongjian@localhost")
    (part,) = [p for p in email.walk() if p.get_content_type() == "text/calendar"]
    assert check_mime_method(part["Content-Type"], part.get_payload(decode=True)) == []


def test_removed_unit_gets_a_cancel_of_its_own(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    with app.app_context():
        m = db.session.get(Meeting, mid)
        uid, seq_before = m.uid, m.sequence
    login_as("secretary1")
    post_edit(client, app, mid, units=[w.unit_a])

    msgs = _outbox(app)
    assert len(msgs) == 1, [(m.ics_method, m.to_addr) for m in msgs]
    _check_removal_cancel(app, msgs[0], uid, seq_before)
    with app.app_context():
        assert count(OutboxMessage, OutboxMessage.to_addr == LIAISON_EMAILS["unit_a"]) == 0
    # The meeting's own invite no longer lists the removed unit; nothing significant changed.
    data, ev, _ = get_invite(client, mid)
    assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_a']}"]
    assert seq_uid(data) == (seq_before, uid)


def test_removed_unit_gets_only_a_cancel_when_the_meeting_also_moves(
    app, client, cal_world, login_as, make_meeting
):
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    with app.app_context():
        m = db.session.get(Meeting, mid)
        uid, seq_before = m.uid, m.sequence
    login_as("secretary1")
    post_edit(client, app, mid, units=[w.unit_a], start_time="09:00", end_time="11:00")

    msgs = _outbox(app)
    to_b = [m for m in msgs if m.to_addr == LIAISON_EMAILS["unit_b"]]
    assert len(to_b) == 1, [(m.ics_method, m.to_addr) for m in msgs]
    _check_removal_cancel(app, to_b[0], uid, seq_before)
    (update,) = [m for m in msgs if m.to_addr == LIAISON_EMAILS["unit_a"]]
    assert update.ics_method == "REQUEST"
    data = conformant(update.ics_body.encode(), "REQUEST")
    _, (ev,), _, (vev,) = parse_both(data)
    assert int(ev["SEQUENCE"]) > seq_before
    assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_a']}"]
    assert vev.dtstart.value.astimezone(UTC).hour == 1  # 09:00 Beijing


# --- feeds -----------------------------------------------------------------------------


def _room2(app, community_id: int) -> int:
    with app.app_context():
        room = Room(
            community_id=community_id, name="和平里社区共驻共建会议室", capacity=20, address="和平里5号"
        )
        db.session.add(room)
        db.session.commit()
        return room.id


def test_secretary_feed_has_published_community_meetings(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    make_meeting(days=2, title="已发布的会议", status=MeetingStatus.SCHEDULED)
    make_meeting(days=3, title="草稿会议")
    make_meeting(days=4, title="已取消的会议", status=MeetingStatus.CANCELLED, cancel_reason="场地维修")
    other_room = _room2(app, w.community2)
    make_meeting(
        days=5,
        title="和平里的会议",
        status=MeetingStatus.SCHEDULED,
        community_id=w.community2,
        room_id=other_room,
        units=[w.unit_c],
    )
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)
    resp = get_feed(app, path)
    assert resp.status_code == 200
    assert resp.mimetype == "text/calendar"
    assert check_mime_method(resp.headers["Content-Type"], resp.data) == []
    events = feed_events(resp.data)
    # A cancelled meeting says so in its summary too, for calendars that ignore STATUS.
    assert set(events) == {"已发布的会议", "【已取消】已取消的会议"}
    assert str(events["【已取消】已取消的会议"]["STATUS"]) == "CANCELLED"
    assert str(events["已发布的会议"]["STATUS"]) == "CONFIRMED"
    vcal = vobject.readOne(resp.data.decode())
    assert {e.summary.value: e.status.value for e in vcal.vevent_list} == {
        "已发布的会议": "CONFIRMED",
        "【已取消】已取消的会议": "CANCELLED",
    }

    # The community's own feed shows the same meetings.
    community = get_feed(app, feed_path(client, "community", w.community1))
    assert set(feed_events(community.data)) == {"已发布的会议", "【已取消】已取消的会议"}
    # The other community's secretary sees only theirs.
    login_as("secretary2")
    assert set(feed_events(get_feed(app, feed_path(client, "user", w.secretary2)).data)) == {"和平里的会议"}


def test_liaison_feed_has_only_meetings_of_their_unit(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    make_meeting(days=2, title="邀请派出所的会议", status=MeetingStatus.SCHEDULED, units=[w.unit_c])
    make_meeting(days=3, title="邀请小学的会议", status=MeetingStatus.SCHEDULED, units=[w.unit_a])
    make_meeting(days=4, title="邀请派出所的草稿", units=[w.unit_c])
    login_as("liaison_c")
    events = feed_events(get_feed(app, feed_path(client, "user", w.liaison_c)).data)
    assert set(events) == {"邀请派出所的会议"}
    attendees = [str(a) for a in ical_attendees(events["邀请派出所的会议"])]
    assert attendees == [f"mailto:{LIAISON_EMAILS['unit_c']}"]
    unit_feed = feed_events(get_feed(app, feed_path(client, "unit", w.unit_c)).data)
    assert set(unit_feed) == {"邀请派出所的会议"}
    # A liaison cannot hold another unit's feed.
    assert client.post(f"/account/feeds/unit/{w.unit_a}").status_code == 403


def test_feed_reset_and_deactivation(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    make_meeting(status=MeetingStatus.SCHEDULED)
    login_as("liaison_a")
    old = feed_path(client, "user", w.liaison_a)
    assert get_feed(app, old).status_code == 200
    new = feed_path(client, "user", w.liaison_a)  # POST again: reset
    assert new != old
    assert get_feed(app, old).status_code == 404
    assert get_feed(app, new).status_code == 200
    assert get_feed(app, "/calendar/not-a-token.ics").status_code == 404
    with app.app_context():
        db.session.get(User, w.liaison_a).active = False
        db.session.commit()
    assert get_feed(app, new).status_code == 404


def _backdate(app) -> None:
    """Move every meeting's change time an hour back (as if the feed were fetched later)."""
    with app.app_context():
        past = datetime.now(UTC) - timedelta(hours=1)
        db.session.execute(Meeting.__table__.update().values(ics_changed_at=past))
        db.session.commit()


def test_feed_conditional_get_and_invalidation(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED, title="原来的会议名称")
    make_meeting(days=2, status=MeetingStatus.SCHEDULED, title="另一个会议", units=[w.unit_c])
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)
    _backdate(app)

    first = get_feed(app, path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    last_modified = first.headers["Last-Modified"]
    assert etag and last_modified
    not_modified = get_feed(app, path, **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    assert get_feed(app, path, **{"If-None-Match": '"something-else"'}).status_code == 200
    assert get_feed(app, path, **{"If-Modified-Since": last_modified}).status_code == 304
    long_ago = format_datetime(datetime.now(UTC) - timedelta(days=2), usegmt=True)
    assert get_feed(app, path, **{"If-Modified-Since": long_ago}).status_code == 200

    def changed(check) -> None:
        nonlocal etag, last_modified
        resp = get_feed(app, path, **{"If-None-Match": etag})
        assert resp.status_code == 200
        assert resp.headers["ETag"] != etag
        check(resp.data.decode().replace("\r\n ", ""))
        feed_events(resp.data)
        ims = get_feed(app, path, **{"If-Modified-Since": last_modified})
        assert ims.status_code == 200, "If-Modified-Since must see the change"
        assert get_feed(app, path, **{"If-None-Match": resp.headers["ETag"]}).status_code == 304
        # Last-Modified has a resolution of one second: let the clock move on before the next change.
        _backdate(app)
        again = get_feed(app, path)
        etag, last_modified = again.headers["ETag"], again.headers["Last-Modified"]
        assert get_feed(app, path, **{"If-Modified-Since": last_modified}).status_code == 304

    with app.app_context():
        db.session.get(Meeting, mid).title = "改过的会议名称"
        db.session.commit()
    changed(lambda text: ("改过的会议名称" in text and "原来的会议名称" not in text) or pytest.fail(text))

    with app.app_context():
        db.session.get(Unit, w.unit_c).liaison_email = "new-police@example.cn"
        db.session.commit()
    changed(lambda text: "mailto:new-police@example.cn" in text or pytest.fail(text))

    with app.app_context():
        db.session.scalar(select(Room).where(Room.community_id == w.community1)).address = "青年路99号新址"
        db.session.commit()
    changed(lambda text: "青年路99号新址" in text or pytest.fail(text))

    with app.app_context():
        db.session.get(Unit, w.unit_a).name = "东大街第一小学（本部）"
        db.session.commit()
    changed(lambda text: "东大街第一小学（本部）" in text or pytest.fail(text))

    # A presenting unit that is not invited still shows in the agenda.
    add_agenda(app, mid, "介绍辖区治安形势", presenter=w.unit_c)
    _backdate(app)
    etag = get_feed(app, path).headers["ETag"]
    with app.app_context():
        db.session.get(Unit, w.unit_c).name = "和平里派出所（新）"
        db.session.commit()
    changed(lambda text: "介绍辖区治安形势（和平里派出所（新））" in text or pytest.fail(text))

    with app.app_context():
        db.session.get(Community, w.community1).name = "青年路新社区"
        db.session.commit()
    changed(lambda text: "ORGANIZER;CN=青年路新社区" in text or pytest.fail(text))

    # The organizer's address is the secretary's: a new address reaches the feed.
    with app.app_context():
        db.session.get(User, w.secretary1).email = "new-shuji@qingnianlu.example.cn"
        db.session.commit()
    changed(lambda text: ":mailto:new-shuji@qingnianlu.example.cn" in text or pytest.fail(text))

    # A street-level meeting is hosted by the street: renaming the street reaches it.
    make_meeting(days=3, title="片区联席会", community_id=None, status=MeetingStatus.SCHEDULED)
    _backdate(app)
    etag = get_feed(app, path).headers["ETag"]
    with app.app_context():
        db.session.get(Street, w.street).name = "东大街街道办事处"
        db.session.commit()
    changed(lambda text: "ORGANIZER;CN=东大街街道办事处" in text or pytest.fail(text))

    # Cancelling keeps the meeting in the feed, now CANCELLED.
    client.post(f"/meetings/{mid}/cancel", data={"reason": "改期另行通知"})
    changed(lambda text: text.count("STATUS:CANCELLED") == 1 or pytest.fail(text))


def test_feed_builds_each_vevent_once(app, client, cal_world, login_as, make_meeting, monkeypatch):
    w = cal_world
    ids = [make_meeting(days=d, title=f"第{d}次会议", status=MeetingStatus.SCHEDULED) for d in (1, 2, 3)]
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)

    calls = []
    real = exports.ics.vevent_text

    def counting(meeting, *args, **kwargs):
        calls.append(meeting.id)
        return real(meeting, *args, **kwargs)

    monkeypatch.setattr(exports.ics, "vevent_text", counting)
    first = get_feed(app, path)
    assert sorted(calls) == sorted(ids)
    calls.clear()
    second = get_feed(app, path)
    assert calls == []
    assert second.data == first.data
    # The invite reuses the same cached VEVENT.
    get_invite(client, ids[0])
    assert calls == []

    with app.app_context():
        db.session.get(Meeting, ids[1]).title = "第2次会议（改）"
        db.session.commit()
    third = get_feed(app, path)
    assert calls == [ids[1]]
    assert "第2次会议（改）" in third.data.decode().replace("\r\n ", "")
    assert set(feed_events(third.data)) == {"第1次会议", "第2次会议（改）", "第3次会议"}
    calls.clear()
    get_feed(app, path)
    assert calls == []


# --- several servers on one PostgreSQL ---------------------------------------------------
#
# SQLite lets one writing transaction in at a time, and a writing request takes the lock
# before it reads. PostgreSQL runs them side by side, as two app servers sharing it do.


def test_changes_to_one_meeting_committed_on_two_servers_each_raise_its_calendar_revision(
    app, cal_world, make_meeting, postgres
):
    if postgres is None:
        pytest.skip("SQLite runs one writing transaction at a time")
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED, title="两台服务器同时修改的会议")
    with app.app_context():
        rev = db.session.get(Meeting, mid).ics_rev
        db.session.rollback()
        # Both servers load the meeting before either commits: A renames it, B records unit
        # B's reply (a reply does not lock the meeting's row).
        a, b = Session(db.engine), Session(db.engine)
        try:
            on_a, on_b = a.get(Meeting, mid), b.get(Meeting, mid)
            invitation = b.scalar(
                select(Invitation).where(Invitation.meeting_id == mid, Invitation.unit_id == w.unit_b)
            )
            on_a.title = "改过名称的会议"
            a.commit()
            invitation.reply = Reply.ACCEPT
            on_b.invalidate_calendar()
            b.commit()
        finally:
            a.close()
            b.close()
        after = db.session.get(Meeting, mid)
        # Each change counts: a revision computed from the value B had loaded would equal
        # the one A stored, and a VEVENT cached in between would pass for current.
        assert after.ics_rev == rev + 2
        assert after.title == "改过名称的会议"


def test_a_feed_rebuilt_while_another_server_commits_never_keeps_a_stale_event(
    app, client, cal_world, login_as, make_meeting, postgres
):
    """Another server's reply commits between any two statements of a feed's rebuild: the
    VEVENT the feed stores is either what the meeting now is, or marked stale."""
    if postgres is None:
        pytest.skip("SQLite runs one writing transaction at a time")
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED, title="回复与订阅同时发生的会议")
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)
    other_server = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    statements: list[int] = []  # those of the feed's request
    inject_at, polling = 0, False

    def reply_on_the_other_server(*_args) -> None:
        if not polling:
            return
        statements.append(1)
        if len(statements) != inject_at:
            return
        with Session(other_server) as other:
            other.execute(sql_text("SET LOCAL lock_timeout = '500ms'"))
            invitation = other.scalar(
                select(Invitation).where(Invitation.meeting_id == mid, Invitation.unit_id == w.unit_b)
            )
            invitation.reply = Reply.DECLINE if invitation.reply == Reply.ACCEPT else Reply.ACCEPT
            try:
                other.commit()
            except OperationalError:  # the feed holds the row: the reply waits for its commit
                other.rollback()

    def stored_event_is_honest() -> None:
        with app.app_context():
            m = db.session.get(Meeting, mid)
            if m.ics_cache_rev == m.ics_rev and m.ics_cache_key == calendar.calendar_cache_key():
                fresh = exports.ics.vevent_text(m, calendar.meeting_url(m), calendar.organizer_email(m))
                assert m.ics_cache == fresh, f"a stale VEVENT is marked current (after statement {inject_at})"

    try:
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", reply_on_the_other_server)
        for inject_at in range(1, 40):
            with app.app_context():  # the cached VEVENT is stale: the next poll rebuilds it
                db.session.get(Meeting, mid).invalidate_calendar()
                db.session.commit()
            statements.clear()
            polling = True
            assert get_feed(app, path).status_code == 200
            polling = False
            stored_event_is_honest()
            if len(statements) < inject_at:
                break
        assert inject_at > 5  # the rebuild was interleaved at each of its statements
    finally:
        event.remove(engine, "before_cursor_execute", reply_on_the_other_server)
        other_server.dispose()


def test_a_feed_neither_waits_for_nor_caches_over_a_change_in_progress_on_another_server(
    app, client, cal_world, login_as, make_meeting, postgres
):
    if postgres is None:
        pytest.skip("SQLite runs one writing transaction at a time")
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED, title="原来的会议名称")
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)
    with app.app_context():
        other = Session(db.engine)
    try:
        # Another server is renaming the meeting: its row is locked and the change not committed.
        meeting = other.get(Meeting, mid, with_for_update=True)
        meeting.title = "另一台服务器上的新名称"
        other.flush()
        answers = []
        poll = threading.Thread(target=lambda: answers.append(get_feed(app, path)), daemon=True)
        poll.start()
        poll.join(timeout=5)
        assert not poll.is_alive(), "the feed waited for another server's transaction"
        (resp,) = answers
        assert resp.status_code == 200
        assert "原来的会议名称" in resp.data.decode().replace("\r\n ", "")
        other.commit()
    finally:
        other.rollback()
        other.close()
    # The rename is committed: the next poll shows it.
    assert "另一台服务器上的新名称" in get_feed(app, path).data.decode().replace("\r\n ", "")


# --- access ----------------------------------------------------------------------------


def test_invite_access(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    published = make_meeting(status=MeetingStatus.SCHEDULED, units=[w.unit_a])
    draft = make_meeting(days=2, units=[w.unit_a])
    assert client.get(f"/meetings/{published}/invite.ics").status_code == 302  # to the login page
    login_as("liaison_c")
    assert client.get(f"/meetings/{published}/invite.ics").status_code == 403
    login_as("liaison_a")
    assert client.get(f"/meetings/{draft}/invite.ics").status_code == 403
    data, ev, _ = get_invite(client, published)
    assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_a']}"]
    assert client.get("/meetings/99999/invite.ics").status_code == 404


# --- cancelled meetings (RFC 5546 3.2.5) ---------------------------------------------------


def _alarms(ical_event, vobject_event) -> tuple[int, int]:
    return len(ical_event.walk("VALARM")), len(vobject_event.contents.get("valarm", []))


def test_cancelled_meeting_has_no_alarm_and_says_so_in_its_summary(
    app, client, cal_world, login_as, make_meeting
):
    w = cal_world
    mid = make_meeting(title="第四季度共驻共建联席会议")
    kept = make_meeting(days=2, title="照常召开的会议", status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    client.post(f"/meetings/{mid}/publish")
    assert client.post(f"/meetings/{mid}/cancel", data={"reason": "场地维修"}).status_code == 302

    # The invite download is a CANCEL without alarms (the checker refuses a VALARM in it).
    data, ev, vev = get_invite(client, mid, "CANCEL")
    assert str(ev["SUMMARY"]) == vev.summary.value == "【已取消】第四季度共驻共建联席会议"
    assert _alarms(ev, vev) == (0, 0)
    assert b"VALARM" not in data

    # So is the CANCEL mailed to each liaison.
    cancels = [m for m in _outbox(app) if m.ics_method == "CANCEL"]
    assert {m.to_addr for m in cancels} == {LIAISON_EMAILS["unit_a"], LIAISON_EMAILS["unit_b"]}
    for msg in cancels:
        _, (ev,), _, (vev,) = parse_both(conformant(msg.ics_body.encode(), "CANCEL"))
        assert str(ev["SUMMARY"]) == vev.summary.value == "【已取消】第四季度共驻共建联席会议"
        assert _alarms(ev, vev) == (0, 0)

    # Feeds keep the cancelled meeting, marked in its summary and without reminders;
    # the meeting that goes ahead keeps both reminders.
    for kind, target, who in (("user", w.secretary1, "secretary1"), ("unit", w.unit_a, "liaison_a")):
        login_as(who)
        feed = get_feed(app, feed_path(client, kind, target)).data
        _, events, _, vevents = parse_both(conformant(feed, None))
        by_summary = {str(e["SUMMARY"]): e for e in events}
        vby_summary = {e.summary.value: e for e in vevents}
        cancelled = "【已取消】第四季度共驻共建联席会议"
        assert str(by_summary[cancelled]["STATUS"]) == "CANCELLED"
        assert _alarms(by_summary[cancelled], vby_summary[cancelled]) == (0, 0)
        assert _alarms(by_summary["照常召开的会议"], vby_summary["照常召开的会议"]) == (2, 2)

    # A unit taken off the invitation gets a CANCEL that says so, without alarms either.
    login_as("secretary1")
    post_edit(client, app, kept, units=[w.unit_a])
    (removal,) = [m for m in _outbox(app) if m.meeting_id == kept]
    assert removal.to_addr == LIAISON_EMAILS["unit_b"]
    _, (ev,), _, (vev,) = parse_both(conformant(removal.ics_body.encode(), "CANCEL"))
    assert str(ev["SUMMARY"]) == vev.summary.value == "【已取消邀请】照常召开的会议"
    assert _alarms(ev, vev) == (0, 0)


# --- conditional GET as proxies send it ---------------------------------------------------


def test_feed_honours_weak_and_listed_etags(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)
    first = get_feed(app, path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    weak = "W/" + etag  # what a compressing proxy forwards

    for header in (weak, f'"something-else", {weak}', f'W/"older", {etag}', "*"):
        resp = get_feed(app, path, **{"If-None-Match": header})
        assert resp.status_code == 304, header
        assert resp.data == b"" and resp.headers["ETag"] == etag
    assert get_feed(app, path, **{"If-None-Match": 'W/"something-else", "older"'}).status_code == 200
    # If-None-Match decides, whatever If-Modified-Since says.
    long_ago = format_datetime(datetime.now(UTC) - timedelta(days=2), usegmt=True)
    assert get_feed(app, path, **{"If-None-Match": weak, "If-Modified-Since": long_ago}).status_code == 304

    with app.app_context():
        db.session.get(Meeting, mid).title = "改过的会议名称"
        db.session.commit()
    changed = get_feed(app, path, **{"If-None-Match": weak})
    assert changed.status_code == 200 and "改过的会议名称" in changed.data.decode().replace("\r\n ", "")
    assert get_feed(app, path, **{"If-None-Match": "W/" + changed.headers["ETag"]}).status_code == 304


# --- feeds stop with their maker ----------------------------------------------------------


def _set_user(app, user_id: int, **fields) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for key, value in fields.items():
            setattr(user, key, value)
        db.session.commit()


def test_unit_feed_stops_when_its_maker_leaves_the_unit_role_or_is_deactivated(
    app, client, cal_world, login_as, make_meeting
):
    from models import Role

    w = cal_world
    make_meeting(status=MeetingStatus.SCHEDULED, units=[w.unit_a, w.unit_b])
    login_as("liaison_a")
    moved = feed_path(client, "unit", w.unit_a)
    login_as("liaison_b")
    deactivated = feed_path(client, "unit", w.unit_b)
    for path in (moved, deactivated):
        assert get_feed(app, path).status_code == 200

    _set_user(app, w.liaison_a, unit_id=w.unit_c)  # the liaison now serves another unit
    assert get_feed(app, moved).status_code == 404
    assert get_feed(app, deactivated).status_code == 200  # someone else's link is unaffected
    _set_user(app, w.liaison_b, active=False)
    assert get_feed(app, deactivated).status_code == 404

    # A liaison made secretary no longer holds their old unit's feed.
    login_as("liaison_c")
    path = feed_path(client, "unit", w.unit_c)
    assert get_feed(app, path).status_code == 200
    _set_user(app, w.liaison_c, role=Role.SECRETARY, community_id=w.community1, unit_id=None)
    assert get_feed(app, path).status_code == 404


def test_community_feed_stops_when_its_maker_leaves_the_community_or_role(
    app, client, cal_world, login_as, make_meeting
):
    from models import Role

    w = cal_world
    make_meeting(status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    secretary_feed = feed_path(client, "community", w.community1)
    login_as("admin")
    admin_feed = feed_path(client, "community", w.community1)
    assert admin_feed != secretary_feed
    login_as("secretary2")
    other = feed_path(client, "community", w.community2)
    for path in (secretary_feed, admin_feed, other):
        assert get_feed(app, path).status_code == 200

    _set_user(app, w.secretary1, community_id=w.community2)
    assert get_feed(app, secretary_feed).status_code == 404
    assert get_feed(app, admin_feed).status_code == 200  # someone else's link is unaffected
    _set_user(app, w.secretary2, active=False)
    assert get_feed(app, other).status_code == 404
    _set_user(app, w.admin, role=Role.ARCHIVIST)
    assert get_feed(app, admin_feed).status_code == 404

    # The secretary who took over community 1 makes a link of their own.
    _set_user(app, w.secretary1, community_id=w.community1)
    login_as("secretary1")
    page = client.get("/account").get_data(as_text=True)
    assert f'id="feed-community-{w.community1}"' in page


def test_personal_feed_stops_when_its_user_is_deactivated(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    make_meeting(status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    path = feed_path(client, "user", w.secretary1)
    assert get_feed(app, path).status_code == 200
    _set_user(app, w.secretary1, active=False)
    assert get_feed(app, path).status_code == 404


# --- what a liaison's copy discloses ---------------------------------------------------------


def test_liaison_copies_disclose_no_other_units_address(app, client, cal_world, login_as, make_meeting):
    w = cal_world
    mid = make_meeting(status=MeetingStatus.SCHEDULED, units=[w.unit_a, w.unit_b, w.unit_c])
    everyone = {f"mailto:{addr}" for addr in LIAISON_EMAILS.values()}
    others = [LIAISON_EMAILS["unit_b"], LIAISON_EMAILS["unit_c"]]

    # Staff copies list every invited unit's liaison.
    for who in ("secretary1", "archivist", "admin"):
        login_as(who)
        _, ev, vev = get_invite(client, mid)
        assert {str(a) for a in ical_attendees(ev)} == everyone
        assert {a.value for a in vev.attendee_list} == everyone
    login_as("secretary1")
    community = get_feed(app, feed_path(client, "community", w.community1)).data
    (ev,) = feed_events(community).values()
    assert {str(a) for a in ical_attendees(ev)} == everyone

    # A liaison's invite, own feed and unit feed name only their own unit.
    login_as("liaison_a")
    data, ev, vev = get_invite(client, mid)
    assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_a']}"]
    assert [a.value for a in vev.attendee_list] == [f"mailto:{LIAISON_EMAILS['unit_a']}"]
    assert "联络人东大" in ical_attendees(ev)[0].params["CN"]
    texts = [data]
    for kind, target in (("user", w.liaison_a), ("unit", w.unit_a)):
        feed = get_feed(app, feed_path(client, kind, target)).data
        (ev,) = feed_events(feed).values()
        assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_a']}"]
        texts.append(feed)
    # Unit C's feed shows unit C only.
    login_as("liaison_c")
    feed = get_feed(app, feed_path(client, "unit", w.unit_c)).data
    (ev,) = feed_events(feed).values()
    assert [str(a) for a in ical_attendees(ev)] == [f"mailto:{LIAISON_EMAILS['unit_c']}"]
    for text in texts:
        unfolded = text.decode().replace("\r\n ", "")
        assert not any(addr in unfolded for addr in others), unfolded
        assert "市第三人民医院" not in unfolded.split("DESCRIPTION")[0]  # no other unit's CN either


def test_keep_attendees_keeps_only_the_one_address_whole_and_folded():
    """One ATTENDEE stays (folded over two lines or not), every other goes with its
    continuation lines, and text that merely mentions ATTENDEE elsewhere is untouched."""
    from exports.ics import keep_attendees

    crlf = "\r\n"
    event = crlf.join(
        [
            "BEGIN:VEVENT",
            "DESCRIPTION:议程",
            " ATTENDEE:不是属性，只是续行",
            "ATTENDEE;CN=甲单位:mailto:a@example.gov.cn",
            "ATTENDEE;CN=乙单位很长的名字;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mail",
            " to:b@example.gov.cn",
            "SUMMARY:联席会议",
            "END:VEVENT",
        ]
    )
    only_b = keep_attendees(event, "mailto:b@example.gov.cn")
    assert "a@example.gov.cn" not in only_b
    assert (
        crlf
        + "ATTENDEE;CN=乙单位很长的名字;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mail"
        + crlf
        + " to:b@example.gov.cn"
        + crlf
        in only_b
    )
    assert " ATTENDEE:不是属性，只是续行" in only_b and only_b.endswith(
        "SUMMARY:联席会议" + crlf + "END:VEVENT"
    )
    only_a = keep_attendees(event, "mailto:a@example.gov.cn")
    assert "ATTENDEE;CN=甲单位:mailto:a@example.gov.cn" in only_a and "b@example.gov.cn" not in only_a
    none = keep_attendees(event, None)
    assert none.count("ATTENDEE;") == 0 and none.startswith("BEGIN:VEVENT" + crlf + "DESCRIPTION:议程")
    assert keep_attendees(event, "mailto:c@example.gov.cn") == none
