"""CLI commands: seed-demo and create-user."""

from __future__ import annotations

import os
import secrets
from datetime import date, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from models import Community, Role, Room, Street, Unit, UnitCategory, UnitStatus, User, db
from models.base import today
from services.passwords import check_password, password_problem, set_password

STREET = ("东大街街道", "东大街")
COMMUNITIES = [
    ("青年路社区", "青年路", "青年路 18 号"),
    ("和平里社区", "和平里", "和平里三巷 6 号"),
    ("书院街社区", "书院街", "书院街 42 号"),
    ("丰收园社区", "丰收园", "丰收园小区 9 号楼"),
    ("新华里社区", "新华里", "新华里 2 号"),
]
# name, short name, category, community index (1-based), party members, liaison
UNITS = [
    ("东大街第一小学", "一小", UnitCategory.SCHOOL, 1, 36, "王丽华"),
    ("市第三人民医院", "市三院", UnitCategory.HOSPITAL, 1, 210, "李建国"),
    ("中国工商银行东大街支行", "工行东大街支行", UnitCategory.FINANCE, 1, 18, "张敏"),
    ("区税务局第二税务所", "二所", UnitCategory.AGENCY, 1, 27, "赵志强"),
    ("鑫达物业管理有限公司", "鑫达物业", UnitCategory.PRIVATE_FIRM, 1, 6, "孙海燕"),
    ("阳光社会工作服务中心", "阳光社工", UnitCategory.SOCIAL_ORG, 1, 5, "周晓雯"),
    ("国网城区供电公司东大街供电所", "东大街供电所", UnitCategory.STATE_FIRM, 2, 22, "吴军"),
    ("区图书馆", "区图", UnitCategory.INSTITUTION, 2, 15, "郑雅琴"),
    ("和平里派出所", "和平里所", UnitCategory.AGENCY, 2, 31, "冯涛"),
    ("中国建设银行和平里支行", "建行和平里", UnitCategory.FINANCE, 2, 14, "陈静"),
    ("晨曦幼儿园", "晨曦幼", UnitCategory.SCHOOL, 2, 8, "褚亚楠"),
    ("乐龄养老服务中心", "乐龄养老", UnitCategory.SOCIAL_ORG, 2, 4, "卫红梅"),
    ("市第十二中学", "十二中", UnitCategory.SCHOOL, 3, 58, "蒋文博"),
    ("书院街社区卫生服务中心", "书院街社卫", UnitCategory.HOSPITAL, 3, 19, "沈玉兰"),
    ("新华书店书院街店", "新华书店", UnitCategory.STATE_FIRM, 3, 9, "韩磊"),
    ("恒信律师事务所", "恒信律所", UnitCategory.PRIVATE_FIRM, 3, 7, "杨帆"),
    ("区文化馆", "文化馆", UnitCategory.INSTITUTION, 3, 21, "朱丹"),
    ("区人民法院东大街人民法庭", "东大街法庭", UnitCategory.AGENCY, 3, 16, "秦思远"),
    ("城建集团第五工程有限公司", "城建五公司", UnitCategory.STATE_FIRM, 4, 64, "尤立新"),
    ("中国邮政储蓄银行丰收园营业所", "邮储丰收园", UnitCategory.FINANCE, 4, 6, "许晨"),
    ("丰收园消防救援站", "丰收园消防站", UnitCategory.AGENCY, 4, 24, "何勇"),
    ("博远信息科技有限公司", "博远科技", UnitCategory.PRIVATE_FIRM, 4, 12, "吕梦琪"),
    ("美邻家政服务有限公司", "美邻家政", UnitCategory.PRIVATE_FIRM, 4, 3, "施秀英"),
    ("红枫志愿者协会", "红枫志愿", UnitCategory.SOCIAL_ORG, 4, 11, "张浩然"),
    ("市中医医院", "市中医院", UnitCategory.HOSPITAL, 5, 132, "孔德明"),
    ("东大街农村商业银行新华里支行", "农商行新华里", UnitCategory.FINANCE, 5, 10, "曹丽"),
    ("市公交集团第三客运分公司", "公交三分公司", UnitCategory.STATE_FIRM, 5, 88, "严建华"),
    ("区青少年活动中心", "青少年中心", UnitCategory.INSTITUTION, 5, 13, "华美玲"),
    ("区市场监督管理局新华里市场监管所", "新华里监管所", UnitCategory.AGENCY, 5, 12, "金涛"),
    ("华联超市新华里店", "华联新华里", UnitCategory.PRIVATE_FIRM, 5, 2, "魏小平"),
    ("东大街老年大学", "老年大学", UnitCategory.OTHER, 5, 9, "陶志刚"),
]
# Units (by 1-based index) that are still only registered, and the one that withdrew.
ONLY_REGISTERED = {6, 17, 23, 31}
WITHDRAWN = {30}
SECRETARY_NAMES = ["刘芳", "陈卫东", "杨秀兰", "黄志明", "周丽娟"]
# Demo addresses pass the app's own e-mail validation, so a demo liaison can save their
# unit's profile (email-validator refuses special-use names such as .local).
DEMO_STREET_DOMAIN = "dongdajie.example.gov.cn"
DEMO_UNIT_DOMAIN = "danwei.example.gov.cn"
# Earlier demo databases used this one; seed-demo moves them to the two above.
LEGACY_DEMO_DOMAIN = "demo.gongjian.local"


