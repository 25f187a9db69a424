"""Demo needs and 微心愿 in every state, with their stories, and resource matches (seed-demo)."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import (
    Community,
    MatchStatus,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    Resource,
    ResourceKind,
    Role,
    Street,
    Unit,
    UnitStatus,
    User,
    db,
)
from models.base import today
from services import needs as svc
from services.actions import store_attachment

K = ResourceKind
# community index (1-based), wish?, kind, title, description, people served, wanted in days,
# resident (name, phone) for wishes, and the story: (state, unit index, days ago, texts).
NEEDS = [
    (
        1,
        True,
        K.FUNDS,
        "独居的刘奶奶想要一台老年收音机",
        "刘奶奶今年 86 岁，视力不好，想每天听听戏曲和新闻。",
        1,
        30,
        ("刘秀珍", "010-6521 3301"),
        ("open",),
    ),
    (
        1,
        False,
        K.TRAINING,
        "暑期青少年托管班需要英语辅导志愿者",
        "七月至八月每周二、四下午，约 25 名小学生。",
        25,
        45,
        None,
        ("claimed", 1, 2),
    ),
    (
        1,
        True,
        K.VOLUNTEER,
        "视障老人王大爷希望每周有人来读报",
        "王大爷双目失明，独居，希望有人每周读报聊天一次。",
        1,
        None,
        ("王德顺", "010-6521 4412"),
        ("in_progress", 2, 40, ["已安排两名党员护士结对，每周三下午上门。"], 21),
    ),
    (
        1,
        False,
        K.EQUIPMENT,
        "青年路 7 号院老旧楼道灯更换",
        "7 号院 3 个单元共 36 盏楼道灯损坏，居民夜间出行不便。",
        120,
        None,
        None,
        (
            "fulfilled",
            5,
            60,
            ["已采购声控 LED 灯 40 盏。"],
            "36 盏楼道灯全部更换为声控 LED 灯，居民反映良好。",
        ),
    ),
    (
        1,
        False,
        K.VENUE,
        "社区议事会周末需要临时活动场地",
        "社区议事厅装修期间，议事会每月需借用场地一次。",
        30,
        None,
        None,
        ("withdrawn", "议事厅已提前完成装修，无需借用。"),
    ),
    (
        2,
        False,
        K.TRAINING,
        "老年人防范电信诈骗知识讲座",
        "辖区 60 岁以上老人约 800 人，希望开展两场防诈骗讲座。",
        80,
        40,
        None,
        ("open",),
    ),
    (
        2,
        True,
        K.FUNDS,
        "留守儿童小雨想要一套课外读物",
        "小雨读四年级，父母在外地打工，由奶奶照看。",
        1,
        None,
        ("赵小雨（奶奶赵桂芝代）", "139 1102 3345"),
        ("fulfilled", 8, 50, [], "区图书馆赠送少儿读物 30 册并为小雨办理了借阅证。"),
    ),
    (
        2,
        False,
        K.VOLUNTEER,
        "冬季独居老人家庭用电安全检查",
        "和平里 42 户独居老人，入冬前检查线路和电器。",
        42,
        20,
        None,
        ("in_progress", 7, 10, ["已完成 18 户检查，更换老化插座 6 个。"], 2),
    ),
    (
        2,
        True,
        K.EQUIPMENT,
        "卫阿姨家的轮椅坏了需要维修",
        "轮椅刹车失灵、右轮松动，卫阿姨行动不便。",
        1,
        15,
        ("卫淑芬", "138 0110 2231"),
        ("released", 12, 11, "乐龄养老暂无维修师傅，请其他单位帮助。", 10),
    ),
    (
        3,
        False,
        K.EXPERTISE,
        "书院街社区居民健康义诊",
        "每季度一次，血压血糖测量、中医咨询。",
        200,
        25,
        None,
        ("in_progress", 14, 8, ["首场义诊已于社区广场举办，服务居民 86 人。"], 3),
    ),
    (
        3,
        True,
        K.TRAINING,
        "高三学生小杰希望有老师辅导数学",
        "小杰家庭困难，希望周末有老师辅导数学。",
        1,
        60,
        ("孙杰（母亲孙丽代）", "137 0101 6678"),
        ("open",),
    ),
    (
        3,
        False,
        K.EXPERTISE,
        "法律咨询进社区",
        "居民关心的赡养、物业纠纷等问题，每月一次现场咨询。",
        150,
        None,
        None,
        ("fulfilled", 16, 90, ["已开展两次现场咨询。"], "全年开展 6 次法律咨询，解答问题 73 个。"),
    ),
    (
        3,
        True,
        K.VOLUNTEER,
        "张阿姨希望有人帮忙修剪院子里的树枝",
        "树枝遮挡窗户，影响采光。",
        1,
        None,
        ("张玉梅", "010-6530 1187"),
        ("withdrawn", "物业已安排修剪，居民撤回心愿。"),
    ),
    (
        4,
        False,
        K.VENUE,
        "消防安全演练需要开阔场地",
        "丰收园小区计划组织居民消防演练，约 150 人参加。",
        150,
        35,
        None,
        ("open",),
    ),
    (
        4,
        True,
        K.TRAINING,
        "空巢老人李爷爷想学用智能手机",
        "李爷爷想学会视频通话、扫码乘车和网上挂号。",
        1,
        None,
        ("李永福", "010-6540 2256"),
        ("in_progress", 22, 35, ["已上门教学两次，学会了视频通话。"], 18),
    ),
    (
        4,
        False,
        K.VOLUNTEER,
        "小区垃圾分类宣传志愿者",
        "早晚高峰在 8 个投放点值守宣传，需要志愿者 16 名。",
        500,
        30,
        None,
        ("claimed", 24, 1),
    ),
    (
        5,
        False,
        K.FUNDS,
        "社区图书角需要书架和桌椅",
        "新华里社区图书角新址 40 平方米，缺书架 4 个、桌椅 6 套。",
        300,
        50,
        None,
        ("open",),
    ),
    (
        5,
        True,
        K.FUNDS,
        "环卫工人冬季想要一个热饮歇脚点",
        "新华里片区 12 名环卫工人冬季早班没有地方喝口热水。",
        12,
        None,
        ("环卫班组长 陈师傅", "135 0102 7789"),
        ("fulfilled", 26, 30, [], "农商行新华里支行开辟“爱心驿站”，提供热水和微波炉。"),
    ),
    (
        5,
        False,
        K.VENUE,
        "老年大学书法班需要教室",
        "书法班 30 名学员，每周一上午上课。",
        30,
        None,
        None,
        ("withdrawn", "老年大学已协调到自有教室。"),
    ),
    (
        5,
        True,
        K.EXPERTISE,
        "行动不便的周大爷想请医生上门看看",
        "周大爷患糖尿病多年，最近腿脚浮肿。",
        1,
        10,
        ("周建民", "010-6550 3345"),
        ("claimed", 25, 3),
    ),
]


def _png(width: int = 64, height: int = 48, rgb=(200, 60, 50)) -> bytes:
    """A small solid-colour PNG (a stand-in for a photo taken on site)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def seed(street: Street, communities: list[Community], units: list[Unit]) -> None:
    """Create the demo needs, their claims and updates, and matches with seeded resources (idempotent)."""
    if db.session.scalar(select(Need.id).where(Need.street_id == street.id).limit(1)):
        return
    secretaries = {
        u.community_id: u
        for u in db.session.scalars(select(User).where(User.role == Role.SECRETARY).order_by(User.id))
    }
    liaisons = {
        u.unit_id: u
        for u in db.session.scalars(select(User).where(User.role == Role.LIAISON).order_by(User.id))
    }
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))

    def liaison_of(index: int) -> tuple[Unit | None, User | None]:
        unit = units[index - 1] if index <= len(units) else None
        return unit, liaisons.get(unit.id) if unit else None

    for c_index, wish, kind, title, description, served, wanted_in, resident, story in NEEDS:
        if c_index > len(communities):
            continue
        community = communities[c_index - 1]
        secretary = secretaries.get(community.id) or admin
        state = story[0]
        posted_days = {"open": 6, "claimed": 9}.get(state, 70 if state == "fulfilled" else 45)
        need = svc.post_need(
            community,
            {
                "kind": kind,
                "is_wish": wish,
                "title": title,
                "description": description,
                "people_served": served,
                "wanted_by": today() + timedelta(days=wanted_in) if wanted_in else None,
                "resident_name": resident[0] if resident else "",
                "resident_phone": resident[1] if resident else "",
            },
            secretary,
        )
        need.created_at = _ago(posted_days)
        need.last_activity_at = need.created_at
        if state == "withdrawn":
            svc.withdraw(need, secretary, story[1])
            continue
        if state == "open":
            continue
        unit, liaison = liaison_of(story[1])
        if unit is None or unit.status == UnitStatus.WITHDRAWN or liaison is None:
            continue
        svc.claim(need, unit, liaison)
        claimed_days = story[2]
        need.claimed_at = _ago(claimed_days)
        need.updates[-1].on = need.claimed_at.date()
        if state == "released":
            reason, again_days = story[3], story[4]
            released_on = (need.claimed_at + timedelta(days=1)).date()
            svc.release_claim(need, secretary, reason)
            need.updates[-1].on = released_on
            # Another unit has claimed it since; the secretary has still to confirm.
            other, other_liaison = liaison_of(9)
            if other is not None and other_liaison is not None:
                svc.claim(need, other, other_liaison)
                need.claimed_at = _ago(again_days)
                need.updates[-1].on = need.claimed_at.date()
            need.last_activity_at = need.claimed_at or _ago(again_days)
            continue
        if state == "claimed":
            need.last_activity_at = need.claimed_at
            continue
        svc.confirm_claim(need, secretary)
        need.claim_confirmed_at = need.claimed_at + timedelta(days=1)
        need.updates[-1].on = need.claim_confirmed_at.date()
        texts = story[3]
        last_days = story[4] if state == "in_progress" else max(1, claimed_days // 3)
        steps = len(texts) + (state == "fulfilled")
        for n, text in enumerate(texts, start=1):
            day = claimed_days - (claimed_days - last_days) * n // max(1, steps)
            svc.report_progress(need, liaison, (_ago(day)).date(), text, [])
        if state == "in_progress":
            need.last_activity_at = _ago(last_days)
            continue
        photo = store_attachment("现场照片.png", _png(), liaison)
        svc.fulfil(need, liaison, _ago(last_days).date(), story[4], [photo])
        need.fulfilled_at = _ago(last_days)
        need.last_activity_at = need.fulfilled_at
    db.session.flush()
    _seed_matches(street, secretaries, liaisons, admin)


def _seed_matches(street: Street, secretaries: dict, liaisons: dict, admin: User | None) -> None:
    """Propose seeded resources to open and running needs: one waiting, one declined, one accepted
    (turned into an action where the community has a meeting). Nothing if there are no resources."""
    if not db.session.scalar(select(Resource.id).where(Resource.street_id == street.id).limit(1)):
        return
    needs = db.session.scalars(
        select(Need)
        .where(Need.street_id == street.id, Need.status.in_((NeedStatus.OPEN, NeedStatus.IN_PROGRESS)))
        .order_by(Need.id)
    ).all()
    plan = [MatchStatus.PROPOSED, MatchStatus.DECLINED, MatchStatus.ACCEPTED, MatchStatus.PROPOSED]
    for need in needs:
        if not plan:
            break
        secretary = secretaries.get(need.community_id) or admin
        for resource in db.session.scalars(svc.suggestions_query(need).limit(3)):
            wanted = plan[0]
            owner = (
                liaisons.get(resource.owner_unit_id)
                if resource.owner_unit_id
                else secretaries.get(resource.owner_community_id)
            )
            if wanted != MatchStatus.PROPOSED and owner is None:
                continue
            # Accepting claims an open need for the owner: keep the demo's open needs open.
            if wanted == MatchStatus.ACCEPTED and need.status == NeedStatus.OPEN:
                continue
            match = svc.propose_match(need, resource, secretary)
            plan.pop(0)
            if wanted == MatchStatus.DECLINED:
                svc.decide_match(match, owner, False, "本月场地和人手已排满，下季度可以支持。")
            elif wanted == MatchStatus.ACCEPTED:
                svc.decide_match(match, owner, True, "可以安排。")
                meeting = db.session.scalar(
                    select(Meeting)
                    .where(Meeting.community_id == need.community_id, Meeting.status == MeetingStatus.HELD)
                    .order_by(Meeting.start_at.desc())
                    .limit(1)
                )
                if meeting is not None and (resource.owner_unit_id or need.claimed_unit_id):
                    svc.match_to_action(match, meeting, secretary)
            break
    db.session.flush()
