"""Places as data: city → district → street → community → grid → building.

The system administrator creates, renames, reorders and retires them on the places pages,
or imports them from a spreadsheet. Nothing with a history is deleted: a retired place
keeps its units, meetings and records, and leaves the choices offered for new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Select, func, select

from models import Building, City, Community, District, Grid, Room, Street, Unit, User, db
from models.base import RuleError, utcnow
from services.scope import scoped, street_ids


@dataclass(frozen=True)
class Kind:
    """One level of the hierarchy: its model, its parent level and how it is called."""

    key: str
    label: str  # 市, 区, 街道 …
    model: type
    parent: str | None  # the key of the parent level
    parent_attr: str | None  # the model's foreign key to its parent
    child: str | None  # the key of the level below

    @property
    def parent_column(self):
        return getattr(self.model, self.parent_attr) if self.parent_attr else None


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("city", "市", City, None, None, "district"),
        Kind("district", "区", District, "city", "city_id", "street"),
        Kind("street", "街道", Street, "district", "district_id", "community"),
        Kind("community", "社区", Community, "street", "street_id", "grid"),
        Kind("grid", "网格", Grid, "community", "community_id", "building"),
        Kind("building", "楼栋", Building, "grid", "grid_id", None),
    )
}
LEVELS = tuple(KINDS)  # from the top down
NAME_MAX, SHORT_MAX, ADDRESS_MAX = 100, 20, 200


def kind_of(key: str) -> Kind:
    """The level called `key`; a RuleError for anything else (a view answers 404)."""
    try:
        return KINDS[key]
    except KeyError:
        raise RuleError("没有这一级地点。") from None


def kind_for(place: Any) -> Kind:
    return next(k for k in KINDS.values() if isinstance(place, k.model))


def parent_of(place: Any) -> Any | None:
    kind = kind_for(place)
    if kind.parent is None:
        return None
    parent_id = getattr(place, kind.parent_attr)
    return db.session.get(KINDS[kind.parent].model, parent_id) if parent_id else None


def ancestors(place: Any) -> list[Any]:
    """The places above this one, from the top down (the breadcrumb)."""
    chain = []
    current = parent_of(place)
    while current is not None:
        chain.append(current)
        current = parent_of(current)
    return chain[::-1]


def street_id_of(place: Any) -> int | None:
    """The street a place is or lies in (None for a city or a district)."""
    if isinstance(place, Street):
        return place.id
    if isinstance(place, Community):
        return place.street_id
    if isinstance(place, Grid):
        return place.community.street_id
    if isinstance(place, Building):
        return place.grid.community.street_id
    return None


def community_id_of(place: Any) -> int | None:
    """The community a place is or lies in (None above communities)."""
    if isinstance(place, Community):
        return place.id
    if isinstance(place, Grid):
        return place.community_id
    if isinstance(place, Building):
        return place.grid.community_id
    return None


def path_name(place: Any) -> str:
    """The place's full name from the top: 某市 / 某区 / 东大街街道 / 青年路社区."""
    return " / ".join(p.name for p in [*ancestors(place), place])


def children(place: Any | None, kind_key: str, include_retired: bool = True) -> list[Any]:
    """The places one level below `place` (or the cities, or the streets with no district yet)."""
    kind = KINDS[kind_key]
    stmt = select(kind.model)
    if kind.parent_attr:
        stmt = stmt.where(kind.parent_column == (place.id if place is not None else None))
    if not include_retired:
        stmt = stmt.where(kind.model.retired_at.is_(None))
    return list(
        db.session.scalars(
            stmt.order_by(kind.model.retired_at.is_not(None), kind.model.position, kind.model.id)
        )
    )


def child_counts(kind_key: str, ids: list[int]) -> dict[int, int]:
    """How many places (in use) each of these places of `kind_key` has one level down."""
    child = KINDS[kind_key].child
    if child is None or not ids:
        return {}
    column = KINDS[child].parent_column
    rows = db.session.execute(
        select(column, func.count())
        .where(column.in_(ids), KINDS[child].model.retired_at.is_(None))
        .group_by(column)
    )
    return dict(rows.all())


def _siblings(kind: Kind, parent_id: int | None) -> Select:
    stmt = select(kind.model)
    if kind.parent_attr:
        column = kind.parent_column
        stmt = stmt.where(column.is_(None) if parent_id is None else column == parent_id)
    return stmt


