"""Our own RFC 5545 / RFC 5546 conformance check, stricter than common parsers.

icalendar, vobject and most calendar clients accept files that break the RFC (LF line
ends, over-long lines, a TZID without its VTIMEZONE); a strict client or mail server
then drops or mangles them. This checker reads the raw bytes and reports each problem.
"""

from __future__ import annotations

import re
from email.message import Message

CRLF = b"\r\n"
MAX_OCTETS = 75

# A content line: name, parameters, value (RFC 5545 3.1). Parameter values may be quoted.
_PARAM = r';[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*'
_LINE = re.compile(rf"^(?P<name>[A-Za-z0-9-]+)(?P<params>(?:{_PARAM})*):(?P<value>.*)$", re.S)
_TZID_PARAM = re.compile(r';TZID=(?:"([^"]*)"|([^";:,]*))', re.I)
_UTC_DATETIME = re.compile(r"^\d{8}T\d{6}Z$")


class ContentLine:
    def __init__(self, name: str, params: str, value: str, number: int):
        self.name = name.upper()
        self.params = params
        self.value = value
        self.number = number  # physical line number where the logical line starts

    def __repr__(self) -> str:
        return f"<{self.name}{self.params}:{self.value[:30]}>"


class Component:
    def __init__(self, name: str):
        self.name = name
        self.props: list[ContentLine] = []
        self.children: list[Component] = []

    def all(self, name: str) -> list[ContentLine]:
        return [p for p in self.props if p.name == name]

    def first(self, name: str) -> ContentLine | None:
        found = self.all(name)
        return found[0] if found else None

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _physical_lines(data: bytes, problems: list[str]) -> list[bytes]:
    if not data.endswith(CRLF):
        problems.append("the file does not end with CRLF")
    lines = data.split(CRLF)
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if b"\n" in line or b"\r" in line:
            problems.append(f"line {n}: bare CR or LF (every line must end with CRLF)")
        if len(line) > MAX_OCTETS:
            problems.append(f"line {n}: {len(line)} octets, more than {MAX_OCTETS}")
        if line == b"":
            problems.append(f"line {n}: empty line")
    return lines


def _unfold(lines: list[bytes], problems: list[str]) -> list[tuple[int, str]]:
    logical: list[tuple[int, bytearray]] = []
    for n, line in enumerate(lines, start=1):
        if line[:1] in (b" ", b"\t"):
            if not logical:
                problems.append(f"line {n}: continuation line with nothing to continue")
                continue
            logical[-1][1].extend(line[1:])
        else:
            logical.append((n, bytearray(line)))
    out = []
    for n, raw in logical:
        try:
            out.append((n, raw.decode("utf-8")))
        except UnicodeDecodeError:
            problems.append(f"line {n}: not UTF-8")
    return out


def parse(data: bytes, problems: list[str]) -> list[Component]:
    """Parse into components, noting every structural problem on the way."""
    roots: list[Component] = []
    stack: list[Component] = []
    for n, text in _unfold(_physical_lines(data, problems), problems):
        m = _LINE.match(text)
        if not m:
            problems.append(f"line {n}: not a content line: {text[:40]!r}")
            continue
        line = ContentLine(m["name"], m["params"], m["value"], n)
        if line.name == "BEGIN":
            comp = Component(line.value.upper())
            (stack[-1].children if stack else roots).append(comp)
            stack.append(comp)
        elif line.name == "END":
            if not stack:
                problems.append(f"line {n}: END:{line.value} without BEGIN")
            elif stack[-1].name != line.value.upper():
                problems.append(f"line {n}: END:{line.value} closes BEGIN:{stack[-1].name}")
                stack.pop()
            else:
                stack.pop()
        elif not stack:
            problems.append(f"line {n}: {line.name} outside any component")
        else:
            stack[-1].props.append(line)
    for comp in stack:
        problems.append(f"BEGIN:{comp.name} is never closed")
    return roots


