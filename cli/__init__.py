"""Flask commands, one module per concern; `register` adds them all to the app."""

from __future__ import annotations

from flask import Flask

from cli import archive, backup, demo, mail, replies, users

COMMANDS = (
    demo.seed_demo_command,
    mail.remind_command,
    mail.digest_command,
    replies.receive_mail_command,
    replies.fetch_replies_command,
    archive.verify_archive_command,
    archive.migrate_archive_command,
    archive.export_archive_command,
    archive.verify_package_command,
    users.create_user_command,
    users.create_token_command,
    backup.backup_command,
    backup.restore_command,
)


def register(app: Flask) -> None:
    """Add the commands to `flask --app app …`."""
    for command in COMMANDS:
        app.cli.add_command(command)