def _check_fields(kind: Kind, name: str, short_name: str, address: str) -> tuple[str, str, str]:
    name, short_name, address = (name or "").strip(), (short_name or "").strip(), (address or "").strip()
    if not name:
        raise RuleError(f"{kind.label}名称不能为空。")
    if len(name) > NAME_MAX:
        raise RuleError(f"{kind.label}名称不能超过 {NAME_MAX} 个字。")
    if len(short_name) > SHORT_MAX:
        raise RuleError(f"简称不能超过 {SHORT_MAX} 个字。")
    if len(address) > ADDRESS_MAX:
        raise RuleError(f"地址不能超过 {ADDRESS_MAX} 个字。")
    return name, short_name, address


def _name_clash(kind: Kind, parent_id: int | None, name: str, exclude_id: int | None = None) -> bool:
    # Street names are unique in the whole deployment (a street is named on its own in feeds,
    # filters and archive numbers); every other level among its siblings.
    stmt = select(kind.model.id).where(kind.model.name == name)
    if kind.key != "street":
        stmt = _siblings(kind, parent_id).with_only_columns(kind.model.id).where(kind.model.name == name)
    if exclude_id:
        stmt = stmt.where(kind.model.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _clash_message(kind: Kind, name: str) -> str:
    where = "系统中" if kind.key == "street" else "同一上级下"
    return f"{where}已有名为“{name}”的{kind.label}（含已撤销的），请换一个名称。"


def create_place(
    kind_key: str, parent_id: int | None, name: str, short_name: str = "", address: str = ""
) -> Any:
    """Add a place at the end of its siblings."""
    kind = kind_of(kind_key)
    name, short_name, address = _check_fields(kind, name, short_name, address)
    parent = None
    if kind.parent is not None:
        parent = db.session.get(KINDS[kind.parent].model, parent_id) if parent_id else None
        if parent is None and kind.key != "street":
            raise RuleError(f"请先选择{kind.label}所属的{KINDS[kind.parent].label}。")
        if parent is not None and parent.retired:
            raise RuleError(f"“{parent.name}”已撤销，不能在其下新增{kind.label}。")
    if _name_clash(kind, parent_id, name):
        raise RuleError(_clash_message(kind, name))
    last = db.session.scalar(_siblings(kind, parent_id).with_only_columns(func.max(kind.model.position)))
    values: dict[str, Any] = {"name": name, "position": (last or 0) + 1}
    if kind.parent_attr:
        values[kind.parent_attr] = parent.id if parent is not None else None
    values["short_name"] = short_name or (name if kind.key in ("street", "community") else "")
    if kind.key in ("street", "community", "grid", "building"):
        values["address"] = address
    place = kind.model(**values)
    db.session.add(place)
    db.session.flush()
    return place


def update_place(
    place: Any, name: str, short_name: str = "", address: str = "", parent_id: int | None = None
) -> Any:
    """Rename a place, change its short name and address (a street: also its district)."""
    kind = kind_for(place)
    name, short_name, address = _check_fields(kind, name, short_name, address)
    new_parent = getattr(place, kind.parent_attr) if kind.parent_attr else None
    if kind.key == "street" and parent_id != new_parent:
        # Only a street moves between parents: it carries its units' street, not their district.
        district = db.session.get(District, parent_id) if parent_id else None
        if parent_id and (district is None or district.retired):
            raise RuleError("请选择一个在用的区。")
        new_parent = parent_id
    if _name_clash(kind, new_parent, name, exclude_id=place.id):
        raise RuleError(_clash_message(kind, name))
    place.name = name
    if hasattr(place, "short_name"):
        place.short_name = short_name or (name if kind.key in ("street", "community") else "")
    if hasattr(place, "address"):
        place.address = address
    if kind.key == "street":
        place.district_id = new_parent
    db.session.flush()
    return place


def move_place(place: Any, direction: str) -> Any:
    """Swap a place with its neighbour above ('up') or below ('down') among its siblings."""
    kind = kind_for(place)
    parent_id = getattr(place, kind.parent_attr) if kind.parent_attr else None
    siblings = list(
        db.session.scalars(
            _siblings(kind, parent_id)
            .where(kind.model.retired_at.is_(None))
            .order_by(kind.model.position, kind.model.id)
        )
    )
    if place not in siblings:
        raise RuleError("已撤销的地点不参与排序。")
    i = siblings.index(place)
    j = i - 1 if direction == "up" else i + 1
    if direction not in ("up", "down") or not 0 <= j < len(siblings):
        return place  # already first or last: nothing to do
    siblings[i], siblings[j] = siblings[j], siblings[i]
    for position, sibling in enumerate(siblings, start=1):
        sibling.position = position  # renumbered, so equal positions of old data sort out too
    db.session.flush()
    return place


def retire_place(place: Any) -> Any:
    """Retire a place: it keeps its records and leaves the choices of new ones.

    Refused while places below it are in use: they are retired first (or, for a street,
    moved), so no community is left in use under a retired street.
    """
    kind = kind_for(place)
    if place.retired:
        return place
    if kind.child is not None and child_counts(kind.key, [place.id]).get(place.id):
        child = KINDS[kind.child].label
        raise RuleError(f"“{place.name}”下还有在用的{child}，请先撤销这些{child}。")
    place.retired_at = utcnow()
    db.session.flush()
    return place


def restore_place(place: Any) -> Any:
    """Bring a retired place back into use (under a parent in use)."""
    if not place.retired:
        return place
    parent = parent_of(place)
    if parent is not None and parent.retired:
        raise RuleError(f"上级“{parent.name}”已撤销，请先恢复上级。")
    place.retired_at = None
    kind = kind_for(place)
    parent_id = getattr(place, kind.parent_attr) if kind.parent_attr else None
    last = db.session.scalar(
        _siblings(kind, parent_id)
        .where(kind.model.retired_at.is_(None), kind.model.id != place.id)
        .with_only_columns(func.max(kind.model.position))
    )
    place.position = (last or 0) + 1
    db.session.flush()
    return place


def place_usage(place: Any) -> dict[str, int]:
    """What hangs on a place (shown before retiring it): units, rooms."""
    kind = kind_for(place)
    usage: dict[str, int] = {}
    if kind.key in ("street", "community"):
        column = Unit.street_id if kind.key == "street" else Unit.community_id
        usage["驻区单位"] = db.session.scalar(select(func.count()).where(column == place.id)) or 0
        room_column = Room.street_id if kind.key == "street" else Room.community_id
        usage["会议室（含各社区）" if kind.key == "street" else "会议室"] = (
            db.session.scalar(select(func.count()).where(room_column == place.id, Room.retired_at.is_(None)))
            or 0
        )
    return usage


# --- choices offered by forms and filters ---------------------------------------------


class Option(NamedTuple):
    id: int
    name: str


def community_options(viewer: User | None = None) -> list[Option]:
    """Every community as (id, name), in the street's order: the choices of a list's filter.

    Only the streets the viewer sees (given one). Retired communities stay, last (their records can still be filtered); the name carries
    the street when the deployment has several, so two 青年路社区 are told apart.
    Plain values from a statement built once.
    """
    stmt = _options_select()
    if viewer is not None:
        stmt = stmt.where(scoped(Community.street_id, viewer))
    rows = db.session.execute(stmt).all()
    several = len({r.street_id for r in rows}) > 1
    return [Option(r.id, community_label(r.name, r.street_short, several, r.retired)) for r in rows]


def community_labels(viewer: User) -> dict[int, str]:
    """Communities' names with their street beside them, for a viewer who sees several
    streets (the system administrator, observers); empty for everyone else, without a query."""
    ids = street_ids(viewer)
    if ids is not None and len(ids) <= 1:
        return {}
    rows = db.session.execute(
        select(Community.id, Community.name, Street.id, Street.short_name)
        .join(Street, Street.id == Community.street_id)
        .where(scoped(Community.street_id, viewer))
    ).all()
    if len({r[2] for r in rows}) <= 1:
        return {}
    return {cid: f"{name}（{short}）" for cid, name, _, short in rows}


def community_label(name: str, street_short: str, several_streets: bool, retired: bool = False) -> str:
    """A community's name as lists show it: with its street beside it when there are several."""
    label = f"{name}（{street_short}）" if several_streets else name
    return label + ("（已撤销）" if retired else "")


@lru_cache(maxsize=1)
def _options_select() -> Select:
    return (
        select(
            Community.id,
            Community.name,
            Community.street_id,
            Street.short_name.label("street_short"),
            Community.retired_at.is_not(None).label("retired"),
        )
        .join(Street, Street.id == Community.street_id)
        .order_by(
            Community.retired_at.is_not(None), Street.position, Street.id, Community.position, Community.id
        )
    )


def active_communities(keep_id: int | None = None, viewer: User | None = None) -> Select:
    """Communities in use (and the one a record already has), in the street's order: what
    forms offer (in the streets the viewer sees, given one)."""
    in_use = Community.retired_at.is_(None)
    stmt = (
        select(Community)
        .join(Street, Street.id == Community.street_id)
        .where(in_use | (Community.id == keep_id) if keep_id else in_use)
        .order_by(Street.position, Street.id, Community.position, Community.id)
    )
    return stmt.where(scoped(Community.street_id, viewer)) if viewer is not None else stmt
