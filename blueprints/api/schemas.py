"""What the API takes and gives, as pydantic models: the source of its OpenAPI schemas.

Input models refuse unknown fields (a typo is an error, not silently ignored). Times are
RFC 3339 with an offset (Beijing time on the way out); dates are YYYY-MM-DD.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from models import (
    ActionStatus,
    Attendance,
    BookingStatus,
    MeetingKind,
    MeetingStatus,
    MinutesStatus,
    NeedStatus,
    Reply,
    ResourceKind,
    Role,
    TopicStatus,
    UnitCategory,
    UnitStatus,
    Visibility,
)
from web.openapi import choices

ID = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- lists -----------------------------------------------------------------------------------


class ListQuery(In):
    """Every list's paging and incremental sync."""

    cursor: str | None = Field(None, max_length=40, description="上一页返回的 next_cursor；不给则从头开始")
    limit: int | None = Field(None, ge=1, le=200, description="每页条数，默认 50，最多 200")
    updated_since: AwareDatetime | None = Field(
        None,
        description="只要这一时刻（含）以后有变化的记录，用于增量同步：把上次同步第一页的 as_of 传回来",
        examples=["2026-11-30T08:00:00+08:00"],
    )


def page_model(item: type[BaseModel], name: str, text: str) -> type[BaseModel]:
    return create_model(
        name,
        __base__=Out,
        __doc__=text,
        items=(list[item], Field(description="这一页的记录，按编号升序")),
        next_cursor=(str | None, Field(description="下一页的 cursor；没有更多时为 null")),
        as_of=(datetime, Field(description="服务器取数的时刻；下次增量同步以它为 updated_since")),
    )


# --- me ------------------------------------------------------------------------------------------


class MeOut(Out):
    """令牌所属的用户和令牌本身。"""

    id: int
    username: str = Field(examples=["liaison1"])
    display_name: str = Field(examples=["王建国"])
    role: Role = Field(description=choices(Role))
    role_label: str = Field(examples=["单位联络员"])
    street_id: int | None
    community_id: int | None
    unit_id: int | None
    district_id: int | None = Field(description="区级上级党组织所在的区")
    city_id: int | None = Field(description="市级上级党组织所在的市")
    token_name: str = Field(examples=["区智慧党建平台同步"])
    token_scope: str = Field(description="read＝只读；write＝读写", examples=["read"])
    token_expires_at: datetime | None


# --- places -------------------------------------------------------------------------------------


class StreetOut(Out):
    """街道，及其所在的区和市。"""

    id: int
    name: str = Field(examples=["东大街街道"])
    short_name: str = Field(examples=["东大街"])
    address: str
    district_id: int | None
    district_name: str | None = Field(examples=["城东区"])
    city_id: int | None
    city_name: str | None = Field(examples=["江州市"])
    retired: bool = Field(description="已撤销的街道仍保留历史记录")
    updated_at: datetime | None


class GridQuery(ListQuery):
    community_id: ID | None = Field(None, description="只要这个社区的网格")


class GridOut(Out):
    """社区里的网格。"""

    id: int
    name: str = Field(examples=["第一网格"])
    short_name: str
    address: str
    community_id: int
    street_id: int
    retired: bool = Field(description="已撤销的网格仍保留历史记录")
    updated_at: datetime | None


class CommunityQuery(ListQuery):
    street_id: ID | None = Field(None, description="只要这个街道的社区")


class CommunityOut(Out):
    """社区（含所属街道、区）。"""

    id: int
    name: str = Field(examples=["青年路社区"])
    short_name: str
    address: str
    street_id: int
    street_name: str = Field(examples=["东大街街道"])
    district_name: str | None = Field(examples=["城东区"])
    retired: bool = Field(description="已撤销的社区仍保留历史记录")
    updated_at: datetime | None


class RoomQuery(ListQuery):
    community_id: ID | None = Field(None, description="只要这个社区的会议室")
    bookable: bool | None = Field(None, description="true：只要开放预约的会议室")


class RoomOut(Out):
    """社区或街道的会议室、活动场地。"""

    id: int
    name: str = Field(examples=["青年路社区党群服务中心会议室"])
    capacity: int
    address: str
    equipment: str
    bookable: bool
    community_id: int | None
    street_id: int | None
    retired: bool
    updated_at: datetime | None


