"""The SQLite database (with its -wal and -shm) and the instance folder are the app's user's only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from models import db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask():
    """The umask most servers run with, which leaves new files readable by everyone."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_instance_folder_and_sqlite_files_are_created_owner_only(tmp_path, monkeypatch, usual_umask):
    instance = tmp_path / "instance"
    monkeypatch.setenv("GONGJIAN_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"TESTING": True})
    try:
        with app.app_context():
            assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'gongjian.db'}"
            db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
            db.session.execute(text("INSERT INTO probe VALUES (1)"))
            db.session.commit()
            # The pooled connection keeps the write-ahead log and its index open: look now.
            files = {p.name: _mode(p) for p in instance.iterdir()}
    finally:
        with app.app_context():
            db.engine.dispose()
    assert _mode(instance) == 0o700
    assert files["gongjian.db"] == 0o600
    assert files["gongjian.db-wal"] == 0o600
    assert files["gongjian.db-shm"] == 0o600
    assert files["secret_key"] == 0o600
    assert all(mode & 0o077 == 0 for mode in files.values()), files


def test_a_configured_sqlite_file_elsewhere_is_created_owner_only(tmp_path, monkeypatch, usual_umask):
    monkeypatch.setenv("GONGJIAN_INSTANCE_PATH", str(tmp_path / "instance"))
    target = tmp_path / "data" / "register.db"
    target.parent.mkdir()
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    with app.app_context():
        db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
        db.session.commit()
        db.engine.dispose()
    assert _mode(target) == 0o600


def test_an_existing_database_keeps_its_mode(tmp_path, monkeypatch, usual_umask):
    """An administrator who chose other permissions (a backup group, say) is not overruled."""
    monkeypatch.setenv("GONGJIAN_INSTANCE_PATH", str(tmp_path / "instance"))
    target = tmp_path / "shared.db"
    target.touch(mode=0o640)
    target.chmod(0o640)
    create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    assert _mode(target) == 0o640
