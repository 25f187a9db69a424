"""Enumerations shared by models, forms and exports, each with its Chinese label."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Chinese label for the interface."""

    label: str

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def from_label(cls, text: str):
        """Return the member whose label or value is text, else None."""
        text = (text or "").strip()
        for m in cls:
            if text in (m.label, m.value):
                return m
        return None


def enum_column(enum_cls: type[LabelledEnum], name: str) -> sa.Enum:
    """A VARCHAR column type with a CHECK constraint over the enum's values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Role(LabelledEnum):
    """Who a user is, and at which place: the system administrator over everything; street
    admins and archivists of one street; community secretaries; unit liaisons; read-only
    observers of a district or a city (区委组织部, 市委组织部) over everything below them."""

    SYSADMIN = "sysadmin", "系统管理员"
    ADMIN = "admin", "街道管理员"
    SECRETARY = "secretary", "社区书记"
    LIAISON = "liaison", "单位联络员"
    ARCHIVIST = "archivist", "档案员"
    OBSERVER = "observer", "上级党组织"


class GridDuty(LabelledEnum):
    """The ten duties of a grid (网格“十员”): each held by one or more people of its roster."""

    POLICY = "policy", "惠民政策宣传员"
    PROPERTY = "property", "物业管理协管员"
    SANITATION = "sanitation", "环境卫生整治员"
    SAFETY = "safety", "安全生产巡逻员"
    CULTURE = "culture", "群众娱乐文体员"
    OPINION = "opinion", "社情民意联络员"
    CIVILITY = "civility", "文明新风倡导员"
    HARMONY = "harmony", "和谐创建示范员"
    DEMOCRACY = "democracy", "民主管理监督员"
    PARTY = "party", "党员服务协理员"


class UnitCategory(LabelledEnum):
    AGENCY = "agency", "机关"
    INSTITUTION = "institution", "事业单位"
    STATE_FIRM = "state_firm", "国有企业"
    PRIVATE_FIRM = "private_firm", "非公企业"
    SOCIAL_ORG = "social_org", "社会组织"
    FINANCE = "finance", "金融机构"
    SCHOOL = "school", "学校"
    HOSPITAL = "hospital", "医疗机构"
    OTHER = "other", "其他"


class UnitStatus(LabelledEnum):
    REGISTERED = "registered", "报到"
    ACTIVE = "active", "在册"
    WITHDRAWN = "withdrawn", "退出"


# Which status a unit may move to from each status.
UNIT_TRANSITIONS: dict[UnitStatus, tuple[UnitStatus, ...]] = {
    UnitStatus.REGISTERED: (UnitStatus.ACTIVE, UnitStatus.WITHDRAWN),
    UnitStatus.ACTIVE: (UnitStatus.WITHDRAWN,),
    UnitStatus.WITHDRAWN: (UnitStatus.REGISTERED,),
}


class MeetingKind(LabelledEnum):
    REGULAR = "regular", "定期例会"
    SPECIAL = "special", "专题会议"
    ZONE = "zone", "片区联席会"


class MeetingStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    SCHEDULED = "scheduled", "已发布"
    HELD = "held", "已召开"
    CANCELLED = "cancelled", "已取消"


class Reply(LabelledEnum):
    PENDING = "pending", "待回复"
    ACCEPT = "accept", "参加"
    DECLINE = "decline", "不参加"
    DELEGATE = "delegate", "委派代表参加"


class Attendance(LabelledEnum):
    UNKNOWN = "unknown", "未签到"
    PRESENT = "present", "出席"
    ABSENT_LEAVE = "absent_leave", "请假缺席"
    ABSENT_NO_LEAVE = "absent_no_leave", "无故缺席"


class TopicStatus(LabelledEnum):
    SUBMITTED = "submitted", "待处理"
    ACCEPTED = "accepted", "已采纳"
    DECLINED = "declined", "未采纳"


class MailStatus(LabelledEnum):
    QUEUED = "queued", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class MinutesStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待签发"
    APPROVED = "approved", "已签发"


class Retention(LabelledEnum):
    """保管期限 (DA/T 22-2015): its value is the code in the 档号 (Y, D30, D10)."""

    PERMANENT = "Y", "永久"
    D30 = "D30", "30年"
    D10 = "D10", "10年"

    @property
    def years(self) -> int | None:
        """How long it is kept; None: for ever."""
        return {"D30": 30, "D10": 10}.get(self.value)


class ConfirmationStatus(LabelledEnum):
    PENDING = "pending", "待确认"
    CONFIRMED = "confirmed", "已确认"
    COMMENTED = "commented", "有意见"


class ActionStatus(LabelledEnum):
    OPEN = "open", "待办"
    IN_PROGRESS = "in_progress", "推进中"
    DONE = "done", "已完成"


class Principle(LabelledEnum):
    SHARE = "share", "资源共享"
    COMPLEMENT = "complement", "优势互补"
    COBUILD = "cobuild", "共建共驻"
    DEVELOP = "develop", "共同发展"


class ResourceKind(LabelledEnum):
    VENUE = "venue", "场地"
    EQUIPMENT = "equipment", "设施设备"
    EXPERTISE = "expertise", "人才专长"
    VOLUNTEER = "volunteer", "志愿服务"
    FUNDS = "funds", "资金物资"
    TRAINING = "training", "教育培训"
    OTHER = "other", "其他"


class Visibility(LabelledEnum):
    ALL = "all", "全部单位可见"
    COMMUNITY = "community", "仅本社区可见"


class BookingStatus(LabelledEnum):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已同意"
    DECLINED = "declined", "已拒绝"
    CANCELLED = "cancelled", "已取消"


class NeedStatus(LabelledEnum):
    OPEN = "open", "待认领"
    CLAIMED = "claimed", "已认领待确认"
    IN_PROGRESS = "in_progress", "落实中"
    FULFILLED = "fulfilled", "已完成"
    WITHDRAWN = "withdrawn", "已撤回"


class MatchStatus(LabelledEnum):
    PROPOSED = "proposed", "待回应"
    ACCEPTED = "accepted", "已接受"
    DECLINED = "declined", "已婉拒"
