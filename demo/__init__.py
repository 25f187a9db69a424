"""The demo: a street with its communities, units, logins and a year of co-building, and a
second street of the same district with the district's and the city's observers.

`seed_demo` calls one seeder per feature, in the order their data depends on each other;
each seeder creates its data once and changes nothing when run again. They build through
the same services the pages use, so the demo shows what the product does.
"""

from __future__ import annotations

from demo import (
    filing,
    grids,
    levels,
    meetings,
    minutes,
    needs,
    notifications,
    people,
    places,
    resources,
    second_street,
    signin,
    stats,
    supervision,
    tokens,
    units,
)


def seed_demo(password: str, secret_key: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Create the demo data and logins (idempotent); return (username, role, scope) per login,
    and each login's API token."""
    street, communities = places.seed()
    unit_list = units.seed(street, communities)
    logins = people.seed(password, communities, unit_list)
    meetings.seed(street, communities, unit_list)
    minutes.seed(street)
    signin.seed()
    resources.seed(street, communities, unit_list)
    needs.seed(street, communities, unit_list)
    stats.seed(street)
    grids.seed(street)
    logins += second_street.seed(password)
    levels.seed()
    supervision.seed()
    notifications.seed()
    filing.seed()
    api_tokens = tokens.seed(secret_key, [username for username, _, _ in logins])
    return logins, api_tokens
