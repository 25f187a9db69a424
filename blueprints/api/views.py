"""The API's operations: the pages' queries and permissions, answered as JSON.

Each list is the page's own query (services), ordered by id for stable cursors, with the
same filters, `updated_since` for incremental sync, and eager loading so that a page costs
the same few statements whatever its size. Each write calls the service the page calls,
after the page's own permission check.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, render_template, url_for
from flask_login import current_user
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from blueprints.api import api, bp
from blueprints.api import schemas as s
from common.links import external_url
from models import (
    Action,
    ActionProgress,
    AgendaItem,
    Attendance,
    Booking,
    Community,
    District,
    Grid,
    Invitation,
    Meeting,
    Minutes,
    MinutesRevision,
    MinutesStatus,
    Need,
    Reply,
    Resource,
    Room,
    Street,
    Topic,
    Unit,
    db,
)
from models.base import today
from services import actions as action_svc
from services import archive
from services import meetings as meeting_svc
from services import minutes as minutes_svc
from services import needs as need_svc
from services import permissions as perm
from services import points as point_svc
from services import resources as resource_svc
from services import signin as signin_svc
from services import units as unit_svc
from services.scope import in_scope, scoped
from web.api import Problem, current_token, local, page_of
from web.downloads import download_response
from web.flow import attempt
from web.openapi import document, schema_rows, type_text


def _user():
    return current_user._get_current_object()


def _rule(operation):
    """Run a service call and commit; a broken rule is a 422 with its message, nothing changed."""
    outcome = attempt(operation, errors=lambda message: None)
    if not outcome:
        raise Problem(422, outcome.error or "")
    return outcome.value


def _page(model, page, convert):
    return model(
        items=[convert(row) for row in page.rows], next_cursor=page.next_cursor, as_of=local(page.as_of)
    )


def _list(model, stmt, entity, query: s.ListQuery, convert):
    """One page of a list whose rows carry their own updated_at (incremental sync)."""
    if query.updated_since:
        stmt = stmt.where(entity.updated_at >= query.updated_since)
    return _page(model, page_of(stmt, entity.id, query.cursor, query.limit), convert)


# --- documentation --------------------------------------------------------------------------


@api.operation(
    "GET",
    "/openapi.json",
    summary="OpenAPI 文档",
    tag="文档",
    description="本接口的 OpenAPI 3.1 描述，由代码生成；可用它生成客户端。",
    public=True,
)
def openapi():
    return document(api, external_url("api.openapi").rsplit("/", 1)[0])


@bp.route("/docs")
def docs():
    """The API's documentation page, rendered from the same document (no script, no CDN)."""
    spec = document(api, external_url("api.openapi").rsplit("/", 1)[0])
    return render_template(
        "api/docs.html",
        spec=spec,
        spec_url=url_for("api.openapi"),
        type_text=type_text,
        schema_rows=schema_rows,
    )


# --- me -----------------------------------------------------------------------------------------


@api.operation("GET", "/me", summary="当前用户", tag="账号", response=s.MeOut)
def me():
    """令牌所属的用户、角色和所在的街道、社区、单位，以及令牌的权限和有效期。"""
    user = _user()
    token = current_token()
    return s.MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_label=user.role.label,
        street_id=user.street_id,
        community_id=user.community_id,
        unit_id=user.unit_id,
        district_id=user.district_id,
        city_id=user.city_id,
        token_name=token.name,
        token_scope=token.scope,
        token_expires_at=local(token.expires_at),
    )


# --- places ---------------------------------------------------------------------------------------


def _street(st: Street) -> s.StreetOut:
    district = st.district
    return s.StreetOut(
        id=st.id,
        name=st.name,
        short_name=st.short_name,
        address=st.address,
        district_id=st.district_id,
        district_name=district.name if district else None,
        city_id=district.city_id if district else None,
        city_name=district.city.name if district else None,
        retired=st.retired,
        updated_at=local(st.updated_at),
    )


@api.operation("GET", "/streets", summary="街道列表", tag="地点", query=s.ListQuery, response=s.StreetPage)
def streets(query: s.ListQuery):
    """看得到的街道（含已撤销的，retired 为 true），及其所在的区和市。"""
    stmt = (
        select(Street)
        .where(scoped(Street.id, _user()))
        .options(joinedload(Street.district).joinedload(District.city))
    )
    return _list(s.StreetPage, stmt, Street, query, _street)


