"""flask backup and restore: one consistent archive of the install, restored onto an empty one."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from models import db
from services import backup


def _install() -> backup.Install:
    app = current_app
    folder = app.config.get("UPLOAD_FOLDER") or str(Path(app.instance_path) / "uploads")
    return backup.Install(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path), Path(folder))


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest: Path):
    """Write one consistent archive (database, uploads, secret key) into the folder DEST."""
    try:
        made = backup.make_backup(_install(), dest)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"备份已写入 {made.path}：{made.files} 个文件，{made.size / 1_048_576:.1f} MB，"
        f"数据库版本 {made.revision or '（无）'}。"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path):
    """Restore ARCHIVE onto this empty install, after checking every file's SHA-256."""
    db.engine.dispose()  # no connection of ours may hold the database being replaced
    try:
        manifest = backup.restore_backup(_install(), archive)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.engine.dispose()
    upgrade()
    click.echo(
        f"已从 {archive.name} 恢复（{manifest['made_at']} 备份，{len(manifest['files'])} 个文件），"
        "数据库已升级到当前版本。请重启应用。"
    )
