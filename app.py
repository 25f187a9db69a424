"""Gongjian 共建: the application factory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from blueprints.actions import bp as actions_bp
from blueprints.admin import bp as admin_bp
from blueprints.api import bp as api_bp
from blueprints.auth import bp as auth_bp
from blueprints.main import bp as main_bp
from blueprints.meetings import bp as meetings_bp
from blueprints.meetings.feeds import bp as feeds_bp
from blueprints.minutes import bp as minutes_bp
from blueprints.needs import bp as needs_bp
from blueprints.notifications import bp as notifications_bp
from blueprints.places import bp as places_bp
from blueprints.records import bp as records_bp
from blueprints.resources import bp as resources_bp
from blueprints.signin import bp as signin_bp
from blueprints.stats import bp as stats_bp
from blueprints.units import bp as units_bp
from cli import register as register_cli
from config import check_base_url, create_sqlite_file, from_environment, normalise_database_url
from exports.fonts import check_pdf_fonts
from models import db
from web import audit as audit_glue
from web import mail as mail_glue
from web import security
from web.database import configure_engine
from web.errors import register as register_errors
from web.extensions import csrf, login_manager, migrate
from web.templating import register as register_templating


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Gongjian application."""
    instance = os.environ.get("GONGJIAN_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(Path(instance).resolve()) if instance else None,
    )
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Load defaults, then the environment, then instance/config.py, then the test dict."""
    # The instance folder holds the database, the secret key and the uploads: owner only.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    app.config.from_object("config.Defaults")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "gongjian.db")
    env = os.environ
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if env.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = env["SECRET_KEY"]
    app.config.update(from_environment(env))
    if env.get("GONGJIAN_HTTPS", "").lower() in ("1", "true", "yes"):
        app.config["HTTPS"] = True
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)

    check_base_url(app.config, app.logger)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        create_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    else:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    secure = bool(app.config.get("HTTPS"))
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    if secure:
        app.config["PREFERRED_URL_SCHEME"] = "https"
        # A __Host- cookie is accepted only with Secure, Path=/ and no Domain, so no other
        # subdomain and no plain-HTTP page can set or overwrite it (RFC 6265bis).
        for cookie, default in (("SESSION", "session"), ("REMEMBER", "remember_token")):
            name = app.config.get(f"{cookie}_COOKIE_NAME") or default
            if not name.startswith("__Host-"):
                app.config[f"{cookie}_COOKIE_NAME"] = "__Host-" + name
            app.config[f"{cookie}_COOKIE_PATH"] = "/"
            app.config[f"{cookie}_COOKIE_DOMAIN"] = None


def _instance_secret(app: Flask) -> str:
    """Return the secret key kept in the instance folder, creating it once."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, login manager and CSRF protection."""
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path) / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    security.init_app(app)
    audit_glue.init_app(app)
    mail_glue.init_app(app)
    if app.config.get("PDF_CHECK_FONTS", True):
        check_pdf_fonts(app.logger)


def register_blueprints(app: Flask) -> None:
    """Attach each feature's blueprint; <int:…> in URLs only matches database-sized ids."""

    class DatabaseInt(IntegerConverter):
        def __init__(self, map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseInt
    for bp in (
        auth_bp,
        main_bp,
        units_bp,
        meetings_bp,
        minutes_bp,
        actions_bp,
        resources_bp,
        needs_bp,
        stats_bp,
        feeds_bp,
        admin_bp,
        places_bp,
        notifications_bp,
        signin_bp,
        records_bp,
        api_bp,
    ):
        app.register_blueprint(bp)


def register_errorhandlers(app: Flask) -> None:
    """Render friendly Chinese error pages; never show a traceback."""
    register_errors(app)


def register_template_helpers(app: Flask) -> None:
    """Add date filters and permission helpers to Jinja."""
    register_templating(app)


def register_commands(app: Flask) -> None:
    """Add the flask commands (cli.register: seed-demo, create-user, remind, verify-archive, migrate-archive, backup, restore)."""
    register_cli(app)