def _demo_password(explicit: str | None) -> str:
    """The demo password: given, or generated once and kept in the instance folder."""
    if explicit:
        return explicit
    path = Path(current_app.instance_path) / "demo_password"
    if path.exists():
        return path.read_text().strip()
    password = "共建-" + secrets.token_urlsafe(9)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password)
    return password


def _ensure_user(username: str, password: str, **fields) -> tuple[User, bool]:
    """Create the demo login if missing; set its password only if it differs."""
    user = db.session.scalar(select(User).where(User.username == username))
    created = user is None
    if created:
        user = User(username=username, password_hash="", **fields)
        db.session.add(user)
        set_password(user, password)
    elif not check_password(user, password):
        set_password(user, password)
    return user, created


def _replace_legacy_demo_addresses() -> None:
    """Give demo units and logins seeded with the old invalid domain a valid address."""
    legacy = "@" + LEGACY_DEMO_DOMAIN
    for unit in db.session.scalars(select(Unit).where(Unit.liaison_email.endswith(legacy))):
        unit.liaison_email = unit.liaison_email.removesuffix(legacy) + "@" + DEMO_UNIT_DOMAIN
    for user in db.session.scalars(select(User).where(User.email.endswith(legacy))):
        domain = DEMO_UNIT_DOMAIN if user.role == Role.LIAISON else DEMO_STREET_DOMAIN
        user.email = user.email.removesuffix(legacy) + "@" + domain


