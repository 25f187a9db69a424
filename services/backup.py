"""Backup and restore: one consistent archive of a running install, and its restore onto an
empty one.

An archive is a tar file holding `manifest.json` first, then the database (`database.sqlite3`,
made with SQLite's online backup API, or `database.pgdump`, made by pg_dump in its custom
format: both a consistent snapshot while the app keeps serving), the instance's `secret_key`
and the uploaded attachments under `uploads/`. The archived minutes PDFs live in the database.
The manifest lists every other member with its size and SHA-256; a restore checks them all
before it touches anything and names the first damaged, missing or unexpected file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.engine import URL

from common.dates import SHANGHAI
from models.base import RuleError

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
SECRET_MEMBER = "secret_key"
UPLOADS = "uploads"
_CHUNK = 1 << 20


class BackupError(RuleError):
    """A backup that cannot be made, or an archive that must not be restored (in Chinese)."""


@dataclass(frozen=True)
class Install:
    """Where an install keeps what a backup holds."""

    database_url: str
    instance_path: Path
    upload_folder: Path

    @property
    def dialect(self) -> str:
        return make_url(self.database_url).get_backend_name()

    def sqlite_path(self) -> Path:
        database = make_url(self.database_url).database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise BackupError("只能备份保存在文件中的 SQLite 数据库。")
        return self.instance_path / database  # an absolute path stays as it is


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    files: int
    size: int
    revision: str | None


# --- making a backup -------------------------------------------------------------------


def make_backup(install: Install, dest: Path) -> BackupSummary:
    """Write one archive of the install into the folder `dest`; return where and what.

    The archive is written under a temporary name and renamed when complete, so a backup
    interrupted half-way never looks like a finished one.
    """
    dest.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    final = dest / f"gongjian-backup-{stamp}.tar"
    n = 1
    while final.exists():
        n += 1
        final = dest / f"gongjian-backup-{stamp}-{n}.tar"
    with tempfile.TemporaryDirectory(dir=dest, prefix=".backup-") as tmp:
        work = Path(tmp)
        members: list[tuple[str, Path]] = []
        if install.dialect == "sqlite":
            db_file = work / SQLITE_MEMBER
            _sqlite_snapshot(install.sqlite_path(), db_file)
            members.append((SQLITE_MEMBER, db_file))
        elif install.dialect == "postgresql":
            db_file = work / PG_MEMBER
            _pg_run(
                "pg_dump",
                ["--format=custom", "--no-owner", "--no-privileges", "--file", str(db_file)],
                install,
            )
            members.append((PG_MEMBER, db_file))
        else:
            raise BackupError(f"不支持备份 {install.dialect} 数据库。")
        secret = install.instance_path / "secret_key"
        if secret.is_file():
            members.append((SECRET_MEMBER, secret))
        if install.upload_folder.is_dir():
            for path in sorted(install.upload_folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(install.upload_folder).as_posix()
                    members.append((f"{UPLOADS}/{rel}", path))
        manifest = {
            "format": FORMAT,
            "made_at": datetime.now(SHANGHAI).isoformat(timespec="seconds"),
            "database": install.dialect,
            "revision": _revision(install.database_url, db_file if install.dialect == "sqlite" else None),
            "files": [
                {"name": name, "size": path.stat().st_size, "sha256": _sha256(path)} for name, path in members
            ],
        }
        part = work / (final.name + ".part")
        with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            for name, path in members:
                info = tar.gettarinfo(str(path), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o600
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
        os.chmod(part, 0o600)
        os.replace(part, final)
    return BackupSummary(final, len(manifest["files"]), final.stat().st_size, manifest["revision"])


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API (a consistent snapshot)."""
    if not source.is_file():
        raise BackupError(f"找不到数据库文件 {source}。")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _revision(database_url: str, sqlite_copy: Path | None) -> str | None:
    """The migration the database is at (alembic_version), read from the snapshot if any."""
    url = f"sqlite:///{sqlite_copy}" if sqlite_copy else database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


# --- checking and restoring an archive -------------------------------------------------


