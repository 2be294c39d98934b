"""One occurrence, one id: the calendar and the mailbox name a series occurrence alike.

The calendar side (``calendar_sync.ics``: ``parse_calendar`` then ``expand``) gives each
occurrence of a series an ``occurrence_id``; an attendee's iTIP REPLY for that occurrence,
classified by the mail side (``mailer.signals.classify_message``), names it by its RECURRENCE-ID
in the form a client writes it: floating, VALUE=DATE, TZID or UTC. Both sides must give the same
id (``rules.occurrence_ids``), or the answer is matched to no occurrence: a decision-maker's
decline raises no alert and an acceptance confirms nothing.

The corpus has no series in floating or UTC times, nor one with ``TZID`` on a ``VALUE=DATE``
RECURRENCE-ID; those files are written here from RFC 5545 (3.3.5 form 1, 3.3.5 form 2, 3.8.4.4),
saying so. The replies follow RFC 5546 3.2.3 (REPLY for one instance: UID and RECURRENCE-ID), with
the file's VTIMEZONE copied in as Outlook and Exchange do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import load_config
from aeflow.demo_week import write_config
from aeflow.engine import Engine
from calendar_sync.ics import expand, parse_calendar
from mailer.memory import MemoryMailbox
from mailer.signals import classify_message
from rules.model import Meeting, Response, SignalKind
from rules.occurrence_ids import occurrence_id
from tests.conftest import require_corpus

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
AE = "xiaoming.wang@agency.example"
DECIDER = "li.wei@client.example.com"
# The UID of the first series of exchange2010-gmt-standard-time-recurid.ics (folded there).
GMT_SERIES = (
    "040000008200E00074C5B7101A82E00800000000017E1BADC42ED6010000000000000000"
    "10000000FBF1FBAE2E9FBC4D81F16854E2F4D51B"
)


def _handmade(uid: str, *lines: str) -> str:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//aeflow tests//hand-written from RFC 5545//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20251201T000000Z",
            "SUMMARY:Weekly client call",
            *lines,
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


FLOATING = _handmade(
    "floating-weekly@aeflow.test",
    "DTSTART:20260105T100000",
    "DTEND:20260105T110000",
    "RRULE:FREQ=WEEKLY;COUNT=10",
)
# The same series with its third occurrence moved to the afternoon (an override, floating too).
FLOATING_MOVED = FLOATING.replace(
    "END:VCALENDAR",
    "BEGIN:VEVENT\r\nUID:floating-weekly@aeflow.test\r\nDTSTAMP:20251201T000000Z\r\n"
    "RECURRENCE-ID:20260119T100000\r\nDTSTART:20260119T150000\r\nDTEND:20260119T160000\r\n"
    "SUMMARY:Weekly client call (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR",
)
UTC_SERIES = _handmade(
    "utc-weekly@aeflow.test",
    "DTSTART:20260105T020000Z",
    "DTEND:20260105T030000Z",
    "RRULE:FREQ=WEEKLY;COUNT=10",
)
# All-day, with a TZID on the dates, as SabreDAV writes them (sabredav-nextcloud-school-holidays).
ALL_DAY_TZID = _handmade(
    "all-day-tzid@aeflow.test",
    "DTSTART;TZID=Europe/Berlin;VALUE=DATE:20260105",
    "DTEND;TZID=Europe/Berlin;VALUE=DATE:20260106",
    "RRULE:FREQ=WEEKLY;COUNT=10",
)


@dataclass(frozen=True)
class Case:
    """A series, the zone the AE works in, one occurrence's start, and the reply's RECURRENCE-ID."""

    name: str
    source: str  # a corpus file name, or the text of a hand-written file
    zone: ZoneInfo
    uid: str
    start: datetime  # the occurrence's start on the calendar (for all-day: its local midnight)
    recurrence_id: str  # the RECURRENCE-ID line of the attendee's REPLY

    def calendar_text(self) -> str:
        if "BEGIN:VCALENDAR" in self.source:
            return self.source
        return (require_corpus("ics") / self.source).read_text("utf-8", errors="replace")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


CASES = [
    Case(
        "floating",
        FLOATING,
        SHANGHAI,
        "floating-weekly@aeflow.test",
        datetime(2026, 1, 12, 10, 0, tzinfo=SHANGHAI),
        "RECURRENCE-ID:20260112T100000",
    ),
    Case(
        "floating-moved-occurrence",
        FLOATING_MOVED,
        SHANGHAI,
        "floating-weekly@aeflow.test",
        datetime(2026, 1, 19, 15, 0, tzinfo=SHANGHAI),
        "RECURRENCE-ID:20260119T100000",
    ),
    Case(
        "all-day-nextcloud",
        "nextcloud-calendar-5.3.2.ics",
        SHANGHAI,
        "3e5e45db-d8e5-46c3-af61-0f64916acc73",
        _midnight(date(2026, 7, 1), SHANGHAI),
        "RECURRENCE-ID;VALUE=DATE:20260701",
    ),
    Case(
        "all-day-exchange-by-date",
        "exchange2010-gmt-standard-time-recurid.ics",
        SHANGHAI,
        GMT_SERIES,
        _midnight(date(2020, 4, 30), SHANGHAI),
        "RECURRENCE-ID;VALUE=DATE:20200430",
    ),
    # Exchange names an all-day occurrence by its midnight in the organizer's zone, here the AE's.
    Case(
        "all-day-exchange-moved-by-midnight",
        "exchange2010-gmt-standard-time-recurid.ics",
        LONDON,
        GMT_SERIES,
        _midnight(date(2020, 4, 17), LONDON),
        "RECURRENCE-ID;TZID=GMT Standard Time:20200416T000000",
    ),
    Case(
        "all-day-exchange-w-europe-by-midnight",
        "exchange2010-allday-moved-recurrence.ics",
        BERLIN,
        "exchange-moved-recurrence",
        _midnight(date(2026, 3, 3), BERLIN),
        "RECURRENCE-ID;TZID=W. Europe Standard Time:20260303T000000",
    ),
    Case(
        "all-day-date-with-tzid",
        ALL_DAY_TZID,
        SHANGHAI,
        "all-day-tzid@aeflow.test",
        _midnight(date(2026, 1, 19), SHANGHAI),
        "RECURRENCE-ID;TZID=Europe/Berlin;VALUE=DATE:20260119",
    ),
    Case(
        "utc",
        UTC_SERIES,
        SHANGHAI,
        "utc-weekly@aeflow.test",
        datetime(2026, 1, 12, 2, 0, tzinfo=UTC),
        "RECURRENCE-ID:20260112T020000Z",
    ),
    Case(
        "tzid-iana-google",
        "google-request-recurring-la.ics",
        SHANGHAI,
        "flg2h6nam1cb1uqetgfkslrfrc@google.com",
        datetime(2015, 1, 26, 13, 30, tzinfo=LOS_ANGELES),
        "RECURRENCE-ID;TZID=America/Los_Angeles:20150126T133000",
    ),
    Case(
        "tzid-windows-exchange",
        "exchange2010-request-gxl475.ics",
        SHANGHAI,
        "040000008200E00074C5B7101A82E0080000000000628DD5412CDA0100000000000000001"
        "0000000364A1A3FF3EE024AAF97479096254D81",
        datetime(2024, 4, 8, 13, 0, tzinfo=BERLIN),
        "RECURRENCE-ID;TZID=W. Europe Standard Time:20240408T130000",
    ),
    Case(
        "tzid-defined-only-in-the-file",
        "exchange2010-customized-time-zone.ics",
        SHANGHAI,
        "1173422081SZR322",
        datetime(2020, 11, 3, 10, 35, tzinfo=NEW_YORK),
        "RECURRENCE-ID;TZID=Customized Time Zone:20201103T103500",
    ),
]


def _timezones(calendar_text: str) -> list[str]:
    """The file's VTIMEZONE blocks, as a client copies them into its reply."""
    blocks = re.findall(r"BEGIN:VTIMEZONE.*?END:VTIMEZONE", calendar_text, flags=re.S)
    return [line for block in blocks for line in block.splitlines()]


