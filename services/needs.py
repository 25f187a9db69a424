"""The needs board: posting, two-way claiming, progress with photos, matching. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from common.paging import paged
from common.search import escape_like
from models import (
    Action,
    ActionStatus,
    ActionTag,
    Attachment,
    Community,
    Match,
    MatchStatus,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    NeedUpdate,
    Principle,
    Resource,
    ResourceKind,
    Role,
    Unit,
    UnitStatus,
    User,
    Visibility,
    db,
)
from models.base import RuleError, today, utcnow
from models.need import ACTIVE_CLAIM, CLOSED
from services import notify
from services.actions import ActionError, store_attachment
from services.grids import check_grid
from services.scope import scoped, street_ids

PHOTO_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")
MAX_PHOTOS = 6
SUGGESTIONS = 10


class NeedError(RuleError):
    """A rule of the needs board was broken; the message is for the user."""


@dataclass
class BoardFilters:
    community_id: int | None = None
    kind: ResourceKind | None = None
    status: NeedStatus | None = None
    wish: bool | None = None  # True: 微心愿 only; False: community needs only
    q: str = ""
    mine: bool = False  # a liaison: my unit's claims
    stale: bool = False


def stale_days() -> int:
    return int(current_app.config.get("NEED_STALE_DAYS", 14))


def stale_cutoff() -> datetime:
    return utcnow() - timedelta(days=stale_days())


def is_stale(need: Need, cutoff: datetime | None = None) -> bool:
    """A claim with no progress for NEED_STALE_DAYS days."""
    return need.claim_active and need.last_activity_at < (cutoff or stale_cutoff())


def idle_days(need: Need) -> int:
    return max(0, (utcnow() - need.last_activity_at).days)


def board_query(user: User, f: BoardFilters) -> Select[tuple[Need]]:
    """Needs matching the board's filters: open first, then claims under way, fulfilled, withdrawn;
    newest first within each. Paginate it with BoardPagination."""
    stmt = _board_base().where(scoped(Need.street_id, user))
    if f.community_id:
        stmt = stmt.where(Need.community_id == f.community_id)
    if f.kind:
        stmt = stmt.where(Need.kind == f.kind)
    if f.status:
        stmt = stmt.where(Need.status == f.status)
    if f.wish is not None:
        stmt = stmt.where(Need.is_wish.is_(f.wish))
    if f.q:
        pattern = f"%{escape_like(f.q)}%"
        stmt = stmt.where(
            or_(Need.title.ilike(pattern, escape="\\"), Need.description.ilike(pattern, escape="\\"))
        )
    if f.mine:
        stmt = stmt.where(Need.claimed_unit_id == (user.unit_id or 0))
    if f.stale:
        stmt = stmt.where(Need.status.in_(ACTIVE_CLAIM), Need.last_activity_at < stale_cutoff())
    return stmt


@lru_cache(maxsize=1)
def _board_base() -> Select[tuple[Need]]:
    """The board's order, built once (filters are added to it)."""
    order = [
        (Need.status == NeedStatus.OPEN).desc(),
        (Need.status.in_(ACTIVE_CLAIM)).desc(),
        (Need.status == NeedStatus.FULFILLED).desc(),
    ]
    return select(Need).order_by(*order, Need.created_at.desc(), Need.id.desc())


class BoardPagination(SelectPagination):
    """Sort and skip over the ids alone, then load the page's needs with what the board shows:
    a deep page costs one narrow sort instead of sorting every joined row.

    The number of all matching needs comes with the ids (common.paging), so the board
    asks no separate count; only a page past the end asks again."""

    def _query_items(self) -> list[Row]:
        stmt = self._query_args["select"]
        session = self._query_args["session"]
        page = session.execute(
            paged(stmt, Need.id), {"page_limit": self.per_page, "page_offset": self._query_offset}
        ).all()
        self._total = page[0][1] if page else None
        ids = [i for i, _ in page]
        if not ids:
            return []
        by_id = {row.Need.id: row for row in session.execute(_page_select(), {"ids": ids})}
        return [by_id[i] for i in ids if i in by_id]

    def _query_count(self) -> int:
        if self._total is not None:
            return self._total
        return 0 if self._query_offset == 0 else super()._query_count()


