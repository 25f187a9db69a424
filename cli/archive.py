"""flask verify-archive and migrate-archive: the archival files of approved minutes."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from models import MinutesError, db
from services import archive


@click.command("verify-archive")
@with_appcontext
def verify_archive_command():
    """Re-hash every archival file of approved minutes and say which digest fails where."""
    revisions = files = bad = 0
    for revision in db.session.scalars(archive.approved_revisions()):
        revisions += 1
        for check in archive.verify_revision(revision):
            files += 1
            if check.ok:
                continue
            bad += 1
            if check.missing:
                click.echo(f"缺少存档文件：{check.where}")
                continue
            click.echo(f"校验不符：{check.where}，{' 和 '.join(check.failed)} 不符")
            for name, stored, actual in (
                ("SHA-256", check.rendition.sha256, check.sha256),
                ("SM3", check.rendition.sm3, check.sm3),
            ):
                if name in check.failed:
                    click.echo(f"  {name} 记录 {stored or '（空）'}，实际 {actual}")
    click.echo(f"已校验 {revisions} 份签发纪要的 {files} 份存档文件，{bad} 份有问题。")
    if bad:
        raise SystemExit(1)


@click.command("migrate-archive")
@with_appcontext
def migrate_archive_command():
    """Re-render approved minutes whose newest archival PDF fails the font check."""
    ids = db.session.scalars(archive.approved_revision_ids()).all()
    made = failed = 0
    for revision_id in ids:
        revision = db.session.scalar(
            archive.approved_revisions().where(archive.MinutesRevision.id == revision_id)
        )
        label = f"{revision.minutes.archive_no} 第 {revision.number} 版"
        try:
            rendition = archive.migrate_revision(revision)
            # One commit per revision: a batch of renders is slow, and each finished
            # rendition should stay even if a later one fails.
            db.session.commit()
        except MinutesError as exc:
            db.session.rollback()
            failed += 1
            click.echo(f"未能迁移：{label}：{exc}")
            continue
        except IntegrityError:
            db.session.rollback()
            click.echo(f"跳过：{label}（另一个进程刚为它生成了新的存档文件）")
            continue
        if rendition is not None:
            made += 1
            click.echo(
                f"已生成：{label} 第 {rendition.number} 份存档文件（据第 {rendition.source_number} 份），"
                f"SHA-256 {rendition.pdf_sha256}，SM3 {rendition.pdf_sm3}"
            )
    click.echo(f"已检查 {len(ids)} 份签发纪要，新生成 {made} 份存档文件，{failed} 份未能迁移。")
    if failed:
        raise SystemExit(1)
