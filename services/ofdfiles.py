"""OFD renditions of approved minutes (GB/T 33190-2016): made from an archival PDF at approval and
at every later rendition (the filed, stamped one included), with their digests. Never commits."""

from __future__ import annotations

import contextlib
import functools
import subprocess
import tomllib
from pathlib import Path

from common.dates import SHANGHAI
from common.digests import digests
from exports.ofd import pdf_to_ofd
from models import Minutes, MinutesOfd, MinutesRevision, db
from models.base import utcnow

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def gongjian_version() -> str:
    """The app's version, with the git commit when running from a checkout."""
    version = "unknown"
    with contextlib.suppress(OSError, KeyError, tomllib.TOMLDecodeError):
        version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version} ({commit})" if commit else version


def ofd_info(minutes: Minutes, revision: MinutesRevision) -> tuple[dict[str, str], dict[str, str]]:
    """The OFD's document info and the archival description as its custom data."""
    meeting = minutes.meeting
    info = {
        "title": minutes.title,
        "author": meeting.host_name,
        "subject": "会议纪要",
        "creation_date": revision.approved_at.astimezone(SHANGHAI).date().isoformat()
        if revision.approved_at
        else "",
        "creator": f"共建联席会议系统 {gongjian_version()}",
    }
    custom = {
        "档号": minutes.file_no or "",
        "文号": minutes.archive_no or "",
        "全宗号": minutes.fonds_code or "",
        "年度": str(minutes.filing_year or ""),
        "保管期限": minutes.retention.label if minutes.retention else "",
        "件号": f"{minutes.item_no:04d}" if minutes.item_no else "",
        "机构或问题": minutes.organ,
        "版本": str(revision.number),
    }
    return info, custom


def make_ofd(revision: MinutesRevision, source_number: int, pdf: bytes, made_by: str) -> MinutesOfd:
    """The OFD rendition of one archival PDF, with its digests."""
    info, custom = ofd_info(revision.minutes, revision)
    data = pdf_to_ofd(pdf, info, custom)
    sha256, sm3 = digests(data)
    ofd = MinutesOfd(
        revision_id=revision.id,
        source_number=source_number,
        ofd=data,
        sha256=sha256,
        sm3=sm3,
        made_by=made_by,
        created_at=utcnow(),
    )
    db.session.add(ofd)
    db.session.flush()
    return ofd
