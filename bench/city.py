"""City scale on PostgreSQL (issue 10, point 9): every list page and dashboard for each role.

    .venv/bin/python bench/city.py --temp-cluster            # everything, one command (~4 min)
    .venv/bin/python bench/city.py --temp-cluster --requests 10 --rounds 2   # quicker, noisier
    .venv/bin/python bench/city.py --temp-cluster --only full --no-http      # one size, no gunicorn
    .venv/bin/python bench/city.py --temp-cluster --build-only --keep-cluster  # a city to explore
    DATABASE_URL=postgresql://user@host/gongjian_bench .venv/bin/python bench/city.py --reset

The data set: 1 city, 5 districts, 50 streets, 250 communities (each with its meeting
room), 1,250 grids, 10,000 units, 20,000 meetings (ten invited units and two agenda items
each), 100,000 actions; besides, 5,000 resources, 10,000 bookings, 10,000 needs and 50,000
audit events; an account for every street (admin, archivist), community (secretary) and unit
(liaison), the system administrator and an observer for each district and the city. Every
street carries the same load, so the 1/10 set (`tenth`: 1 district, 5 streets, 1,000 units, 2,000
meetings, 10,000 actions) differs from the full set in breadth, as a city that grows by streets
does. Both are bulk-inserted (SQLAlchemy's insertmanyvalues) after `flask db upgrade`, then
VACUUM ANALYZE (what autovacuum would have done by the time anyone looks).

The measured logins, all with generate.py's password and cheap hash: sysadmin; admin1,
archivist1, secretary1 (community 1) and the liaison of that community's unit leading most
actions, all in street 1; observer1 (district 1: ten streets; in the 1/10 set the one
district's five) and observer_city (every street).

Each size is built and measured in its own process, through the Flask test client, logged in
through POST /login, after what wsgi.py and gunicorn.conf.py do before serving (every template
compiled, then gc.freeze(); --no-gc-freeze leaves that out): every page below that the role
may open (a 403 or 404 is reported as not allowed), warm-up requests first, then --requests
timed requests per page and role, taken in --rounds rounds that go through every role and page
in turn (so a burst of load from elsewhere spreads over all pages). Per page: median and p95
server time in ms, and the SQL statements per request counted by a before_cursor_execute
listener on the engine (BEGIN and COMMIT excluded; `*` marks a count that varied). The
statement counts at both sizes must be equal. Then, on the full set, gunicorn
(gunicorn.conf.py, wsgi:app, 2 workers) serves every page for every role over HTTP a few times
and each worker's VmRSS (and Pss) is read from /proc.

--temp-cluster makes a throwaway PostgreSQL 15 cluster (as scripts/test.sh does: initdb under
/usr/lib/postgresql/15/bin, run as the postgres user when started by root, 127.0.0.1 on a free
port) and removes it at the end; with DATABASE_URL instead, that database's public schema is
dropped and rebuilt, hence --reset. Results: the table, and bench/out/city.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    OUT,
    PASSWORD,
    ROOT,
    count_queries,
    fresh_schema,
    make_app,
    person_name,
    record_statements,
    unit_names,
)

from common.dates import SHANGHAI  # noqa: E402  (generate put the repository on sys.path)

TARGET_MS = 100.0
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

# The full city; a smaller size multiplies every count but the communities per street and the
# grids per community (1/10: one district of five streets).
FULL = {
    "districts": 5,
    "streets": 50,
    "communities_per_street": 5,
    "grids_per_community": 5,
    "units": 10_000,
    "meetings": 20_000,
    "actions": 100_000,
    "resources": 5_000,
    "bookings": 10_000,
    "needs": 10_000,
    "audit_events": 50_000,
}
SIZES = {"tenth": 0.1, "full": 1.0}

# The measured logins (username -> label); made by build().
ROLES = {
    "sysadmin": "sysadmin",
    "admin1": "street admin",
    "archivist1": "archivist",
    "secretary1": "secretary",
    "{liaison}": "liaison",
    "observer1": "district observer",
    "observer_city": "city observer",
}

# (label, path): every list page and dashboard, and a page 2, a search and a filter.
PAGES = [
    ("dashboard", "/"),
    ("units", "/units"),
    ("units, page 2", "/units?page=2"),
    ("units, search", "/units?q=%E9%93%B6%E8%A1%8C"),  # 银行
    ("meetings", "/meetings"),
    ("meetings, all, page 2", "/meetings?when=all&page=2"),
    ("meeting calendar", "/meetings/calendar"),
    ("actions", "/actions"),
    ("actions, page 2", "/actions?page=2"),
    ("actions, overdue", "/actions?overdue=1"),
    ("resources", "/resources"),
    ("needs", "/needs"),
    ("bookings, all", "/bookings?tab=all"),
    ("stats", "/stats"),
    ("stats rollup", "/stats/rollup"),
    ("points ranking", "/stats/points"),
    ("users", "/admin/users"),
    ("audit log", "/admin/audit"),
]

# --- names -----------------------------------------------------------------------------------

CITY = ("西京市", "西京")
DISTRICTS = ["新城区", "碑林区", "莲湖区", "雁塔区", "未央区"]


def _words(text: str) -> list[str]:
    return text.split()


STREET_WORDS = _words(
    "东大街 青年路 和平里 书院街 丰收园 新华里 钟楼 西关 南门 北苑 东郊 文昌 朝阳 建设路 解放路 人民路 胜利 长乐 "
    "兴庆 太白 含光 永宁 安定 广济 玉祥 德福巷 湘子庙 竹笆市 骡马市 柏树林 长安 曲江 大雁塔 小寨 电子城 丈八 "
    "鱼化寨 枣园 红庙坡 桃园 土门 张家堡 谭家 草滩 六村堡 汉城 未央宫 大明宫 辛家庙 徐家湾"
)
COMMUNITY_WORDS = _words(
    "青年路 和平里 书院街 丰收园 新华里 幸福里 光明 友谊 团结 振兴 育才 劳动 民乐 红星 花园 "
    "金花 银杏 枫林 翠华 锦园 明德 北关 南稍门 西仓 东新"
)
GRID_NAMES = ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格", "第六网格", "第七网格"]
MEETING_TOPICS = [
    "停车难治理协调会",
    "老旧小区加装电梯协调专题会",
    "消防安全联合检查部署会",
    "背街小巷环境整治专题会",
    "为老助餐点建设推进会",
    "垃圾分类推进专题会",
    "社区微更新项目评审会",
    "暑期青少年托管服务专题会",
    "反诈宣传进社区部署会",
]
ACTION_TITLES = [
    "开放单位停车场错时共享",
    "组织志愿者开展楼院清洁",
    "联合开展消防安全演练",
    "为社区老人提供义诊服务",
    "共建社区图书角",
    "对接困难家庭结对帮扶",
    "协助开展垃圾分类宣传",
    "开放会议室供社区使用",
    "开展反诈宣传进楼院",
    "支持社区运动会场地",
]
RESOURCE_TITLES = [
    "多功能厅",
    "会议室",
    "停车场",
    "投影设备",
    "法律咨询",
    "志愿服务队",
    "培训教室",
    "体育场地",
]
NEED_TITLES = ["楼道照明维修", "独居老人陪伴", "儿童课后托管", "社区义诊", "旧衣回收点", "助餐配送志愿者"]


def counts_for(scale: float) -> dict[str, int]:
    """The data set's counts at a scale (the full city at 1)."""
    fixed = ("communities_per_street", "grids_per_community")
    return {k: v if k in fixed else max(1, round(v * scale)) for k, v in FULL.items()}


