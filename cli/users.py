"""flask create-user: accounts from the command line (the system administrator of a fresh install)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from models import City, Community, District, Role, Street, Unit, User, db
from models.base import RuleError
from services import tokens
from services.passwords import password_problem
from services.users import USERNAME_TAKEN, Account, save_user, username_taken


@click.command("create-user")
@click.option("--username", prompt="用户名")
@click.option("--display-name", prompt="姓名")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.SYSADMIN.value,
    show_default=True,
)
@click.option("--street", "street_name", help="街道管理员、档案员所属街道的名称")
@click.option("--district", "district_name", help="区级上级党组织账号所在区的名称")
@click.option("--city", "city_name", help="市级上级党组织账号所在市的名称")
@click.option("--community", "community_name", help="社区书记所属社区的名称")
@click.option("--unit", "unit_name", help="单位联络员所属单位的名称")
@click.option("--email", default="")
@click.password_option("--password", prompt="密码", confirmation_prompt="再次输入密码")
@with_appcontext
def create_user_command(
    username,
    display_name,
    role,
    street_name,
    district_name,
    city_name,
    community_name,
    unit_name,
    email,
    password,
):
    """Create a user account (the system administrator of a fresh install)."""
    upgrade()
    problem = password_problem(password, username)
    if problem:
        raise click.BadParameter(problem, param_hint="--password")
    if username_taken(username):
        raise click.BadParameter(USERNAME_TAKEN, param_hint="--username")
    role = Role(role)
    account = Account(username=username, display_name=display_name, role=role, email=email, password=password)
    if role in (Role.ADMIN, Role.ARCHIVIST):
        street = db.session.scalar(select(Street).where(Street.name == (street_name or "")))
        if street is None:
            raise click.BadParameter(f"{role.label}需要 --street 指定已有街道。", param_hint="--street")
        account.street_id = street.id
    if role == Role.OBSERVER:
        district = db.session.scalar(select(District).where(District.name == (district_name or "")))
        city = db.session.scalar(select(City).where(City.name == (city_name or "")))
        if district is None and city is None:
            raise click.BadParameter(
                "上级党组织账号需要 --district 或 --city 指定已有的区或市。", param_hint="--district"
            )
        account.district_id = district.id if district else None
        account.city_id = city.id if city and not district else None
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


@click.command("create-token")
@click.option("--user", "username", required=True, help="令牌所属用户的用户名")
@click.option(
    "--scope", type=click.Choice(["read", "write"]), default="read", show_default=True, help="只读或读写"
)
@click.option("--name", default="命令行生成的令牌", show_default=True, help="令牌名称")
@click.option(
    "--expires",
    "expires_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="有效期至（YYYY-MM-DD），不给则长期有效",
)
@with_appcontext
def create_token_command(username, scope, name, expires_on):
    """Make a personal API token and print it (shown this once; only its digest is kept)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"没有用户 {username}。", param_hint="--user")
    try:
        token, secret = tokens.issue(user, name, scope, expires_on.date() if expires_on else None)
    except RuleError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(secret)