def _grid(g: Grid) -> s.GridOut:
    return s.GridOut(
        id=g.id,
        name=g.name,
        short_name=g.short_name,
        address=g.address,
        community_id=g.community_id,
        street_id=g.community.street_id,
        retired=g.retired,
        updated_at=local(g.updated_at),
    )


@api.operation("GET", "/grids", summary="网格列表", tag="地点", query=s.GridQuery, response=s.GridPage)
def grids(query: s.GridQuery):
    """看得到的社区里的网格（含已撤销的）；单位的 grid_id 指向这里。"""
    stmt = (
        select(Grid)
        .join(Grid.community)
        .where(scoped(Community.street_id, _user()))
        .options(joinedload(Grid.community))
    )
    if query.community_id:
        stmt = stmt.where(Grid.community_id == query.community_id)
    return _list(s.GridPage, stmt, Grid, query, _grid)


def _community(c: Community) -> s.CommunityOut:
    return s.CommunityOut(
        id=c.id,
        name=c.name,
        short_name=c.short_name,
        address=c.address,
        street_id=c.street_id,
        street_name=c.street.name,
        district_name=c.street.district.name if c.street.district else None,
        retired=c.retired,
        updated_at=local(c.updated_at),
    )


@api.operation(
    "GET", "/communities", summary="社区列表", tag="地点", query=s.CommunityQuery, response=s.CommunityPage
)
def communities(query: s.CommunityQuery):
    """看得到的街道里的社区（含已撤销的，retired 为 true）。"""
    stmt = (
        select(Community)
        .where(scoped(Community.street_id, _user()))
        .options(joinedload(Community.street).joinedload(Street.district))
    )
    if query.street_id:
        stmt = stmt.where(Community.street_id == query.street_id)
    return _list(s.CommunityPage, stmt, Community, query, _community)


def _room(r: Room) -> s.RoomOut:
    return s.RoomOut(
        id=r.id,
        name=r.name,
        capacity=r.capacity,
        address=r.address,
        equipment=r.equipment,
        bookable=r.bookable,
        community_id=r.community_id,
        street_id=r.street_id,
        retired=r.retired,
        updated_at=local(r.updated_at),
    )


@api.operation("GET", "/rooms", summary="会议室列表", tag="地点", query=s.RoomQuery, response=s.RoomPage)
def rooms(query: s.RoomQuery):
    """看得到的街道里社区和街道的会议室、活动场地。"""
    stmt = select(Room).where(Room.unit_id.is_(None), scoped(Room.street_id, _user()))
    if query.community_id:
        stmt = stmt.where(Room.community_id == query.community_id)
    if query.bookable is not None:
        stmt = stmt.where(Room.bookable.is_(query.bookable))
    return _list(s.RoomPage, stmt, Room, query, _room)


# --- units ------------------------------------------------------------------------------------------


def _unit(u: Unit) -> s.UnitOut:
    contact = perm.can_see_liaison_contact(_user(), u)
    return s.UnitOut(
        id=u.id,
        name=u.name,
        short_name=u.short_name,
        category=u.category,
        category_label=u.category.label,
        status=u.status,
        status_label=u.status.label,
        street_id=u.street_id,
        community_id=u.community_id,
        community_name=u.community.name,
        grid_id=u.grid_id,
        address=u.address,
        party_org_name=u.party_org_name,
        party_member_count=u.party_member_count,
        liaison_name=u.liaison_name,
        liaison_phone=u.liaison_phone if contact else None,
        liaison_email=u.liaison_email if contact else None,
        introduction=u.introduction,
        registered_on=u.registered_on,
        agreement_date=u.agreement_date,
        updated_at=local(u.updated_at),
    )


@api.operation("GET", "/units", summary="单位列表", tag="单位", query=s.UnitQuery, response=s.UnitPage)
def units(query: s.UnitQuery):
    """驻区单位名册，筛选条件与“驻区单位”页面相同。"""
    stmt = unit_svc.units_query(
        _user(),
        q=query.q or "",
        community_id=query.community_id,
        category=query.category,
        status=query.status,
    )
    return _list(s.UnitPage, stmt, Unit, query, _unit)


