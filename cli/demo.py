"""flask seed-demo: the demo street, its data and the demo logins."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from demo import seed_demo
from models import Meeting, MeetingStatus, Unit, User, db
from models.base import utcnow
from services.passwords import password_problem


def demo_password(explicit: str | None) -> str:
    """The demo password: given, or generated once and kept in the instance folder."""
    if explicit:
        return explicit
    path = Path(current_app.instance_path) / "demo_password"
    if path.exists():
        return path.read_text().strip()
    password = "共建-" + secrets.token_urlsafe(9)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password)
    return password


@click.command("seed-demo")
@click.option("--password", help="所有演示账号的密码（默认生成一个并保存在 instance/demo_password）")
@with_appcontext
def seed_demo_command(password: str | None):
    """Create the demo data and logins (safe to run again)."""
    upgrade()
    password = demo_password(password)
    problem = password_problem(password)
    if problem:
        raise click.BadParameter(problem, param_hint="--password")
    logins, api_tokens = seed_demo(password, current_app.config["SECRET_KEY"])
    db.session.commit()
    click.echo(
        f"演示数据已就绪：西宁市城东区东大街街道（5 个社区及其网格、楼栋和会议室）和八一路街道（3 个社区），两街道组成“青年路片区”，"
        f"共 {db.session.scalar(select(func.count()).select_from(Unit))} 个驻区单位。"
    )
    click.echo(f"演示账号（密码均为：{password}）")
    for username, role, scope in logins:
        click.echo(f"  {username:<12} {role:<6} {scope}")
    click.echo(
        "演示接口令牌（读写；每个演示账号都有，登录后在“我的账号 → 接口令牌”查看，接口文档见 /api/v1/docs）："
    )
    for username in ("sysadmin", "admin", "secretary1", "liaison1", "district"):
        if username in api_tokens:
            click.echo(f"  {username:<12} {api_tokens[username]}")
    _echo_next_signin()


def _echo_next_signin() -> None:
    """Where secretary1 finds the next meeting's 扫码签到 screen and its A4 poster."""
    secretary = db.session.scalar(select(User).where(User.username == "secretary1"))
    if secretary is None:
        return
    meeting = db.session.scalar(
        select(Meeting)
        .where(
            Meeting.community_id == secretary.community_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.start_at > utcnow(),
        )
        .order_by(Meeting.start_at)
        .limit(1)
    )
    if meeting is not None:
        click.echo(
            f"下一次会议“{meeting.title}”的扫码签到（secretary1 登录后）：/meetings/{meeting.id}/signin，"
            f"A4 签到海报：/meetings/{meeting.id}/signin/poster.pdf"
        )
