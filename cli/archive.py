"""flask verify-archive and migrate-archive: the archival files of approved minutes."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from exports.package import verify
from models import MinutesError, Street, db
from models.base import RuleError, utcnow
from services import archive
from services import package as package_svc


@click.command("verify-archive")
@with_appcontext
def verify_archive_command():
    """Re-hash every archival file of approved minutes and say which digest fails where."""
    revisions = files = bad = 0
    now = utcnow()
    results: dict[int, bool] = {}
    for revision in db.session.scalars(archive.approved_revisions()):
        revisions += 1
        for check in archive.verify_revision(revision):
            files += 1
            results[revision.minutes_id] = results.get(revision.minutes_id, True) and check.ok
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
    # The register shows each item's last verification.
    archive.record_verification(results, now)
    db.session.commit()
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


@click.command("export-archive")
@click.option("--year", type=int, required=True, help="年度")
@click.option("--street", "street_name", help="只导出这个街道（全宗）；不给则导出每个已设置全宗号的街道")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="移交包写到这个目录")
@with_appcontext
def export_archive_command(year, street_name, out_dir):
    """Write the yearly transfer package (ZIP) of each 全宗: PDF/A, attachments, metadata, catalogue, manifest."""
    stmt = select(Street).where(Street.fonds_code != "").order_by(Street.id)
    if street_name:
        stmt = select(Street).where(Street.name == street_name)
    streets = db.session.scalars(stmt).all()
    if not streets:
        raise click.ClickException(f"没有街道 {street_name}。" if street_name else "还没有街道设置全宗号。")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = 0
    for street in streets:
        try:
            package, data = package_svc.package_for(street, year)
        except RuleError as exc:
            click.echo(f"{street.name}：{exc}")
            continue
        path = out / package.filename
        path.write_bytes(data)
        made += 1
        click.echo(f"{street.name}：{len(package.items)} 件 → {path}（{len(data):,} 字节）")
    if not made:
        raise SystemExit(1)


@click.command("verify-package")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def verify_package_command(file):
    """Check a transfer package against its manifest and name every damaged or missing file."""
    manifest, findings = verify(Path(file).read_bytes())
    for finding in findings:
        click.echo(f"{finding.path}：{finding.problem}")
    if manifest is not None:
        click.echo(
            f"{manifest.get('fonds_name', '')} {manifest.get('year', '')} 年移交包：清单列出 "
            f"{len(manifest.get('files', []))} 个文件，{len(findings)} 个有问题。"
        )
    if findings:
        raise SystemExit(1)