def _load_unit(unit_id: int) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.id == unit_id).options(joinedload(Unit.community)))
    if unit is None or not in_scope(_user(), unit.street_id):
        raise Problem(404)
    return unit


@api.operation("GET", "/units/<int:unit_id>", summary="单位详情", tag="单位", response=s.UnitOut)
def unit(unit_id: int):
    """一个驻区单位。"""
    return _unit(_load_unit(unit_id))


@api.operation(
    "GET",
    "/units/<int:unit_id>/points",
    summary="单位的共建积分",
    tag="单位",
    query=s.PointsQuery,
    response=s.PointsOut,
)
def unit_points(unit_id: int, query: s.PointsQuery):
    """单位一年的共建积分，按积分规则逐项给出次数和分数（与积分页面相同；街道、社区工作人员和本单位联络员可看）。"""
    target = _load_unit(unit_id)
    if not perm.can_view_unit_points(_user(), target):
        _refuse()
    found = point_svc.unit_points(target, query.year or today().year, with_events=False)
    items = [
        s.PointItem(
            key=rule.key,
            label=rule.label,
            count=found.counts.get(rule.key, 0),
            points_each=found.rules[rule.key],
            points=found.counts.get(rule.key, 0) * found.rules[rule.key],
        )
        for rule in point_svc.RULES
    ]
    return s.PointsOut(unit_id=unit_id, year=found.year, total=found.total, items=items)


# --- meetings ----------------------------------------------------------------------------------------


def _meeting_options():
    """What a meeting's own fields need (its room and host); its parts come from _parts."""
    return (
        joinedload(Meeting.room),
        joinedload(Meeting.community),
        joinedload(Meeting.street),
        joinedload(Meeting.district),
        joinedload(Meeting.city),
    )


_INVITATION_COLUMNS = (
    Invitation.meeting_id,
    Invitation.unit_id,
    Unit.name.label("unit_name"),
    Invitation.reply,
    Invitation.reply_reason,
    Invitation.delegate_name,
    Invitation.delegate_post,
    Invitation.replied_at,
    Invitation.attendance,
    Invitation.by_delegate,
    Invitation.updated_at,
)