def seed_demo(password: str) -> list[tuple[str, str, str]]:
    """Create the demo street, communities, rooms, units and logins (idempotent)."""
    street = db.session.scalar(select(Street).where(Street.name == STREET[0]))
    if street is None:
        street = Street(name=STREET[0], short_name=STREET[1])
        db.session.add(street)
        db.session.flush()
    communities = []
    for position, (name, short, address) in enumerate(COMMUNITIES, start=1):
        community = db.session.scalar(
            select(Community).where(Community.street_id == street.id, Community.name == name)
        )
        if community is None:
            community = Community(
                street=street, name=name, short_name=short, position=position, address=address
            )
            db.session.add(community)
            db.session.flush()
            db.session.add(
                Room(
                    community=community,
                    name=f"{short}社区共驻共建会议室",
                    capacity=30 + 5 * position,
                    address=address,
                    bookable=True,
                )
            )
        communities.append(community)

    from services.units import create_unit

    start = today() - timedelta(days=720)
    units = []
    for k, (name, short, category, c_index, members, liaison) in enumerate(UNITS, start=1):
        unit = db.session.scalar(select(Unit).where(Unit.street_id == street.id, Unit.name == name))
        if unit is None:
            registered = start + timedelta(days=7 * k)
            unit = create_unit(
                {
                    "name": name,
                    "short_name": short,
                    "category": category,
                    "community_id": communities[c_index - 1].id,
                    "address": f"{communities[c_index - 1].short_name}{10 + k} 号",
                    "party_org_name": f"{short}党支部" if members >= 3 else "",
                    "party_member_count": members,
                    "liaison_name": liaison,
                    "liaison_phone": f"138{k:04d}{(k * 7919) % 10000:04d}",
                    "liaison_email": f"liaison{k}@{DEMO_UNIT_DOMAIN}",
                    "introduction": f"{name}积极参与{communities[c_index - 1].name}共驻共建。",
                    "registered_on": registered,
                    "agreement_date": registered + timedelta(days=14) if k not in ONLY_REGISTERED else None,
                },
                by=None,
            )
            if k not in ONLY_REGISTERED:
                unit.change_status(
                    UnitStatus.ACTIVE, registered + timedelta(days=14), "签订共建协议，转为在册", None
                )
            if k in WITHDRAWN:
                unit.change_status(UnitStatus.WITHDRAWN, today() - timedelta(days=30), "单位迁出本街道", None)
        units.append(unit)
    db.session.flush()

    logins = []
    _ensure_user(
        "admin",
        password,
        display_name="街道党工委管理员",
        role=Role.ADMIN,
        email=f"admin@{DEMO_STREET_DOMAIN}",
    )
    logins.append(("admin", Role.ADMIN.label, STREET[0]))
    _ensure_user("archivist", password, display_name="档案室 郭敏", role=Role.ARCHIVIST)
    logins.append(("archivist", Role.ARCHIVIST.label, STREET[0]))
    for n, community in enumerate(communities, start=1):
        _ensure_user(
            f"secretary{n}",
            password,
            display_name=SECRETARY_NAMES[n - 1],
            role=Role.SECRETARY,
            community_id=community.id,
            email=f"secretary{n}@{DEMO_STREET_DOMAIN}",
        )
        logins.append((f"secretary{n}", Role.SECRETARY.label, community.name))
    for k, unit in enumerate(units, start=1):
        _ensure_user(
            f"liaison{k}",
            password,
            display_name=unit.liaison_name or f"联络员{k}",
            role=Role.LIAISON,
            unit_id=unit.id,
            email=unit.liaison_email,
        )
        logins.append((f"liaison{k}", Role.LIAISON.label, unit.name))
    _replace_legacy_demo_addresses()
    seed_meetings(street, communities, units)
    seed_minutes(street)
    from demo import needs as needs_demo
    from demo import resources as resources_demo
    from demo import stats as stats_demo

    resources_demo.seed(street, communities, units)
    needs_demo.seed(street, communities, units)
    stats_demo.seed(street)
    return logins


ACTION_IDEAS = [
    ("开放学校操场供居民周末健身", "资源共享", ["share", "cobuild"]),
    ("联合开展冬季消防安全检查", "共建共驻", ["cobuild"]),
    ("为辖区老年人开展义诊", "优势互补", ["complement", "develop"]),
    ("共建单位停车位夜间错时共享", "资源共享", ["share"]),
    ("暑期青少年托管志愿服务", "共同发展", ["develop", "complement"]),
    ("金融防诈骗知识进社区", "优势互补", ["complement"]),
]


CONFIRMATION_REMARKS = ["", "同意。", "", "无修改意见，本单位将按时落实。", ""]
# Recent special meetings: minutes awaiting the units' 会签, and minutes still being drafted.
DEMO_AWAITING_CONFIRMATION = "老旧小区加装电梯协调专题会"
DEMO_DRAFTING = "垃圾分类宣传进校园专题会"


