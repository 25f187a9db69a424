"""The archive: a transfer package of 500 filed minutes, and the renders of one item.

    .venv/bin/python bench/archive.py                 # 500 items, 10 renders each
    .venv/bin/python bench/archive.py --items 100 --renders 5

A fresh SQLite database under bench/out/ gets the street of generate.py, a 全宗号, and N held
meetings whose minutes are approved and filed: the first one through the services (so its
PDF/A, stamped rendition and OFD are real), the others as copies of its stored files with
their own 件号 and 档号 (rendering 500 PDFs would time the set-up, not the package). Then:

- package: `services.package.package_for` for the year, timed, with the ZIP's size, and
  `exports.package.verify` over it. Target (issue 13, point 8): under 60 s for 500 items.
- OFD: the same item's archival PDF converted to OFD, warm, median of N. Target: under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import database_url, fresh_schema, generate, make_app  # noqa: E402


def build(app, items: int) -> int:
    from sqlalchemy import select

    from models import (
        Attendance,
        Invitation,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Minutes,
        MinutesOfd,
        MinutesRendition,
        MinutesRevision,
        MinutesStatus,
        Retention,
        Room,
        Street,
        Unit,
        User,
        db,
    )
    from models.base import utcnow
    from services import filing
    from services import minutes as minutes_svc

    with app.test_request_context():
        generate(200)
        street = db.session.scalar(select(Street))
        street.fonds_code = "J001"
        room = db.session.scalar(select(Room).where(Room.community_id.is_not(None)).order_by(Room.id))
        units = db.session.scalars(
            select(Unit.id).where(Unit.community_id == room.community_id).limit(8)
        ).all()
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        start = utcnow() - timedelta(days=400)
        meetings = []
        for k in range(items):
            at = start + timedelta(hours=6 * k)
            meeting = Meeting(
                street_id=street.id,
                community_id=room.community_id,
                kind=MeetingKind.REGULAR,
                title=f"第{k + 1}次共驻共建联席会议",
                start_at=at,
                end_at=at + timedelta(hours=2),
                room_id=room.id,
                status=MeetingStatus.HELD,
            )
            for uid in units:
                meeting.invitations.append(Invitation(unit_id=uid, attendance=Attendance.PRESENT))
            db.session.add(meeting)
            meetings.append(meeting)
        db.session.flush()
        first = minutes_svc.start_minutes(meetings[0], admin)
        first.current.summary = "<p>会议围绕资源共享、优势互补进行了讨论。</p>"
        minutes_svc.submit(first.current, admin, None)
        minutes_svc.approve(first.current, admin)
        filing.file_item(first, admin)
        db.session.commit()
        source = first.approved
        year = first.filing_year
        rendition = db.session.scalar(
            select(MinutesRendition).where(MinutesRendition.revision_id == source.id)
        )
        ofd = db.session.scalar(select(MinutesOfd).where(MinutesOfd.revision_id == source.id))
        for k, meeting in enumerate(meetings[1:], start=2):
            minutes = Minutes(
                meeting=meeting,
                archive_no=f"基准联席〔{year}〕{k}号",
                archive_scope="bench",
                archive_year=year,
                archive_seq=k,
            )
            minutes.filing_year, minutes.retention = year, Retention.D30
            minutes.fonds_code, minutes.item_no = "J001", k
            minutes.file_no = f"J001-{year}-D30-{k:04d}"
            minutes.filed_at, minutes.filed_by_id = utcnow(), admin.id
            revision = MinutesRevision(
                number=1,
                status=MinutesStatus.APPROVED,
                recorder="基准",
                summary=source.summary,
                approved_at=source.approved_at,
                approved_by_name="基准",
                pdf=source.pdf,
                pdf_sha256=source.pdf_sha256,
                pdf_sm3=source.pdf_sm3,
            )
            minutes.revisions.append(revision)
            db.session.add(minutes)
            db.session.flush()
            db.session.add(
                MinutesRendition(
                    revision_id=revision.id,
                    number=2,
                    source_number=1,
                    pdf=rendition.pdf,
                    pdf_sha256=rendition.pdf_sha256,
                    pdf_sm3=rendition.pdf_sm3,
                    reason=rendition.reason,
                    findings=[],
                    software={},
                    made_by="bench",
                    created_at=utcnow(),
                )
            )
            db.session.add(
                MinutesOfd(
                    revision_id=revision.id,
                    source_number=2,
                    ofd=ofd.ofd,
                    sha256=ofd.sha256,
                    sm3=ofd.sm3,
                    made_by="bench",
                    created_at=utcnow(),
                )
            )
            if k % 100 == 0:
                db.session.flush()
        db.session.commit()
        return year


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--renders", type=int, default=10)
    args = parser.parse_args(argv)
    url = database_url(None, "archive")
    app = make_app(url)
    fresh_schema(app)
    t0 = time.perf_counter()
    year = build(app, args.items)
    print(f"set-up: {args.items} filed items in {time.perf_counter() - t0:.1f} s")

    from sqlalchemy import select

    from exports import ofd as ofd_export
    from exports.package import verify
    from models import Minutes, Street, db
    from services import archive
    from services import package as package_svc

    with app.test_request_context():
        street = db.session.scalar(select(Street))
        t0 = time.perf_counter()
        package, data = package_svc.package_for(street, year)
        package_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, findings = verify(data)
        verify_s = time.perf_counter() - t0
        print(
            f"package: {len(package.items)} items in {package_s:.1f} s, {len(data) / 1e6:.1f} MB; verified in {verify_s:.1f} s, {len(findings)} findings"
        )

        first = db.session.scalar(select(Minutes).order_by(Minutes.id))
        revision = first.approved
        _, pdf = archive.download(revision)
        info, custom = archive.ofd_info(first, revision)
        times = []
        for _ in range(args.renders + 1):
            t0 = time.perf_counter()
            ofd_export.pdf_to_ofd(pdf, info, custom)
            times.append((time.perf_counter() - t0) * 1000)
        ofd_ms = statistics.median(times[1:])
        print(f"OFD of one item ({len(pdf) // 1024} KB PDF): median {ofd_ms:.0f} ms")

    ok = package_s < 60 and not findings
    print("package target met" if ok else "PACKAGE TARGET MISSED")
    print("(the PDF/A render of the 3-page specimen: .venv/bin/python bench/pdf.py)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