def _parts(meeting_ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    """The agenda and the invitations of these meetings as plain rows, two statements in all:
    a page of fifty meetings has some five hundred invitations, and as objects (with their
    units) they cost ten times what the page costs to serve."""
    agenda: dict[int, list] = {mid: [] for mid in meeting_ids}
    invitations: dict[int, list] = {mid: [] for mid in meeting_ids}
    if not meeting_ids:
        return agenda, invitations
    for row in db.session.execute(
        select(
            AgendaItem.meeting_id,
            AgendaItem.position,
            AgendaItem.title,
            AgendaItem.minutes,
            AgendaItem.presenter_unit_id,
            AgendaItem.is_followup,
        )
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .order_by(AgendaItem.meeting_id, AgendaItem.position, AgendaItem.id)
    ):
        agenda[row.meeting_id].append(
            {
                "position": row.position,
                "title": row.title,
                "minutes": row.minutes,
                "presenter_unit_id": row.presenter_unit_id,
                "is_followup": row.is_followup,
            }
        )
    user = _user()
    stmt = (
        select(*_INVITATION_COLUMNS)
        .join(Unit, Unit.id == Invitation.unit_id)
        .where(Invitation.meeting_id.in_(meeting_ids))
        .order_by(Invitation.meeting_id, Invitation.id)
    )
    if not perm.can_see_all_attendees(user):
        # A liaison sees their own unit's invitation, as on the meeting page.
        stmt = stmt.where(Invitation.unit_id == (user.unit_id or 0))
    for row in db.session.execute(stmt):
        invitations[row.meeting_id].append(_invitation(row))
    return agenda, invitations


REPLY_LABELS = {r: r.label for r in Reply}
ATTENDANCE_LABELS = {a: a.label for a in Attendance}


def _invitation(row) -> dict:
    delegate = row.attendance == Attendance.PRESENT and row.by_delegate
    # A dict, validated as InvitationOut inside MeetingOut (in pydantic's core, not per
    # object in Python: a page has some five hundred).
    return {
        "unit_id": row.unit_id,
        "unit_name": row.unit_name,
        "reply": row.reply,
        "reply_label": REPLY_LABELS[row.reply],
        "reply_reason": row.reply_reason,
        "delegate_name": row.delegate_name,
        "delegate_post": row.delegate_post,
        "replied_at": local(row.replied_at),
        "attendance": row.attendance,
        "attendance_label": "委派代表出席" if delegate else ATTENDANCE_LABELS[row.attendance],
        "by_delegate": row.by_delegate,
        "updated_at": local(row.updated_at),
    }


def _last_change(meeting_ids: list[int]) -> dict[int, datetime]:
    """When each meeting's invitations last changed (all of them, whoever reads)."""
    if not meeting_ids:
        return {}
    rows = db.session.execute(
        select(Invitation.meeting_id, func.max(Invitation.updated_at))
        .where(Invitation.meeting_id.in_(meeting_ids))
        .group_by(Invitation.meeting_id)
    )
    return {mid: stamp for mid, stamp in rows if stamp is not None}


def _meetings_out(meetings: list[Meeting]) -> list[s.MeetingOut]:
    ids = [m.id for m in meetings]
    agenda, invitations = _parts(ids)
    changed = _last_change(ids)
    return [_meeting(m, agenda[m.id], invitations[m.id], changed.get(m.id)) for m in meetings]


def _meeting(
    m: Meeting, agenda: list, invitations: list, invitations_changed: datetime | None
) -> s.MeetingOut:
    changed = max(m.updated_at, invitations_changed) if invitations_changed else m.updated_at
    return s.MeetingOut(
        id=m.id,
        title=m.title,
        kind=m.kind,
        kind_label=m.kind.label,
        status=m.status,
        status_label=m.status.label,
        host_name=m.host_name,
        street_id=m.street_id,
        community_id=m.community_id,
        area_id=m.area_id,
        district_id=m.district_id,
        city_id=m.city_id,
        room_id=m.room_id,
        room_name=m.room.name,
        start_at=local(m.start_at),
        end_at=local(m.end_at),
        description=m.description,
        cancel_reason=m.cancel_reason,
        topic_deadline=local(m.topic_deadline),
        agenda=agenda,
        invitations=invitations,
        updated_at=local(changed),
    )


def _one_meeting(m: Meeting) -> s.MeetingOut:
    return _meetings_out([m])[0]


@api.operation(
    "GET", "/meetings", summary="会议列表", tag="会议", query=s.MeetingQuery, response=s.MeetingPage
)
def meetings(query: s.MeetingQuery):
    """看得到的联席会议（草稿只有召集方看得到；联络员只看到本单位受邀的），含议程和邀请。"""
    stmt = meeting_svc.meeting_filters(
        meeting_svc.visible_meetings(_user()).options(*_meeting_options()),
        community_id=query.community_id,
        kind=query.kind,
        status=query.status,
        unit_id=query.unit_id,
        start=query.start_from,
        end=query.start_before,
    )
    if query.updated_since:
        since = query.updated_since
        changed = exists().where(Invitation.meeting_id == Meeting.id, Invitation.updated_at >= since)
        stmt = stmt.where(or_(Meeting.updated_at >= since, changed))
    page = page_of(stmt, Meeting.id, query.cursor, query.limit)
    return s.MeetingPage(
        items=_meetings_out(page.rows), next_cursor=page.next_cursor, as_of=local(page.as_of)
    )


def _load_meeting(meeting_id: int) -> Meeting:
    meeting = db.session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(*_meeting_options(), selectinload(Meeting.invitations))
    )
    if meeting is None:
        raise Problem(404)
    if not perm.can_view_meeting(_user(), meeting):
        if in_scope(_user(), meeting.street_id):
            _refuse()
        raise Problem(404)
    return meeting


def _refuse(detail: str = ""):
    """403 through the app's handler, which audits the refusal as it does for the pages."""
    abort(403, detail)


@api.operation("GET", "/meetings/<int:meeting_id>", summary="会议详情", tag="会议", response=s.MeetingOut)
def meeting(meeting_id: int):
    """一次联席会议，含议程和邀请（联络员只看到本单位的邀请）。"""
    return _one_meeting(_load_meeting(meeting_id))


