"""Notifications (件件有落实、事事有回音): every hand-off reaches the person who must act, in
the app (the bell, /notifications) and by mail as each person chooses (at once, in the daily
digest, or not at all), with an unsubscribe link per kind."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, time, timedelta

import fast_mail_parser
import pytest
from sqlalchemy import event, select

from common.dates import SHANGHAI
from models import (
    Action,
    ActionStatus,
    Booking,
    Match,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    OutboxMessage,
    Resource,
    ResourceKind,
    Room,
    Unit,
    UnitCategory,
    User,
    db,
)
from models.base import today, utcnow
from models.notification import Channel, NoticeKind, NoticePreference, Notification
from services import actions as action_svc
from services import meetings as meeting_svc
from services import minutes as minutes_svc
from services import needs as need_svc
from services import notify
from services import resources as resource_svc
from services import units as unit_svc
from services.mail import build_message


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def inbox(app, username: str) -> list[tuple[NoticeKind, str]]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        return [
            (n.kind, n.text)
            for n in db.session.scalars(
                select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
            )
        ]


def kinds(app, username: str) -> list[NoticeKind]:
    return [k for k, _ in inbox(app, username)]


@pytest.fixture
def emails(app, world):
    """Every user of the world has an address."""
    with app.app_context():
        for user in db.session.scalars(select(User)):
            user.email = f"{user.username}@example.cn"
        db.session.commit()


# --- the bell and the page --------------------------------------------------------------------


def _note(app, username: str, text: str = "测试提醒", url: str = "/meetings", **fields) -> int:
    with app.app_context():
        note = Notification(
            user_id=_user(username).id,
            kind=fields.pop("kind", NoticeKind.MATCH),
            text=text,
            url=url,
            **fields,
        )
        db.session.add(note)
        db.session.commit()
        return note.id


def test_the_bell_counts_unread_with_one_statement_and_the_page_lists_newest_first(
    app, client, world, login_as
):
    first = _note(app, "liaison_a", "第一条提醒", "/meetings")
    _note(app, "liaison_a", "第二条提醒", "/actions")
    _note(app, "liaison_a", "已读的提醒", read_at=utcnow())
    _note(app, "liaison_b", "别人的提醒")
    login_as("liaison_a")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/units").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert 'id="bell-count">2<' in page and "提醒，2 条未读" in page
    assert sum("notification" in s for s in statements) == 1
    listing = client.get("/notifications").get_data(as_text=True)
    assert listing.index("已读的提醒") < listing.index("第二条提醒") < listing.index("第一条提醒")
    assert "别人的提醒" not in listing
    unread = client.get("/notifications?unread=1").get_data(as_text=True)
    assert "第一条提醒" in unread and "已读的提醒" not in unread
    # Opening one marks it read and goes to what it is about.
    resp = client.post(f"/notifications/{first}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == "/meetings"
    assert 'id="bell-count">1<' in client.get("/units").get_data(as_text=True)
    client.post("/notifications/read-all")
    page = client.get("/units").get_data(as_text=True)
    assert 'id="bell-count"' not in page and "提醒，没有未读" in page
    assert "没有未读的提醒" in client.get("/notifications?unread=1").get_data(as_text=True)
    # Another user's notification does not exist for this one.
    other = _note(app, "liaison_b", "别人的第二条")
    assert client.post(f"/notifications/{other}/open").status_code == 404
    assert client.post(f"/notifications/{other}/read").status_code == 404


def test_a_notification_never_sends_anyone_off_site(app, client, world, login_as):
    note = _note(app, "liaison_a", url="//evil.example.com/x")
    login_as("liaison_a")
    resp = client.post(f"/notifications/{note}/open")
    assert resp.headers["Location"] == "/notifications"


# --- who hears what ---------------------------------------------------------------------------


def test_meeting_published_changed_and_cancelled_reach_the_invited_liaisons(app, world, make_meeting, emails):
    mid = make_meeting(days=5)
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        secretary = _user("secretary1")
        meeting_svc.publish(meeting, secretary)
        db.session.commit()
    for who in ("liaison_a", "liaison_b"):
        assert kinds(app, who) == [NoticeKind.MEETING_PUBLISHED, NoticeKind.TOPICS_OPEN], who
    assert inbox(app, "liaison_c") == [] and inbox(app, "secretary1") == []  # not invited; the actor
    text = inbox(app, "liaison_a")[0][1]
    assert "青年路社区邀请贵单位参加" in text and "请回复是否参加" in text
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        data = meeting_svc.MeetingData(
            kind=meeting.kind,
            title=meeting.title,
            description="",
            community_id=meeting.community_id,
            room_id=meeting.room_id,
            start_at=meeting.start_at + timedelta(hours=1),
            end_at=meeting.end_at + timedelta(hours=1),
            topic_deadline=meeting.topic_deadline,
            agenda=[],
            unit_ids={world.unit_a, world.unit_b, world.unit_c},
        )
        meeting_svc.save_meeting(meeting, data, _user("secretary1"))
        db.session.commit()
    assert kinds(app, "liaison_a")[-1] == NoticeKind.MEETING_CHANGED
    assert kinds(app, "liaison_c") == [NoticeKind.MEETING_CHANGED]  # added with the change: the update
    with app.app_context():
        meeting_svc.cancel(db.session.get(Meeting, mid), "场地检修", _user("secretary1"))
        db.session.commit()
    kind, text = inbox(app, "liaison_b")[-1]
    assert kind == NoticeKind.MEETING_CANCELLED and "已取消：场地检修" in text


def test_topics_decided_reach_their_submitter(app, world, make_meeting):
    mid = make_meeting(days=8, status=MeetingStatus.SCHEDULED)
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        a = meeting_svc.submit_topic(
            meeting, db.session.get(Unit, world.unit_a), _user("liaison_a"), "开放操场", "", ""
        )
        b = meeting_svc.submit_topic(
            meeting, db.session.get(Unit, world.unit_b), _user("liaison_b"), "义诊", "", ""
        )
        db.session.flush()
        meeting_svc.accept_topic(a, _user("secretary1"))
        meeting_svc.decline_topic(b, "本次议程已满", _user("secretary1"))
        db.session.commit()
    assert kinds(app, "secretary1") == [NoticeKind.TOPIC_SUBMITTED, NoticeKind.TOPIC_SUBMITTED]
    assert "东大街第一小学为“第四季度共驻共建联席会议”提交了议题“开放操场”" in inbox(app, "secretary1")[0][1]
    assert inbox(app, "liaison_a") == [
        (NoticeKind.TOPIC_DECIDED, "贵单位提出的议题“开放操场”已列入“第四季度共驻共建联席会议”的议程。")
    ]
    kind, text = inbox(app, "liaison_b")[0]
    assert kind == NoticeKind.TOPIC_DECIDED and "未被" in text and "本次议程已满" in text


def _minutes_to_submit(app, world, held_meeting):
    """A held meeting (A present, B excused) with draft minutes and one action led by A with B."""
    mid = held_meeting()
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        secretary = _user("secretary1")
        revision = minutes_svc.start_minutes(meeting, secretary).current
        rows = [
            minutes_svc.ActionRow(
                None, "开放学校操场", "", world.unit_a, [world.unit_b], today() + timedelta(days=30)
            )
        ]
        discussion = {e["item_id"]: "<p>讨论。</p>" for e in revision.discussion}
        minutes_svc.save_draft(revision, "记录人", "<p>会议。</p>", discussion, rows, secretary)
        db.session.commit()
    return mid


def test_the_minutes_cycle_tells_each_side(app, world, held_meeting):
    mid = _minutes_to_submit(app, world, held_meeting)
    with app.app_context():
        revision = minutes_svc.get_minutes(db.session.get(Meeting, mid)).current
        minutes_svc.submit(revision, _user("secretary1"), 3)
        db.session.commit()
    assert kinds(app, "liaison_a") == [NoticeKind.CONFIRM_REQUESTED]  # the attending unit
    assert inbox(app, "liaison_b") == []  # excused: not asked
    with app.app_context():
        revision = minutes_svc.get_minutes(db.session.get(Meeting, mid)).current
        minutes_svc.respond(revision, world.unit_a, _user("liaison_a"), False, "第二项请写明时间")
        db.session.commit()
    kind, text = inbox(app, "secretary1")[0]
    assert kind == NoticeKind.CONFIRM_ANSWERED and "提出意见：第二项请写明时间" in text
    with app.app_context():
        revision = minutes_svc.get_minutes(db.session.get(Meeting, mid)).current
        minutes_svc.approve(revision, _user("secretary1"), unconfirmed_ok=True)
        db.session.commit()
    assert kinds(app, "liaison_a")[-2:] == [NoticeKind.MINUTES_APPROVED, NoticeKind.ACTION_ASSIGNED]
    assert kinds(app, "archivist") == [NoticeKind.MINUTES_APPROVED]
    assert kinds(app, "liaison_b") == [NoticeKind.ACTION_ASSIGNED]  # the co-unit
    assert "由东大街第一小学牵头" in inbox(app, "liaison_b")[0][1]
    # Progress reported by the lead reaches the host's secretary.
    with app.app_context():
        action = db.session.scalar(select(Action).where(Action.meeting_id == mid))
        action_svc.post_progress(action, _user("liaison_a"), today(), "已联系体育老师", None)
        db.session.commit()
    kind, text = inbox(app, "secretary1")[-1]
    assert (
        kind == NoticeKind.PROGRESS_REPORTED
        and text == "东大街第一小学报送了“开放学校操场”的进展：已联系体育老师"
    )


def test_daily_reminders_once_per_occasion(app, world, held_meeting, make_meeting):
    mid = held_meeting()
    soon = make_meeting(days=2, status=MeetingStatus.SCHEDULED)
    with app.app_context():
        for title, due in (
            ("快到期的事项", today() + timedelta(days=2)),
            ("逾期的事项", today() - timedelta(days=1)),
        ):
            db.session.add(
                Action(
                    meeting_id=mid,
                    street_id=world.street,
                    community_id=world.community1,
                    title=title,
                    lead_unit_id=world.unit_a,
                    due_on=due,
                    status=ActionStatus.OPEN,
                )
            )
        db.session.add(
            Action(
                meeting_id=mid,
                street_id=world.street,
                community_id=world.community1,
                title="还早的事项",
                lead_unit_id=world.unit_a,
                due_on=today() + timedelta(days=20),
            )
        )
        meeting = db.session.get(Meeting, soon)
        meeting.topic_deadline = utcnow() + timedelta(hours=5)
        db.session.commit()
        made = notify.daily_reminders(today())
        db.session.commit()
        assert made > 0
        assert notify.daily_reminders(today()) == 0  # a second run tells nobody twice
        db.session.commit()
    a = inbox(app, "liaison_a")
    assert any(k == NoticeKind.ACTION_DUE and "快到期的事项" in t for k, t in a)
    assert any(k == NoticeKind.ACTION_OVERDUE and "逾期的事项" in t for k, t in a)
    assert not any("还早的事项" in t for _, t in a)
    assert any(k == NoticeKind.TOPICS_CLOSING for k, _ in a)
    assert {k for k, _ in inbox(app, "secretary1")} == {NoticeKind.ACTION_DUE, NoticeKind.ACTION_OVERDUE}


def test_confirmation_due_reminds_only_those_who_have_not_answered(app, world, held_meeting):
    mid = _minutes_to_submit(app, world, held_meeting)
    with app.app_context():
        revision = minutes_svc.get_minutes(db.session.get(Meeting, mid)).current
        minutes_svc.submit(revision, _user("secretary1"), 1)
        db.session.commit()
        notify.daily_reminders(today())
        db.session.commit()
    assert kinds(app, "liaison_a") == [NoticeKind.CONFIRM_REQUESTED, NoticeKind.CONFIRM_DUE]


def test_bookings_reach_the_owner_and_the_decision_the_requester(app, world, make_resource):
    rid = make_resource()
    start = datetime.combine(today() + timedelta(days=3), time(10, 0), SHANGHAI)
    with app.app_context():
        booking = resource_svc.request_booking(
            _user("liaison_c"),
            start,
            start + timedelta(hours=2),
            "派出所安全讲座",
            resource=db.session.get(Resource, rid),
        )
        db.session.commit()
        booking_id = booking.id
    kind, text = inbox(app, "liaison_a")[0]
    assert kind == NoticeKind.BOOKING_REQUESTED and "和平里派出所申请预约“第一小学多功能厅”" in text
    with app.app_context():
        resource_svc.decline(db.session.get(Booking, booking_id), "当天有考试", _user("liaison_a"))
        db.session.commit()
    kind, text = inbox(app, "liaison_c")[0]
    assert kind == NoticeKind.BOOKING_DECIDED and "未获批准：当天有考试" in text
    # A community room asked for by a unit: the community's secretary answers for it.
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.community_id == world.community1))
        room.bookable = True
        db.session.flush()
        resource_svc.request_booking(_user("liaison_c"), start, start + timedelta(hours=1), "培训", room=room)
        db.session.commit()
    assert kinds(app, "secretary1") == [NoticeKind.BOOKING_REQUESTED]


def test_needs_claims_and_matches_tell_both_sides(app, world, make_resource):
    rid = make_resource(kind=ResourceKind.VENUE)
    with app.app_context():
        need = Need(
            street_id=world.street,
            community_id=world.community1,
            kind=ResourceKind.VENUE,
            title="老年大学借用教室",
            posted_by_id=_user("secretary1").id,
        )
        db.session.add(need)
        db.session.flush()
        need_svc.claim(need, db.session.get(Unit, world.unit_b), _user("liaison_b"))
        db.session.commit()
        need_id = need.id
    kind, text = inbox(app, "secretary1")[0]
    assert kind == NoticeKind.NEED_CLAIMED and "市第三人民医院认领了需求“老年大学借用教室”" in text
    with app.app_context():
        need_svc.release_claim(db.session.get(Need, need_id), _user("secretary1"), "医院场地不合适")
        db.session.commit()
    assert inbox(app, "liaison_b")[-1] == (
        NoticeKind.CLAIM_DECIDED,
        "贵单位对“老年大学借用教室”的认领已释放：医院场地不合适",
    )
    with app.app_context():
        need = db.session.get(Need, need_id)
        assert need.status == NeedStatus.OPEN
        match = need_svc.propose_match(need, db.session.get(Resource, rid), _user("secretary1"))
        db.session.commit()
        match_id = match.id
    assert kinds(app, "liaison_a") == [NoticeKind.MATCH]  # the resource's owner
    with app.app_context():
        need_svc.decide_match(db.session.get(Match, match_id), _user("liaison_a"), True)
        db.session.commit()
    assert kinds(app, "secretary1")[-1] == NoticeKind.MATCH  # the need's side hears the answer


def test_a_registered_unit_reaches_its_communitys_secretary(app, world):
    with app.app_context():
        unit_svc.create_unit(
            {"name": "新开业的银行网点", "category": UnitCategory.FINANCE, "community_id": world.community2},
            by=_user("admin"),
        )
        db.session.commit()
    kind, text = inbox(app, "secretary2")[0]
    assert kind == NoticeKind.UNIT_REGISTERED and "新开业的银行网点已到社区报到登记" in text
    assert inbox(app, "secretary1") == []


# --- mail as each person chooses -----------------------------------------------------------


def test_mail_at_once_with_an_unsubscribe_link_per_kind(app, client, world, make_resource, emails):
    rid = make_resource()
    start = datetime.combine(today() + timedelta(days=3), time(10, 0), SHANGHAI)
    with app.app_context():
        resource_svc.request_booking(
            _user("liaison_c"),
            start,
            start + timedelta(hours=2),
            "讲座",
            resource=db.session.get(Resource, rid),
        )
        db.session.commit()
        msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == "liaison_a@example.cn"))
        assert msg is not None and msg.subject.startswith("【预约申请】")
        # Read back by the standard library's parser, not by the code that wrote it.
        raw = bytes(build_message(msg, "gongjian@example.cn"))
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body = parsed.get_body(("plain",)).get_content()
    assert parsed["To"].addresses[0].addr_spec == "liaison_a@example.cn"
    # A second reader, independent of Python's email package, decodes the same subject and body.
    second = fast_mail_parser.parse_email(raw)
    assert second.subject == parsed["Subject"] and "和平里派出所申请预约" in second.text_plain[0]
    assert "和平里派出所申请预约" in body and "/bookings/" in body
    link = next(line.split("：", 1)[1] for line in body.splitlines() if "预约申请：http" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and "确认不再通过邮件接收“预约申请”提醒" in page.get_data(as_text=True)
    client.post("/" + path)
    with app.app_context():
        pref = db.session.scalar(select(NoticePreference).where(NoticePreference.user_id == world.liaison_a))
        assert pref.kind == NoticeKind.BOOKING_REQUESTED and pref.channel == Channel.APP
    # A forged or altered link changes nothing.
    assert client.get("/notifications/unsubscribe/" + path.rsplit("/", 1)[1][:-2] + "xx").status_code == 404


def test_settings_and_the_daily_digest(app, client, runner, world, login_as, emails):
    login_as("secretary1")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "纪要会签回复" in page and "每日汇总邮件" in page
    data = {f"kind_{k.value}": "app" for k in NoticeKind}
    data["kind_unit_registered"] = "digest"
    data["kind_need_claimed"] = "mail"
    resp = client.post("/notifications/settings", data=data)
    assert resp.status_code == 302
    assert client.post("/notifications/settings", data={"kind_match": "weekly"}).status_code == 400
    with app.app_context():
        assert notify.preferences(world.secretary1)[NoticeKind.UNIT_REGISTERED] == Channel.DIGEST
        for name in ("第一家单位", "第二家单位"):
            unit_svc.create_unit(
                {"name": name, "category": UnitCategory.FINANCE, "community_id": world.community1},
                by=_user("admin"),
            )
        db.session.commit()
        assert (
            db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == "secretary1@example.cn"))
            is None
        )
    result = runner.invoke(args=["digest"])
    assert result.exit_code == 0 and "已生成 1 封每日汇总邮件" in result.output
    with app.app_context():
        mails = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == "secretary1@example.cn")
        ).all()
        assert len(mails) == 1 and "2 条新提醒" in mails[0].subject
        assert "第一家单位" in mails[0].body_text and "第二家单位" in mails[0].body_text
        assert "单位报到：http" in mails[0].body_text  # its unsubscribe link
    assert "已生成 0 封" in runner.invoke(args=["digest"]).output  # nothing twice


def test_the_digest_forgets_old_notifications(app, world):
    _note(app, "liaison_a", "很久以前", created_at=utcnow() - timedelta(days=400))
    _note(app, "liaison_a", "最近")
    with app.app_context():
        notify.digest()
        db.session.commit()
    assert [t for _, t in inbox(app, "liaison_a")] == ["最近"]


def test_inactive_users_and_the_actor_are_never_told(app, world):
    with app.app_context():
        _user("liaison_b").active = False
        db.session.flush()
        made = notify.notify(
            NoticeKind.MATCH,
            [_user("liaison_a"), _user("liaison_b"), _user("liaison_a")],
            "x",
            "/",
            by=_user("liaison_a"),
        )
        assert made == []
        made = notify.notify(NoticeKind.MATCH, [_user("liaison_c")], "x", "/", key="k1")
        again = notify.notify(NoticeKind.MATCH, [_user("liaison_c")], "x", "/", key="k1")
        assert len(made) == 1 and again == []
        db.session.rollback()
