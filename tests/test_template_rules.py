"""Templates decide nothing themselves: permissions come from services.permissions (`perm`),
states from model properties (`meeting.is_draft`, `need.is_closed`, ...).

Every template is parsed (not rendered) and each comparison is checked: none may compare a
status, an enum's value or a role with a literal, name an enum member, or compare the
signed-in user's ids (ownership is `perm.is_own_unit`, `perm.is_owner`, ...). A rule spelt
out in a template is a second copy of it, which drifts from the one the server enforces.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Environment, nodes

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Attributes that hold a state or a role: comparing them with a literal restates a rule.
STATE_ATTRS = {"status", "value", "role", "reply", "attendance", "visibility"}
# Jinja tests and filters that compare a value with their argument.
COMPARING_TESTS = {"eq", "equalto", "==", "ne", "!=", "sameas", "in"}
SELECTING_FILTERS = {"selectattr", "rejectattr"}


def _is_literal(node: nodes.Node) -> bool:
    """A string constant, or a tuple or list holding one."""
    if isinstance(node, nodes.Const):
        return isinstance(node.value, str)
    if isinstance(node, nodes.Tuple | nodes.List):
        return any(_is_literal(item) for item in node.items)
    return False


def _is_state(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Getattr) and node.attr in STATE_ATTRS


def _is_enum_member(node: nodes.Node) -> bool:
    """MeetingStatus.DRAFT, Role.ADMIN: the template would be naming a state to compare with."""
    return (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and (node.node.name == "Role" or node.node.name.endswith("Status"))
    )


def _is_current_user_attr(node: nodes.Node) -> bool:
    """current_user.unit_id, current_user.community.id, ..."""
    if not isinstance(node, nodes.Getattr):
        return False
    while isinstance(node, nodes.Getattr):
        node = node.node
    return isinstance(node, nodes.Name) and node.name == "current_user"


def problems(source: str) -> list[str]:
    """What in this template source compares a state, a role or the user's ids itself."""
    found = []
    tree = Environment().parse(source)
    for compare in tree.find_all(nodes.Compare):
        operands = [compare.expr, *(op.expr for op in compare.ops)]
        where = f"line {compare.lineno}"
        if any(_is_state(o) for o in operands) and any(_is_literal(o) for o in operands):
            found.append(f"{where}: compares a status, value or role with a literal")
        elif any(isinstance(o, nodes.Getattr) and o.attr == "role" for o in operands):
            found.append(f"{where}: compares a role")
        elif any(_is_enum_member(o) for o in operands):
            found.append(f"{where}: compares with an enum member")
        elif any(_is_current_user_attr(o) for o in operands):
            found.append(f"{where}: compares the signed-in user's attributes (ownership is a permission)")
    for test in tree.find_all(nodes.Test):
        if test.name in COMPARING_TESTS and _is_state(test.node) and any(_is_literal(a) for a in test.args):
            found.append(f"line {test.lineno}: tests a status, value or role against a literal")
    for flt in tree.find_all(nodes.Filter):
        if flt.name not in SELECTING_FILTERS or not flt.args:
            continue
        attribute = flt.args[0]
        if (
            isinstance(attribute, nodes.Const)
            and isinstance(attribute.value, str)
            and attribute.value.rsplit(".", 1)[-1] in STATE_ATTRS
            and any(_is_literal(a) for a in flt.args[2:])
        ):
            found.append(f"line {flt.lineno}: selects by a status, value or role literal")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "{% if meeting.status.value == 'draft' %}x{% endif %}",
        "{% if n.status.value not in ('fulfilled', 'withdrawn') %}x{% endif %}",
        "{{ 'a' if booking.status.value == 'approved' else 'b' }}",
        "{% if row.status != '在册' %}x{% endif %}",
        "{% if current_user.role == 'admin' %}x{% endif %}",
        "{% if user.role in (Role.ADMIN, Role.SECRETARY) %}x{% endif %}",
        "{% if meeting.status == MeetingStatus.DRAFT %}x{% endif %}",
        "{% if current_user.unit_id == row.unit_id %}x{% endif %}",
        "{% set draft = meeting.status.value == 'draft' %}",
        "{{ items|selectattr('attendance.value', 'equalto', 'present')|list|length }}",
        "{% if inv.reply.value is equalto 'decline' %}x{% endif %}",
    ],
)
def test_the_check_catches_a_rule_spelt_out(source):
    assert problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "{% if meeting.is_draft and perm.can_manage_meeting(current_user, meeting) %}x{% endif %}",
        "{% if perm.is_own_unit(current_user, row.unit_id) %}x{% endif %}",
        "{% for v, l in MeetingStatus.choices() %}{% if filters.status == v %}x{% endif %}{% endfor %}",
        "{% if tab == 'todo' %}x{% endif %}",
        '<span class="badge meeting-{{ meeting.status.value }}">{{ meeting.status.label }}</span>',
    ],
)
def test_the_check_leaves_the_rest_alone(source):
    assert not problems(source)


def test_no_template_compares_a_status_or_role_itself():
    paths = sorted(TEMPLATES.rglob("*.html"))
    assert paths
    found = [
        f"{path.relative_to(TEMPLATES)} {problem}"
        for path in paths
        for problem in problems(path.read_text(encoding="utf-8"))
    ]
    assert not found, "ask perm.* or a model property instead:\n" + "\n".join(found)
