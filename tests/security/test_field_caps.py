"""Outside fields are cut where they enter: a calendar event with megabytes in its subject,
location, notes or attendee list costs a bounded client mail and a bounded state file, and the
cut is reported once with the file."""

from __future__ import annotations

from pathlib import Path

from aeflow.demo_week import write_config
from aeflow.demo_world import ics_time, local
from calendar_sync.ics import expand, parse_calendar
from rules import limits
from tests.system.test_invitations import MONDAY, THURSDAY, sent, tick
from tests.unit.planner_fixtures import SHANGHAI

HUGE_SUMMARY = "Pitch " + "A" * 2_000_000
HUGE_LOCATION = "Room " + "B" * 1_000_000
HUGE_NOTES = "1. Recap - 15 min\\n" + "C" * 5_000_000


def event(start: str, end: str) -> str:
    people = "".join(
        f"ATTENDEE;CN=Guest {i}:mailto:guest{i}@acme-bev.example\r\n" for i in range(1200)
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:huge@agency.example\r\nDTSTAMP:20261201T000000Z\r\n"
        f"DTSTART;TZID=Asia/Shanghai:{start}\r\nDTEND;TZID=Asia/Shanghai:{end}\r\n"
        f"SUMMARY:{HUGE_SUMMARY}\r\nLOCATION:{HUGE_LOCATION}\r\nDESCRIPTION:{HUGE_NOTES}\r\n"
        "ORGANIZER;CN=王小明:mailto:xiaoming.wang@agency.example\r\n"
        f"ATTENDEE;CN=Jane Doe:mailto:jane.doe@acme-bev.example\r\n{people}"
        "CATEGORIES:Client: Acme\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_every_outside_field_of_an_event_is_cut_and_the_cut_said_once() -> None:
    data = event(ics_time(THURSDAY, "14:00"), ics_time(THURSDAY, "15:00")).encode()
    parsed = parse_calendar(data, "huge.ics", SHANGHAI)
    notes = [p.message for p in parsed.problems if "over aeflow's limits" in p.message]
    assert len(notes) == 1 and "the subject" in notes[0] and "the location" in notes[0]
    (event_,) = parsed.events
    meeting = event_.meeting
    assert len(meeting.subject) == limits.MAX_SUBJECT and meeting.subject.endswith("…")
    assert len(meeting.location) == limits.MAX_LOCATION
    assert len(meeting.body) == limits.MAX_BODY
    assert len(meeting.attendees) == limits.MAX_ATTENDEES
    start, end = meeting.start, meeting.end
    (occurrence,) = expand(parsed, start, end)
    assert occurrence.subject == meeting.subject


def test_a_huge_event_makes_a_bounded_confirmation_and_state_file(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "calendar").mkdir()
    assert tick(tmp_path, local(MONDAY, "08:00")) == []
    (tmp_path / "calendar" / "huge.ics").write_text(
        event(ics_time(THURSDAY, "14:00"), ics_time(THURSDAY, "15:00")), newline=""
    )
    wednesday = local(THURSDAY, "10:00").replace(day=THURSDAY.day - 1)
    keys = tick(tmp_path, wednesday)
    assert any(k.startswith("confirm:") for k in keys), keys
    biggest = max(len(m.as_bytes()) for m in sent(tmp_path))
    assert biggest < 1_000_000, biggest
    state = sum(p.stat().st_size for p in (tmp_path / "state").iterdir())
    assert state < 2_000_000, state
