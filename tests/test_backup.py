"""flask backup and restore: a populated install round-trips onto an empty one; damaged
archives, the wrong database and a populated target are refused with nothing changed."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from models import Unit, User, db
from tests.conftest import _new_app, _release


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in db.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def empty_install(tmp_path, postgres):
    """A second, empty install (its own instance folder and database); yields its app."""
    folder = tmp_path / "restored"
    folder.mkdir()
    if postgres is None:
        url = f"sqlite:///{folder / 'gongjian.db'}"
    else:
        url = postgres.create(postgres.name("restored"))
    app = _new_app(url, folder)
    yield app
    _release(app)
    if postgres is not None:
        postgres.drop(postgres.name("restored"))


def _backup(app, dest: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert "备份已写入" in result.output
    (archive,) = dest.glob("gongjian-backup-*.tar")
    return archive


def test_a_populated_install_round_trips_onto_an_empty_one(app, seeded_demo, empty_install, tmp_path):
    source_uploads = Path(app.instance_path) / "uploads"
    photos = sorted(p for p in source_uploads.rglob("*") if p.is_file())
    assert photos, "the demo has uploaded photos"
    (Path(app.instance_path) / "secret_key").write_text("源系统的密钥")
    before = _counts(app.config["SQLALCHEMY_DATABASE_URI"])
    assert before["unit"] and before["minutes_rendition"]

    archive = _backup(app, tmp_path / "backups")
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    names = {f["name"] for f in manifest["files"]}
    assert {"secret_key", *(f"uploads/{p.relative_to(source_uploads).as_posix()}" for p in photos)} <= names

    result = empty_install.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "已从" in result.output
    target = Path(empty_install.instance_path)
    assert _counts(empty_install.config["SQLALCHEMY_DATABASE_URI"]) == before
    for photo in photos:
        restored = target / "uploads" / photo.relative_to(source_uploads)
        assert restored.read_bytes() == photo.read_bytes()
    assert (target / "secret_key").read_text() == "源系统的密钥"
    _release(empty_install)
    verified = empty_install.test_cli_runner().invoke(args=["verify-archive"])
    assert verified.exit_code == 0, verified.output
    assert "0 份有问题" in verified.output
    with empty_install.app_context():
        assert db.session.scalar(select(User).where(User.username == "secretary1")) is not None


def _rewrite(archive: Path, out: Path, change) -> Path:
    """Copy the archive member by member, letting change(name, data) alter or drop members."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda n, d: (d[:100] + bytes([d[100] ^ 1]) + d[101:]) if n.startswith("database") else d,
            "已损坏：database",
        ),
        (lambda n, d: None if n == "secret_key" else d, "缺少清单所列的文件：secret_key"),
        (lambda n, d: d + b"x" if n == "secret_key" else d, "已损坏：secret_key"),
    ],
    ids=["flipped byte", "missing file", "grown file"],
)
def test_a_damaged_archive_is_refused_and_nothing_changes(
    app, world, empty_install, tmp_path, damage, message
):
    (Path(app.instance_path) / "secret_key").write_text("密钥")
    archive = _backup(app, tmp_path / "backups")
    bad = _rewrite(archive, tmp_path / "bad.tar", damage)
    result = empty_install.test_cli_runner().invoke(args=["restore", str(bad)])
    assert result.exit_code != 0
    assert message in result.output
    with empty_install.app_context():
        engine = db.engine
        with engine.connect() as conn:
            assert not conn.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_name = 'unit'")
                if engine.dialect.name == "postgresql"
                else text("SELECT count(*) FROM sqlite_master WHERE name = 'unit'")
            ).scalar()
    assert not (Path(empty_install.instance_path) / "secret_key").exists()


def test_an_unlisted_member_and_an_unsafe_path_are_refused(app, world, empty_install, tmp_path):
    archive = _backup(app, tmp_path / "backups")
    extra = tmp_path / "extra.tar"
    with tarfile.open(archive) as src, tarfile.open(extra, "w") as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member))
        info = tarfile.TarInfo("../etc/passwd")
        info.size = 1
        dst.addfile(info, io.BytesIO(b"x"))
    result = empty_install.test_cli_runner().invoke(args=["restore", str(extra)])
    assert result.exit_code != 0 and "不安全的路径" in result.output


def test_restore_refuses_an_install_that_holds_data(app, world, tmp_path):
    archive = _backup(app, tmp_path / "backups")
    result = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code != 0
    assert "只能恢复到空的系统" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 3  # the world, untouched


def test_not_an_archive_is_refused(empty_install, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all")
    result = empty_install.test_cli_runner().invoke(args=["restore", str(junk)])
    assert result.exit_code != 0 and "无法读取备份文件" in result.output
