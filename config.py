"""Configuration: defaults, the environment, and checks of settings the app cannot run with."""

from __future__ import annotations

import contextlib
import os
from urllib.parse import urlsplit

from common.links import DEV_BASE_URL


class Defaults:
    SQLALCHEMY_RECORD_QUERIES = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    # A form left open on a phone must still submit: the token lives as long as
    # the session instead of one hour.
    WTF_CSRF_TIME_LIMIT = None
    # WTForms translates its built-in messages itself (see web.forms.Form).
    WTF_I18N_ENABLED = False
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    HTTPS = False
    # argon2id parameters (OWASP ASVS 5.0: at least m=19 MiB, t=2, p=1).
    PASSWORD_TIME_COST = 3
    PASSWORD_MEMORY_COST = 64 * 1024
    PASSWORD_PARALLELISM = 2
    # Failed logins within LOGIN_WINDOW_MINUTES: an address that reaches LOGIN_MAX_FAILURES
    # waits; an account that does only refuses addresses that have themselves failed
    # LOGIN_ACCOUNT_ADDRESS_FAILURES times for it (see services/auth.login_wait).
    LOGIN_MAX_FAILURES = 10
    LOGIN_ACCOUNT_ADDRESS_FAILURES = 3
    LOGIN_WINDOW_MINUTES = 15
    UNITS_PER_PAGE = 20
    # The JSON API (/api/v1): requests a token may make per minute (then 429 with Retry-After),
    # the largest JSON body it accepts, and the default page size of its lists (a client may
    # ask for up to 200 with `limit`).
    API_RATE_LIMIT = 600
    API_MAX_BODY = 64 * 1024
    API_PAGE_SIZE = 50
    AUDIT_PER_PAGE = 50
    MEETINGS_PER_PAGE = 30
    NOTIFICATIONS_PER_PAGE = 30
    # Replies from calendar clients (iMIP): the address invitations name as their organizer, so
    # that Outlook's or Thunderbird's "accept" reaches Gongjian (flask receive-mail as its SMTP/
    # LMTP endpoint, or flask fetch-replies over IMAP). Unset: the host's own address, replies
    # then reach the secretary's mailbox only.
    CALENDAR_REPLY_TO = None
    IMAP_HOST = None
    IMAP_PORT = 993
    IMAP_SSL = True
    IMAP_USER = None
    IMAP_PASSWORD = None
    IMAP_FOLDER = "INBOX"
    # Notifications older than this are forgotten by the daily `flask digest`.
    NOTIFICATION_KEEP_DAYS = 180
    # An open action without a progress report for this many days is “stalled” on the 督办 board.
    ACTION_STALLED_DAYS = 30
    # The address users reach the app at (e.g. https://gongjian.dongdajie.gov.cn): the only
    # source of the links in invites, feeds, mails and archived minutes. Unset: DEV_BASE_URL,
    # with a warning at start-up; with HTTPS on the app refuses to start without it.
    BASE_URL = None
    # Host names requests may carry (Flask: others get 400), e.g. ["gongjian.dongdajie.gov.cn"].
    TRUSTED_HOSTS = None
    # Outgoing mail. Without MAIL_SERVER, mail waits in the outbox.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    # The From address; "名称 <address>" or a bare address (then shown as 共建联席会议).
    MAIL_DEFAULT_SENDER = "gongjian@example.gov.cn"
    MAIL_TIMEOUT = 20
    # "thread": a sender thread per process; "inline": before the response; "off".
    MAIL_DELIVERY = "thread"
    MAIL_POLL_SECONDS = 60
    # Archive number of approved minutes; placeholders {host} (社区 or 街道 name),
    # {host_short}, {street}, {year}, {number}. E.g. 青年路社区联席〔2026〕3号.
    MINUTES_ARCHIVE_PATTERN = "{host}联席〔{year}〕{number}号"
    # 档号 of filed minutes (DA/T 22-2015): {fonds} 全宗号, {category} 门类代码 (WS), {year} 年度,
    # {retention} 保管期限代码 (Y, D30, D10), {organ} 机构（问题）, {item} 件号 (e.g. {item:04d}).
    ARCHIVE_FILE_NO_PATTERN = "{fonds}-{year}-{retention}-{item:04d}"
    # Uploaded attachments (action progress); default: instance/uploads.
    UPLOAD_FOLDER = None
    ACTIONS_PER_PAGE = 50
    # A claimed need with no progress for this many days is flagged to its secretary.
    NEED_STALE_DAYS = 14


# Settings that may come from the environment, with their types.
ENV_SETTINGS = {
    "BASE_URL": str,
    "TRUSTED_HOSTS": list,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": bool,
    "MAIL_USE_SSL": bool,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_DELIVERY": str,
    "CALENDAR_REPLY_TO": str,
    "IMAP_HOST": str,
    "IMAP_PORT": int,
    "IMAP_SSL": bool,
    "IMAP_USER": str,
    "IMAP_PASSWORD": str,
    "IMAP_FOLDER": str,
    "API_RATE_LIMIT": int,
}


def from_environment(environ) -> dict:
    """Read ENV_SETTINGS from the environment, converting types."""
    out = {}
    for key, kind in ENV_SETTINGS.items():
        raw = environ.get(key)
        if raw is None or raw == "":
            continue
        if kind is bool:
            out[key] = raw.lower() in ("1", "true", "yes", "on")
        elif kind is int:
            out[key] = int(raw)
        elif kind is list:
            out[key] = [item.strip() for item in raw.split(",") if item.strip()]
        else:
            out[key] = raw
    return out


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual ways."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_sqlite_file(url: str, instance_path: str) -> None:
    """Create the SQLite database file readable by the app's user only (0600), if it is new.

    SQLite creates its -wal and -shm files with the database file's permissions, so they
    follow. The process umask is left alone: it would change every other file the process
    creates, in every thread.
    """
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    # Flask-SQLAlchemy reads a relative SQLite path as relative to the instance folder.
    path = os.path.join(instance_path, database)
    if not os.path.isdir(os.path.dirname(path)):
        return  # SQLite will say so when it connects
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class ConfigurationError(RuntimeError):
    """A setting the app cannot run with; it refuses to start and says what to set."""


def check_base_url(config, logger) -> None:
    """Normalise BASE_URL, refuse a malformed one (or none with HTTPS on), else default it.

    Links in invites, feeds, mails and archived minutes are built from BASE_URL only,
    never from a request's Host header, which any client can forge.
    """
    raw = (config.get("BASE_URL") or "").strip()
    if not raw:
        if config.get("HTTPS") and not config.get("TESTING"):
            raise ConfigurationError(
                "GONGJIAN_HTTPS=1 but BASE_URL is not set: set BASE_URL to the address users "
                "reach the app at (e.g. https://gongjian.example.gov.cn)."
            )
        config["BASE_URL"] = DEV_BASE_URL
        if not config.get("TESTING"):
            logger.warning(
                "BASE_URL is not set: links in invites, feeds and mails point at %s. "
                "Set BASE_URL to the address users reach the app at.",
                DEV_BASE_URL,
            )
        return
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
        well_formed = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not (parts.query or parts.fragment or parts.username or parts.password)
        )
    except ValueError:
        well_formed = False
    if not well_formed:
        raise ConfigurationError(
            f"BASE_URL {raw!r} is not an address like https://gongjian.example.gov.cn "
            "(http or https, a host, optionally a port and a path; no query or password)."
        )
    if config.get("HTTPS") and parts.scheme != "https":
        logger.warning("HTTPS is on but BASE_URL %s starts with http://: links will not use HTTPS.", raw)
    config["BASE_URL"] = raw.rstrip("/")