def check_archive(archive: Path) -> dict:
    """The archive's manifest, once every member is present, intact and expected."""
    try:
        tar = tarfile.open(archive, "r:")  # noqa: SIM115 - closed by the `with tar` below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"无法读取备份文件 {archive.name}：{exc}") from exc
    with tar:
        try:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError("备份文件开头没有清单 manifest.json，不是本系统的备份或已损坏。")
            manifest = json.loads(tar.extractfile(first).read())
        except (tarfile.TarError, OSError, ValueError) as exc:
            raise BackupError(f"备份清单无法读取：{exc}") from exc
        if manifest.get("format") != FORMAT:
            raise BackupError(f"不认识的备份格式 {manifest.get('format')!r}。")
        expected = {f["name"]: f for f in manifest.get("files", [])}
        seen: set[str] = set()
        try:
            for member in tar:
                name = member.name
                if member is first:
                    continue
                _safe_name(name)
                if name not in expected:
                    raise BackupError(f"备份中有清单未列出的文件：{name}")
                if not member.isfile():
                    raise BackupError(f"备份中的 {name} 不是普通文件。")
                want = expected[name]
                digest = hashlib.sha256()
                size = 0
                fh = tar.extractfile(member)
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                if size != want["size"] or digest.hexdigest() != want["sha256"]:
                    raise BackupError(f"备份中的文件已损坏：{name}（大小或 SHA-256 与清单不符）")
                seen.add(name)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"备份文件已损坏，无法读完：{exc}") from exc
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"备份中缺少清单所列的文件：{missing[0]}")
    if not ({SQLITE_MEMBER, PG_MEMBER} & seen):
        raise BackupError("备份中没有数据库。")
    return manifest


def restore_backup(install: Install, archive: Path) -> dict:
    """Restore an archive onto an empty install; return its manifest.

    Refused, with nothing changed, when the archive is damaged, was made from the other
    kind of database, or the install already holds data (users or units).
    """
    manifest = check_archive(archive)
    if manifest["database"] != install.dialect:
        raise BackupError(
            f"备份来自 {manifest['database']} 数据库，本系统使用 {install.dialect}，不能直接恢复。"
        )
    _refuse_unless_empty(install)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=install.instance_path) as tmp:
        work = Path(tmp)
        with tarfile.open(archive, "r:") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                target = work / PurePosixPath(_safe_name(member.name))
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        if install.dialect == "sqlite":
            _restore_sqlite(install, work / SQLITE_MEMBER)
        else:
            _restore_postgres(install, work / PG_MEMBER)
        secret = work / SECRET_MEMBER
        if secret.is_file():
            _place(secret, install.instance_path / "secret_key")
        uploads = work / UPLOADS
        if uploads.is_dir():
            for path in sorted(uploads.rglob("*")):
                if path.is_file():
                    _place(path, install.upload_folder / path.relative_to(uploads))
    return manifest


def _refuse_unless_empty(install: Install) -> None:
    engine = create_engine(install.database_url)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            for table in ("user", "unit"):
                if table in names and conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar():
                    raise BackupError("只能恢复到空的系统：当前数据库中已有用户或单位，未做任何改动。")
    finally:
        engine.dispose()


def _restore_sqlite(install: Install, copy: Path) -> None:
    target = install.sqlite_path()
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(copy, staged)
    os.chmod(staged, 0o600)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(staged, target)


def _restore_postgres(install: Install, dump: Path) -> None:
    engine = create_engine(install.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    _pg_run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", str(dump)], install)


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, staged)
    os.chmod(staged, 0o600)
    os.replace(staged, target)


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"备份中有不安全的路径：{name}")
    return name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- PostgreSQL's own tools ------------------------------------------------------------


def _pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, or the newest in Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parts[-3])
    if candidates:
        return str(candidates[-1])
    raise BackupError(
        f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client）。"
    )


def _pg_run(tool: str, args: list[str], install: Install) -> None:
    url: URL = make_url(install.database_url).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    conn = url.set(password=None).render_as_string(hide_password=False)
    result = subprocess.run(
        [_pg_tool(tool), f"--dbname={conn}", *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} 失败（退出码 {result.returncode}）：{result.stderr.strip()[-500:]}")