# --- building --------------------------------------------------------------------------------


def build(scale: float, seed: int = 2026) -> dict[str, Any]:
    """Fill the (empty, migrated) database of the current app with the city at `scale`."""
    import secrets

    from sqlalchemy import insert

    from models import (
        Action,
        ActionStatus,
        ActionTag,
        AgendaItem,
        Attendance,
        AuditEvent,
        Booking,
        BookingStatus,
        City,
        Community,
        District,
        Grid,
        Invitation,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Need,
        NeedStatus,
        Principle,
        Reply,
        Resource,
        ResourceKind,
        Role,
        Room,
        Street,
        Unit,
        UnitCategory,
        UnitStatus,
        UnitStatusChange,
        User,
        Visibility,
        action_co_unit,
        db,
    )
    from services.passwords import hash_password

    n = counts_for(scale)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        print(f"  {name}: {timings[name]} s", file=sys.stderr, flush=True)

    def bulk(model, rows: list[dict[str, Any]], returning: bool = False) -> list[int]:
        if not rows:
            return []
        if returning:
            table = model.__table__ if hasattr(model, "__table__") else model
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(db.session.scalars(stmt, rows))
        db.session.execute(insert(model), rows)
        return []

    # Places: city, districts, streets (split evenly over the districts), communities, grids, rooms.
    city_id = bulk(City, [{"name": CITY[0], "short_name": CITY[1], "position": 1}], returning=True)[0]
    district_ids = bulk(
        District,
        [
            {"city_id": city_id, "name": name, "short_name": name[:2], "position": k}
            for k, name in enumerate(DISTRICTS[: n["districts"]], start=1)
        ],
        returning=True,
    )
    street_rows = [
        {
            "district_id": district_ids[k * len(district_ids) // n["streets"]],
            "name": f"{STREET_WORDS[k]}街道",
            "short_name": STREET_WORDS[k],
            "address": f"{CITY[0]}{STREET_WORDS[k]}路{k + 1}号",
            "position": k + 1,
        }
        for k in range(n["streets"])
    ]
    street_ids = bulk(Street, street_rows, returning=True)
    community_rows = []
    for s, street_id in enumerate(street_ids):
        for c in range(n["communities_per_street"]):
            word = COMMUNITY_WORDS[(s * 3 + c) % len(COMMUNITY_WORDS)]  # names repeat across streets
            community_rows.append(
                {
                    "street_id": street_id,
                    "name": f"{word}社区",
                    "short_name": word,
                    "address": f"{STREET_WORDS[s]}{word}巷{c + 1}号",
                    "position": c + 1,
                }
            )
    community_ids = bulk(Community, community_rows, returning=True)
    community_street = {cid: row["street_id"] for cid, row in zip(community_ids, community_rows, strict=True)}
    communities_of: dict[int, list[int]] = {}
    for cid, sid in community_street.items():
        communities_of.setdefault(sid, []).append(cid)
    grid_rows = [
        {"community_id": cid, "name": GRID_NAMES[g], "short_name": GRID_NAMES[g][1], "position": g + 1}
        for cid in community_ids
        for g in range(n["grids_per_community"])
    ]
    grid_ids = bulk(Grid, grid_rows, returning=True)
    grids_of: dict[int, list[int]] = {}
    for gid, row in zip(grid_ids, grid_rows, strict=True):
        grids_of.setdefault(row["community_id"], []).append(gid)
    room_base = {"capacity": 40, "equipment": "投影仪、音响", "bookable": True, "position": 0}
    community_room = dict(
        zip(
            community_ids,
            bulk(
                Room,
                [
                    {
                        **room_base,
                        "community_id": cid,
                        "street_id": community_street[cid],
                        "unit_id": None,
                        "name": f"{row['short_name']}社区共驻共建会议室",
                        "address": row["address"],
                    }
                    for cid, row in zip(community_ids, community_rows, strict=True)
                ],
                returning=True,
            ),
            strict=True,
        )
    )
    street_room = dict(
        zip(
            street_ids,
            bulk(
                Room,
                [
                    {
                        **room_base,
                        "community_id": None,
                        "street_id": sid,
                        "unit_id": None,
                        "name": f"{row['short_name']}街道党群服务中心报告厅",
                        "address": row["address"],
                    }
                    for sid, row in zip(street_ids, street_rows, strict=True)
                ],
                returning=True,
            ),
            strict=True,
        )
    )
    lap("places")

    # Units: the same number in every community, each in one of its grids, with their history.
    unit_rows, histories = [], []
    all_communities = [cid for sid in street_ids for cid in communities_of[sid]]
    for k, (name, short, category) in enumerate(unit_names(n["units"], rng)):
        cid = all_communities[k % len(all_communities)]
        registered = today - timedelta(days=rng.randint(30, 5 * 365))
        history = [(None, UnitStatus.REGISTERED, registered, "报到登记")]
        roll, status = rng.random(), UnitStatus.REGISTERED
        activated = withdrawn = None
        if roll < 0.8:
            activated = min(registered + timedelta(days=rng.randint(7, 60)), today)
            history.append((UnitStatus.REGISTERED, UnitStatus.ACTIVE, activated, "签订共建协议，转为在册"))
            status = UnitStatus.ACTIVE
            if roll < 0.08:
                withdrawn = min(activated + timedelta(days=rng.randint(30, 400)), today)
                history.append((UnitStatus.ACTIVE, UnitStatus.WITHDRAWN, withdrawn, "单位迁出本街道"))
                status = UnitStatus.WITHDRAWN
        members = rng.choice((0, 1, 3, 5, 12, 35, 120))
        unit_rows.append(
            {
                "street_id": community_street[cid],
                "community_id": cid,
                "grid_id": rng.choice(grids_of[cid]),
                "name": name,
                "short_name": short,
                "category": UnitCategory(category),
                "address": f"{rng.randint(1, 300)} 号",
                "party_org_name": f"{short}党支部" if members >= 3 else "",
                "party_member_count": members,
                "liaison_name": person_name(rng),
                "liaison_phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                "liaison_email": f"liaison{k + 1}@bench.gongjian.local",
                "introduction": f"{name}积极参与社区共驻共建。",
                "status": status,
                "registered_on": registered,
                "activated_on": activated,
                "withdrawn_on": withdrawn,
                "agreement_date": activated,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        histories.append(history)
    unit_ids = bulk(Unit, unit_rows, returning=True)
    bulk(
        UnitStatusChange,
        [
            {
                "unit_id": uid,
                "from_status": f,
                "to_status": t,
                "effective_on": on,
                "reason": why,
                "changed_by_id": None,
                "changed_at": now,
            }
            for uid, history in zip(unit_ids, histories, strict=True)
            for f, t, on, why in history
        ],
    )
    units_of: dict[int, list[int]] = {}
    unit_community: dict[int, int] = {}
    for uid, row in zip(unit_ids, unit_rows, strict=True):
        unit_community[uid] = row["community_id"]
        if row["status"] != UnitStatus.WITHDRAWN:
            units_of.setdefault(row["community_id"], []).append(uid)
    lap("units")

    # Accounts: every street's admin and archivist, every community's secretary, every unit's
    # liaison; the system administrator and the observers. One cheap hash for all.
    pw = hash_password(PASSWORD)
    users: list[dict[str, Any]] = [
        {"username": "sysadmin", "display_name": "市委组织部 系统管理员", "role": Role.SYSADMIN},
        {
            "username": "observer_city",
            "display_name": "市委组织部 基层处",
            "role": Role.OBSERVER,
            "city_id": city_id,
        },
    ]
    for k, did in enumerate(district_ids, start=1):
        users.append(
            {
                "username": f"observer{k}",
                "display_name": f"{DISTRICTS[k - 1]}委组织部",
                "role": Role.OBSERVER,
                "district_id": did,
            }
        )
    for k, sid in enumerate(street_ids, start=1):
        users.append(
            {"username": f"admin{k}", "display_name": person_name(rng), "role": Role.ADMIN, "street_id": sid}
        )
        users.append(
            {
                "username": f"archivist{k}",
                "display_name": person_name(rng),
                "role": Role.ARCHIVIST,
                "street_id": sid,
            }
        )
    for k, cid in enumerate(all_communities, start=1):
        users.append(
            {
                "username": f"secretary{k}",
                "display_name": person_name(rng),
                "role": Role.SECRETARY,
                "community_id": cid,
                "street_id": community_street[cid],
            }
        )
    for k, (uid, row) in enumerate(zip(unit_ids, unit_rows, strict=True), start=1):
        users.append(
            {
                "username": f"liaison{k}",
                "display_name": row["liaison_name"],
                "role": Role.LIAISON,
                "unit_id": uid,
                "street_id": row["street_id"],
                "email": row["liaison_email"],
            }
        )
    for row in users:
        for key in ("community_id", "unit_id", "street_id", "district_id", "city_id"):
            row.setdefault(key, None)
        row.setdefault("email", f"{row['username']}@bench.gongjian.local")
        row.update(password_hash=pw, active=True, session_token=secrets.token_urlsafe(24), created_at=now)
    user_ids = dict(zip((u["username"] for u in users), bulk(User, users, returning=True), strict=True))
    secretary_of = {cid: user_ids[f"secretary{k}"] for k, cid in enumerate(all_communities, start=1)}
    admin_of = {sid: user_ids[f"admin{k}"] for k, sid in enumerate(street_ids, start=1)}
    lap("users")

    # Meetings: the same number in every street, 5 % of them street-level (片区联席会) in the street's
    # hall, the rest in the communities' rooms, one meeting a day at most per room, over five
    # years (four and a half past, half a year ahead).
    first = today - timedelta(days=round(4.5 * 365))
    span = round(5 * 365)
    per_street = n["meetings"] // n["streets"]
    street_level = max(1, per_street // 20)
    plan: list[tuple[int, int | None, int, date]] = []  # (street, community, room, day)
    for sid in street_ids:
        hosts: list[tuple[int | None, int]] = [(None, street_room[sid])] * street_level
        cids = communities_of[sid]
        hosts += [
            (cids[k % len(cids)], community_room[cids[k % len(cids)]])
            for k in range(per_street - street_level)
        ]
        used: dict[int, set[int]] = {}
        for cid, room in hosts:
            taken = used.setdefault(room, set())
            offset = rng.randrange(span)
            while offset in taken:
                offset = rng.randrange(span)
            taken.add(offset)
            plan.append((sid, cid, room, first + timedelta(days=offset)))
    meeting_rows, meeting_info = [], []
    for sid, cid, room, day in plan:
        start = datetime.combine(day, clock(rng.choice((9, 14)), 30), SHANGHAI).astimezone(UTC)
        past = start < now
        roll = rng.random()
        if past:
            status = MeetingStatus.CANCELLED if roll < 0.06 else MeetingStatus.HELD
        else:
            status = (
                MeetingStatus.DRAFT
                if roll < 0.08
                else MeetingStatus.CANCELLED
                if roll < 0.15
                else MeetingStatus.SCHEDULED
            )
        kind = (
            MeetingKind.ZONE if cid is None else (MeetingKind.REGULAR if roll < 0.3 else MeetingKind.SPECIAL)
        )
        title = (
            f"{day.year}年{day.month}月片区联席会"
            if cid is None
            else f"{day.year}年{day.month}月联席例会"
            if kind == MeetingKind.REGULAR
            else rng.choice(MEETING_TOPICS)
        )
        creator = admin_of[sid] if cid is None else secretary_of[cid]
        meeting_rows.append(
            {
                "street_id": sid,
                "community_id": cid,
                "kind": kind,
                "title": title,
                "description": "驻区单位共同研究共建事项。",
                "start_at": start,
                "end_at": start + timedelta(hours=2),
                "room_id": room,
                "status": status,
                "cancel_reason": "时间冲突，另行通知。" if status == MeetingStatus.CANCELLED else "",
                "published_at": None if status == MeetingStatus.DRAFT else start - timedelta(days=7),
                "cancelled_at": start - timedelta(days=1) if status == MeetingStatus.CANCELLED else None,
                "held_at": start + timedelta(hours=2) if status == MeetingStatus.HELD else None,
                "topic_deadline": start - timedelta(days=3),
                "uid": f"{uuid.UUID(int=rng.getrandbits(128))}@gongjian",
                "sequence": 0,
                "series_id": None,
                "created_by_id": creator,
                "created_at": start - timedelta(days=10),
                "updated_at": start - timedelta(days=7),
                "version": 1,
                "ics_rev": 1,
                "ics_changed_at": start - timedelta(days=7),
                "ics_cache": None,
                "ics_cache_rev": 0,
            }
        )
        meeting_info.append((sid, cid, day, status))
    meeting_ids = bulk(Meeting, meeting_rows, returning=True)
    lap("meetings")

    street_units = {
        sid: [u for cid in communities_of[sid] for u in units_of.get(cid, [])] for sid in street_ids
    }
    invitations, agenda, invited_of = [], [], {}
    replies = [Reply.ACCEPT] * 7 + [Reply.DECLINE, Reply.DELEGATE, Reply.PENDING]
    marks = [Attendance.PRESENT] * 8 + [Attendance.ABSENT_LEAVE, Attendance.ABSENT_NO_LEAVE]
    for mid, (sid, cid, _day, status) in zip(meeting_ids, meeting_info, strict=True):
        pool = units_of[cid] if cid is not None else street_units[sid]
        invited = rng.sample(pool, min(10, len(pool)))
        invited_of[mid] = invited
        for uid in invited:
            held = status == MeetingStatus.HELD
            reply = (
                Reply.PENDING
                if status == MeetingStatus.DRAFT or (not held and rng.random() < 0.5)
                else rng.choice(replies)
            )
            invitations.append(
                {
                    "meeting_id": mid,
                    "unit_id": uid,
                    "reply": reply,
                    "reply_reason": "另有公务。" if reply == Reply.DECLINE else "",
                    "delegate_name": "",
                    "delegate_post": "",
                    "replied_at": None,
                    "replied_by_id": None,
                    "attendance": rng.choice(marks) if held else Attendance.UNKNOWN,
                    "by_delegate": False,
                    "attendance_at": None,
                    "attendance_by_id": None,
                }
            )
        for position in (1, 2):
            agenda.append(
                {
                    "meeting_id": mid,
                    "position": position,
                    "title": "通报上期议定事项进展" if position == 1 else "研究本期共建事项",
                    "presenter_unit_id": invited[position - 1],
                    "minutes": 30,
                    "topic_id": None,
                    "is_followup": False,
                }
            )
    bulk(Invitation, invitations)
    bulk(AgendaItem, agenda)
    lap("invitations and agenda")

    # Actions: spread evenly over the held meetings, led by invited units.
    held = [
        (mid, info)
        for mid, info in zip(meeting_ids, meeting_info, strict=True)
        if info[3] == MeetingStatus.HELD
    ]
    action_rows, extras = [], []
    principles = list(Principle)
    for k in range(n["actions"]):
        mid, (sid, cid, day, _status) = held[k % len(held)]
        invited = invited_of[mid]
        due = day + timedelta(days=rng.randint(14, 240))
        roll = rng.random()
        if due < today:
            status = (
                ActionStatus.DONE
                if roll < 0.6
                else ActionStatus.IN_PROGRESS
                if roll < 0.8
                else ActionStatus.OPEN
            )
        else:
            status = (
                ActionStatus.DONE
                if roll < 0.1
                else ActionStatus.IN_PROGRESS
                if roll < 0.5
                else ActionStatus.OPEN
            )
        done_on = (
            min(due - timedelta(days=rng.randint(0, 10)), today) if status == ActionStatus.DONE else None
        )
        lead = rng.choice(invited)
        action_rows.append(
            {
                "meeting_id": mid,
                "street_id": sid,
                "community_id": cid,
                "title": rng.choice(ACTION_TITLES),
                "detail": "",
                "lead_unit_id": lead,
                "due_on": due,
                "status": status,
                "result": "已按期完成。" if done_on else "",
                "done_on": done_on,
                "done_at": datetime.combine(done_on, clock(10), SHANGHAI) if done_on else None,
                "done_by_id": None,
                "position": k // len(held) + 1,
                "reminded_on": None,
                "resource_id": None,
                "need_id": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        co = rng.sample([u for u in invited if u != lead], k=rng.choice((0, 1, 1, 2)))
        extras.append((co, rng.sample(principles, k=rng.choice((1, 1, 2)))))
    action_ids = bulk(Action, action_rows, returning=True)
    bulk(
        action_co_unit,
        [{"action_id": a, "unit_id": u} for a, (co, _) in zip(action_ids, extras, strict=True) for u in co],
    )
    bulk(
        ActionTag,
        [
            {"action_id": a, "principle": p}
            for a, (_, tags) in zip(action_ids, extras, strict=True)
            for p in tags
        ],
    )
    lap("actions")

    # Resources (owned by units, one in fifty by a community), bookings, needs.
    kinds = list(ResourceKind)
    all_units = [u for us in units_of.values() for u in us]
    resource_rows = []
    for k in range(n["resources"]):
        kind = kinds[k % len(kinds)]
        uid = all_units[rng.randrange(len(all_units))]
        cid = unit_community[uid]
        by_community = k % 50 == 0
        resource_rows.append(
            {
                "street_id": community_street[cid],
                "owner_unit_id": None if by_community else uid,
                "owner_community_id": cid if by_community else None,
                "community_id": cid,
                "kind": kind,
                "title": rng.choice(RESOURCE_TITLES),
                "description": "面向辖区共建单位开放。",
                "capacity": 60 if kind == ResourceKind.VENUE else None,
                "visibility": Visibility.ALL if rng.random() < 0.7 else Visibility.COMMUNITY,
                "bookable": kind in (ResourceKind.VENUE, ResourceKind.EQUIPMENT),
                "active": rng.random() > 0.05,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    resource_ids = bulk(Resource, resource_rows, returning=True)
    bookable = [
        (rid, row)
        for rid, row in zip(resource_ids, resource_rows, strict=True)
        if row["bookable"] and row["active"]
    ]
    statuses = list(BookingStatus)
    booking_rows = []
    for i in range(n["bookings"]):
        rid, row = bookable[i % len(bookable)]
        requester = rng.choice(units_of[row["community_id"]])
        # Each resource's bookings on days of their own, so approved ones never overlap.
        start = now + timedelta(days=(i // len(bookable)) * 3 - 60, hours=rng.randrange(8))
        booking_rows.append(
            {
                "resource_id": rid,
                "room_id": None,
                "requester_unit_id": requester,
                "requester_community_id": None,
                "requested_by_id": None,
                "start_at": start,
                "end_at": start + timedelta(hours=2),
                "purpose": "开展共建活动",
                "status": statuses[i % len(statuses)],
                "decline_reason": "",
                "created_at": now,
            }
        )
    bulk(Booking, booking_rows)
    need_rows = []
    need_states = [NeedStatus.FULFILLED] * 4 + [
        NeedStatus.OPEN,
        NeedStatus.OPEN,
        NeedStatus.CLAIMED,
        NeedStatus.IN_PROGRESS,
        NeedStatus.WITHDRAWN,
    ]
    for i in range(n["needs"]):
        cid = all_communities[i % len(all_communities)]
        status = rng.choice(need_states)
        created = now - timedelta(days=rng.uniform(0, 4 * 365))
        need_rows.append(
            {
                "street_id": community_street[cid],
                "community_id": cid,
                "kind": rng.choice(kinds),
                "is_wish": rng.random() < 0.4,
                "title": rng.choice(NEED_TITLES),
                "description": "",
                "status": status,
                "claimed_unit_id": None
                if status in (NeedStatus.OPEN, NeedStatus.WITHDRAWN)
                else rng.choice(units_of[cid]),
                "posted_by_id": secretary_of[cid],
                "fulfilled_at": created + timedelta(days=20) if status == NeedStatus.FULFILLED else None,
                "last_activity_at": created,
                "created_at": created,
                "updated_at": created,
                "version": 1,
            }
        )
    bulk(Need, need_rows)
    lap("resources, bookings, needs")

    # The audit log: mostly street events by its admins and secretaries, some above any street.
    staff = [(sid, admin_of[sid]) for sid in street_ids] + [
        (community_street[cid], uid) for cid, uid in secretary_of.items()
    ]
    audit_rows = []
    for i in range(n["audit_events"]):
        sid, actor = rng.choice(staff)
        above = i % 20 == 0
        object_type = rng.choice(("unit", "meeting", "action", "need", "resource"))
        audit_rows.append(
            {
                "at": now - timedelta(minutes=rng.uniform(0, 2 * 365 * 24 * 60)),
                "actor_id": user_ids["sysadmin"] if above else actor,
                "actor_name": "sysadmin" if above else "",
                "street_id": None if above else sid,
                "action": rng.choice(("create", "update", "update", "status")),
                "object_type": object_type,
                "object_id": rng.randint(1, 1000),
                "summary": "修改了共建事项",
                "changes": {"status": ["open", "in_progress"]},
                "ip": "10.0.0.1",
                "path": "/",
            }
        )
    bulk(AuditEvent, audit_rows)
    db.session.commit()
    lap("audit log")

    # The measured liaison: of community 1, the unit leading the most actions.
    c1 = all_communities[0]
    leads = Counter(r["lead_unit_id"] for r in action_rows if r["community_id"] == c1)
    unit = max(units_of[c1], key=lambda u: leads[u])
    liaison = f"liaison{unit_ids.index(unit) + 1}"
    return {
        "scale": scale,
        "counts": {
            "cities": 1,
            "districts": len(district_ids),
            "streets": len(street_ids),
            "communities": len(community_ids),
            "grids": len(grid_ids),
            "rooms": len(community_room) + len(street_room),
            "units": len(unit_ids),
            "users": len(users),
            "meetings": len(meeting_ids),
            "invitations": len(invitations),
            "agenda_items": len(agenda),
            "actions": len(action_ids),
            "resources": len(resource_ids),
            "bookings": len(booking_rows),
            "needs": len(need_rows),
            "audit_events": len(audit_rows),
        },
        "liaison": liaison,
        "build_s": timings,
    }


def vacuum_analyze(app) -> None:
    """VACUUM ANALYZE the whole database (outside a transaction), as autovacuum would."""
    from sqlalchemy import text

    from models import db

    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


# --- measuring -------------------------------------------------------------------------------


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def logins(liaison: str) -> dict[str, str]:
    return {(liaison if u == "{liaison}" else u): label for u, label in ROLES.items()}


def serve_like_gunicorn(app) -> None:
    """What wsgi.py and gunicorn.conf.py do before the first request: compile every template,
    then freeze what is loaded out of the cyclic garbage collector's reach. Without it, each
    full collection walks the app's 200,000 objects (120-250 ms on this machine), and on the
    pages that allocate most it falls within one request in six or so."""
    import gc

    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    gc.collect()
    gc.freeze()


def measure(
    app, liaison: str, requests: int, rounds: int, warmup: int, freeze: bool = True
) -> list[dict[str, Any]]:
    """Every page for every role through the test client: times and statement counts."""
    if freeze:
        serve_like_gunicorn(app)
    statements = record_statements(app)
    clients = {}
    for username in logins(liaison):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": PASSWORD})
        if resp.status_code != 302:
            raise SystemExit(f"login as {username} failed: {resp.status_code}")
        clients[username] = client

    # Which pages each role may open, and the warm-up.
    allowed: dict[tuple[str, str], int] = {}
    for username, client in clients.items():
        for _label, path in PAGES:
            status = client.get(path).status_code
            allowed[(username, path)] = status
            if status == 200:
                for _ in range(warmup - 1):
                    client.get(path)
    times: dict[tuple[str, str], list[float]] = {k: [] for k, s in allowed.items() if s == 200}
    queries: dict[tuple[str, str], list[int]] = {k: [] for k in times}
    sizes: dict[tuple[str, str], int] = {}
    per_round = max(1, requests // rounds)
    for r in range(rounds):
        print(f"  round {r + 1} of {rounds}", file=sys.stderr, flush=True)
        for username, client in clients.items():
            for _label, path in PAGES:
                if (username, path) not in times:
                    continue
                for _ in range(per_round):
                    statements.clear()
                    t0 = time.perf_counter()
                    resp = client.get(path)
                    times[(username, path)].append((time.perf_counter() - t0) * 1000)
                    if resp.status_code != 200:
                        raise SystemExit(f"GET {path} as {username}: {resp.status_code}")
                    queries[(username, path)].append(count_queries(statements))
                    sizes[(username, path)] = len(resp.data)
    results = []
    for username, role in logins(liaison).items():
        for label, path in PAGES:
            key = (username, path)
            row: dict[str, Any] = {"page": label, "path": path, "role": role, "user": username}
            if key in times:
                row |= {
                    "requests": len(times[key]),
                    **_percentiles(times[key]),
                    "queries": max(queries[key]),
                    "queries_varied": len(set(queries[key])) > 1,
                    "kib": round(sizes[key] / 1024, 1),
                }
            else:
                row["status"] = allowed[key]
            results.append(row)
    return results


def run_child(
    size: str, requests: int, rounds: int, warmup: int, build_only: bool, freeze: bool = True
) -> dict[str, Any]:
    """Build the city at one size in this process, then measure it."""
    url = os.environ["DATABASE_URL"]
    app = make_app(url)
    t0 = time.perf_counter()
    fresh_schema(app)
    with app.app_context():
        from models import db

        built = build(SIZES[size])
        db.session.remove()
    vacuum_analyze(app)
    built["build_total_s"] = round(time.perf_counter() - t0, 1)
    print(f"  built {size} in {built['build_total_s']} s", file=sys.stderr, flush=True)
    with app.app_context():
        from sqlalchemy import text

        from models import db

        built["database_size"] = db.session.scalar(
            text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        )
        db.session.remove()
    out = {"size": size, **built}
    if not build_only:
        out["results"] = measure(app, built["liaison"], requests, rounds, warmup, freeze)
        out["gc_frozen"] = freeze
        out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_in_subprocess(size: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        size,
        "--requests",
        str(args.requests),
        "--rounds",
        str(args.rounds),
        "--warmup",
        str(args.warmup),
    ]
    if args.build_only:
        cmd.append("--build-only")
    if args.no_gc_freeze:
        cmd.append("--no-gc-freeze")
    env = {**os.environ, "DATABASE_URL": url}
    print(f"{size}: building and measuring ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the {size} run failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- memory per worker under gunicorn -----------------------------------------------------------


def _proc_kib(pid: int, field: str, name: str = "status") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return sorted(kids)


def worker_memory(url: str, liaison: str, workers: int, repeat: int) -> dict[str, Any]:
    """gunicorn with gunicorn.conf.py on the city: each worker's memory before and after every
    page has been served `repeat` times to every role over HTTP."""
    from http_load import Server, log_in, request

    def snapshot(master: int) -> dict[str, Any]:
        kids = _children(master)
        return {
            "master_rss_mib": round((_proc_kib(master, "VmRSS") or 0) / 1024, 1),
            "workers": [
                {
                    "pid": pid,
                    "rss_mib": round((_proc_kib(pid, "VmRSS") or 0) / 1024, 1),
                    "hwm_mib": round((_proc_kib(pid, "VmHWM") or 0) / 1024, 1),
                    "pss_mib": round((_proc_kib(pid, "Pss", "smaps_rollup") or 0) / 1024, 1),
                }
                for pid in kids
            ],
        }

    instance = OUT / "city-instance"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "GUNICORN_BIND", "WEB_CONCURRENCY")}
    env |= {"GONGJIAN_INSTANCE_PATH": str(instance), "DATABASE_URL": url, "GUNICORN_LOGLEVEL": "warning"}
    server = Server("city", "wsgi:app", env)
    try:
        server.start(workers)
        server.wait_ready("/login")
        time.sleep(1)
        before = snapshot(server.proc.pid)
        served = Counter()
        cookies = {username: log_in(server.port, username) for username in logins(liaison)}
        for _ in range(repeat):
            for jar in cookies.values():
                for _label, path in PAGES:
                    status, _, _ = request(server.port, "GET", path, dict(jar))
                    served[status] += 1
        time.sleep(0.5)
        after = snapshot(server.proc.pid)
    finally:
        server.stop()
    return {
        "workers": workers,
        "requests": sum(served.values()),
        "statuses": dict(served),
        "before": before,
        "after": after,
    }


# --- a throwaway cluster --------------------------------------------------------------------------


@contextmanager
def temp_cluster(keep: bool = False):
    """A PostgreSQL 15 cluster in a temporary directory, as scripts/test.sh makes one; yields its URL."""
    from http_load import free_port

    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"PostgreSQL 15 not found in {PG_BIN} (apt-get install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="gongjian-city-pg."))
    as_pg: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: the cluster belongs to the postgres user
        shutil.chown(tmp, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    data = tmp / "data"
    subprocess.run(
        [
            *as_pg,
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    # Durability is not needed for a benchmark; the planner and memory settings stay at their defaults.
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={tmp} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [
            *as_pg,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(tmp / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
            "-o",
            options,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        subprocess.run(
            [
                *as_pg,
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "gongjian_city",
            ],
            check=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/gongjian_city"
    finally:
        if keep:
            print(
                f"the cluster is still running: DATABASE_URL=postgresql://postgres@127.0.0.1:{port}/gongjian_city\n"
                f"stop and remove it with: {' '.join(as_pg)} {PG_BIN / 'pg_ctl'} -D {data} -m fast stop && rm -rf {tmp}",
                file=sys.stderr,
            )
        else:
            subprocess.run(
                [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            shutil.rmtree(tmp, ignore_errors=True)


# --- the report ----------------------------------------------------------------------------------


def report(runs: dict[str, dict[str, Any]], memory: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The table, and what was met."""
    sizes = [s for s in ("tenth", "full") if s in runs and "results" in runs[s]]
    lines = []
    for s in sizes:
        c = runs[s]["counts"]
        lines.append(
            f"{s}: {c['streets']} streets, {c['communities']} communities, {c['units']} units, "
            f"{c['meetings']} meetings, {c['actions']} actions, {c['users']} users; "
            f"built in {runs[s]['build_total_s']} s; {runs[s]['database_size']}; "
            f"test-client process peak RSS {runs[s]['peak_rss_mib']} MiB"
        )
    head = f"{'page':<22} {'role':<18}"
    sub = f"{'':<22} {'':<18}"
    for s in sizes:
        head += f" | {s:^29}"
        sub += f" | {'median':>7} {'p95':>7} {'SQL':>5} {'KiB':>6}"
    lines += ["", head, sub, "-" * len(sub)]
    index = {s: {(r["role"], r["path"]): r for r in runs[s]["results"]} for s in sizes}
    over, grew, varied = [], [], []
    base = runs[sizes[0]]["results"] if sizes else []
    for r in base:
        key = (r["role"], r["path"])
        line = f"{r['page']:<22} {r['role']:<18}"
        for s in sizes:
            x = index[s].get(key)
            if x is None or "requests" not in x:
                status = x["status"] if x else "?"
                line += f" | {'(' + str(status) + ')':>29}"
                continue
            sql = f"{x['queries']}{'*' if x['queries_varied'] else ''}"
            line += f" | {x['median_ms']:>7.1f} {x['p95_ms']:>7.1f} {sql:>5} {x['kib']:>6.0f}"
            if s == "full" and x["p95_ms"] >= TARGET_MS:
                over.append(f"{r['page']} ({r['role']}): p95 {x['p95_ms']} ms")
            if x["queries_varied"]:
                varied.append(f"{r['page']} ({r['role']}, {s})")
        lines.append(line)
    if len(sizes) == 2:
        by_role = {}
        for s in sizes:
            for r in runs[s]["results"]:
                by_role.setdefault((r["role"], r["path"]), {})[s] = r.get("queries")
        for (role, path), q in by_role.items():
            if q.get("tenth") != q.get("full"):
                grew.append(f"{path} ({role}): {q.get('tenth')} -> {q.get('full')}")
    lines.append("")
    lines.append("(403)/(404): the role may not open the page. KiB: the size of the page's HTML.")
    if "full" in sizes:
        lines.append(
            f"p95 < {TARGET_MS:.0f} ms on every page for every role (full city): "
            + ("met" if not over else "NOT met: " + "; ".join(over))
        )
    if len(sizes) == 2:
        lines.append(
            "same statement count at both sizes: " + ("met" if not grew else "NOT met: " + "; ".join(grew))
        )
    if varied:
        lines.append("counts that varied between requests: " + "; ".join(varied))
    if memory:
        lines.append("")
        lines.append(
            f"gunicorn (gunicorn.conf.py, wsgi:app, {memory['workers']} workers, preloaded) on the full city, "
            f"{memory['requests']} requests over HTTP ({memory['statuses']}):"
        )
        lines.append(f"  master: RSS {memory['after']['master_rss_mib']} MiB")
        for b, a in zip(memory["before"]["workers"], memory["after"]["workers"], strict=False):
            lines.append(
                f"  worker {a['pid']}: RSS {b['rss_mib']} MiB idle -> {a['rss_mib']} MiB after (peak {a['hwm_mib']}), "
                f"PSS {b['pss_mib']} -> {a['pss_mib']} MiB"
            )
    summary = {"over_target": over, "counts_grew": grew, "counts_varied": varied}
    return "\n".join(lines), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=30, help="timed requests per page and role (default 30)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds the requests are split into (default 5)"
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="warm-up requests per page and role (default 3)"
    )
    parser.add_argument("--only", choices=list(SIZES), help="one size")
    parser.add_argument("--build-only", action="store_true", help="build the data set(s), measure nothing")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn memory measurement")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="measure without gc.freeze() after start-up (gunicorn.conf.py freezes the preloaded app)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--http-repeat", type=int, default=3, help="times each page is fetched over HTTP per role"
    )
    parser.add_argument(
        "--temp-cluster", action="store_true", help="run on a throwaway PostgreSQL 15 cluster"
    )
    parser.add_argument(
        "--keep-cluster", action="store_true", help="leave the throwaway cluster running at the end"
    )
    parser.add_argument("--reset", action="store_true", help="confirm dropping DATABASE_URL's public schema")
    parser.add_argument("--child", choices=list(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        out = run_child(
            args.child, args.requests, args.rounds, args.warmup, args.build_only, not args.no_gc_freeze
        )
        print(json.dumps(out, ensure_ascii=False))
        return 0

    if not args.temp_cluster:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgresql", "postgres:")):
            parser.error("this benchmark runs on PostgreSQL: pass --temp-cluster, or set DATABASE_URL")
        if not args.reset:
            parser.error(
                "DATABASE_URL is set: the benchmark drops that database's public schema. Pass --reset to confirm."
            )

    sizes = [args.only] if args.only else ["tenth", "full"]
    load_before = os.getloadavg()
    started = time.perf_counter()

    def run(url: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        runs = {size: run_in_subprocess(size, url, args) for size in sizes}
        memory = None
        if not args.build_only and not args.no_http and sizes[-1] == "full":
            print("gunicorn: memory per worker ...", file=sys.stderr, flush=True)
            memory = worker_memory(url, runs["full"]["liaison"], args.workers, args.http_repeat)
        return runs, memory

    if args.temp_cluster:
        with temp_cluster(keep=args.keep_cluster) as url:
            runs, memory = run(url)
    else:
        runs, memory = run(os.environ["DATABASE_URL"])
    if args.build_only:
        for size, r in runs.items():
            print(
                f"{size}: {r['counts']} in {r['build_total_s']} s ({r['database_size']}); liaison {r['liaison']}"
            )
        return 0
    table, summary = report(runs, memory)
    load_after = os.getloadavg()
    header = (
        f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL 15; "
        f"load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end; "
        f"{args.requests} requests per page and role in {args.rounds} rounds; "
        f"{round(time.perf_counter() - started)} s in all"
    )
    print(header)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "city.json").write_text(
        json.dumps(
            {
                "machine": header,
                "load_average": {"start": load_before, "end": load_after},
                "target_ms": TARGET_MS,
                "runs": runs,
                "memory": memory,
                **summary,
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    )
    return 0 if not (summary["over_target"] or summary["counts_grew"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
