"""Demo data for the resource catalogue and bookings (called by seed-demo; idempotent)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from common.dates import SHANGHAI
from models import (
    Booking,
    BookingStatus,
    Community,
    Meeting,
    MeetingStatus,
    Resource,
    ResourceKind,
    Role,
    Room,
    Street,
    Unit,
    User,
    Visibility,
    db,
)
from models.base import today
from services.rooms import next_free_slot

V, E, X, VO, F, T, OT = (
    ResourceKind.VENUE,
    ResourceKind.EQUIPMENT,
    ResourceKind.EXPERTISE,
    ResourceKind.VOLUNTEER,
    ResourceKind.FUNDS,
    ResourceKind.TRAINING,
    ResourceKind.OTHER,
)
ALL, OWN = Visibility.ALL, Visibility.COMMUNITY

# (owner: unit index 1-based or "c<community index>", kind, title, description, capacity, quantity,
#  availability, conditions, visibility, bookable)
RESOURCES = [
    (
        1,
        V,
        "一小风雨操场",
        "标准篮球场两块，带风雨棚，可开展群众性体育活动和社区运动会。",
        200,
        "",
        "周末及节假日 8:00—18:00",
        "活动结束后恢复场地原状；不得使用明火。",
        ALL,
        True,
    ),
    (
        1,
        V,
        "一小多功能报告厅",
        "阶梯报告厅，配投影、音响和无线话筒。",
        150,
        "",
        "工作日 16:30 以后、周末全天",
        "提前三个工作日申请；由学校安排专人开关门。",
        ALL,
        True,
    ),
    (
        1,
        T,
        "青少年书法与国学公益课",
        "学校语文教研组教师为辖区青少年开设书法、国学公益课。",
        None,
        "每学期 16 课时",
        "寒暑假期间",
        "由社区组织报名，每班不超过 30 人。",
        ALL,
        False,
    ),
    (
        2,
        X,
        "三院专家义诊团队",
        "心内科、内分泌科、骨科专家每季度进社区义诊一次。",
        None,
        "每季度 1 次、5 名专家",
        "每季度第一个周六上午",
        "社区提供场地并组织居民。",
        ALL,
        False,
    ),
    (
        2,
        E,
        "便携式心电图机",
        "可借用于社区健康筛查活动，附操作培训。",
        None,
        "2 台",
        "工作日",
        "须由医护人员操作，借用不超过 3 天。",
        OWN,
        True,
    ),
    (
        3,
        F,
        "工行“金秋助老”公益资金",
        "用于辖区困难老人节日慰问和适老化改造。",
        None,
        "每年 5 万元",
        "全年",
        "由社区提交项目方案，银行审核后拨付。",
        ALL,
        False,
    ),
    (
        3,
        T,
        "金融防诈骗知识讲座",
        "银行网点理财经理讲解电信诈骗、非法集资防范知识。",
        None,
        "每月 1 场",
        "工作日晚间",
        "听众 20 人以上。",
        ALL,
        False,
    ),
    (
        4,
        X,
        "税务政策咨询",
        "为辖区小微企业和个体户提供减税降费政策辅导。",
        None,
        "每月 2 次",
        "每月第二、四周三下午",
        "",
        ALL,
        False,
    ),
    (
        5,
        VO,
        "物业维修志愿服务队",
        "水电维修师傅为独居老人提供免费小修服务。",
        None,
        "8 名师傅",
        "每周六上午",
        "材料费由居民自理。",
        OWN,
        False,
    ),
    (
        7,
        E,
        "应急发电车",
        "停电抢修、大型活动临时供电保障。",
        None,
        "1 辆（200kW）",
        "全天候",
        "须提前一周申请，特殊情况可紧急调度。",
        ALL,
        True,
    ),
    (
        8,
        V,
        "区图书馆一楼阅览室",
        "可开展读书会、党员学习日活动。",
        60,
        "",
        "周二至周日 9:00—20:00",
        "保持安静，禁止饮食。",
        ALL,
        True,
    ),
    (
        8,
        OT,
        "流动图书箱",
        "每箱 200 册图书，可在社区轮换借阅。",
        None,
        "10 箱",
        "长期",
        "每两个月轮换一次。",
        ALL,
        False,
    ),
    (9, T, "反电诈宣讲", "社区民警讲解典型诈骗案例和防范要点。", None, "每月 2 场", "工作日", "", ALL, False),
    (
        12,
        VO,
        "乐龄助老志愿者",
        "为高龄独居老人提供上门探访、代购代办。",
        None,
        "30 名志愿者",
        "每天",
        "",
        OWN,
        False,
    ),
    (
        13,
        V,
        "十二中田径场",
        "400 米塑胶跑道，可举办社区运动会。",
        500,
        "",
        "周末 7:00—19:00",
        "需签订安全责任书。",
        ALL,
        True,
    ),
    (
        14,
        X,
        "家庭医生签约服务",
        "为辖区居民提供家庭医生签约和慢病随访。",
        None,
        "6 个团队",
        "工作日",
        "",
        ALL,
        False,
    ),
    (
        16,
        X,
        "公益法律咨询",
        "律师每月驻社区坐班，提供婚姻家庭、劳动争议等法律咨询。",
        None,
        "每月 2 次",
        "每月第一、三周五下午",
        "",
        ALL,
        False,
    ),
    (
        17,
        V,
        "文化馆排练厅",
        "带镜面墙和音响，适合广场舞、合唱队排练。",
        40,
        "",
        "周一至周五 18:30—21:00",
        "提前预约，爱护设备。",
        ALL,
        True,
    ),
    (
        19,
        E,
        "高空作业车",
        "协助社区开展路灯、树木修剪等高处作业。",
        None,
        "1 辆",
        "工作日",
        "须由本公司持证人员操作。",
        ALL,
        True,
    ),
    (
        21,
        T,
        "消防安全培训与疏散演练",
        "消防员进社区、进楼宇开展培训和演练。",
        None,
        "每季度 2 场",
        "提前两周预约",
        "",
        ALL,
        False,
    ),
    (
        22,
        VO,
        "IT 志愿者“银龄数字课堂”",
        "教老年人使用智能手机、预约挂号和防范网络诈骗。",
        None,
        "12 名志愿者",
        "每周三下午",
        "",
        ALL,
        False,
    ),
    (
        24,
        VO,
        "红枫志愿服务队",
        "环境整治、文明劝导、大型活动秩序维护。",
        None,
        "80 名注册志愿者",
        "周末",
        "",
        ALL,
        False,
    ),
    (
        25,
        E,
        "中医体质辨识仪",
        "可借用于社区中医健康节。",
        None,
        "1 套",
        "工作日",
        "由医院派员操作。",
        ALL,
        True,
    ),
    (
        27,
        F,
        "公交爱心车厢冠名",
        "为社区公益宣传提供车厢广告位。",
        None,
        "2 节车厢、3 个月",
        "全年",
        "内容须经审核。",
        ALL,
        False,
    ),
    (
        28,
        V,
        "青少年活动中心多功能厅",
        "可开展青少年夏令营、科普活动。",
        120,
        "",
        "周末及寒暑假",
        "须有成年人带队。",
        ALL,
        True,
    ),
    (
        "c1",
        V,
        "青年路社区党群服务中心活动室",
        "社区党群服务中心二楼活动室，可开展小型活动。",
        40,
        "",
        "工作日 9:00—17:00",
        "",
        ALL,
        True,
    ),
    (
        "c3",
        E,
        "书院街社区便民工具箱",
        "含电钻、梯子、常用维修工具，供共建单位志愿服务使用。",
        None,
        "3 套",
        "工作日",
        "借用当日归还。",
        OWN,
        True,
    ),
    (
        "c4",
        OT,
        "丰收园社区宣传栏",
        "社区主干道宣传栏，可张贴共建单位公益宣传内容。",
        None,
        "6 块",
        "长期",
        "内容须经社区审核。",
        ALL,
        False,
    ),
]


# Weekly opening hours of bookable resources (the rest keep 08:00–21:00 every day); equipment
# lent for days at a time may run past midnight. The demo's bookings fall within them.
HOURS = {
    "一小风雨操场": (time(8, 0), time(18, 0), "1234567", False),
    "一小多功能报告厅": (time(8, 0), time(21, 30), "1234567", False),
    "文化馆排练厅": (time(9, 0), time(21, 30), "1234567", False),
    "应急发电车": (time(0, 0), time(0, 0), "1234567", True),
    "便携式心电图机": (time(8, 30), time(17, 30), "1234567", True),
}


def _at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(SHANGHAI).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def seed(street: Street, communities: list[Community], units: list[Unit]) -> None:
    """Add resources of every kind (of units and communities) and bookings in every status."""
    if db.session.scalar(select(Resource.id).where(Resource.street_id == street.id).limit(1)):
        return
    liaisons = {
        u.unit_id: u for u in db.session.scalars(select(User).where(User.role == Role.LIAISON)) if u.unit_id
    }
    secretaries = {
        u.community_id: u
        for u in db.session.scalars(select(User).where(User.role == Role.SECRETARY))
        if u.community_id
    }
    made: dict[str, Resource] = {}
    for (
        owner,
        kind,
        title,
        description,
        capacity,
        quantity,
        availability,
        conditions,
        visibility,
        bookable,
    ) in RESOURCES:
        if isinstance(owner, int):
            if owner > len(units):
                continue
            unit = units[owner - 1]
            owner_fields = {"owner_unit_id": unit.id, "community_id": unit.community_id}
            contact = (unit.liaison_name, unit.liaison_phone)
        else:
            index = int(owner[1:])
            if index > len(communities):
                continue
            community = communities[index - 1]
            owner_fields = {"owner_community_id": community.id, "community_id": community.id}
            secretary = secretaries.get(community.id)
            contact = (secretary.display_name if secretary else "", "")
        resource = Resource(
            street_id=street.id,
            kind=kind,
            title=title,
            description=description,
            capacity=capacity,
            quantity=quantity,
            availability=availability,
            conditions=conditions,
            contact_name=contact[0] or "",
            contact_phone=contact[1] or "",
            visibility=visibility,
            bookable=bookable,
            available_from=today() - timedelta(days=400) if bookable else None,
            **owner_fields,
        )
        opens, closes, days, overnight = HOURS.get(title, (time(8, 0), time(21, 0), "1234567", False))
        resource.opens_at, resource.closes_at, resource.open_days, resource.overnight = (
            opens,
            closes,
            days,
            overnight,
        )
        db.session.add(resource)
        made[title] = resource
    # One resource that its unit has taken off the list.
    if len(units) >= 11:
        db.session.add(
            Resource(
                street_id=street.id,
                owner_unit_id=units[10].id,
                community_id=units[10].community_id,
                kind=ResourceKind.VENUE,
                title="晨曦幼儿园小礼堂（装修停用）",
                description="装修期间暂停开放。",
                capacity=50,
                bookable=True,
                active=False,
            )
        )
    db.session.flush()

    def book(target, requester, start, hours, purpose, status, reason="", room=False):
        """Add a booking by a unit (or a community, when requester is a Community)."""
        owner_user = None
        if room:
            owner_user = secretaries.get(target.community_id)
        elif target.owner_unit_id:
            owner_user = liaisons.get(target.owner_unit_id)
        else:
            owner_user = secretaries.get(target.owner_community_id)
        is_unit = isinstance(requester, Unit)
        by = liaisons.get(requester.id) if is_unit else secretaries.get(requester.id)
        decided = status in (BookingStatus.APPROVED, BookingStatus.DECLINED)
        booking = Booking(
            resource_id=None if room else target.id,
            room_id=target.id if room else None,
            requester_unit_id=requester.id if is_unit else None,
            requester_community_id=None if is_unit else requester.id,
            requested_by_id=by.id if by else None,
            start_at=start,
            end_at=start + timedelta(hours=hours),
            purpose=purpose,
            status=status,
            decided_by_id=owner_user.id if decided and owner_user else None,
            decided_at=start - timedelta(days=3) if decided else None,
            decline_reason=reason,
            created_at=start - timedelta(days=5),
        )
        db.session.add(booking)
        return booking

    def unit(k):
        return units[k - 1] if k <= len(units) else units[-1]

    A, P, D, C = (
        BookingStatus.APPROVED,
        BookingStatus.PENDING,
        BookingStatus.DECLINED,
        BookingStatus.CANCELLED,
    )
    playground, hall = made.get("一小风雨操场"), made.get("一小多功能报告厅")
    if playground is not None:
        book(playground, unit(9), _at(-40, 14), 3, "警民篮球友谊赛，约 60 人", A)
        book(playground, unit(19), _at(-12, 9), 4, "城建五公司职工趣味运动会", A)
        book(playground, unit(24), _at(5, 9), 3, "红枫志愿者夏季拓展训练，约 50 人", A)
        book(playground, unit(13), _at(5, 10), 2, "十二中校际篮球交流", P)
        book(playground, unit(22), _at(12, 14), 3, "博远科技职工篮球赛", P)
    if hall is not None:
        book(hall, unit(3), _at(-20, 19), 2, "金融防诈骗知识讲座，面向家长", A)
        book(
            hall,
            unit(16),
            _at(8, 19),
            2,
            "《民法典》婚姻家庭编普法讲座",
            D,
            "当天学校召开家长会，报告厅已占用。",
        )
        book(
            hall, communities[1] if len(communities) > 1 else unit(9), _at(15, 14), 2, "和平里社区党员冬训", P
        )
        book(hall, unit(25), _at(20, 9), 3, "中医养生讲堂", C)
    for title, k, days, purpose, status, reason in (
        ("区图书馆一楼阅览室", 6, 3, "阳光社工亲子读书会", A, ""),
        ("区图书馆一楼阅览室", 13, 10, "十二中初一年级读书分享会", P, ""),
        ("应急发电车", 31, 9, "老年大学文艺汇演临时供电", D, "发电车当周安排在迎峰度夏保障，建议改期。"),
        ("文化馆排练厅", 12, 4, "乐龄合唱团排练", A, ""),
        ("文化馆排练厅", 26, 4, "农商行职工舞蹈排练", P, ""),
        ("便携式心电图机", 14, 6, "书院街社区老年人健康筛查", A, ""),
        ("高空作业车", 7, 2, "丰收园小区路灯检修配合", C, ""),
        ("青少年活动中心多功能厅", 11, 25, "晨曦幼儿园毕业典礼", P, ""),
        ("青年路社区党群服务中心活动室", 4, 7, "小微企业税收政策宣讲", A, ""),
    ):
        resource = made.get(title)
        if resource is None:
            continue
        hour = 18 if title == "文化馆排练厅" else 9
        book(resource, unit(k), _at(days, hour, 30), 2, purpose, status, reason)

    # Community rooms share their calendar with the meetings: pick free slots.
    rooms = {
        r.community_id: r for r in db.session.scalars(select(Room).where(Room.community_id.is_not(None)))
    }
    db.session.flush()
    for c_index, k, days, hour, hours, purpose, status, reason in (
        (1, 9, 4, 9, 2, "和平里派出所警民恳谈会", A, ""),
        (1, 22, 9, 14, 2, "博远科技党支部主题党日", P, ""),
        (2, 2, 6, 14, 3, "三院健康大讲堂", A, ""),
        (3, 24, 11, 9, 2, "红枫志愿者骨干培训", D, "当天上午社区接待上级检查，会议室已安排。"),
        (4, 28, 14, 14, 2, "青少年中心暑期托管家长会", C, ""),
        (5, 3, -15, 9, 2, "工行适老化服务座谈", A, ""),
    ):
        if c_index > len(communities):
            continue
        room = rooms.get(communities[c_index - 1].id)
        if room is None:
            continue
        start = next_free_slot(room.id, _at(days, hour), timedelta(hours=hours))
        book(room, unit(k), start, hours, purpose, status, reason, room=True)
        db.session.flush()

    # A request that overlaps a draft meeting: it went through (the unit cannot see the draft);
    # the secretary is told which draft holds the room when deciding.
    draft = db.session.scalar(
        select(Meeting)
        .where(Meeting.street_id == street.id, Meeting.status == MeetingStatus.DRAFT)
        .order_by(Meeting.start_at)
        .limit(1)
    )
    if draft is not None:
        start = draft.start_at + timedelta(minutes=30)
        book(db.session.get(Room, draft.room_id), unit(13), start, 2, "十二中初三家长学校讲座", P, room=True)
        db.session.flush()