def _check_vevent(ev: Component, method: str | None, problems: list[str]) -> None:
    uid = ev.first("UID")
    where = f"VEVENT {uid.value if uid else '?'}"
    for name in ("UID", "DTSTAMP", "DTSTART", "SEQUENCE"):
        if len(ev.all(name)) != 1:
            problems.append(f"{where}: {len(ev.all(name))} {name} properties, expected exactly one")
    stamp = ev.first("DTSTAMP")
    if stamp and not _UTC_DATETIME.match(stamp.value):
        problems.append(f"{where}: DTSTAMP {stamp.value!r} is not a UTC date-time (…Z)")
    seq = ev.first("SEQUENCE")
    if seq and not seq.value.isdigit():
        problems.append(f"{where}: SEQUENCE {seq.value!r} is not a non-negative integer")
    status = ev.first("STATUS")
    if method == "REQUEST":
        if not ev.all("ORGANIZER"):
            problems.append(f"{where}: REQUEST without ORGANIZER")
        if not ev.all("ATTENDEE"):
            problems.append(f"{where}: REQUEST without ATTENDEE")
        if not ev.all("SUMMARY"):
            problems.append(f"{where}: REQUEST without SUMMARY")
    if method == "CANCEL":
        if not ev.all("ORGANIZER"):
            problems.append(f"{where}: CANCEL without ORGANIZER")
        if status is None or status.value.upper() != "CANCELLED":
            problems.append(f"{where}: CANCEL without STATUS:CANCELLED")
        if any(c.name == "VALARM" for c in ev.children):
            problems.append(f"{where}: CANCEL with VALARM (RFC 5546 3.2.5 allows none)")
    for alarm in (c for c in ev.children if c.name == "VALARM"):
        for name in ("ACTION", "TRIGGER"):
            if len(alarm.all(name)) != 1:
                problems.append(f"{where}: VALARM needs exactly one {name}")


def check_calendar(data: bytes, expected_method: str | None) -> list[str]:
    """Every way `data` breaks RFC 5545/5546 for a calendar with `expected_method` (None: a feed)."""
    problems: list[str] = []
    roots = parse(data, problems)
    if len(roots) != 1 or roots[0].name != "VCALENDAR":
        problems.append(f"expected one VCALENDAR, found {[r.name for r in roots]}")
        if not roots:
            return problems
    cal = roots[0]
    version = cal.all("VERSION")
    if [v.value for v in version] != ["2.0"]:
        problems.append(f"VERSION must be 2.0 exactly once, found {[v.value for v in version]}")
    if len(cal.all("PRODID")) != 1 or not cal.first("PRODID").value.strip():
        problems.append("PRODID must be present exactly once")
    methods = [m.value for m in cal.all("METHOD")]
    if expected_method is None:
        if methods:
            problems.append(f"a feed must not carry METHOD, found {methods}")
    elif methods != [expected_method]:
        problems.append(f"METHOD must be {expected_method}, found {methods}")

    defined = {tz.first("TZID").value for tz in cal.children if tz.name == "VTIMEZONE" and tz.first("TZID")}
    for tz in (c for c in cal.children if c.name == "VTIMEZONE"):
        if not tz.first("TZID"):
            problems.append("VTIMEZONE without TZID")
        if not any(c.name in ("STANDARD", "DAYLIGHT") for c in tz.children):
            problems.append(f"VTIMEZONE {tz.first('TZID')} without STANDARD or DAYLIGHT")
    for comp in cal.walk():
        for prop in comp.props:
            for m in _TZID_PARAM.finditer(prop.params):
                tzid = m[1] if m[1] is not None else m[2]
                if tzid not in defined:
                    problems.append(f"line {prop.number}: TZID={tzid} has no VTIMEZONE")

    events = [c for c in cal.children if c.name == "VEVENT"]
    if expected_method is not None and not events:
        problems.append(f"a {expected_method} without VEVENT")
    for ev in events:
        _check_vevent(ev, expected_method, problems)
    return problems


def check_mime_method(content_type_header: str, body: bytes) -> list[str]:
    """The MIME type is text/calendar and its `method=` parameter matches the METHOD inside."""
    msg = Message()
    msg["Content-Type"] = content_type_header
    problems = []
    if msg.get_content_type() != "text/calendar":
        problems.append(f"content type is {msg.get_content_type()}, not text/calendar")
    header_method = msg.get_param("method")
    roots = parse(body, [])
    methods = [m.value for m in roots[0].all("METHOD")] if roots else []
    body_method = methods[0] if methods else None
    if (header_method or "").upper() != (body_method or "").upper():
        problems.append(f"MIME method={header_method!r} but METHOD:{body_method!r}")
    return problems
