"""Steps shared by the browser journeys."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import PASSWORD

# Set to a folder to keep screenshots of the pages for a look by eye (not part of the asserts).
SCREENSHOTS = os.environ.get("BROWSER_SCREENSHOTS")


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/")
    # The URL changes when the new page starts; its scripts (Bootstrap's menus and dialogs) run
    # only once it has loaded — a click before that does nothing.
    page.wait_for_load_state("load")


def log_out(page, base: str) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("alert")).to_contain_text("您已安全退出")


def click_and_confirm(page, button, accept: bool = True) -> str:
    """Click a button that asks first (data-confirm), answer the question, return it."""
    # The question comes from app.js, at the end of the page: a click before the page has
    # loaded posts the form unasked.
    page.wait_for_load_state("load")
    button.click()
    return answer_confirmation(page, accept)


def answer_confirmation(page, accept: bool = True) -> str:
    """Answer the confirmation dialog (data-confirm) that just opened; return its question."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-dialog-cancel")).to_be_focused()  # fully open
    question = dialog.locator("#confirm-dialog-message").inner_text()
    button = "#confirm-dialog-ok" if accept else "#confirm-dialog-cancel"
    dialog.locator(button).click()
    expect(dialog).to_be_hidden()
    return question


def save_as(page, url: str):
    """Download what a URL points at as a user would with 另存为 (PDFs open inline); the
    playwright Download."""
    # Through a link of its own, named and gone at once: the page's accessibility audit
    # (axe-core works over several tasks) may still be running, and once found it bare.
    with page.expect_download() as info:
        page.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; a.download = '';"
            " a.textContent = '另存为'; document.body.appendChild(a); a.click(); a.remove(); }",
            url,
        )
    return info.value
