"""Demo logins: the system administrator, the street's admin and archivist, a secretary per
community and a liaison per unit."""

from __future__ import annotations

from sqlalchemy import select

from demo.places import STREET
from demo.units import DEMO_UNIT_DOMAIN
from models import Community, Role, Unit, User, db
from services.passwords import check_password, set_password

SECRETARY_NAMES = ["刘芳", "陈卫东", "杨秀兰", "黄志明", "周丽娟"]
# Demo addresses pass the app's own e-mail validation, so a demo liaison can save their
# unit's profile (email-validator refuses special-use names such as .local).
DEMO_STREET_DOMAIN = "dongdajie.example.gov.cn"
# Earlier demo databases used this one; seed-demo moves them to the two above.
LEGACY_DEMO_DOMAIN = "demo.gongjian.local"


def ensure_user(username: str, password: str, **fields) -> tuple[User, bool]:
    """Create the demo login if missing; set its password only if it differs."""
    user = db.session.scalar(select(User).where(User.username == username))
    created = user is None
    if created:
        user = User(username=username, password_hash="", **fields)
        db.session.add(user)
        set_password(user, password)
    elif not check_password(user, password):
        set_password(user, password)
    return user, created


def replace_legacy_demo_addresses() -> None:
    """Give demo units and logins seeded with the old invalid domain a valid address."""
    legacy = "@" + LEGACY_DEMO_DOMAIN
    for unit in db.session.scalars(select(Unit).where(Unit.liaison_email.endswith(legacy))):
        unit.liaison_email = unit.liaison_email.removesuffix(legacy) + "@" + DEMO_UNIT_DOMAIN
    for user in db.session.scalars(select(User).where(User.email.endswith(legacy))):
        domain = DEMO_UNIT_DOMAIN if user.role == Role.LIAISON else DEMO_STREET_DOMAIN
        user.email = user.email.removesuffix(legacy) + "@" + domain


def seed(password: str, communities: list[Community], units: list[Unit]) -> list[tuple[str, str, str]]:
    """The demo logins, all with one password; return (username, role, scope) for printing."""
    logins = []
    street_id = communities[0].street_id
    ensure_user(
        "sysadmin",
        password,
        display_name="区委组织部信息科 系统管理员",
        role=Role.SYSADMIN,
        email=f"sysadmin@{DEMO_STREET_DOMAIN}",
    )
    logins.append(("sysadmin", Role.SYSADMIN.label, "全部地点、用户和设置"))
    ensure_user(
        "admin",
        password,
        display_name="街道党工委管理员",
        role=Role.ADMIN,
        street_id=street_id,
        email=f"admin@{DEMO_STREET_DOMAIN}",
    )
    logins.append(("admin", Role.ADMIN.label, STREET[0]))
    ensure_user("archivist", password, display_name="档案室 郭敏", role=Role.ARCHIVIST, street_id=street_id)
    logins.append(("archivist", Role.ARCHIVIST.label, STREET[0]))
    for n, community in enumerate(communities, start=1):
        ensure_user(
            f"secretary{n}",
            password,
            display_name=SECRETARY_NAMES[n - 1],
            role=Role.SECRETARY,
            community_id=community.id,
            email=f"secretary{n}@{DEMO_STREET_DOMAIN}",
        )
        logins.append((f"secretary{n}", Role.SECRETARY.label, community.name))
    for k, unit in enumerate(units, start=1):
        ensure_user(
            f"liaison{k}",
            password,
            display_name=unit.liaison_name or f"联络员{k}",
            role=Role.LIAISON,
            unit_id=unit.id,
            email=unit.liaison_email,
        )
        logins.append((f"liaison{k}", Role.LIAISON.label, unit.name))
    replace_legacy_demo_addresses()
    return logins