@api.operation(
    "POST",
    "/meetings/<int:meeting_id>/reply",
    summary="回复会议邀请",
    tag="会议",
    body=s.ReplyIn,
    response=s.MeetingOut,
    errors=(422,),
)
def reply(meeting_id: int, body: s.ReplyIn):
    """本单位联络员回复邀请：参加、不参加（须写原因）或委派代表（须写姓名和职务）。只能回复已发布且未召开的会议。"""
    meeting = _load_meeting(meeting_id)
    invitation = perm.invitation_for(_user(), meeting)
    if invitation is None:
        _refuse()
    _rule(
        lambda: meeting_svc.reply(
            invitation, body.reply, body.reason, body.delegate_name, body.delegate_post, _user()
        )
    )
    return _one_meeting(_load_meeting(meeting_id))


@api.operation(
    "POST",
    "/meetings/<int:meeting_id>/topics",
    summary="提交议题",
    tag="会议",
    body=s.TopicIn,
    response=s.TopicOut,
    status=201,
    errors=(422,),
)
def submit_topic(meeting_id: int, body: s.TopicIn):
    """受邀单位在议题征集截止前提交议题，社区审核后决定是否列入议程。"""
    meeting = _load_meeting(meeting_id)
    invitation = perm.invitation_for(_user(), meeting)
    if invitation is None:
        _refuse()
    topic: Topic = _rule(
        lambda: meeting_svc.submit_topic(
            meeting, invitation.unit, _user(), body.title, body.detail, body.cooperation
        )
    )
    return s.TopicOut(
        id=topic.id,
        meeting_id=meeting_id,
        unit_id=topic.unit_id,
        title=topic.title,
        detail=topic.detail,
        cooperation=topic.cooperation,
        status=topic.status,
        status_label=topic.status.label,
        created_at=local(topic.created_at),
    )


@api.operation(
    "GET",
    "/meetings/<int:meeting_id>/signins",
    summary="签到表",
    tag="会议",
    response=s.SignInSheet,
)
def signins(meeting_id: int):
    """扫码签到的签到表，供主办社区在会中查看：每人的单位、姓名、职务、是否受委派、签到时间和是否迟到。只有能管理这次会议的用户可以查看，与会场屏幕上的签到页相同。"""
    meeting = _load_meeting(meeting_id)
    if not perm.can_manage_meeting(_user(), meeting):
        _refuse("只有主办社区可以查看签到表。")
    signed = signin_svc.people(meeting.id)
    return s.SignInSheet(
        meeting_id=meeting.id,
        people=len(signed),
        units=len({p.unit_id for p in signed}),
        invited=len(meeting.invitations),
        items=[
            s.SignInOut(
                unit_id=p.unit_id,
                unit_name=p.unit.name,
                name=p.name,
                post=p.post,
                is_delegate=p.is_delegate,
                late=p.late,
                signed_at=local(p.signed_at),
            )
            for p in signed
        ],
    )


# --- minutes -------------------------------------------------------------------------------------------


def _readable(user, minutes: Minutes) -> list[MinutesRevision]:
    return [rev for rev in minutes.revisions if perm.can_read_revision(user, rev)]


def _minutes(m: Minutes) -> s.MinutesOut:
    revisions = _readable(_user(), m)
    changed = max([m.created_at, *(r.updated_at for r in revisions)])
    return s.MinutesOut(
        meeting_id=m.meeting_id,
        meeting_title=m.meeting.title,
        archive_no=m.archive_no,
        revisions=[
            s.RevisionOut(
                number=r.number,
                status=r.status,
                status_label=r.status.label,
                recorder=r.recorder,
                summary=r.summary,
                discussion=r.discussion or [],
                attendance=r.attendance_snapshot or [],
                actions=r.actions_snapshot or [],
                correction_reason=r.correction_reason,
                approved_at=local(r.approved_at),
                approved_by_name=r.approved_by_name,
                pdf_sha256=r.pdf_sha256,
                pdf_sm3=r.pdf_sm3,
                pdf_url=external_url("api.minutes_pdf", meeting_id=m.meeting_id, number=r.number),
                updated_at=local(r.updated_at),
            )
            for r in revisions
        ],
        updated_at=local(changed),
    )


