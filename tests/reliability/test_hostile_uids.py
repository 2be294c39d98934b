"""UIDs as real producers write them: folded across lines (Outlook writes 100+ characters) or
with TEXT escapes. The request goes out, the calendar event learns whom it invited, and the
confirmation the day before follows, as for any other UID."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aeflow.demo_week import write_config
from aeflow.demo_world import World, ics_time, local
from calendar_sync.port import EventNotFound
from calendar_sync.vdir import VdirCalendar
from calendar_sync.vdir_write import find_event, record_invitation
from rules.model import Attendee, Person, Role
from tests.system.test_invitations import MONDAY, NOTES, THURSDAY, open_app, tick
from tests.unit.planner_fixtures import SHANGHAI

LONG_UID = (
    "040000008200E00074C5B7101A82E00800000000D0A1B2C3D4E5F601000000000000000010000000"
    "5F3C2A1B0E9D8C7B6A5F4E3D2C1B0A99"
)
ESCAPED_UID = "meeting,42;room@x.example"


def fold(line: str) -> str:
    """RFC 5545 folding at 75 octets: a line break and one space before each continuation."""
    pieces = [line[:75]] + [line[i : i + 74] for i in range(75, len(line), 74)]
    return "\n ".join(pieces)


def book(folder: Path, uid: str, written: str) -> Path:
    world = World(folder)
    world.calendar.mkdir(exist_ok=True)
    world.write_event(
        "pitch.ics",
        uid=uid,
        start=ics_time(THURSDAY, "14:00"),
        end=ics_time(THURSDAY, "15:30"),
        summary="Acme creative pitch",
        location="Agency studio",
        description=NOTES,
        category="Client: Acme",
        organizer=False,
    )
    path = world.calendar / "pitch.ics"
    text = path.read_text(encoding="utf-8")
    assert f"UID:{uid}\n" in text
    path.write_text(text.replace(f"UID:{uid}\n", written + "\n"), encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(
    ("uid", "written"),
    [
        (LONG_UID, fold(f"UID:{LONG_UID}")),
        (ESCAPED_UID, "UID:meeting\\,42\\;room@x.example"),
    ],
    ids=["folded", "escaped"],
)
def test_a_request_for_an_awkward_uid_is_noted_in_its_event_and_confirmed_the_day_before(
    tmp_path: Path, uid: str, written: str
) -> None:
    write_config(tmp_path)
    World(tmp_path).calendar.mkdir()
    assert tick(tmp_path, local(MONDAY, "08:00")) == []
    path = book(tmp_path, uid, written)
    (key,) = tick(tmp_path, local(MONDAY, "09:00"))
    assert key.startswith("invite:") and ":0:" in key
    text = path.read_text(encoding="utf-8")
    assert "ATTENDEE" in text and "ORGANIZER" in text
    app, _ = open_app(tmp_path, local(MONDAY, "09:30"))
    try:
        record = app.store.outbox_get(key)
        assert record is not None and record.get("calendar_noted") is True
    finally:
        app.close()
    wednesday = local(THURSDAY, "10:00").replace(day=THURSDAY.day - 1)
    keys = tick(tmp_path, wednesday)
    assert [k for k in keys if k.startswith("confirm:")], keys


def test_find_event_matches_the_parsed_uid_not_the_bytes_of_the_file(tmp_path: Path) -> None:
    book(tmp_path, LONG_UID, fold(f"UID:{LONG_UID}"))
    assert LONG_UID.encode() not in (tmp_path / "calendar" / "pitch.ics").read_bytes()
    found = find_event(tmp_path / "calendar", LONG_UID)
    assert found is not None and found[0].name == "pitch.ics"
    assert find_event(tmp_path / "calendar", LONG_UID[:-1]) is None


def test_a_write_back_to_an_event_that_is_not_there_is_an_error_not_a_silent_no(
    tmp_path: Path,
) -> None:
    (tmp_path / "calendar").mkdir()
    ae = Person("xiaoming.wang@agency.example", "王小明")
    jane = Attendee(Person("jane@acme.example", "Jane"), Role.REQUIRED, rsvp=True)
    with pytest.raises(EventNotFound):
        record_invitation(tmp_path / "calendar", "nowhere@x", ae, [jane], 0)


def test_a_write_killed_half_way_leaves_no_temporary_file_for_long(tmp_path: Path) -> None:
    folder = tmp_path / "calendar"
    folder.mkdir()
    stale = folder / ".aeflow-x1y2z3.tmp"
    fresh = folder / ".aeflow-a1b2c3.tmp"
    other = folder / ".vdirsyncer-own.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"BEGIN:VCALENDAR")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    VdirCalendar(folder, SHANGHAI).sync(
        None, datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    )
    assert not stale.exists()
    assert fresh.exists()  # a write under way, perhaps
    assert other.exists()  # not aeflow's