def reply_mail(
    uid: str, recurrence_id: str, timezones: list[str], partstat: str = "DECLINED"
) -> bytes:
    """An attendee's iTIP REPLY for one occurrence (RFC 5546 3.2.3), as a mail to the AE."""
    lines = [
        f"From: Li Wei <{DECIDER}>",
        f"To: {AE}",
        f"Subject: {partstat.capitalize()}: Weekly client call",
        "Date: Mon, 05 Jan 2026 09:00:00 +0800",
        "Message-ID: <reply-1@client.example.com>",
        "MIME-Version: 1.0",
        'Content-Type: text/calendar; charset="utf-8"; method=REPLY',
        "",
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Example//Client//EN",
        "METHOD:REPLY",
        *timezones,
        "BEGIN:VEVENT",
        f"UID:{uid}",
        recurrence_id,
        "DTSTAMP:20260105T010000Z",
        f"ORGANIZER:mailto:{AE}",
        f"ATTENDEE;PARTSTAT={partstat};CN=Li Wei:mailto:{DECIDER}",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def calendar_occurrence(case: Case) -> Meeting:
    text = case.calendar_text()
    parsed = parse_calendar(text.encode("utf-8"), case.name, case.zone)
    window = expand(parsed, case.start - timedelta(days=1), case.start + timedelta(days=2))
    found = [m for m in window if m.uid == case.uid and m.start == case.start]
    assert len(found) == 1, [(m.uid, m.start, m.occurrence_id) for m in window]
    return found[0]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_reply_for_one_occurrence_names_the_occurrence_the_calendar_expands(case: Case) -> None:
    meeting = calendar_occurrence(case)
    raw = reply_mail(case.uid, case.recurrence_id, _timezones(case.calendar_text()))
    (signal,) = classify_message(raw, source=case.name, zone=case.zone)
    assert signal.kind is SignalKind.MEETING_RESPONSE
    assert signal.response is Response.DECLINED
    assert meeting.occurrence_id
    assert (signal.uid, signal.occurrence_id) == (meeting.uid, meeting.occurrence_id)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 7, 1), "2026-06-30T16:00:00+00:00"),  # the AE's midnight
        (datetime(2026, 1, 12, 10, 0), "2026-01-12T02:00:00+00:00"),  # floating: the AE's wall
        (datetime(2026, 1, 12, 10, 0, tzinfo=BERLIN), "2026-01-12T09:00:00+00:00"),
        (datetime(2026, 1, 12, 2, 0, tzinfo=UTC), "2026-01-12T02:00:00+00:00"),
    ],
    ids=["date", "floating", "zoned", "utc"],
)
def test_an_occurrence_id_is_the_utc_instant_of_the_original_start_in_the_aes_zone(
    value: date | datetime, expected: str
) -> None:
    assert occurrence_id(value, SHANGHAI) == expected