def _minutes_options():
    return (
        joinedload(Minutes.meeting).options(
            joinedload(Meeting.community), joinedload(Meeting.district), joinedload(Meeting.city)
        ),
        selectinload(Minutes.revisions),
    )


@api.operation(
    "GET", "/minutes", summary="会议纪要列表", tag="纪要", query=s.ListQuery, response=s.MinutesPage
)
def minutes_list(query: s.ListQuery):
    """看得到的会议的纪要，含各版本的内容（联络员看不到草稿；会签前的草稿只有工作人员看得到）。"""
    user = _user()
    visible = meeting_svc.visible_meetings(user).with_only_columns(Meeting.id)
    stmt = select(Minutes).where(Minutes.meeting_id.in_(visible)).options(*_minutes_options())
    if not perm.can_read_minutes_drafts(user):
        stmt = stmt.where(
            exists().where(
                MinutesRevision.minutes_id == Minutes.id, MinutesRevision.status != MinutesStatus.DRAFT
            )
        )
    if query.updated_since:
        stmt = stmt.where(
            exists().where(
                MinutesRevision.minutes_id == Minutes.id, MinutesRevision.updated_at >= query.updated_since
            )
        )
    return _page(s.MinutesPage, page_of(stmt, Minutes.id, query.cursor, query.limit), _minutes)


def _load_minutes(meeting_id: int) -> Minutes:
    meeting = _load_meeting(meeting_id)
    found = db.session.scalar(
        select(Minutes).where(Minutes.meeting_id == meeting.id).options(*_minutes_options())
    )
    if found is None:
        raise Problem(404, "这次会议还没有纪要。")
    return found


@api.operation(
    "GET", "/meetings/<int:meeting_id>/minutes", summary="一次会议的纪要", tag="纪要", response=s.MinutesOut
)
def meeting_minutes(meeting_id: int):
    """一次会议的纪要：档案号和看得到的各版本。"""
    found = _load_minutes(meeting_id)
    if not _readable(_user(), found):
        _refuse("纪要还是草稿。")
    return _minutes(found)


@api.operation(
    "GET",
    "/meetings/<int:meeting_id>/minutes/revisions/<int:number>/pdf",
    summary="纪要 PDF",
    tag="纪要",
    media="application/pdf",
)
def minutes_pdf(meeting_id: int, number: int):
    """纪要一个版本的 PDF：已签发的为存档文件（PDF/A，逐字节与存档一致），未签发的为带水印的草稿。"""
    found = _load_minutes(meeting_id)
    rev = found.revision(number)
    if rev is None:
        raise Problem(404, "没有这个版本。")
    if not perm.can_read_revision(_user(), rev):
        _refuse("纪要还是草稿。")
    name = f"{found.archive_no or found.meeting.title}会议纪要（第{number}版）.pdf"
    if rev.status == MinutesStatus.APPROVED:
        _, body = archive.download(rev)
    else:
        body = minutes_svc.render_draft_pdf(rev)
    return download_response(body, "application/pdf", name, inline=True)


# --- actions -------------------------------------------------------------------------------------------


def _action(a: Action) -> s.ActionOut:
    changed = max([a.updated_at, *(p.created_at for p in a.progress)])
    return s.ActionOut(
        id=a.id,
        meeting_id=a.meeting_id,
        title=a.title,
        detail=a.detail,
        lead_unit_id=a.lead_unit_id,
        lead_unit_name=a.lead_unit.name,
        co_unit_ids=[u.id for u in a.co_units],
        due_on=a.due_on,
        status=a.status,
        status_label=a.status.label,
        overdue=a.is_overdue(today()),
        result=a.result,
        done_on=a.done_on,
        progress=[
            s.ProgressOut(id=p.id, on=p.on, text=p.text, unit_id=p.unit_id, created_at=local(p.created_at))
            for p in a.progress
        ],
        updated_at=local(changed),
    )


def _action_options():
    return (joinedload(Action.lead_unit), selectinload(Action.co_units), selectinload(Action.progress))