def seed_minutes(street: Street) -> None:
    """Approved minutes for past meetings, with actions open, in progress, done and overdue."""
    from demo import minutes as minutes_demo
    from models import (
        Action,
        ActionProgress,
        ActionStatus,
        Meeting,
        MeetingStatus,
        Minutes,
        Principle,
    )
    from services import minutes as msvc

    if db.session.scalar(select(Minutes.id).limit(1)):
        return
    held = db.session.scalars(
        select(Meeting)
        .where(Meeting.street_id == street.id, Meeting.status == MeetingStatus.HELD)
        .order_by(Meeting.community_id, Meeting.start_at)
    ).all()
    for n, meeting in enumerate(held):
        secretary = db.session.scalar(
            select(User).where(User.role == Role.SECRETARY, User.community_id == meeting.community_id)
        )
        minutes = msvc.start_minutes(meeting, secretary)
        revision = minutes.current
        present = [inv.unit for inv in meeting.invitations if inv.attendance.value == "present"]
        discussion = {}
        for k, entry in enumerate(revision.discussion):
            who = entry.get("presenter") or (present[k % len(present)].name if present else "社区")
            discussion[entry["item_id"]] = (
                f"<p>{who}汇报了{entry['title']}的有关情况。</p>"
                "<p>与会单位围绕<strong>资源共享、优势互补</strong>进行了讨论，形成以下意见：</p>"
                "<ul><li>明确责任单位和完成时限；</li><li>下次会议通报落实情况。</li></ul>"
            )
        rows = []
        for k in range(2):
            title, _, tags = ACTION_IDEAS[(n + k) % len(ACTION_IDEAS)]
            lead = present[(n + k) % len(present)] if present else meeting.invitations[0].unit
            co = [u.id for u in present if u.id != lead.id][:2]
            due = meeting.start_at.date() + timedelta(days=30 + 45 * k)
            rows.append(
                msvc.ActionRow(
                    None, title, f"由{lead.name}牵头落实。", lead.id, co, due, [Principle(t) for t in tags]
                )
            )
        msvc.save_draft(
            revision,
            secretary.display_name,
            "<p>会议由社区党委书记主持，驻区单位代表参加。</p>",
            discussion,
            rows,
            secretary,
        )
        if meeting.title == DEMO_DRAFTING:
            continue  # minutes still a draft: the editor lists the actions carried over
        msvc.submit(revision, secretary, 3)
        recent = meeting.title == DEMO_AWAITING_CONFIRMATION
        for k, confirmation in enumerate(revision.confirmations):
            liaison = db.session.scalar(
                select(User).where(User.role == Role.LIAISON, User.unit_id == confirmation.unit_id)
            )
            # Most units confirm (a few with a remark); one in five never answers. The recent
            # special meeting's minutes wait for most of their confirmations.
            if liaison is None or (k + n) % 5 == 4 or (recent and k > 0):
                continue
            remark = CONFIRMATION_REMARKS[(k + n) % len(CONFIRMATION_REMARKS)]
            msvc.respond(revision, confirmation.unit_id, liaison, True, remark)
        if recent:
            continue  # awaiting 会签: the liaisons see it on their dashboard
        if n == 0:  # archived with the faulty first font build, then migrated (flask migrate-archive)
            minutes_demo.approve_with_first_font_build(revision, secretary, unconfirmed_ok=True)
        else:
            msvc.approve(revision, secretary, unconfirmed_ok=True)
        db.session.flush()
        actions = db.session.scalars(
            select(Action).where(Action.meeting_id == meeting.id).order_by(Action.position)
        ).all()
        age = (today() - meeting.start_at.date()).days
        for k, action in enumerate(actions):
            # Oldest meetings: done; middle: in progress; recent: open (some overdue by date).
            if age > 200 or (age > 120 and k == 0):
                action.progress.append(
                    ActionProgress(
                        on=action.due_on - timedelta(days=10), text="已完成前期对接，方案报社区备案。"
                    )
                )
                action.status = ActionStatus.DONE
                action.result = "已按期完成，居民反映良好。"
                action.done_on = action.due_on - timedelta(days=2)
                action.done_at = meeting.start_at + timedelta(days=40)
            elif age > 120 or k == 0:
                action.progress.append(
                    ActionProgress(
                        on=min(today(), action.due_on) - timedelta(days=5),
                        text="正在推进，已完成约一半工作量。",
                    )
                )
                action.status = ActionStatus.IN_PROGRESS


QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}
AGENDA_TOPICS = [
    ("上季度共建项目落实情况通报", 20),
    ("驻区单位资源清单更新", 15),
    ("老旧小区加装电梯协调", 25),
    ("暑期青少年托管服务共建", 20),
    ("“微心愿”认领情况", 15),
    ("辖区消防安全联合检查", 20),
    ("为老助餐点共建", 20),
    ("垃圾分类宣传进校园", 15),
]