@lru_cache(maxsize=1)
def _page_select() -> Select:
    """The needs of a board page (:ids) as rows of the Need and the names the board prints
    beside it (community_name, claimed_unit_name), built once. Names rather than joined
    Community and Unit objects: building those took a tenth of the board's time."""
    return (
        select(Need, Community.name.label("community_name"), Unit.name.label("claimed_unit_name"))
        .join(Community, Community.id == Need.community_id)
        .outerjoin(Unit, Unit.id == Need.claimed_unit_id)
        .where(Need.id.in_(bindparam("ids", expanding=True)))
    )


def paginate_board(stmt: Select[tuple[Need]], page: int, per_page: int) -> BoardPagination:
    """A page of the board; pages past the end are empty."""
    page = min(max(page, 1), 1_000_000)  # an absurd page number must not overflow the OFFSET
    return BoardPagination(select=stmt, session=db.session, page=page, per_page=per_page, error_out=False)


def load_need(need_id: int, for_update: bool = False) -> Need | None:
    """A need with what its page shows: community, claimant, updates with authors and photos."""
    stmt = (
        select(Need)
        .where(Need.id == need_id)
        .options(
            joinedload(Need.community),
            joinedload(Need.claimed_unit),
            joinedload(Need.posted_by),
            selectinload(Need.updates).joinedload(NeedUpdate.author),
            selectinload(Need.updates).joinedload(NeedUpdate.unit),
            selectinload(Need.updates).selectinload(NeedUpdate.photos),
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=Need)
    return db.session.scalar(stmt)


# --- posting and the claim's life ---------------------------------------------------------


def post_need(community: Community, data: dict, by: User) -> Need:
    """Post a community need or a 微心愿 on the board."""
    if data.get("wanted_by") and data["wanted_by"] < today():
        raise NeedError("期望完成日期不能早于今天。")
    need = Need(street_id=community.street_id, community_id=community.id, posted_by_id=by.id)
    _apply(need, data)
    db.session.add(need)
    db.session.flush()
    return need


def edit_need(need: Need, data: dict) -> None:
    """Change what a need asks for (not once fulfilled or withdrawn)."""
    if need.is_closed:
        raise NeedError("已完成或已撤回的需求不能修改。")
    _apply(need, data)
    need.version += 1


def _apply(need: Need, data: dict) -> None:
    for key in ("kind", "is_wish", "title", "description", "people_served", "wanted_by"):
        setattr(need, key, data[key])
    if "grid_id" in data:
        need.grid_id = check_grid(data["grid_id"], need.community_id)
    need.resident_name = (data.get("resident_name") or "") if data["is_wish"] else ""
    need.resident_phone = (data.get("resident_phone") or "") if data["is_wish"] else ""


def _note(need: Need, by: User | None, text: str, unit_id: int | None = None, on: date | None = None):
    entry = NeedUpdate(author_id=by.id if by else None, unit_id=unit_id, on=on or today(), text=text)
    need.updates.append(entry)
    return entry


def claim(need: Need, unit: Unit, by: User) -> None:
    """A unit claims an open need; the community's secretary then confirms or releases it."""
    if need.status != NeedStatus.OPEN:
        raise NeedError("该需求已被认领或已关闭，不能再认领。")
    if unit.status == UnitStatus.WITHDRAWN:
        raise NeedError("已退出的单位不能认领需求。")
    if unit.street_id != need.street_id:
        raise NeedError("只能认领本街道的需求。")
    now = utcnow()
    need.status = NeedStatus.CLAIMED
    need.claimed_unit_id = unit.id
    need.claimed_by_id = by.id
    need.claimed_at = now
    need.claim_confirmed_at = None
    need.last_activity_at = now
    need.version += 1
    _note(need, by, f"{unit.name}认领了此{'微心愿' if need.is_wish else '需求'}。", unit.id)
    db.session.flush()
    notify.need_claimed(need, unit, by)


def confirm_claim(need: Need, by: User) -> None:
    """The secretary confirms a unit's claim: the need is now under way (落实中)."""
    if need.status != NeedStatus.CLAIMED:
        raise NeedError("只有待确认的认领可以确认。")
    need.status = NeedStatus.IN_PROGRESS
    need.claim_confirmed_at = utcnow()
    need.last_activity_at = need.claim_confirmed_at
    need.version += 1
    _note(need, by, "社区确认了认领，进入落实阶段。")
    notify.claim_decided(need, need.claimed_unit_id, True, by)


def release_claim(need: Need, by: User, reason: str) -> None:
    """The secretary releases a claim with a reason: the need is open again."""
    if not need.claim_active:
        raise NeedError("该需求当前没有可释放的认领。")
    reason = reason.strip()
    if not reason:
        raise NeedError("请填写释放认领的原因。")
    unit_name = need.claimed_unit.name if need.claimed_unit else "原认领单位"
    notify.claim_decided(need, need.claimed_unit_id, False, by, reason)
    need.status = NeedStatus.OPEN
    need.claimed_unit_id = None
    need.claimed_by_id = None
    need.claimed_at = None
    need.claim_confirmed_at = None
    need.last_activity_at = utcnow()
    need.version += 1
    _note(need, by, f"社区释放了{unit_name}的认领，需求重新开放。原因：{reason}")


def withdraw(need: Need, by: User, reason: str) -> None:
    """The secretary withdraws a need that is no longer wanted."""
    if need.is_closed:
        raise NeedError("已完成或已撤回的需求不能撤回。")
    reason = reason.strip()
    if not reason:
        raise NeedError("请填写撤回的原因。")
    need.status = NeedStatus.WITHDRAWN
    need.withdrawn_reason = reason
    need.version += 1
    _note(need, by, f"社区撤回了此需求。原因：{reason}")


def store_photos(files: list[tuple[str, bytes]], by: User) -> list[Attachment]:
    """Keep uploaded photos (images only, checked by content and size) as attachments."""
    files = [(name, data) for name, data in files if name]
    if len(files) > MAX_PHOTOS:
        raise NeedError(f"一次最多上传 {MAX_PHOTOS} 张照片。")
    stored = []
    for name, data in files:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in PHOTO_EXTENSIONS:
            raise NeedError(f"“{name[:60]}”不是图片：照片只能是 JPG、PNG、GIF 或 WEBP 格式。")
        try:
            stored.append(store_attachment(name, data, by))
        except ActionError as exc:
            raise NeedError(f"“{name[:60]}”：{exc}".replace("附件", "照片")) from exc
    return stored


def report_progress(need: Need, by: User, on: date, text: str, photos: list[Attachment]) -> NeedUpdate:
    """The claiming unit records progress, optionally with photos."""
    if need.status != NeedStatus.IN_PROGRESS:
        raise NeedError("认领经社区确认后才能报送进展。")
    _check_day(need, on)
    if not text.strip():
        raise NeedError("请填写进展情况。")
    entry = _note(need, by, text.strip(), need.claimed_unit_id, on)
    entry.photos = photos
    need.last_activity_at = utcnow()
    return entry


def fulfil(need: Need, by: User, on: date, note: str, photos: list[Attachment]) -> NeedUpdate:
    """The claiming unit records fulfilment with a note: the need is done."""
    if need.status != NeedStatus.IN_PROGRESS:
        raise NeedError("认领经社区确认后才能登记完成。")
    _check_day(need, on)
    if not note.strip():
        raise NeedError("请填写完成情况。")
    entry = _note(need, by, note.strip(), need.claimed_unit_id, on)
    entry.is_fulfilment = True
    entry.photos = photos
    now = utcnow()
    need.status = NeedStatus.FULFILLED
    need.fulfilled_at = now
    need.fulfilment_note = note.strip()
    need.last_activity_at = now
    need.version += 1
    return entry


def _check_day(need: Need, on: date) -> None:
    if on > today():
        raise NeedError("日期不能晚于今天。")
    if need.claimed_at and on < need.claimed_at.date() - timedelta(days=1):
        raise NeedError("日期不能早于认领日期。")


def stale_claims(user: User, limit: int = 10) -> tuple[list[Need], int]:
    """Claims with no progress for NEED_STALE_DAYS days that the user looks after, and their count."""
    params = {"cutoff": stale_cutoff()} | _looks_after(user)
    rows = db.session.execute(_stale_claims_select(_scope_kind(user), limit), params).all()
    return [need for need, _ in rows], rows[0][1] if rows else 0


# The dashboard's panels run these on every visit; their statements are built once, with
# bound parameters: building them, loader options and all, cost more than running them.


def _scope_kind(user: User) -> str:
    """Whose needs a user looks after: a secretary their community's, the system administrator
    every street's, others their streets'."""
    if user.role == Role.SECRETARY:
        return "community"
    return "all" if street_ids(user) is None else "streets"


def _looks_after(user: User) -> dict:
    """The bound values of _in_scope for the user."""
    kind = _scope_kind(user)
    if kind == "community":
        return {"community_id": user.community_id or 0}
    return {"street_ids": list(street_ids(user))} if kind == "streets" else {}


def _in_scope(kind: str) -> tuple:
    if kind == "community":
        return (Need.community_id == bindparam("community_id"),)
    if kind == "streets":
        return (Need.street_id.in_(bindparam("street_ids", expanding=True)),)
    return ()


@lru_cache(maxsize=8)
def _stale_claims_select(kind: str, limit: int) -> Select:
    stmt = select(Need).where(
        Need.status.in_(ACTIVE_CLAIM), Need.last_activity_at < bindparam("cutoff"), *_in_scope(kind)
    )
    # The total comes with the rows (a window over every match, before LIMIT): one statement.
    return (
        stmt.add_columns(func.count().over())
        .options(joinedload(Need.claimed_unit), joinedload(Need.community))
        .order_by(Need.last_activity_at)
        .limit(limit)
    )


# --- matching (资源需求对接) -------------------------------------------------------------


def neighbour_ids(community: Community) -> Select:
    """The community and its neighbours: the same street, position differing by at most 1."""
    return select(Community.id).where(
        Community.street_id == community.street_id,
        Community.position.between(community.position - 1, community.position + 1),
    )


def _available_on(day: date | None):
    """Resources available on the day wanted (or, without a day, not expired)."""
    if day is None:
        return or_(Resource.available_until.is_(None), Resource.available_until >= today())
    return and_(
        or_(Resource.available_from.is_(None), Resource.available_from <= day),
        or_(Resource.available_until.is_(None), Resource.available_until >= day),
    )


def suggestions_query(need: Need) -> Select[tuple[Resource]]:
    """Resources that could serve a need: same kind, owner in the same or a neighbouring
    community, active, visible to the need's community, available when wanted; not yet matched."""
    matched = select(Match.resource_id).where(Match.need_id == need.id)
    return (
        select(Resource)
        .outerjoin(Unit, Unit.id == Resource.owner_unit_id)
        .where(
            Resource.street_id == need.street_id,
            Resource.kind == need.kind,
            Resource.active.is_(True),
            Resource.community_id.in_(neighbour_ids(need.community)),
            or_(Resource.visibility == Visibility.ALL, Resource.community_id == need.community_id),
            or_(Unit.id.is_(None), Unit.status != UnitStatus.WITHDRAWN),
            _available_on(need.wanted_by),
            Resource.id.not_in(matched),
        )
        .options(joinedload(Resource.owner_unit), joinedload(Resource.owner_community))
        .order_by((Resource.community_id == need.community_id).desc(), Resource.title, Resource.id)
    )


def suggested_resources(need: Need, user: User) -> list[Resource]:
    """The suggestions the viewer may see (a liaison: those visible to their unit)."""
    if need.is_closed:
        return []
    stmt = suggestions_query(need)
    if user.role == Role.LIAISON:
        unit_community = select(Unit.community_id).where(Unit.id == (user.unit_id or 0)).scalar_subquery()
        stmt = stmt.where(or_(Resource.visibility == Visibility.ALL, Resource.community_id == unit_community))
    return list(db.session.scalars(stmt.limit(SUGGESTIONS)))


def matches_of(need: Need) -> list[Match]:
    return list(
        db.session.scalars(
            select(Match)
            .where(Match.need_id == need.id)
            .options(
                joinedload(Match.resource).joinedload(Resource.owner_unit),
                joinedload(Match.resource).joinedload(Resource.owner_community),
            )
            .order_by(Match.id)
        )
    )


@dataclass
class ResourceNeed:
    need: Need
    match: Match | None


def needs_for_resource(resource: Resource, user: User, limit: int = SUGGESTIONS) -> list[ResourceNeed]:
    """Needs the resource is proposed for or matched with (while under way), then open needs it
    could serve (the reverse of the suggestions), with any match made.

    The suggestions: same kind, a need of the resource's community or a neighbouring one (only
    its own community if the resource is visible there only), wanted when the resource is
    available. A need the resource was proposed for stays listed with its match even when it no
    longer fits (claimed through the match, its date passed), so the panel never says that no
    need matches while the need's page shows the resource proposed.
    """
    matched = [
        ResourceNeed(need, match)
        for need, match in db.session.execute(
            select(Need, Match)
            .join(Match, and_(Match.need_id == Need.id, Match.resource_id == resource.id))
            .where(
                Match.status.in_((MatchStatus.PROPOSED, MatchStatus.ACCEPTED)),
                Need.status.not_in(CLOSED),
            )
            .options(joinedload(Need.community))
            .order_by(Match.id)
            .limit(limit)
        ).all()
    ]
    if not resource.active:
        return matched
    community = resource.community or db.session.get(Community, resource.community_id)
    window = []
    if resource.available_from is not None:
        window.append(or_(Need.wanted_by.is_(None), Need.wanted_by >= resource.available_from))
    if resource.available_until is not None:
        window.append(or_(Need.wanted_by.is_(None), Need.wanted_by <= resource.available_until))
    stmt = (
        select(Need, Match)
        .outerjoin(Match, and_(Match.need_id == Need.id, Match.resource_id == resource.id))
        .where(
            Need.street_id == resource.street_id,
            Need.kind == resource.kind,
            Need.status == NeedStatus.OPEN,
            Need.community_id.in_(neighbour_ids(community)),
            or_(Need.wanted_by.is_(None), Need.wanted_by >= today()),
            *window,
        )
        .options(joinedload(Need.community))
        .order_by(
            (Need.community_id == resource.community_id).desc(),
            Need.wanted_by.is_(None),
            Need.wanted_by,
            Need.id,
        )
        .limit(limit)
    )
    if resource.visibility == Visibility.COMMUNITY:
        stmt = stmt.where(Need.community_id == resource.community_id)
    if matched:
        stmt = stmt.where(Need.id.not_in([row.need.id for row in matched]))
    return matched + [ResourceNeed(need, match) for need, match in db.session.execute(stmt).all()]


def propose_match(need: Need, resource: Resource, by: User) -> Match:
    """Propose a resource to its owner for a need (one click from the suggestions)."""
    if need.is_closed:
        raise NeedError("已完成或已撤回的需求不能再对接资源。")
    existing = db.session.scalar(
        select(Match).where(Match.need_id == need.id, Match.resource_id == resource.id)
    )
    if existing is not None:
        raise NeedError(f"已向资源方推荐过“{resource.title}”（{existing.status.label}）。")
    eligible = db.session.scalar(
        suggestions_query(need).where(Resource.id == resource.id).with_only_columns(Resource.id)
    )
    if eligible is None:
        raise NeedError("该资源不符合对接条件：类别、所在社区、可见范围或可用时间与需求不匹配。")
    match = Match(need_id=need.id, resource_id=resource.id, proposed_by_id=by.id)
    db.session.add(match)
    db.session.flush()
    notify.match_event(match, by)
    return match


def decide_match(match: Match, by: User, accept: bool, reason: str = "") -> None:
    """The resource's owner accepts or declines a proposed match.

    Accepting a unit's resource for a need nobody has claimed yet counts as that unit's
    claim, already confirmed (the community asked for it): the need is then under way.
    """
    if match.status != MatchStatus.PROPOSED:
        raise NeedError(f"该对接已{match.status.label}，不能重复回应。")
    need = match.need
    if accept and need.is_closed:
        raise NeedError("该需求已完成或已撤回，无需再对接。")
    match.status = MatchStatus.ACCEPTED if accept else MatchStatus.DECLINED
    match.decided_by_id = by.id
    match.decided_at = utcnow()
    match.reason = reason.strip()
    resource = match.resource
    if accept:
        text = f"{resource.owner_name}同意以“{resource.title}”对接此需求。"
        if need.status == NeedStatus.OPEN and resource.owner_unit_id is not None:
            now = utcnow()
            need.status = NeedStatus.IN_PROGRESS
            need.claimed_unit_id = resource.owner_unit_id
            need.claimed_by_id = by.id
            need.claimed_at = now
            need.claim_confirmed_at = now
            need.last_activity_at = now
            need.version += 1
            text += "需求由该单位认领落实。"
    else:
        text = f"{resource.owner_name}婉拒了“{resource.title}”的对接" + (
            f"：{match.reason}" if match.reason else "。"
        )
    _note(need, by, text, resource.owner_unit_id)
    notify.match_event(match, by, decided=True)


def meetings_for_action(need: Need, limit: int = 20) -> list[Meeting]:
    """Meetings of the need's community an accepted match may become an action of."""
    return list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.community_id == need.community_id,
                Meeting.status.in_((MeetingStatus.SCHEDULED, MeetingStatus.HELD)),
            )
            .order_by(Meeting.start_at.desc())
            .limit(limit)
        )
    )