@api.operation(
    "GET", "/actions", summary="议定事项列表", tag="议定事项", query=s.ActionQuery, response=s.ActionPage
)
def actions(query: s.ActionQuery):
    """议定事项台账（联络员只看到本单位牵头或协同的），含进展。"""
    filters = action_svc.LedgerFilters(
        community_id=query.community_id,
        unit_id=query.unit_id,
        status=query.status,
        overdue=bool(query.overdue),
        q=query.q or "",
    )
    stmt = action_svc.ledger_query(_user(), filters).options(selectinload(Action.progress))
    if query.updated_since:
        since = query.updated_since
        progressed = exists().where(ActionProgress.action_id == Action.id, ActionProgress.created_at >= since)
        stmt = stmt.where(or_(Action.updated_at >= since, progressed))
    return _page(s.ActionPage, page_of(stmt, Action.id, query.cursor, query.limit), _action)


def _load_action(action_id: int) -> Action:
    found = db.session.scalar(
        select(Action).where(Action.id == action_id).options(*_action_options(), joinedload(Action.meeting))
    )
    if found is None or not in_scope(_user(), found.street_id) and not found.involves(_user().unit_id):
        raise Problem(404)
    if not perm.can_view_action(_user(), found):
        _refuse()
    return found


@api.operation(
    "GET", "/actions/<int:action_id>", summary="议定事项详情", tag="议定事项", response=s.ActionOut
)
def action(action_id: int):
    """一项议定事项及其全部进展。"""
    return _action(_load_action(action_id))


@api.operation(
    "POST",
    "/actions/<int:action_id>/progress",
    summary="报送进展",
    tag="议定事项",
    body=s.ProgressIn,
    response=s.ActionOut,
    status=201,
    errors=(422,),
)
def report_progress(action_id: int, body: s.ProgressIn):
    """牵头、协同单位的联络员（或会议召集方）报送一次进展；第一次报送后事项转为“推进中”。"""
    found = _load_action(action_id)
    if not perm.can_report_progress(_user(), found):
        _refuse()
    _rule(lambda: action_svc.post_progress(found, _user(), body.on, body.text, None))
    db.session.expire_all()
    return _action(_load_action(action_id))


# --- resources and bookings ---------------------------------------------------------------------------


def _resource(r: Resource) -> s.ResourceOut:
    return s.ResourceOut(
        id=r.id,
        title=r.title,
        kind=r.kind,
        kind_label=r.kind.label,
        description=r.description,
        owner_unit_id=r.owner_unit_id,
        owner_community_id=r.owner_community_id,
        owner_name=r.owner_name,
        community_id=r.community_id,
        capacity=r.capacity,
        quantity=r.quantity,
        availability=r.availability,
        available_from=r.available_from,
        available_until=r.available_until,
        conditions=r.conditions,
        contact_name=r.contact_name,
        contact_phone=r.contact_phone,
        visibility=r.visibility,
        bookable=r.bookable,
        active=r.active,
        updated_at=local(r.updated_at),
    )


@api.operation(
    "GET", "/resources", summary="共享资源列表", tag="资源", query=s.ResourceQuery, response=s.ResourcePage
)
def resources(query: s.ResourceQuery):
    """看得到的共享资源（停用的除外），筛选条件与“资源共享”页面相同。"""
    filters = resource_svc.CatalogueFilters(
        q=query.q or "",
        kind=query.kind,
        community_id=query.community_id,
        owner_unit_id=query.owner_unit_id,
        bookable=bool(query.bookable),
    )
    stmt = resource_svc.catalogue_filters(resource_svc.visible_resources(_user()), filters).options(
        joinedload(Resource.owner_unit), joinedload(Resource.owner_community)
    )
    return _list(s.ResourcePage, stmt, Resource, query, _resource)


def _load_resource(resource_id: int) -> Resource:
    found = db.session.scalar(
        select(Resource)
        .where(Resource.id == resource_id)
        .options(joinedload(Resource.owner_unit), joinedload(Resource.owner_community))
    )
    if found is None or not in_scope(_user(), found.street_id):
        raise Problem(404)
    if not perm.can_view_resource(_user(), found):
        _refuse()
    return found


@api.operation(
    "GET", "/resources/<int:resource_id>", summary="共享资源详情", tag="资源", response=s.ResourceOut
)
def resource(resource_id: int):
    """一项共享资源。"""
    return _resource(_load_resource(resource_id))


