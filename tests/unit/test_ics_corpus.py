"""Every real file in the corpus either yields its events or says, in words, why it cannot."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.ics import ParsedCalendar, expand, parse_calendar, upcoming
from calendar_sync.itip_mail import calendar_part
from rules.errors import UnreadableInput
from tests.conftest import manifest_rows, require_corpus

ROWS = manifest_rows("ics")
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")

# Outlook 2003 wrote dates with a missing digit ("2006717T080000Z") in its only component.
UNREADABLE = {"outlook11-invalid-boeing.ics"}


def _read(name: str) -> ParsedCalendar:
    path: Path = require_corpus("ics") / name
    data = path.read_bytes()
    if path.suffix == ".eml":
        data = calendar_part(data, name)
    return parse_calendar(data, name, SHANGHAI)


def test_the_ics_corpus_is_present() -> None:
    assert len(ROWS) >= 50, require_corpus("ics")


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_every_corpus_file_yields_events_or_a_reason(row: dict[str, str]) -> None:
    name = row["file"]
    try:
        parsed = _read(name)
    except UnreadableInput as error:
        assert name in UNREADABLE, f"{name} was refused: {error.reason}"
        assert error.source == name
        assert error.reason.strip()
        return
    assert name not in UNREADABLE
    meetings = expand(parsed, datetime(1990, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
    upcoming(parsed, datetime(2000, 1, 1, tzinfo=UTC), limit=3)
    text = (require_corpus("ics") / name).read_text("utf-8", errors="replace")
    if "BEGIN:VEVENT" in text:
        assert parsed.events, f"{name} has events but none were read: {parsed.problems}"
        # Every event is either in the expanded range or cancelled.
        assert meetings or all(e.cancelled for e in parsed.events)
    for event in parsed.events:
        assert event.uid
        assert event.meeting.start.utcoffset() is not None
        assert event.meeting.end >= event.meeting.start
        assert ZoneInfo(event.meeting.timezone)
    for problem in parsed.problems:
        assert problem.where == name and problem.message


def test_the_unreadable_file_says_what_is_wrong() -> None:
    with pytest.raises(UnreadableInput) as raised:
        _read("outlook11-invalid-boeing.ics")
    assert "2006717T080000Z" in raised.value.reason


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("exchange2010-request-gxl475.ics", "REQUEST"),
        ("google-reply-invalid.ics", "REPLY"),
        ("google-cancel.ics", "CANCEL"),
        ("icloud-cancel.ics", "CANCEL"),
        ("exchange2010-publish-w-europe-exdate.ics", "PUBLISH"),
        ("thunderbird-recurring-moved.ics", ""),
        ("itip-email-teams-meeting-request.eml", "REQUEST"),
    ],
)
def test_the_method_of_the_file_is_kept(name: str, method: str) -> None:
    parsed = _read(name)
    assert parsed.method == method
    assert all(event.method == method for event in parsed.events)


def test_an_email_without_a_calendar_part_is_refused_with_a_reason() -> None:
    message = b"From: a@example.com\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    with pytest.raises(UnreadableInput) as raised:
        calendar_part(message, "note.eml")
    assert "text/calendar" in raised.value.reason
