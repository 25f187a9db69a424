"""Who may do what, decided once for views and templates alike."""

from __future__ import annotations

from models import Community, MinutesStatus, Role, Street, Unit, UnitStatus, User, db
from services.places import community_id_of, street_id_of
from services.scope import convenes, in_scope, level_ids

# Staff who work in a street (or, the system administrator, in all of them).
STAFF = (Role.SYSADMIN, Role.ADMIN, Role.SECRETARY, Role.ARCHIVIST)
# Everyone who reads a street's meetings, minutes, actions and figures: staff and observers.
READERS = (*STAFF, Role.OBSERVER)


def is_admin_of(user: User, street_id: int | None) -> bool:
    """The system administrator, or the admin of this street."""
    if not user.is_authenticated:
        return False
    if user.role == Role.SYSADMIN:
        return True
    return user.role == Role.ADMIN and street_id is not None and user.street_id == street_id


def reads_street(user: User, street_id: int | None) -> bool:
    """Staff and observers read what lies in the streets they see."""
    return user.is_authenticated and user.role in READERS and in_scope(user, street_id)


def can_view_units(user: User) -> bool:
    return user.is_authenticated


def can_create_unit(user: User) -> bool:
    return user.is_authenticated and (user.is_admin or user.role == Role.SECRETARY)


def can_manage_unit(user: User, unit: Unit) -> bool:
    """Change a unit's identity, community and status: admin, or its community's secretary."""
    if not user.is_authenticated:
        return False
    if is_admin_of(user, unit.street_id):
        return True
    return user.role == Role.SECRETARY and user.community_id == unit.community_id


def can_edit_unit(user: User, unit: Unit) -> bool:
    """Edit a unit's profile: its managers, or its own liaison."""
    if can_manage_unit(user, unit):
        return True
    return user.is_authenticated and user.role == Role.LIAISON and user.unit_id == unit.id


def can_export_units(user: User) -> bool:
    return user.is_authenticated and user.role in STAFF


def can_import_units(user: User) -> bool:
    return can_create_unit(user)


def can_review_import(user: User, batch) -> bool:
    """An import's preview and confirmation: whoever uploaded it, or an admin."""
    return can_import_units(user) and (batch.created_by_id == user.id or user.role == Role.SYSADMIN)


def is_own_unit(user: User, unit_id: int | None) -> bool:
    """Whether this is the unit the user is the liaison of."""
    return user.is_authenticated and user.unit_id is not None and user.unit_id == unit_id


def is_own_community(user: User, community_id: int | None) -> bool:
    """Whether this is the community the user is the secretary of."""
    return (
        user.is_authenticated
        and user.role == Role.SECRETARY
        and user.community_id is not None
        and user.community_id == community_id
    )


def can_manage_places(user: User) -> bool:
    """The places pages: the system administrator (every level), a street admin (their street
    and the communities, grids and buildings below it)."""
    return user.is_authenticated and user.is_admin


def can_view_place(user: User, place) -> bool:
    """A place's page: the system administrator; a street admin their street and what lies in
    it; a secretary their community, its grids and buildings."""
    if not user.is_authenticated:
        return False
    if user.role == Role.SYSADMIN:
        return True
    if user.role == Role.SECRETARY:
        return user.community_id is not None and community_id_of(place) == user.community_id
    street_id = street_id_of(place)
    return street_id is not None and is_admin_of(user, street_id)


def can_manage_grid_roster(user: User, grid) -> bool:
    """A grid's roster (网格员 and their duties): the street's admin, or the community's secretary."""
    if not user.is_authenticated:
        return False
    if user.role == Role.SECRETARY:
        return user.community_id is not None and user.community_id == grid.community_id
    return is_admin_of(user, grid.community.street_id)


def can_manage_place(user: User, place) -> bool:
    """Rename, reorder, retire this place: the system administrator; a street admin the
    communities, grids and buildings of their street (the street itself is the system's)."""
    if user.is_authenticated and user.role == Role.SYSADMIN:
        return True
    if isinstance(place, Street) or street_id_of(place) is None:
        return False
    return is_admin_of(user, street_id_of(place))


def can_import_places(user: User) -> bool:
    """A spreadsheet of places may name any level: the system administrator's."""
    return user.is_authenticated and user.role == Role.SYSADMIN


