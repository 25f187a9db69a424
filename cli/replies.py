"""flask receive-mail: an SMTP or LMTP endpoint for replies from calendar clients (iMIP);
flask fetch-replies: the same replies polled from a mailbox over IMAP (run from cron)."""

from __future__ import annotations

import contextlib
import imaplib
import time

import click
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from flask import current_app
from flask.cli import with_appcontext

from models import db
from services import imip


def _apply(raw: bytes) -> list[imip.ReplyResult]:
    """Apply one message in its own transaction."""
    try:
        results = imip.apply_message(raw)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return results


class ReplyHandler:
    """aiosmtpd handler: each message is applied as it arrives; refused ones are answered 550."""

    def __init__(self, app):
        self.app = app

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.app.app_context():
            results = _apply(envelope.original_content or envelope.content)
        for r in results:
            self.app.logger.info("calendar reply: %s", r.message)
        if any(r.applied for r in results):
            return "250 Message accepted"
        return "550 Not a calendar reply from an invited attendee"


def make_controller(app, host: str, port: int, lmtp: bool = False):
    """The SMTP (or LMTP) server, not yet started."""
    handler = ReplyHandler(app)
    if lmtp:

        class LMTPController(Controller):
            def factory(self):
                return LMTP(self.handler)

        return LMTPController(handler, hostname=host, port=port)
    return Controller(handler, hostname=host, port=port)


@click.command("receive-mail")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8025, show_default=True, help="监听端口")
@click.option("--lmtp", is_flag=True, help="以 LMTP 协议接收（由邮件服务器投递）")
@with_appcontext
def receive_mail_command(host, port, lmtp):
    """Receive replies from calendar clients as an SMTP/LMTP endpoint (runs until stopped)."""
    controller = make_controller(current_app._get_current_object(), host, port, lmtp)
    controller.start()
    click.echo(f"正在 {host}:{port} 以 {'LMTP' if lmtp else 'SMTP'} 接收日历回复，按 Ctrl-C 停止。")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@click.command("fetch-replies")
@with_appcontext
def fetch_replies_command():
    """Apply the unread replies in the CALENDAR_REPLY_TO mailbox over IMAP (run from cron)."""
    cfg = current_app.config
    if not cfg.get("IMAP_HOST"):
        raise click.ClickException(
            "未配置 IMAP_HOST：请设置收取日历回复的邮箱（IMAP_HOST、IMAP_USER、IMAP_PASSWORD）。"
        )
    cls = imaplib.IMAP4_SSL if cfg["IMAP_SSL"] else imaplib.IMAP4
    client = cls(cfg["IMAP_HOST"], cfg["IMAP_PORT"])
    try:
        client.login(cfg["IMAP_USER"], cfg["IMAP_PASSWORD"])
        results = imip.fetch_replies(client, cfg["IMAP_FOLDER"])
        db.session.commit()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    applied = sum(r.applied for r in results)
    for r in results:
        click.echo(("已接受：" if r.applied else "未接受：") + r.message)
    click.echo(f"共处理 {len(results)} 个日历回复，接受 {applied} 个。")