def _booking(b: Booking) -> s.BookingOut:
    target = b.resource.title if b.resource is not None else (b.room.name if b.room is not None else "")
    return s.BookingOut(
        id=b.id,
        resource_id=b.resource_id,
        room_id=b.room_id,
        target_name=target,
        requester_unit_id=b.requester_unit_id,
        requester_community_id=b.requester_community_id,
        start_at=local(b.start_at),
        end_at=local(b.end_at),
        purpose=b.purpose,
        status=b.status,
        status_label=b.status.label,
        decline_reason=b.decline_reason,
        created_at=local(b.created_at),
        updated_at=local(b.updated_at),
    )


@api.operation(
    "GET", "/bookings", summary="预约列表", tag="资源", query=s.BookingQuery, response=s.BookingPage
)
def bookings(query: s.BookingQuery):
    """本单位（本社区）提出的预约和别人对本单位（本社区）资源的预约；街道工作人员看到街道的全部预约。"""
    stmt = resource_svc.bookings_of(_user())
    if query.status:
        stmt = stmt.where(Booking.status == query.status)
    return _list(s.BookingPage, stmt, Booking, query, _booking)


@api.operation(
    "POST",
    "/resources/<int:resource_id>/bookings",
    summary="申请预约",
    tag="资源",
    body=s.BookingIn,
    response=s.BookingOut,
    status=201,
    errors=(422,),
)
def request_booking(resource_id: int, body: s.BookingIn):
    """联络员为本单位、社区书记为本社区申请预约一项可预约的资源；时段已被占用、不在开放时间或早于现在的会被拒绝。"""
    found = _load_resource(resource_id)
    if not perm.can_request_booking(_user()):
        _refuse()
    booking = _rule(
        lambda: resource_svc.request_booking(
            _user(), body.start_at, body.end_at, body.purpose, resource=found
        )
    )
    return _booking(booking)


# --- needs --------------------------------------------------------------------------------------------


def _need(n: Need) -> s.NeedOut:
    resident = perm.can_see_resident(_user(), n)
    return s.NeedOut(
        id=n.id,
        title=n.title,
        kind=n.kind,
        kind_label=n.kind.label,
        is_wish=n.is_wish,
        description=n.description,
        community_id=n.community_id,
        community_name=n.community.name,
        people_served=n.people_served,
        wanted_by=n.wanted_by,
        status=n.status,
        status_label=n.status.label,
        claimed_unit_id=n.claimed_unit_id,
        claimed_at=local(n.claimed_at),
        claim_confirmed=n.claim_confirmed_at is not None,
        resident_name=n.resident_name if resident else None,
        resident_phone=n.resident_phone if resident else None,
        updated_at=local(n.updated_at),
    )


@api.operation("GET", "/needs", summary="需求列表", tag="需求", query=s.NeedQuery, response=s.NeedPage)
def needs(query: s.NeedQuery):
    """需求清单和微心愿，筛选条件与“需求清单”页面相同。"""
    filters = need_svc.BoardFilters(
        community_id=query.community_id,
        kind=query.kind,
        status=query.status,
        wish=query.wish,
        q=query.q or "",
    )
    stmt = need_svc.board_query(_user(), filters).options(joinedload(Need.community))
    return _list(s.NeedPage, stmt, Need, query, _need)


def _load_need(need_id: int) -> Need:
    found = db.session.scalar(select(Need).where(Need.id == need_id).options(joinedload(Need.community)))
    if found is None or not in_scope(_user(), found.street_id):
        raise Problem(404)
    return found


@api.operation("GET", "/needs/<int:need_id>", summary="需求详情", tag="需求", response=s.NeedOut)
def need(need_id: int):
    """一项需求或微心愿。"""
    return _need(_load_need(need_id))


@api.operation(
    "POST",
    "/needs/<int:need_id>/claim",
    summary="认领需求",
    tag="需求",
    response=s.NeedOut,
    errors=(422,),
)
def claim_need(need_id: int):
    """联络员为本单位认领一项待认领的需求；社区确认后才看得到微心愿居民的联系方式。"""
    found = _load_need(need_id)
    if not perm.can_claim_need(_user(), found):
        if perm.can_claim_needs(_user()) and not found.is_open:
            raise Problem(422, "该需求已被认领或已关闭，不能再认领。")
        _refuse()
    _rule(lambda: need_svc.claim(found, _user().unit, _user()))
    return _need(_load_need(need_id))