def can_add_place(user: User, kind_key: str, parent) -> bool:
    """A new place of this level under `parent`: cities, districts and streets are the system
    administrator's; a street admin adds communities, grids and buildings in their street."""
    if not user.is_authenticated:
        return False
    if user.role == Role.SYSADMIN:
        return True
    if kind_key in ("city", "district", "street") or parent is None:
        return False
    return street_id_of(parent) is not None and is_admin_of(user, street_id_of(parent))


def can_add_room(user: User, owner: Community | Street) -> bool:
    """A meeting room for a community (its secretary, or its street's admin) or for a street (its admin)."""
    if not user.is_authenticated:
        return False
    if isinstance(owner, Street):
        return is_admin_of(user, owner.id)
    if is_admin_of(user, owner.street_id):
        return True
    return user.role == Role.SECRETARY and owner.id == user.community_id


def can_manage_areas(user: User) -> bool:
    """The 片区 pages: the system administrator (across streets), street admins (within theirs)."""
    return user.is_authenticated and user.is_admin


def can_manage_area(user: User, area) -> bool:
    """Rename, regroup or retire a 片区: the system administrator; a street admin one that lies
    wholly in their street."""
    if not can_manage_areas(user):
        return False
    return user.role == Role.SYSADMIN or all(is_admin_of(user, c.street_id) for c in area.communities)


def can_convene_area(user: User, area) -> bool:
    """A 片区 meeting: the secretary of a member community, or an admin of a member's street."""
    if not user.is_authenticated or area.retired:
        return False
    if user.role == Role.SECRETARY:
        return any(c.id == user.community_id for c in area.communities)
    return any(is_admin_of(user, c.street_id) for c in area.communities)


def area_host_choices(user: User, area) -> list:
    """The member communities a user may host a 片区 meeting for."""
    if user.role == Role.SECRETARY:
        return [c for c in area.communities if c.id == user.community_id]
    return [c for c in area.communities if is_admin_of(user, c.street_id)]


def reads_area_meeting(user: User, meeting) -> bool:
    """Staff and observers of any member street read a 片区 meeting (published)."""
    if meeting.area_id is None or not user.is_authenticated or user.role not in READERS:
        return False
    return any(in_scope(user, c.street_id) for c in meeting.area.communities)


def can_manage_users(user: User) -> bool:
    """User accounts: the system administrator (all), a street admin (their street's)."""
    return user.is_authenticated and user.is_admin


def can_manage_user(user: User, account: User) -> bool:
    """This account: the system administrator; a street admin the accounts of their street
    (never a system administrator or an observer, whose scope is above any street)."""
    if not can_manage_users(user):
        return False
    if user.role == Role.SYSADMIN:
        return True
    return account.role not in (Role.SYSADMIN, Role.OBSERVER) and account.street_id == user.street_id


def can_view_audit(user: User) -> bool:
    """Admins, and archivists (read-only, as the whole log is); each for the accounts of their street."""
    return user.is_authenticated and user.role in (Role.SYSADMIN, Role.ADMIN, Role.ARCHIVIST)


def can_see_residents_in_audit(user: User) -> bool:
    """Residents' names and phones in the audit log: admins only (archivists see them masked)."""
    return user.is_authenticated and user.is_admin


def can_see_liaison_contact(user: User, unit: Unit) -> bool:
    """Phone and e-mail of a unit's liaison: staff, and the unit's own liaison."""
    if not user.is_authenticated:
        return False
    if user.role in STAFF and in_scope(user, unit.street_id):
        return True
    return user.unit_id == unit.id


def can_see_all_attendees(user: User) -> bool:
    """Every invited unit's liaison in a calendar copy: staff; a liaison sees only their own."""
    return user.is_authenticated and user.role in STAFF


# --- meetings -------------------------------------------------------------------


def can_create_meeting(user: User) -> bool:
    """Schedule a meeting: admins and secretaries; observers at their own level (四级联动)."""
    if not user.is_authenticated:
        return False
    return user.is_admin or user.role == Role.SECRETARY or convenes(user) is not None


def can_plan_series(user: User) -> bool:
    """A regular series (例会) is a street's or a community's: admins and secretaries."""
    return user.is_authenticated and (user.is_admin or user.role == Role.SECRETARY)


