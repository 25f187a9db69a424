"""No input produces a 500: every GET page, with nonsense in every usual query argument.

The boundary sweep finds each page's query parameters by itself: it records which argument
names the view reads from ``request.args`` (directly or through a form), then sends boundary
values in each of them. Pages added later are swept without anyone listing them here.
"""

from urllib.parse import quote

import pytest
from werkzeug.datastructures import ImmutableMultiDict

JUNK = {
    "page": "-1",
    "q": "%_'\"<script>\x00",
    "community": "-5",
    "unit": "abc",
    "status": "<b>",
    "kind": "💥",
    "category": "x" * 300,
    "month": "9999-99",
    "year": "twenty",
    "from": "2026-02-31",
    "to": "yesterday",
    "period": "forever",
    "when": "never",
    "overdue": "maybe",
    "principle": "none",
    "tab": "../../etc",
    "start": "2026-13-01",
    "end": "-",
    "action": "drop",
    "object_type": "user",
    "object_id": "1e9",
    "role": "root",
    "wish": "2",
    "stale": "yes",
}

# Values at the edges of what the parsers accept: dates at year 1 and 9999 and just past them,
# months 0 and 13, signed and 64-bit-overflowing integers, floats that are not finite, an
# overlong string, NUL and other control characters. Each is sent percent-encoded.
BOUNDARY = [
    "0",
    "-1",
    "9999",
    "10000",
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
    "1e309",
    "nan",
    "0001-01",
    "9999-12",
    "0000-00",
    "2026-0",
    "2026-13",
    "10000-01",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "9999-12-31T23:59",
    "x" * 10_000,
    "\x00",
    "\x01\t\n\r\x1b[31m\x7f\u202e",
    " ",
    "²",
    "١٢",
]
# Raw query-string values that are not valid UTF-8 once percent-decoded.
INVALID_UTF8 = ["%FF%FE", "%C0%AF", "%ED%A0%80", "%E4%B8"]
# Path integers: the largest a 32-bit id takes, and past what SQLite or PostgreSQL can bind.
PATH_INTS = [2**31 - 1, 2**31, 2**63, 10**30]

PERSONAS = ["admin", "secretary1", "liaison_a", "archivist"]


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static" and not rule.endpoint.startswith("feeds."):
            yield rule


def _url(app, rule, path_value=1):
    values = {arg: path_value for arg in rule.arguments}
    if "fmt" in rule.arguments:
        values["fmt"] = "csv"
    return app.url_map.bind("localhost").build(rule.endpoint, values)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_survives_nonsense(app, client, world, login_as, make_meeting, persona):
    make_meeting(days=3)
    login_as(persona)
    failures = []
    for rule in _get_rules(app):
        url = _url(app, rule)
        for query in (JUNK, {"page": "99999999999999999999"}):
            resp = client.get(url, query_string=query)
            if resp.status_code >= 500:
                failures.append(f"{resp.status_code} {url} {query}")
    assert not failures, "\n".join(failures)


class _RecordingArgs(ImmutableMultiDict):
    """Query arguments that note every name a view asks for."""

    seen: set[str] | None = None

    def _note(self, key):
        if _RecordingArgs.seen is not None and isinstance(key, str):
            _RecordingArgs.seen.add(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        self._note(key)
        return super().get(key, default=default, type=type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type=type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


def _discover_parameters(app, client, url) -> set[str]:
    """The query argument names a page reads, plus the usual ones it might read on a branch."""
    _RecordingArgs.seen = set()
    try:
        # Once bare, once with the usual arguments set, so names read only on a branch show up.
        client.get(url)
        client.get(url, query_string=JUNK)
        return set(_RecordingArgs.seen)
    finally:
        _RecordingArgs.seen = None


def _query(params, value: str, raw: bool = False) -> str:
    encoded = value if raw else quote(value, safe="")
    return "&".join(f"{quote(name)}={encoded}" for name in sorted(params))


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_survives_boundary_values(app, client, world, login_as, make_meeting, persona):
    """Every query parameter of every GET page, for every role: boundary values never give a 500."""
    make_meeting(days=3)

    class RecordingRequest(app.request_class):
        parameter_storage_class = _RecordingArgs

    app.request_class = RecordingRequest
    login_as(persona)
    failures = []
    swept = 0
    for rule in _get_rules(app):
        url = _url(app, rule)
        params = _discover_parameters(app, client, url)
        queries = []
        if params:
            # Every parameter at once per value, then each parameter alone with the values most
            # likely to reach a parser (a failing neighbour could otherwise hide it).
            queries += [_query(params, v) for v in BOUNDARY]
            queries += [_query(params, v, raw=True) for v in INVALID_UTF8]
            for name in params:
                queries += [_query([name], v) for v in ("9999-12", "0001-01", str(2**63), "x" * 10_000)]
        for query in queries:
            swept += 1
            resp = client.get(url, query_string=query)
            if resp.status_code >= 500:
                failures.append(f"{resp.status_code} {url}?{query[:120]}")
        if rule.arguments - {"fmt"}:
            for n in PATH_INTS:
                big = _url(app, rule, n)
                resp = client.get(big)
                if resp.status_code >= 500:
                    failures.append(f"{resp.status_code} {big}")
    assert swept > 100, "the sweep found too few query parameters to be meaningful"
    assert not failures, "\n".join(failures)


def test_sweep_discovers_parameters(app, client, world, login_as):
    """The discovery sees the calendar's month and the meeting list's filters."""

    class RecordingRequest(app.request_class):
        parameter_storage_class = _RecordingArgs

    app.request_class = RecordingRequest
    login_as("admin")
    assert "month" in _discover_parameters(app, client, "/meetings/calendar")
    assert {"when", "community", "status"} <= _discover_parameters(app, client, "/meetings")


def test_calendar_out_of_range_months_fall_back_with_a_message(client, world, login_as):
    """Months Python cannot lay out (year 9999's last week runs into 10000) show this month."""
    login_as("secretary1")
    for month in ("9999-12", "0001-01", "2026-13", "2026-00", "10000-01"):
        resp = client.get(f"/meetings/calendar?month={month}")
        assert resp.status_code == 200, month
        html = resp.get_data(as_text=True)
        assert "已显示本月" in html, month
        assert "会议月历" in html
    resp = client.get("/meetings/calendar?month=2100-12")
    assert "2100年12月" in resp.get_data(as_text=True)
    assert "已显示本月" not in resp.get_data(as_text=True)


def test_shared_date_parser_bounds():
    from common.dates import DateArgError, parse_day, parse_month

    assert parse_month("2026-03").isoformat() == "2026-03-01"
    assert parse_day(" 2026-02-28 ").isoformat() == "2026-02-28"
    assert parse_day("") is None and parse_month(None) is None
    for bad in ("9999-12", "0001-01", "2026-13", "2026-0", "²⁰²⁶-01", "2026-01-01"):
        with pytest.raises(DateArgError):
            parse_month(bad)
    for bad in ("9999-12-31", "0001-01-01", "2026-02-30", "2026-1-1x", "x" * 10_000):
        with pytest.raises(DateArgError):
            parse_day(bad)