# --- through the engine: the local calendar, a mailbox, the planner ----------------------------

SERIES_UID = "weekly-sync.floating@agency.example"
SERIES = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//aeflow tests//hand-written from RFC 5545//EN",
        "BEGIN:VEVENT",
        f"UID:{SERIES_UID}",
        "DTSTAMP:20261101T000000Z",
        # Floating times (RFC 5545 3.3.5 form 1): the AE's zone, Asia/Shanghai, gives them one.
        "DTSTART:20261126T100000",
        "DTEND:20261126T110000",
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "SUMMARY:Acme weekly sync",
        "CATEGORIES:Client: Acme",
        f"ORGANIZER;CN=王小明:mailto:{AE}",
        "ATTENDEE;CN=Jane Doe;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:"
        "mailto:jane.doe@acme-bev.example",
        "ATTENDEE;CN=Mei Zhang;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:"
        "mailto:mei.zhang@agency.example",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def test_a_decision_makers_decline_of_one_floating_occurrence_raises_the_alert(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "weekly-sync.ics").write_text(SERIES, encoding="utf-8", newline="")
    now = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)  # a Monday; the series is on Thursdays
    clock = FixedClock(now)
    mail = MemoryMailbox("agency.example", clock=clock.now, zone=SHANGHAI)
    decline = reply_mail(SERIES_UID, "RECURRENCE-ID:20261210T100000", []).replace(
        DECIDER.encode(), b"jane.doe@acme-bev.example"
    )
    mail.deliver(decline, received_at=now)
    app = bootstrap(load_config(tmp_path / "aeflow.toml"), clock, mail=mail)
    try:
        report = Engine(app).tick()
    finally:
        app.close()
    alerts = [s.action for s in report.sent if s.action.kind == "decision_alert"]
    assert [a.data["meeting_key"] for a in alerts] == [f"{SERIES_UID}/2026-12-10T02:00:00+00:00"]
    (alert,) = alerts
    assert alert.recipients == (AE,)
    assert alert.data["people"] == [
        {"name": "Jane Doe", "email": "jane.doe@acme-bev.example", "reason": "declined"}
    ]