def match_to_action(match: Match, meeting: Meeting, by: User) -> Action:
    """Turn an accepted match into an agreed action (资源共享) of a meeting of the need's community."""
    if match.status != MatchStatus.ACCEPTED:
        raise NeedError("只有已接受的对接可以转为议定事项。")
    if match.action_id is not None:
        raise NeedError("该对接已经转为议定事项。")
    need, resource = match.need, match.resource
    if meeting.community_id != need.community_id or meeting.status not in (
        MeetingStatus.SCHEDULED,
        MeetingStatus.HELD,
    ):
        raise NeedError("请选择本社区已发布或已召开的会议（草稿会议尚未通知各单位）。")
    lead_id = resource.owner_unit_id or need.claimed_unit_id
    if lead_id is None:
        raise NeedError("社区自有资源需先由单位认领需求，才能确定议定事项的牵头单位。")
    due = need.wanted_by if need.wanted_by and need.wanted_by >= today() else today() + timedelta(days=30)
    position = db.session.scalar(
        select(func.coalesce(func.max(Action.position), 0)).where(Action.meeting_id == meeting.id)
    )
    action = Action(
        meeting_id=meeting.id,
        street_id=meeting.street_id,
        community_id=meeting.community_id,
        title=need.title[:200],
        detail=(
            f"以{resource.owner_name}的“{resource.title}”对接{need.community.name}"
            f"{'微心愿' if need.is_wish else '需求'}“{need.title}”。"
            + (f"\n{need.description}" if need.description else "")
        ),
        lead_unit_id=lead_id,
        due_on=due,
        status=ActionStatus.OPEN,
        position=position + 1,
        need_id=need.id,
        resource_id=resource.id,
    )
    action.tags = [ActionTag(principle=Principle.SHARE)]
    if need.claimed_unit_id and need.claimed_unit_id != lead_id:
        action.co_units = [db.session.get(Unit, need.claimed_unit_id)]
    db.session.add(action)
    db.session.flush()
    match.action_id = action.id
    notify.action_assigned(action, by)
    _note(need, by, f"对接已转为议定事项“{action.title}”（{meeting.title}）。")
    return action


