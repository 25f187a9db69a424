"""Who may do what, decided once for views and templates alike."""

from __future__ import annotations

from models import Role, Unit, User


def can_view_units(user: User) -> bool:
    return user.is_authenticated


def can_create_unit(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.ADMIN, Role.SECRETARY)


def can_manage_unit(user: User, unit: Unit) -> bool:
    """Change a unit's identity, community and status: admin, or its community's secretary."""
    if not user.is_authenticated:
        return False
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.SECRETARY and user.community_id == unit.community_id


def can_edit_unit(user: User, unit: Unit) -> bool:
    """Edit a unit's profile: its managers, or its own liaison."""
    if can_manage_unit(user, unit):
        return True
    return user.is_authenticated and user.role == Role.LIAISON and user.unit_id == unit.id


def can_export_units(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.ADMIN, Role.SECRETARY, Role.ARCHIVIST)


def can_import_units(user: User) -> bool:
    return can_create_unit(user)


def can_manage_users(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def can_view_audit(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def can_see_liaison_contact(user: User, unit: Unit) -> bool:
    """Phone and e-mail of a unit's liaison: staff, and the unit's own liaison."""
    if not user.is_authenticated:
        return False
    if user.role in (Role.ADMIN, Role.ARCHIVIST, Role.SECRETARY):
        return True
    return user.unit_id == unit.id


# --- meetings -------------------------------------------------------------------


def can_create_meeting(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.ADMIN, Role.SECRETARY)


def can_manage_meeting(user, meeting) -> bool:
    """Edit, publish, cancel, sign in: admin, or the host community's secretary."""
    if not user.is_authenticated:
        return False
    if user.role == Role.ADMIN:
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


def can_view_meeting(user, meeting) -> bool:
    """Staff see every meeting; a liaison sees published meetings their unit is invited to."""
    if not user.is_authenticated:
        return False
    if user.role in (Role.ADMIN, Role.ARCHIVIST, Role.SECRETARY):
        return True
    from models import MeetingStatus

    return meeting.status != MeetingStatus.DRAFT and invitation_for(user, meeting) is not None


def can_reply(user, meeting) -> bool:
    from models import MeetingStatus

    return meeting.status == MeetingStatus.SCHEDULED and invitation_for(user, meeting) is not None


def can_submit_topic(user, meeting, now) -> bool:
    return invitation_for(user, meeting) is not None and meeting.topics_open(now)


def can_view_outbox(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def can_read_minutes_drafts(user: User) -> bool:
    """Drafts of minutes: staff only; liaisons see them once submitted for confirmation."""
    return user.is_authenticated and user.role in (Role.ADMIN, Role.SECRETARY, Role.ARCHIVIST)


# --- actions ------------------------------------------------------------------------------


def can_view_action(user, action) -> bool:
    """Staff see every action; a liaison the actions their unit leads or joins."""
    if not user.is_authenticated:
        return False
    if user.role in (Role.ADMIN, Role.ARCHIVIST, Role.SECRETARY):
        return True
    return action.involves(user.unit_id)


def can_export_actions(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.ADMIN, Role.SECRETARY, Role.ARCHIVIST)
