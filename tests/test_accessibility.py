"""Accessibility in the markup (WCAG 2.1 AA / GB/T 37668): the skip link, the main landmark, and
form errors tied to their fields. axe-core's checks of every page run in the browser suite
(tests/browser/test_accessibility.py)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from models.base import today
from tests.test_units import NEW_UNIT


class _Elements(HTMLParser):
    """Start tags with their attributes, and the text under each element with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag not in ("input", "br", "img", "meta", "link", "hr"):
            self._open.append(attributes.get("id"))
            if attributes.get("id"):
                self.text_by_id[attributes["id"]] = ""

    def handle_endtag(self, tag):
        if self._open and tag not in ("input", "br", "img", "meta", "link", "hr"):
            self._open.pop()

    def handle_data(self, data):
        for element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data

    def first(self, tag: str, **wanted) -> dict | None:
        for name, attrs in self.tags:
            if name == tag and all(attrs.get(k) == v for k, v in wanted.items()):
                return attrs
        return None


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def test_every_page_starts_with_a_skip_link_to_the_main_content(client, world, login_as):
    for path in ("/login", None):
        if path is None:
            login_as("secretary1")
            path = "/"
        page = _parse(client.get(path).get_data(as_text=True))
        first_link = next(attrs for tag, attrs in page.tags if tag == "a")
        assert first_link["href"] == "#main" and "skip-link" in first_link["class"]
        assert page.text_by_id.get("main") is not None
        main = page.first("main", id="main")
        assert main is not None and main["tabindex"] == "-1"


def test_a_refused_form_ties_each_error_to_its_field(client, world, login_as):
    login_as("secretary1")
    bad = {**NEW_UNIT, "community_id": world.community1, "name": "", "liaison_phone": "abc"}
    page = _parse(client.post("/units/new", data=bad).get_data(as_text=True))
    for field, message in (("name", "请填写单位名称"), ("liaison_phone", "请输入有效的电话号码")):
        control = page.first("input", id=field)
        assert control["aria-invalid"] == "true"
        error_id = control["aria-describedby"].split()[0]
        assert error_id == f"{field}-error"
        assert message in page.text_by_id[error_id]
    # A field without an error is not marked.
    short_name = page.first("input", id="short_name")
    assert "aria-invalid" not in short_name


def test_the_calendar_says_a_meetings_state_in_words_not_colour_alone(client, world, login_as, make_meeting):
    make_meeting(days=2, title="草稿状态的会议")
    login_as("secretary1")
    month = (today() + timedelta(days=2)).strftime("%Y-%m")
    page = client.get(f"/meetings/calendar?month={month}").get_data(as_text=True)
    assert "[草稿] 青年路·草稿状态的会议" in page  # the desktop chip
    assert "1 场会议：草稿" in page  # the phone's day link
    assert 'id="month-legend"' in page and "已召开" in page  # the dots' shapes explained
