"""flask remind: the daily reminders (mail to lead units, notifications to everyone concerned);
flask digest: each user's daily digest of notifications."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from common.links import base_url
from models import db
from models.base import today
from services import mail, notify
from services.actions import queue_reminders


@click.command("remind")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="按哪一天计算（默认今天）")
@with_appcontext
def remind_command(day):
    """Mail the lead units of actions due within 3 days or overdue (run daily)."""
    when = day.date() if day else today()

    base = base_url()
    queued = queue_reminders(when, base)
    noted = notify.daily_reminders(when)
    db.session.commit()

    sent, failed = mail.deliver_due()
    click.echo(
        f"已生成 {queued} 封提醒邮件、{noted} 条站内提醒；本次发送成功 {sent} 封，失败 {failed} 封（失败的会自动重试）。"
    )


@click.command("digest")
@with_appcontext
def digest_command():
    """Mail each user who chose the daily digest their new notifications (run daily by cron)."""
    queued = notify.digest()
    db.session.commit()
    sent, failed = mail.deliver_due()
    click.echo(
        f"已生成 {queued} 封每日汇总邮件；本次发送成功 {sent} 封，失败 {failed} 封（失败的会自动重试）。"
    )