# --- units -------------------------------------------------------------------------------------


class UnitQuery(ListQuery):
    q: str | None = Field(None, max_length=100, description="按名称、简称或联络人查找")
    community_id: ID | None = Field(None, description="所属社区")
    category: UnitCategory | None = Field(None, description=choices(UnitCategory))
    status: UnitStatus | None = Field(None, description=choices(UnitStatus))


class UnitOut(Out):
    """驻区单位。联络人的电话和邮箱只有街道、社区工作人员和本单位联络员看得到（否则为 null）。"""

    id: int
    name: str = Field(examples=["东大街第一小学"])
    short_name: str
    category: UnitCategory = Field(description=choices(UnitCategory))
    category_label: str = Field(examples=["学校"])
    status: UnitStatus = Field(description=choices(UnitStatus))
    status_label: str = Field(examples=["在册"])
    street_id: int
    community_id: int
    community_name: str = Field(examples=["青年路社区"])
    grid_id: int | None
    address: str
    party_org_name: str
    party_member_count: int
    liaison_name: str
    liaison_phone: str | None
    liaison_email: str | None
    introduction: str
    registered_on: date
    agreement_date: date | None
    updated_at: datetime


class PointsQuery(In):
    year: int | None = Field(None, ge=2000, le=2100, description="年度，默认今年")


class PointsOut(Out):
    """单位的年度共建积分：按积分规则逐项计数。"""

    unit_id: int
    year: int
    total: int = Field(examples=[42])
    items: list[PointItem]


class PointItem(Out):
    """积分的一项：按一条积分规则的计数和得分。"""

    key: str = Field(examples=["attend"])
    label: str = Field(examples=["出席联席会议"])
    count: int
    points_each: int
    points: int


# --- meetings ------------------------------------------------------------------------------------


class MeetingQuery(ListQuery):
    community_id: ID | None = Field(None, description="召开会议的社区")
    kind: MeetingKind | None = Field(None, description=choices(MeetingKind))
    status: MeetingStatus | None = Field(None, description=choices(MeetingStatus))
    unit_id: ID | None = Field(None, description="邀请了这个单位的会议")
    start_from: AwareDatetime | None = Field(None, description="结束时间晚于此刻的会议")
    start_before: AwareDatetime | None = Field(None, description="开始时间早于此刻的会议")


class InvitationOut(Out):
    """一个受邀单位的回复和出席情况。联络员只看到本单位的邀请。"""

    unit_id: int
    unit_name: str
    reply: Reply = Field(description=choices(Reply))
    reply_label: str
    reply_reason: str
    delegate_name: str
    delegate_post: str
    replied_at: datetime | None
    attendance: Attendance = Field(description=choices(Attendance))
    attendance_label: str
    by_delegate: bool
    updated_at: datetime | None


class SignInOut(Out):
    """扫码签到的一人：所在单位、姓名、职务、是否代表单位出席、签到时间（开始后签到的为迟到）。"""

    unit_id: int
    unit_name: str
    name: str
    post: str
    is_delegate: bool = Field(description="代表单位出席（受委派）")
    late: bool = Field(description="会议开始后签到")
    signed_at: datetime


class SignInSheet(Out):
    """一次会议的签到表：已签到的人（按签到先后）、到会单位数和受邀单位数。"""

    meeting_id: int
    people: int = Field(description="已签到人数")
    units: int = Field(description="已有人签到的单位数")
    invited: int = Field(description="受邀单位数")
    items: list[SignInOut]


class AgendaOut(Out):
    """议程的一项。"""

    position: int
    title: str
    minutes: int = Field(description="安排的时长（分钟）")
    presenter_unit_id: int | None
    is_followup: bool = Field(description="上次议定事项落实情况（系统自动加入）")