def convenes_meeting(user: User, meeting) -> bool:
    """Whether the user is the district's or the city's observer that convened this meeting."""
    level = convenes(user)
    if level is None or meeting.convener is None:
        return False
    return level == (("city", meeting.city_id) if meeting.city_id else ("district", meeting.district_id))


def reads_level_meeting(user: User, meeting) -> bool:
    """Staff and observers below a district or city read its published joint meetings."""
    if meeting.convener is None or not user.is_authenticated or user.role not in READERS:
        return False
    levels = level_ids(user)
    if levels is None:
        return True
    return meeting.district_id in levels[0] if meeting.district_id else meeting.city_id in levels[1]


def can_host_street_meeting(user: User) -> bool:
    """A street-level meeting, hosted by no single community: admins only."""
    return user.is_authenticated and user.is_admin


def can_manage_meeting(user, meeting) -> bool:
    """Edit, publish, cancel, sign in: admin, or the host community's secretary; a meeting
    convened above the street: the system administrator, or the observer of that level."""
    if not user.is_authenticated:
        return False
    if meeting.convener is not None:
        return user.role == Role.SYSADMIN or convenes_meeting(user, meeting)
    if is_admin_of(user, meeting.street_id):
        return True
    return (
        user.role == Role.SECRETARY
        and meeting.community_id is not None
        and meeting.community_id == user.community_id
    )


def invitation_for(user, meeting):
    """The invitation of the liaison's unit to this meeting, if any."""
    if not user.is_authenticated or user.role != Role.LIAISON or not user.unit_id:
        return None
    return next((inv for inv in meeting.invitations if inv.unit_id == user.unit_id), None)


def can_see_draft_meeting(user, meeting) -> bool:
    """A draft is its host's working copy: admins, the host community's secretary and its creator."""
    if not user.is_authenticated:
        return False
    if meeting.convener is not None:
        return can_manage_meeting(user, meeting)
    if is_admin_of(user, meeting.street_id) or (
        meeting.created_by_id is not None and meeting.created_by_id == user.id
    ):
        return True
    return (
        user.role == Role.SECRETARY
        and meeting.community_id is not None
        and meeting.community_id == user.community_id
    )


def can_view_meeting(user, meeting) -> bool:
    """Staff see every published meeting, drafts only their hosts; a liaison the published
    meetings their unit is invited to."""
    if not user.is_authenticated:
        return False
    if meeting.is_draft:
        return can_see_draft_meeting(user, meeting)
    if meeting.convener is not None:
        if reads_level_meeting(user, meeting):
            return True
    elif reads_street(user, meeting.street_id) or reads_area_meeting(user, meeting):
        return True
    return invitation_for(user, meeting) is not None


def can_reply(user, meeting) -> bool:
    return meeting.is_scheduled and invitation_for(user, meeting) is not None


def can_submit_topic(user, meeting, now) -> bool:
    return invitation_for(user, meeting) is not None and meeting.topics_open(now)


def can_view_outbox(user: User) -> bool:
    """The outbox holds every street's mail: the system administrator's."""
    return user.is_authenticated and user.role == Role.SYSADMIN


def can_see_room_meeting_titles(user: User) -> bool:
    """A room's calendar names its meetings to staff; a liaison learns only that the room is taken."""
    return user.is_authenticated and user.role != Role.LIAISON


# --- minutes ------------------------------------------------------------------------------


def can_read_minutes_drafts(user: User, meeting=None) -> bool:
    """Drafts of minutes: staff (of a meeting convened above the street: its convener and the
    system administrator); liaisons see them once submitted for confirmation."""
    if meeting is not None and meeting.convener is not None:
        return can_manage_meeting(user, meeting)
    return user.is_authenticated and user.role in STAFF


def can_read_revision(user: User, revision) -> bool:
    """A revision of the minutes: drafts as can_read_minutes_drafts says, the others as the minutes."""
    return revision.status != MinutesStatus.DRAFT or can_read_minutes_drafts(user, revision.minutes.meeting)


def can_approve_minutes(user: User, meeting) -> bool:
    """签发: whoever manages the meeting (the host community's secretary, or an admin)."""
    return can_manage_meeting(user, meeting)


