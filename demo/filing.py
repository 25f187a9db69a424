"""The demo's archive: 全宗号 for both streets, and most approved minutes filed by the archivist
(件号, 档号, the stamped rendition), the newest left 待归档 so the register shows both; one
item's 保管期限 raised to 永久 with a reason."""

from __future__ import annotations

from sqlalchemy import select

from models import Meeting, Minutes, Retention, Role, Street, User, db
from services import filing

FONDS = {"东大街街道": "J001", "八一路街道": "J002"}
LEFT_UNFILED = 2


def seed() -> None:
    """Once: fonds codes, then file all but the newest approved minutes of each street."""
    streets = db.session.scalars(select(Street).where(Street.name.in_(list(FONDS)))).all()
    if not streets or any(s.fonds_code for s in streets):
        return
    for street in streets:
        filing.set_fonds_code(street, FONDS[street.name])
    db.session.flush()
    for street in streets:
        archivist = db.session.scalar(
            select(User)
            .where(User.role.in_([Role.ARCHIVIST, Role.ADMIN]), User.street_id == street.id)
            .order_by(User.role.desc())
        )
        if archivist is None:
            continue
        items = db.session.scalars(
            select(Minutes)
            .join(Meeting, Meeting.id == Minutes.meeting_id)
            .where(Meeting.street_id == street.id, Minutes.archive_no.is_not(None))
            .order_by(Meeting.start_at)
        ).all()
        for k, minutes in enumerate(items[: max(0, len(items) - LEFT_UNFILED)]):
            if k == 0:
                filing.change_description(
                    minutes,
                    Retention.PERMANENT,
                    "党建办",
                    "首次共驻共建联席会议，确立联席会议制度，永久保存。",
                    archivist,
                )
            filing.file_item(minutes, archivist)
            db.session.flush()
