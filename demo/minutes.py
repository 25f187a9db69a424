"""Demo: the oldest approved minutes were archived with the faulty first font build and migrated.

So an archivist sees what `flask migrate-archive` leaves behind: on that revision's page the
original (whose Chinese MuPDF and Ghostscript draw blank or boxed) and the second
rendition with its digests and provenance, the downloads giving the second.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import render_template

from models import MinutesRevision, User
from services import archive
from services import minutes as svc


@contextlib.contextmanager
def first_font_build(revision: MinutesRevision) -> Iterator[None]:
    """Render PDFs inside the block with faces built the faulty first way.

    The faces cover the characters of this revision's document only (a few seconds to
    build, rather than the full GBK); anything else falls back to the installed Noto.
    """
    from exports import fonts, pdf
    from exports.minutes import minutes_context

    text = render_template("pdf/minutes.html", **minutes_context(revision))
    characters = sorted({ord(c) for c in text + "联席〔〕号第页共签发人0123456789"} | set(range(0x20, 0x7F)))
    font_dir = fonts.FONT_DIR
    with tempfile.TemporaryDirectory(prefix="gongjian-first-build-") as folder:
        for face in fonts.FACES:
            fonts.build_face(face, characters, folder=Path(folder), renumber=False)
        fonts.FONT_DIR = Path(folder)
        pdf.reset_shared_state()
        try:
            yield
        finally:
            fonts.FONT_DIR = font_dir
            pdf.reset_shared_state()


def approve_with_first_font_build(revision: MinutesRevision, by: User, unconfirmed_ok: bool = False) -> None:
    """签发 as a machine with the first font build did, then migrate as an admin would later."""
    with first_font_build(revision):
        svc.approve(revision, by, unconfirmed_ok=unconfirmed_ok)
    archive.migrate_revision(revision, made_by="flask migrate-archive（演示数据）")