def pending_matches(user: User, limit: int = 10) -> list[Match]:
    """Proposals waiting for the user's answer as a resource owner."""
    if user.role == Role.LIAISON:
        owner = {"unit_id": user.unit_id or 0}
    elif user.role == Role.SECRETARY:
        owner = {"community_id": user.community_id or 0}
    else:
        return []
    return list(db.session.scalars(_pending_matches_select(next(iter(owner)), limit), owner))


@lru_cache(maxsize=4)
def _pending_matches_select(owner: str, limit: int) -> Select:
    owner_column = Resource.owner_unit_id if owner == "unit_id" else Resource.owner_community_id
    return (
        select(Match)
        .join(Resource, Resource.id == Match.resource_id)
        .where(Match.status == MatchStatus.PROPOSED, owner_column == bindparam(owner))
        .options(joinedload(Match.need), joinedload(Match.resource))
        .order_by(Match.id)
        .limit(limit)
    )


def claims_to_confirm(user: User, limit: int = 10) -> list[Need]:
    """Claims waiting for the secretary's confirmation."""
    if not (user.is_admin or user.role == Role.SECRETARY):
        return []
    return list(db.session.scalars(_claims_to_confirm_select(_scope_kind(user), limit), _looks_after(user)))


@lru_cache(maxsize=8)
def _claims_to_confirm_select(kind: str, limit: int) -> Select:
    stmt = select(Need).where(Need.status == NeedStatus.CLAIMED, *_in_scope(kind))
    return stmt.options(joinedload(Need.claimed_unit)).order_by(Need.claimed_at).limit(limit)


def unit_claims(unit: Unit, limit: int = 10) -> list[Need]:
    """The needs a unit has claimed, under way first."""
    return list(
        db.session.scalars(
            select(Need)
            .where(Need.claimed_unit_id == unit.id, Need.status != NeedStatus.WITHDRAWN)
            .options(joinedload(Need.community))
            .order_by((Need.status == NeedStatus.FULFILLED), Need.claimed_at.desc(), Need.id.desc())
            .limit(limit)
        )
    )