def confirmation_for(user: User, revision):
    """The confirmation (会签) the liaison's unit is asked for on this revision, if any."""
    if not user.is_authenticated or user.role != Role.LIAISON:
        return None
    return next((c for c in revision.confirmations if c.unit_id == user.unit_id), None)


# --- actions ------------------------------------------------------------------------------


def can_view_action(user, action) -> bool:
    """Staff see every action; a liaison the actions their unit leads or joins."""
    if not user.is_authenticated:
        return False
    if reads_street(user, action.street_id):
        return True
    return action.involves(user.unit_id)


def can_report_progress(user: User, action) -> bool:
    """Progress is posted by the liaisons of the lead and co-units, and by the host's managers."""
    if user.is_authenticated and user.role == Role.LIAISON:
        return action.involves(user.unit_id)
    return can_manage_meeting(user, action.meeting)


def can_close_action(user: User, action) -> bool:
    """The lead unit's liaison or the host's secretary (or an admin) closes an action."""
    if user.is_authenticated and user.role == Role.LIAISON:
        return user.unit_id == action.lead_unit_id
    return can_manage_meeting(user, action.meeting)


def can_export_actions(user: User) -> bool:
    return user.is_authenticated and user.role in READERS


# --- needs board (需求清单, 微心愿) and matching --------------------------------------


def can_post_need(user: User) -> bool:
    """Post a community need or a resident's 微心愿: admins and secretaries."""
    return user.is_authenticated and (user.is_admin or user.role == Role.SECRETARY)


def can_manage_need(user, need) -> bool:
    """Edit, confirm or release a claim, withdraw, propose matches: admin, or the need's secretary."""
    if not user.is_authenticated:
        return False
    if is_admin_of(user, need.street_id):
        return True
    return user.role == Role.SECRETARY and user.community_id == need.community_id


def is_claiming_liaison(user, need) -> bool:
    return (
        user.is_authenticated
        and user.role == Role.LIAISON
        and user.unit_id is not None
        and user.unit_id == need.claimed_unit_id
    )


def can_see_resident(user, need) -> bool:
    """A 微心愿's resident name and phone: the community's secretary, admins, and the claiming
    unit's liaison once the community has confirmed the claim (not on claiming)."""
    if can_manage_need(user, need):
        return True
    return is_claiming_liaison(user, need) and need.claim_confirmed_at is not None


def awaits_resident(user, need) -> bool:
    """The claiming liaison of a 微心愿 whose claim the community has yet to confirm."""
    return need.is_wish and is_claiming_liaison(user, need) and need.claim_confirmed_at is None


def can_claim_needs(user) -> bool:
    """Claiming at all: a liaison, for their unit."""
    return user.is_authenticated and user.role == Role.LIAISON and user.unit is not None


def can_claim_need(user, need) -> bool:
    """A liaison claims an open need for their (not withdrawn) unit in the same street."""
    if not can_claim_needs(user):
        return False
    return need.is_open and user.unit.street_id == need.street_id and user.unit.status != UnitStatus.WITHDRAWN


def can_report_need(user, need) -> bool:
    """Progress and fulfilment: the claiming unit's liaison, once the claim is confirmed."""
    return need.in_progress and is_claiming_liaison(user, need)


def can_answer_match(user, match) -> bool:
    """The resource's owner answers a proposed match: its unit's liaison, or (community-owned)
    the community's secretary; admins may too."""
    if not user.is_authenticated:
        return False
    resource = match.resource
    if is_admin_of(user, resource.street_id):
        return True
    if resource.owner_unit_id is not None:
        return user.role == Role.LIAISON and user.unit_id == resource.owner_unit_id
    return user.role == Role.SECRETARY and user.community_id == resource.owner_community_id


# --- resources and bookings ---------------------------------------------------------------


def viewer_community_id(user) -> int | None:
    """The community a user belongs to: a secretary's own, a liaison's unit's."""
    if not user.is_authenticated:
        return None
    if user.role == Role.SECRETARY:
        return user.community_id
    if user.role == Role.LIAISON and user.unit is not None:
        return user.unit.community_id
    return None


def can_create_resource(user) -> bool:
    """Publish a resource: admin, a secretary, or a liaison (for their own unit)."""
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if user.role == Role.SECRETARY:
        return user.community_id is not None
    return user.role == Role.LIAISON and user.unit_id is not None


