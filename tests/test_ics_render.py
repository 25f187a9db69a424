"""The fast VEVENT writer gives exactly the bytes icalendar's component tree gives."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from exports import ics
from models import (
    AgendaItem,
    Community,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Reply,
    Room,
    Street,
    Unit,
)

# Characters that exercise escaping (\ ; , newline), parameter quoting (space ' " : ^ ’),
# and folding (multi-byte CJK, a four-byte emoji, an escape landing on a fold).
ALPHABET = list("共建联席会议社区单位abcXYZ 0123") + [
    "\\",
    ";",
    ",",
    "\n",
    ":",
    "'",
    '"',
    "^",
    "’",
    "😀",
    "（",
    "）",
]


def _words(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def _meeting(rng: random.Random, n: int) -> Meeting:
    street = Street(name="东大街街道" + _words(rng, 0, 3), short_name="东大街")
    community = Community(name=_words(rng, 1, 12) + "社区", short_name="社区") if n % 4 else None
    start = datetime(2026, 3, 1, 7, 30, tzinfo=UTC) + timedelta(days=n, minutes=17 * n)
    meeting = Meeting(
        id=n,
        uid=f"{n}-uid@gongjian",
        kind=list(MeetingKind)[n % 3],
        title=_words(rng, 1, 60),
        description=_words(rng, 0, 120),
        start_at=start,
        end_at=start + timedelta(minutes=90),
        status=list(MeetingStatus)[n % 4],
        cancel_reason=_words(rng, 0, 20),
        sequence=n % 5,
        ics_changed_at=start - timedelta(days=2, seconds=n),
        street=street,
        community=community,
        room=Room(name=_words(rng, 1, 20) + "会议室", address=_words(rng, 0, 20)),
    )
    units = [
        Unit(
            id=100 + k,
            name=_words(rng, 2, 30),
            liaison_name=_words(rng, 0, 6),
            liaison_email="" if k % 5 == 4 else f"liaison{k}@example.org",
        )
        for k in range(rng.randint(0, 12))
    ]
    for k, unit in enumerate(units):
        meeting.invitations.append(Invitation(unit=unit, reply=list(Reply)[k % 4]))
    for k in range(rng.randint(0, 4)):
        presenter = units[k % len(units)] if units and k % 2 == 0 else None
        meeting.agenda_items.append(
            AgendaItem(position=k + 1, title=_words(rng, 1, 40), minutes=5 + k, presenter_unit=presenter)
        )
    return meeting


@pytest.mark.parametrize("seed", range(40))
def test_vevent_text_equals_icalendar(seed):
    rng = random.Random(seed)
    for n in range(1, 11):
        meeting = _meeting(rng, seed * 10 + n)
        url = f"https://gongjian.example/meetings/{meeting.id}"
        organizer = "secretary1@example.org"
        expected = ics.build_vevent(meeting, url, organizer).to_ical().decode()
        assert ics.vevent_text(meeting, url, organizer) == expected
        # The bulk feed path passes attendees and agenda as plain rows: same text.
        attendees = [
            ics.attendee_of(
                inv.unit.id,
                inv.unit.name,
                inv.unit.liaison_name,
                inv.unit.liaison_email,
                ics.PARTSTAT[inv.reply],
            )
            for inv in meeting.invitations
        ]
        agenda = [
            (item.title, item.presenter_unit.name if item.presenter_unit else "", item.minutes)
            for item in meeting.agenda_items
        ]
        assert ics.vevent_text(meeting, url, organizer, attendees=attendees, agenda=agenda) == expected


def test_fold_never_splits_characters_or_escapes():
    line = "DESCRIPTION:" + "议" * 30 + "\\," + "a" * 40 + "😀" * 20
    folded = ics._fold(line)
    assert folded.replace("\r\n ", "") == line
    for part in folded.split("\r\n "):
        assert len(part.encode()) <= 74
        assert not part.endswith("\\")