class MeetingOut(Out):
    """联席会议，含议程和受邀单位。"""

    id: int
    title: str = Field(examples=["青年路社区2026年第四季度共驻共建联席会议"])
    kind: MeetingKind = Field(description=choices(MeetingKind))
    kind_label: str
    status: MeetingStatus = Field(description=choices(MeetingStatus))
    status_label: str
    host_name: str = Field(description="召集方（社区、街道、片区、区或市）", examples=["青年路社区"])
    street_id: int = Field(description="会议室所在的街道")
    community_id: int | None = Field(description="召集的社区（社区会议）")
    area_id: int | None = Field(description="召集的片区（片区联席会）")
    district_id: int | None = Field(description="召集的区（区级联席会议）")
    city_id: int | None = Field(description="召集的市（市级联席会议）")
    room_id: int
    room_name: str
    start_at: datetime
    end_at: datetime
    description: str
    cancel_reason: str
    topic_deadline: datetime | None
    agenda: list[AgendaOut]
    invitations: list[InvitationOut]
    updated_at: datetime = Field(description="会议本身或任一邀请最后变化的时刻")


class ReplyIn(In):
    """对会议邀请的回复（本单位联络员）。"""

    reply: Reply = Field(description="accept＝参加；decline＝不参加；delegate＝委派代表", examples=["accept"])
    reason: str = Field("", max_length=500, description="不参加时必填")
    delegate_name: str = Field("", max_length=50, description="委派代表时必填")
    delegate_post: str = Field("", max_length=50, description="委派代表时必填")


class TopicIn(In):
    """向会议提交的议题（受邀单位，征集截止前）。"""

    title: str = Field(min_length=1, max_length=200, examples=["联合开展冬季送温暖活动"])
    detail: str = Field("", max_length=2000)
    cooperation: str = Field("", max_length=1000, description="希望得到的支持与合作")


class TopicOut(Out):
    """单位向会议提交的议题及其处理情况。"""

    id: int
    meeting_id: int
    unit_id: int
    title: str
    detail: str
    cooperation: str
    status: TopicStatus = Field(description=choices(TopicStatus))
    status_label: str
    created_at: datetime


# --- minutes ---------------------------------------------------------------------------------


class RevisionOut(Out):
    """纪要的一个版本。已签发的版本不再改变，PDF 为存档文件。"""

    number: int
    status: MinutesStatus = Field(description=choices(MinutesStatus))
    status_label: str
    recorder: str
    summary: str
    discussion: list[dict] = Field(description="逐项议程的讨论记录（HTML 已清洗）")
    attendance: list[dict] = Field(description="签发时的出席情况（含逐人签到）")
    actions: list[dict] = Field(description="签发时的议定事项")
    correction_reason: str
    approved_at: datetime | None
    approved_by_name: str
    pdf_sha256: str = Field(description="存档 PDF 的 SHA-256（签发后）")
    pdf_sm3: str = Field(description="存档 PDF 的 SM3（签发后）")
    pdf_url: str = Field(description="这个版本的 PDF")
    updated_at: datetime


class MinutesOut(Out):
    """会议纪要：档案号和各个版本（联络员看不到草稿）。"""

    meeting_id: int
    meeting_title: str
    archive_no: str | None = Field(examples=["青年路社区联席〔2026〕3号"])
    revisions: list[RevisionOut]
    updated_at: datetime


# --- actions -----------------------------------------------------------------------------------


class ActionQuery(ListQuery):
    community_id: ID | None = Field(None, description="所属社区")
    unit_id: ID | None = Field(None, description="牵头或协同的单位")
    status: ActionStatus | None = Field(None, description=choices(ActionStatus))
    overdue: bool | None = Field(None, description="true：只要逾期未完成的")
    q: str | None = Field(None, max_length=100, description="按标题查找")


class ProgressOut(Out):
    """议定事项的一次进展。"""

    id: int
    on: date
    text: str
    unit_id: int | None
    created_at: datetime


class ActionOut(Out):
    """议定事项：牵头单位、协同单位、期限和进展。"""

    id: int
    meeting_id: int
    title: str = Field(examples=["共建“四点半课堂”"])
    detail: str
    lead_unit_id: int
    lead_unit_name: str
    co_unit_ids: list[int]
    due_on: date
    status: ActionStatus = Field(description=choices(ActionStatus))
    status_label: str
    overdue: bool
    result: str
    done_on: date | None
    progress: list[ProgressOut]
    updated_at: datetime = Field(description="事项本身或最近一次进展的时刻")


class ProgressIn(In):
    """报送一次进展（牵头、协同单位联络员或会议召集方）。"""

    on: date = Field(description="进展日期，不晚于今天", examples=["2026-11-30"])
    text: str = Field(min_length=1, max_length=2000, examples=["已完成场地布置，首期 30 名学生报名。"])