def seed_meetings(street: Street, communities: list[Community], units: list[Unit]) -> None:
    """Past meetings with replies and attendance, upcoming ones, a draft, a cancellation, a series."""
    from zoneinfo import ZoneInfo

    from models import (
        AgendaItem,
        Attendance,
        Invitation,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Reply,
        Topic,
        TopicStatus,
    )
    from services.meetings import SeriesRule, create_series, plan_series

    if db.session.scalar(select(Meeting.id).where(Meeting.street_id == street.id).limit(1)):
        return
    sh = ZoneInfo("Asia/Shanghai")
    from datetime import datetime, time

    now_local = datetime.now(sh)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    rooms = {r.community_id: r for r in db.session.scalars(select(Room))}

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(now_local.date() + timedelta(days=days), time(hour, minute), sh)

    def meeting(community, title, start, hours, status, kind=MeetingKind.REGULAR, invited=(), agenda=()):
        secretary = db.session.scalar(
            select(User).where(User.role == Role.SECRETARY, User.community_id == community.id)
        )
        m = Meeting(
            street_id=street.id,
            community_id=community.id,
            kind=kind,
            title=title,
            description=f"{community.name}党委召集，驻区单位共同研究共建事项。",
            start_at=start,
            end_at=start + timedelta(hours=hours),
            room_id=rooms[community.id].id,
            status=status,
            topic_deadline=start - timedelta(days=3),
            created_by=secretary,
        )
        for pos, (topic_title, minutes) in enumerate(agenda, start=1):
            presenter = invited[(pos - 1) % len(invited)] if invited else None
            m.agenda_items.append(
                AgendaItem(
                    position=pos,
                    title=topic_title,
                    minutes=minutes,
                    presenter_unit_id=presenter.id if presenter else None,
                )
            )
        for unit in invited:
            m.invitations.append(Invitation(unit_id=unit.id))
        db.session.add(m)
        return m

    for ci, community in enumerate(communities):
        members = [u for u in units if u.community_id == community.id and u.status != UnitStatus.WITHDRAWN]
        for q, days_ago in enumerate((270, 180, 90)):
            start = at(-days_ago + ci, 15)
            quarter = (start.month - 1) // 3 + 1
            m = meeting(
                community,
                f"{start.year}年第{QUARTERS[quarter]}季度共驻共建联席会议",
                start,
                2,
                MeetingStatus.HELD,
                invited=members,
                agenda=AGENDA_TOPICS[(q + ci) % 5 : (q + ci) % 5 + 3],
            )
            m.published_at = start - timedelta(days=10)
            m.held_at = start + timedelta(hours=2)
            for k, inv in enumerate(m.invitations):
                if (k + q + ci) % 7 == 3:
                    inv.reply, inv.reply_reason, inv.attendance = (
                        Reply.DECLINE,
                        "单位有重要接待任务",
                        Attendance.ABSENT_LEAVE,
                    )
                elif (k + q + ci) % 11 == 5:
                    inv.reply, inv.attendance = Reply.PENDING, Attendance.ABSENT_NO_LEAVE
                elif (k + q) % 5 == 4:
                    inv.reply, inv.delegate_name, inv.delegate_post = Reply.DELEGATE, "王晓明", "办公室主任"
                    inv.attendance, inv.by_delegate = Attendance.PRESENT, True
                else:
                    inv.reply, inv.attendance = Reply.ACCEPT, Attendance.PRESENT
                inv.replied_at = start - timedelta(days=5)
                inv.attendance_at = start
        start = at(9 + ci, 14, 30)
        quarter = (start.month - 1) // 3 + 1
        upcoming = meeting(
            community,
            f"{start.year}年第{QUARTERS[quarter]}季度共驻共建联席会议",
            start,
            2,
            MeetingStatus.SCHEDULED,
            invited=members,
            agenda=AGENDA_TOPICS[ci % 4 : ci % 4 + 3],
        )
        upcoming.published_at = now_local - timedelta(days=2)
        for k, inv in enumerate(upcoming.invitations):
            if k % 3 == 0:
                inv.reply, inv.replied_at = Reply.ACCEPT, now_local - timedelta(days=1)
            elif k % 5 == 1:
                inv.reply, inv.reply_reason = Reply.DECLINE, "当天有上级检查"
                inv.replied_at = now_local - timedelta(days=1)
        if len(members) >= 2:
            upcoming.topics.append(
                Topic(
                    unit_id=members[1].id,
                    title="共建单位停车位错时共享",
                    detail="单位停车场夜间空置，可向居民开放。",
                    cooperation="请社区协助制定管理办法",
                    status=TopicStatus.SUBMITTED,
                )
            )
            upcoming.topics.append(
                Topic(
                    unit_id=members[0].id,
                    title="志愿服务积分互认",
                    detail="建议各单位志愿服务时长互认。",
                    cooperation="",
                    status=TopicStatus.DECLINED,
                    decline_reason="已列入下次专题会讨论",
                )
            )
    # Two recent special meetings: one whose minutes await the units' 会签, one whose minutes
    # are still being drafted (its editor lists the actions carried over).
    for ci, title, days_ago, topics in (
        (0, DEMO_AWAITING_CONFIRMATION, 3, AGENDA_TOPICS[2:3] + AGENDA_TOPICS[0:1]),
        (1, DEMO_DRAFTING, 1, AGENDA_TOPICS[7:8]),
    ):
        community = communities[ci]
        members = [u for u in units if u.community_id == community.id and u.status != UnitStatus.WITHDRAWN]
        start = at(-days_ago, 9, 30)
        special = meeting(
            community, title, start, 1.5, MeetingStatus.HELD, MeetingKind.SPECIAL, members[:4], topics
        )
        special.published_at = start - timedelta(days=7)
        special.held_at = start + timedelta(hours=1, minutes=30)
        for inv in special.invitations:
            inv.reply, inv.attendance = Reply.ACCEPT, Attendance.PRESENT
            inv.replied_at, inv.attendance_at = start - timedelta(days=2), start
    first = communities[0]
    members = [u for u in units if u.community_id == first.id and u.status != UnitStatus.WITHDRAWN]
    meeting(
        first,
        "暑期青少年托管专题会（筹备）",
        at(20, 9, 30),
        1.5,
        MeetingStatus.DRAFT,
        kind=MeetingKind.SPECIAL,
        invited=members[:3],
        agenda=AGENDA_TOPICS[3:4],
    )
    cancelled = meeting(
        first,
        "消防安全联合检查部署会",
        at(5, 10),
        1,
        MeetingStatus.SCHEDULED,
        kind=MeetingKind.SPECIAL,
        invited=members[:4],
        agenda=AGENDA_TOPICS[5:6],
    )
    db.session.flush()
    cancelled.cancel("与区应急管理局专项检查时间冲突，另行通知", now_local)
    zone = Meeting(
        street_id=street.id,
        community_id=None,
        kind=MeetingKind.ZONE,
        title="东大街街道片区联席会（党建引领基层治理）",
        description="街道党工委召集，五个社区及代表单位参加。",
        start_at=at(14, 9),
        end_at=at(14, 11, 30),
        room_id=rooms[first.id].id,
        status=MeetingStatus.SCHEDULED,
        topic_deadline=at(11, 9),
        created_by=admin,
        published_at=now_local,
    )
    for community in communities:
        rep = next(u for u in units if u.community_id == community.id and u.status == UnitStatus.ACTIVE)
        zone.invitations.append(Invitation(unit_id=rep.id))
    db.session.add(zone)
    db.session.flush()
    # A quarterly series for the second community next year, through the same planner the UI uses.
    second = communities[1]
    secretary2 = db.session.scalar(
        select(User).where(User.role == Role.SECRETARY, User.community_id == second.id)
    )
    next_year = now_local.year + 1
    rule = SeriesRule("monthly_nth", 3, 1, 1, time(15, 0), 90, date(next_year, 1, 1), date(next_year, 12, 31))
    starts = [o.start_at for o in plan_series(rule, rooms[second.id].id) if not o.clash and not o.past]
    members2 = {u.id for u in units if u.community_id == second.id and u.status == UnitStatus.ACTIVE}
    create_series(
        rule,
        f"{next_year}年度季度例会",
        MeetingKind.REGULAR,
        second.id,
        rooms[second.id].id,
        members2,
        starts,
        secretary2,
    )
    # The invitations of the street-level meeting wait in the outbox (the demo has no
    # mail server), as they would on an intranet before SMTP is configured.
    from services import mail as mailer

    db.session.flush()
    mailer.queue_meeting_mail(zone, zone.invitations, "publish")


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--password", help="所有演示账号的密码（默认生成一个并保存在 instance/demo_password）")
    def seed_demo_command(password: str | None):
        """Create the demo data and logins (safe to run again)."""
        from flask_migrate import upgrade

        upgrade()
        password = _demo_password(password)
        problem = password_problem(password)
        if problem:
            raise click.BadParameter(problem, param_hint="--password")
        logins = seed_demo(password)
        db.session.commit()
        click.echo(
            f"演示数据已就绪：东大街街道、5 个社区及会议室、{db.session.scalar(select(func.count()).select_from(Unit))} 个驻区单位。"
        )
        click.echo(f"演示账号（密码均为：{password}）")
        for username, role, scope in logins:
            click.echo(f"  {username:<12} {role:<6} {scope}")

    @app.cli.command("remind")
    @click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="按哪一天计算（默认今天）")
    def remind_command(day):
        """Mail the lead units of actions due within 3 days or overdue (run daily)."""
        from services.actions import queue_reminders

        when = day.date() if day else today()
        from common.links import base_url

        base = base_url()
        queued = queue_reminders(when, base)
        db.session.commit()
        from services import mail as mailer

        sent, failed = mailer.deliver_due()
        click.echo(
            f"已生成 {queued} 封提醒邮件；本次发送成功 {sent} 封，失败 {failed} 封（失败的会自动重试）。"
        )

    @app.cli.command("verify-archive")
    def verify_archive_command():
        """Re-hash every archival file of approved minutes and say which digest fails where."""
        from services import archive

        revisions = files = bad = 0
        for revision in db.session.scalars(archive.approved_revisions()):
            revisions += 1
            for check in archive.verify_revision(revision):
                files += 1
                if check.ok:
                    continue
                bad += 1
                if check.missing:
                    click.echo(f"缺少存档文件：{check.where}")
                    continue
                click.echo(f"校验不符：{check.where}，{' 和 '.join(check.failed)} 不符")
                for name, stored, actual in (
                    ("SHA-256", check.rendition.sha256, check.sha256),
                    ("SM3", check.rendition.sm3, check.sm3),
                ):
                    if name in check.failed:
                        click.echo(f"  {name} 记录 {stored or '（空）'}，实际 {actual}")
        click.echo(f"已校验 {revisions} 份签发纪要的 {files} 份存档文件，{bad} 份有问题。")
        if bad:
            raise SystemExit(1)

    @app.cli.command("migrate-archive")
    def migrate_archive_command():
        """Re-render approved minutes whose newest archival PDF fails the font check."""
        from sqlalchemy.exc import IntegrityError

        from models import MinutesError
        from services import archive

        ids = db.session.scalars(archive.approved_revision_ids()).all()
        made = failed = 0
        for revision_id in ids:
            revision = db.session.scalar(
                archive.approved_revisions().where(archive.MinutesRevision.id == revision_id)
            )
            label = f"{revision.minutes.archive_no} 第 {revision.number} 版"
            try:
                rendition = archive.migrate_revision(revision)
                # One commit per revision: a batch of renders is slow, and each finished
                # rendition should stay even if a later one fails.
                db.session.commit()
            except MinutesError as exc:
                db.session.rollback()
                failed += 1
                click.echo(f"未能迁移：{label}：{exc}")
                continue
            except IntegrityError:
                db.session.rollback()
                click.echo(f"跳过：{label}（另一个进程刚为它生成了新的存档文件）")
                continue
            if rendition is not None:
                made += 1
                click.echo(
                    f"已生成：{label} 第 {rendition.number} 份存档文件（据第 {rendition.source_number} 份），"
                    f"SHA-256 {rendition.pdf_sha256}，SM3 {rendition.pdf_sm3}"
                )
        click.echo(f"已检查 {len(ids)} 份签发纪要，新生成 {made} 份存档文件，{failed} 份未能迁移。")
        if failed:
            raise SystemExit(1)

    @app.cli.command("create-user")
    @click.option("--username", prompt="用户名")
    @click.option("--display-name", prompt="姓名")
    @click.option(
        "--role",
        type=click.Choice([r.value for r in Role]),
        default=Role.ADMIN.value,
        show_default=True,
    )
    @click.option("--community", "community_name", help="社区书记所属社区的名称")
    @click.option("--unit", "unit_name", help="单位联络员所属单位的名称")
    @click.option("--email", default="")
    @click.password_option("--password", prompt="密码", confirmation_prompt="再次输入密码")
    def create_user_command(username, display_name, role, community_name, unit_name, email, password):
        """Create a user account (the first admin of a fresh install)."""
        from flask_migrate import upgrade

        upgrade()
        problem = password_problem(password, username)
        if problem:
            raise click.BadParameter(problem, param_hint="--password")
        if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
            raise click.BadParameter("这个用户名已被使用。", param_hint="--username")
        role = Role(role)
        user = User(username=username, display_name=display_name, role=role, email=email, password_hash="")
        if role == Role.SECRETARY:
            community = db.session.scalar(select(Community).where(Community.name == (community_name or "")))
            if community is None:
                raise click.BadParameter("社区书记需要 --community 指定已有社区。", param_hint="--community")
            user.community = community
        if role == Role.LIAISON:
            unit = db.session.scalar(select(Unit).where(Unit.name == (unit_name or "")))
            if unit is None:
                raise click.BadParameter("单位联络员需要 --unit 指定已有单位。", param_hint="--unit")
            user.unit = unit
        set_password(user, password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"已创建用户 {username}（{role.label}）。")
