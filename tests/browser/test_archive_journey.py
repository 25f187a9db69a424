"""An archivist finds minutes archived with the faulty first font build and their migrated
rendition, at desktop and phone width, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Minutes, MinutesRendition, MinutesRevision, db
from tests.browser.helpers import log_in, save_as, screenshot
from tests.pdffixtures import build_faces, use_font_dir
from tests.test_minutes import _approve

pytestmark = pytest.mark.browser


def test_archivist_sees_and_downloads_both_renditions(
    page,
    live_server,
    app,
    client,
    runner,
    world,
    login_as,
    held_meeting,
    tmp_path,
    monkeypatch,
):
    base = live_server
    mid = held_meeting()
    # Approved through the test client (live_server turned CSRF on for the browser).
    app.config["WTF_CSRF_ENABLED"] = False
    login_as("secretary1")
    with use_font_dir(monkeypatch, build_faces(tmp_path / "first-build", faulty=True)):
        _approve(app, client, world, mid)
    app.config["WTF_CSRF_ENABLED"] = True
    assert runner.invoke(args=["migrate-archive"]).exit_code == 0
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        revision = minutes.revisions[0]
        original = db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == revision.id))
        rendition = db.session.scalar(select(MinutesRendition))
        digests = (revision.pdf_sha256, revision.pdf_sm3, rendition.pdf_sha256, rendition.pdf_sm3)
        newest = rendition.pdf

    log_in(page, base, "archivist")
    for width, height, name in ((1366, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/meetings/{mid}/minutes/revisions/1")
        card = page.locator("#renditions")
        expect(card.locator("#rendition-1")).to_contain_text("第 1 份（签发原件）")
        expect(card.locator("#rendition-2")).to_contain_text("第 2 份（重新生成）")
        expect(card.locator("#rendition-2")).to_contain_text("下载时提供")
        expect(card.locator("#rendition-2")).to_contain_text("据第 1 份存档文件所存的纪要内容重新生成")
        for digest in digests:
            expect(card).to_contain_text(digest)
        # Digests wrap: nothing sticks out sideways, on a phone either.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        card.locator("#rendition-2 summary").click()
        expect(card.locator("#rendition-2 details")).to_contain_text("6.2.11.4-2")
        screenshot(page, f"archive-renditions-{name}")

    assert _download(page, page.get_by_role("link", name="下载第 1 份")) == original
    assert _download(page, page.get_by_role("link", name="下载 PDF")) == newest != original
    assert page.console.problems() == []


def _download(page, link) -> bytes:
    """What a link points at, saved as a user would (PDFs open inline)."""
    with open(save_as(page, link.get_attribute("href")).path(), "rb") as f:
        return f.read()