# --- resources and bookings ----------------------------------------------------------------------


class ResourceQuery(ListQuery):
    q: str | None = Field(None, max_length=100, description="按名称、说明或提供单位查找")
    kind: ResourceKind | None = Field(None, description=choices(ResourceKind))
    community_id: ID | None = Field(None, description="所在社区")
    owner_unit_id: ID | None = Field(None, description="提供单位")
    bookable: bool | None = Field(None, description="true：只要可预约的")


class ResourceOut(Out):
    """驻区单位或社区共享的资源。"""

    id: int
    title: str = Field(examples=["报告厅（120 座）"])
    kind: ResourceKind = Field(description=choices(ResourceKind))
    kind_label: str
    description: str
    owner_unit_id: int | None
    owner_community_id: int | None
    owner_name: str
    community_id: int
    capacity: int | None
    quantity: str
    availability: str
    available_from: date | None
    available_until: date | None
    conditions: str
    contact_name: str
    contact_phone: str
    visibility: Visibility = Field(description=choices(Visibility))
    bookable: bool
    active: bool
    updated_at: datetime


class BookingQuery(ListQuery):
    status: BookingStatus | None = Field(None, description=choices(BookingStatus))


class BookingOut(Out):
    """预约：本单位（本社区）提出的，和别人对本单位（本社区）资源提出的。"""

    id: int
    resource_id: int | None
    room_id: int | None
    target_name: str
    requester_unit_id: int | None
    requester_community_id: int | None
    start_at: datetime
    end_at: datetime
    purpose: str
    status: BookingStatus = Field(description=choices(BookingStatus))
    status_label: str
    decline_reason: str
    created_at: datetime
    updated_at: datetime | None


class BookingIn(In):
    """申请预约一项可预约的资源。"""

    start_at: AwareDatetime = Field(examples=["2026-12-10T09:00:00+08:00"])
    end_at: AwareDatetime = Field(examples=["2026-12-10T11:00:00+08:00"])
    purpose: str = Field(min_length=1, max_length=500, examples=["开展党员冬训，约 40 人"])


# --- needs ----------------------------------------------------------------------------------------


class NeedQuery(ListQuery):
    community_id: ID | None = Field(None, description="所在社区")
    kind: ResourceKind | None = Field(None, description=choices(ResourceKind))
    status: NeedStatus | None = Field(None, description=choices(NeedStatus))
    wish: bool | None = Field(None, description="true：只要微心愿；false：只要社区需求")
    q: str | None = Field(None, max_length=100, description="按标题或说明查找")


class NeedOut(Out):
    """社区需求或居民微心愿。居民姓名电话仅社区和已确认认领的单位可见（否则为 null）。"""

    id: int
    title: str = Field(examples=["为独居老人安装紧急呼叫器"])
    kind: ResourceKind = Field(description=choices(ResourceKind))
    kind_label: str
    is_wish: bool
    description: str
    community_id: int
    community_name: str
    people_served: int | None
    wanted_by: date | None
    status: NeedStatus = Field(description=choices(NeedStatus))
    status_label: str
    claimed_unit_id: int | None
    claimed_at: datetime | None
    claim_confirmed: bool
    resident_name: str | None
    resident_phone: str | None
    updated_at: datetime


PointsOut.model_rebuild()

MeetingPage = page_model(MeetingOut, "MeetingPage", "一页会议")
UnitPage = page_model(UnitOut, "UnitPage", "一页单位")
StreetPage = page_model(StreetOut, "StreetPage", "一页街道")
GridPage = page_model(GridOut, "GridPage", "一页网格")
CommunityPage = page_model(CommunityOut, "CommunityPage", "一页社区")
RoomPage = page_model(RoomOut, "RoomPage", "一页会议室")
MinutesPage = page_model(MinutesOut, "MinutesPage", "一页会议纪要")
ActionPage = page_model(ActionOut, "ActionPage", "一页议定事项")
ResourcePage = page_model(ResourceOut, "ResourcePage", "一页共享资源")
BookingPage = page_model(BookingOut, "BookingPage", "一页预约")
NeedPage = page_model(NeedOut, "NeedPage", "一页需求")
