"""flask create-user: accounts from the command line (the first admin of a fresh install)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from models import Community, Role, Unit, db
from services.passwords import password_problem
from services.users import USERNAME_TAKEN, Account, save_user, username_taken


@click.command("create-user")
@click.option("--username", prompt="用户名")
@click.option("--display-name", prompt="姓名")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.ADMIN.value,
    show_default=True,
)
@click.option("--community", "community_name", help="社区书记所属社区的名称")
@click.option("--unit", "unit_name", help="单位联络员所属单位的名称")
@click.option("--email", default="")
@click.password_option("--password", prompt="密码", confirmation_prompt="再次输入密码")
@with_appcontext
def create_user_command(username, display_name, role, community_name, unit_name, email, password):
    """Create a user account (the first admin of a fresh install)."""
    upgrade()
    problem = password_problem(password, username)
    if problem:
        raise click.BadParameter(problem, param_hint="--password")
    if username_taken(username):
        raise click.BadParameter(USERNAME_TAKEN, param_hint="--username")
    role = Role(role)
    account = Account(username=username, display_name=display_name, role=role, email=email, password=password)
    if role == Role.SECRETARY:
        community = db.session.scalar(select(Community).where(Community.name == (community_name or "")))
        if community is None:
            raise click.BadParameter("社区书记需要 --community 指定已有社区。", param_hint="--community")
        account.community_id = community.id
    if role == Role.LIAISON:
        unit = db.session.scalar(select(Unit).where(Unit.name == (unit_name or "")))
        if unit is None:
            raise click.BadParameter("单位联络员需要 --unit 指定已有单位。", param_hint="--unit")
        account.unit_id = unit.id
    save_user(None, account)
    db.session.commit()
    click.echo(f"已创建用户 {username}（{role.label}）。")