def can_edit_resource(user, resource) -> bool:
    """Edit or deactivate: admin; the secretary of the resource's community; the owner unit's liaison."""
    if not user.is_authenticated:
        return False
    if is_admin_of(user, resource.street_id):
        return True
    if user.role == Role.SECRETARY:
        return user.community_id is not None and user.community_id == resource.community_id
    return user.role == Role.LIAISON and user.unit_id is not None and user.unit_id == resource.owner_unit_id


def can_view_resource(user, resource) -> bool:
    """Staff see every resource; a liaison the active ones shared with them, and their own unit's."""
    if not user.is_authenticated or not in_scope(user, resource.street_id):
        return False
    if user.role in READERS:
        return True
    if can_edit_resource(user, resource):
        return True
    if not resource.active:
        return False
    if not resource.community_only:
        return True
    return viewer_community_id(user) == resource.community_id


def can_see_inactive_resources(user) -> bool:
    """The catalogue's 含已停用 filter: those who publish resources, and the archivist."""
    return can_create_resource(user) or (user.is_authenticated and user.role == Role.ARCHIVIST)


def can_edit_room(user, room) -> bool:
    """A room's bookability and opening hours: admin, its community's secretary, its unit's liaison."""
    if not user.is_authenticated:
        return False
    if is_admin_of(user, room.street_id):
        return True
    if user.role == Role.SECRETARY:
        return room.community_id is not None and user.community_id == room.community_id
    return user.role == Role.LIAISON and room.unit_id is not None and user.unit_id == room.unit_id


def can_request_booking(user) -> bool:
    """Ask for a venue or a room: a liaison for their unit, a secretary for their community."""
    if not user.is_authenticated:
        return False
    if user.role == Role.LIAISON:
        return user.unit_id is not None
    return user.role == Role.SECRETARY and user.community_id is not None


def is_owner(user, resource=None, room=None) -> bool:
    """Whether the resource or room belongs to the user's own unit (a liaison) or community (a
    secretary); an admin owns nothing."""
    if not user.is_authenticated:
        return False
    if resource is not None:
        unit_id, community_id = resource.owner_unit_id, resource.owner_community_id
    elif room is not None:
        unit_id, community_id = room.unit_id, room.community_id
    else:
        return False
    if user.role == Role.LIAISON:
        return unit_id is not None and unit_id == user.unit_id
    if user.role == Role.SECRETARY:
        return community_id is not None and community_id == user.community_id
    return False


def can_book(user, resource=None, room=None) -> bool:
    """Ask for a bookable (and active) resource or room that belongs to someone else."""
    target = resource if resource is not None else room
    target_open = (
        (resource.bookable and resource.active)
        if resource is not None
        else (room.bookable and not room.retired)
    )
    return (
        target_open
        and in_scope(user, target.street_id)
        and can_request_booking(user)
        and not is_owner(user, resource=resource, room=room)
    )


def booking_street_id(booking) -> int | None:
    """The street of the booked resource or room."""
    return booking.resource.street_id if booking.resource_id else booking.room.street_id


def owns_booking_target(user, booking) -> bool:
    """Whether the user speaks for the owner of the booked resource or room (not admin)."""
    if booking.resource_id:
        return is_owner(user, resource=booking.resource)
    return is_owner(user, room=booking.room)


def is_booking_requester(user, booking) -> bool:
    if not user.is_authenticated:
        return False
    if user.role == Role.LIAISON:
        return booking.requester_unit_id is not None and user.unit_id == booking.requester_unit_id
    if user.role == Role.SECRETARY:
        return (
            booking.requester_community_id is not None and user.community_id == booking.requester_community_id
        )
    return False


def can_decide_booking(user, booking) -> bool:
    """Approve or decline: the owner unit's liaison, the owner community's secretary, or admin."""
    if not user.is_authenticated:
        return False
    return is_admin_of(user, booking_street_id(booking)) or owns_booking_target(user, booking)


def can_cancel_booking(user, booking) -> bool:
    """Withdraw a request or an approved booking: the requester, or admin."""
    if not user.is_authenticated:
        return False
    return is_admin_of(user, booking_street_id(booking)) or is_booking_requester(user, booking)


def can_view_booking(user, booking) -> bool:
    """Staff see every booking; a liaison the ones their unit asked for or was asked for."""
    if not user.is_authenticated:
        return False
    if reads_street(user, booking_street_id(booking)):
        return True
    return is_booking_requester(user, booking) or owns_booking_target(user, booking)


def can_view_all_bookings(user) -> bool:
    return user.is_authenticated and user.role in READERS


# --- unit points and the street dashboard ----------------------------------------------------


def can_view_street_stats(user: User) -> bool:
    """The street dashboard and the annual report: staff and observers (not liaisons)."""
    return user.is_authenticated and user.role in READERS


def can_view_rollup(user: User) -> bool:
    """The dashboard rolled up by district and city: the observers above the streets and the
    system administrator."""
    return user.is_authenticated and user.role in (Role.SYSADMIN, Role.OBSERVER)


def can_view_points_ranking(user: User) -> bool:
    """The annual ranking is open to every signed-in user (the per-rule counts only to staff)."""
    return user.is_authenticated


def can_export_points(user: User) -> bool:
    return user.is_authenticated and user.role in READERS


def can_view_unit_points(user: User, unit: Unit) -> bool:
    """A unit's point events (meeting and action titles): staff, and the unit's own liaison."""
    if not user.is_authenticated:
        return False
    if reads_street(user, unit.street_id):
        return True
    return user.role == Role.LIAISON and user.unit_id == unit.id


def can_edit_point_rules(user: User) -> bool:
    """A street's point rules: its admin (the system administrator for any street)."""
    return user.is_authenticated and user.is_admin


def can_see_need_photos(user, need) -> bool:
    """Photos of a resident's 微心愿 may show them or their home: as private as their contact
    (plus the archivist, who reads everything); photos of community needs: every user."""
    if not user.is_authenticated or not in_scope(user, need.street_id):
        return False
    if not need.is_wish:
        return True
    return can_see_resident(user, need) or (user.role == Role.ARCHIVIST and in_scope(user, need.street_id))


def may_hold_feed(user, kind: str, target: int) -> bool:
    """Whether a user may hold a private calendar feed of this kind (user, community, unit) and target."""
    if kind == "user":
        return target == user.id
    if kind == "community":
        if user.role == Role.SECRETARY:
            return user.community_id == target
        community = db.session.get(Community, target) if user.is_admin else None
        return community is not None and is_admin_of(user, community.street_id)
    if kind == "unit":
        if user.role == Role.LIAISON:
            return user.unit_id == target
        unit = db.session.get(Unit, target)
        if unit is None:
            return False
        return is_admin_of(user, unit.street_id) or (
            user.role == Role.SECRETARY and unit.community_id == user.community_id
        )
    return False


# --- 督办 (supervision) ----------------------------------------------------------------------


def can_view_supervision_board(user: User) -> bool:
    """The board of overdue and stalled actions: street admins, observers, the system administrator."""
    return user.is_authenticated and user.role in (Role.SYSADMIN, Role.ADMIN, Role.OBSERVER)


def can_supervise(user: User, action) -> bool:
    """Send a 督办 notice on an action: its street's admin, an observer above it, the system
    administrator; never on an action already done."""
    if not user.is_authenticated or action.is_done:
        return False
    if user.role == Role.OBSERVER:
        return in_scope(user, action.street_id)
    return is_admin_of(user, action.street_id)


def can_change_action(user: User, action) -> bool:
    """Move an action's due date or give it another lead (with a reason): whoever manages the
    meeting it was agreed at (the host's secretary, the street's admin, the convener)."""
    return not action.is_done and can_manage_meeting(user, action.meeting)


# --- the archive (档案室) -------------------------------------------------------------------


def can_view_archive(user: User) -> bool:
    """The minutes register, appraisal and transfer packages: archivists and admins (each for
    their street), the system administrator for all."""
    return user.is_authenticated and user.role in (Role.SYSADMIN, Role.ADMIN, Role.ARCHIVIST)


def can_file_minutes(user: User, minutes) -> bool:
    """Describe and file (归档) approved minutes of a street the user looks after."""
    return can_view_archive(user) and in_scope(user, minutes.meeting.street_id)


def can_set_fonds_code(user: User) -> bool:
    """A street's 全宗号: the system administrator."""
    return user.is_authenticated and user.role == Role.SYSADMIN
