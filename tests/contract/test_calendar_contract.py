"""The contract every ``CalendarBackend`` keeps (see ``calendar_sync/port.py``).

``CalendarContract`` holds the tests; an adapter's test class subclasses it and provides an
``editor`` fixture: a ``CalendarEditor`` that changes the calendar behind the backend the way a
user would (in a file, on a server). The tests speak only of events and series, so the EWS and
Graph adapters can subclass the same class with an editor that talks to their loopback servers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_sync.memory import MemoryCalendar
from calendar_sync.port import CalendarBackend, CalendarChanges
from calendar_sync.vdir import VdirCalendar
from rules.errors import NaiveDateTimeError
from rules.model import Meeting

UTC = ZoneInfo("UTC")
START = datetime(2026, 3, 2, tzinfo=UTC)
END = datetime(2026, 3, 16, tzinfo=UTC)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class CalendarEditor(Protocol):
    """Changes the calendar behind ``backend`` as its user would."""

    @property
    def backend(self) -> CalendarBackend: ...

    def add_event(self, uid: str, subject: str, start: datetime, end: datetime) -> None: ...

    def add_series(
        self, uid: str, subject: str, first: datetime, length: timedelta, count: int
    ) -> None:
        """A daily series of ``count`` occurrences."""

    def rename(self, uid: str, subject: str) -> None: ...

    def move(self, uid: str, start: datetime, end: datetime) -> None: ...

    def cancel(self, uid: str) -> None:
        """Mark a single event cancelled (STATUS:CANCELLED), without deleting it."""

    def delete(self, uid: str) -> None: ...

    def exclude(self, uid: str, original: datetime) -> None:
        """Remove one occurrence of a series (an EXDATE)."""

    def move_occurrence(self, uid: str, original: datetime, start: datetime) -> None: ...

    def break_source(self, uid: str) -> None:
        """Make the event's source unreadable (a corrupt file, an item the server garbles)."""

    def restore(self, uid: str) -> None:
        """Make it readable again, as it was before it broke."""


def keys(changes: CalendarChanges) -> list[str]:
    return sorted(m.key for m in changes.upserted)


class CalendarContract:
    @pytest.fixture
    def editor(self) -> Iterator[CalendarEditor]:
        raise NotImplementedError("an adapter's test class provides the editor")

    def sync(self, editor: CalendarEditor, state: str | None = None) -> CalendarChanges:
        return editor.backend.sync(state, START, END)

    def test_first_sync_reports_every_meeting_in_the_window_as_new(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        editor.add_event("b", "Review", at(5, 14), at(5, 15))
        changes = self.sync(editor)
        assert keys(changes) == ["a", "b"]
        assert changes.removed == () and changes.problems == ()
        kickoff = next(m for m in changes.upserted if m.key == "a")
        assert (kickoff.subject, kickoff.start, kickoff.end) == ("Kick-off", at(3), at(3, 10))

    def test_a_sync_from_the_returned_state_with_no_change_reports_nothing(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        first = self.sync(editor)
        again = self.sync(editor, first.state)
        assert (again.upserted, again.removed, again.problems) == ((), (), ())

    def test_syncing_twice_from_the_same_state_gives_the_same_changes(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        first = self.sync(editor)
        editor.add_event("b", "Review", at(5), at(5, 10))
        editor.delete("a")
        one, two = self.sync(editor, first.state), self.sync(editor, first.state)
        assert (one.upserted, one.removed) == (two.upserted, two.removed)
        assert keys(one) == ["b"] and one.removed == ("a",)

    def test_a_new_event_is_reported_alone(self, editor: CalendarEditor) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        first = self.sync(editor)
        editor.add_event("b", "Review", at(5), at(5, 10))
        assert keys(self.sync(editor, first.state)) == ["b"]

    def test_a_changed_event_is_reported_under_the_same_key(self, editor: CalendarEditor) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        first = self.sync(editor)
        editor.rename("a", "Kick-off (agenda attached)")
        changes = self.sync(editor, first.state)
        assert [(m.key, m.subject) for m in changes.upserted] == [
            ("a", "Kick-off (agenda attached)")
        ]
        assert changes.removed == ()

    def test_a_moved_meeting_keeps_its_key_and_has_its_new_start(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        first = self.sync(editor)
        editor.move("a", at(4, 15), at(4, 16))
        changes = self.sync(editor, first.state)
        (moved,) = changes.upserted
        assert (moved.key, moved.start, moved.end) == ("a", at(4, 15), at(4, 16))
        assert changes.removed == ()

    def test_a_deleted_event_is_reported_removed(self, editor: CalendarEditor) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        editor.add_event("b", "Review", at(5), at(5, 10))
        first = self.sync(editor)
        editor.delete("a")
        changes = self.sync(editor, first.state)
        assert changes.removed == ("a",) and changes.upserted == ()

    def test_a_series_is_expanded_into_its_occurrences_in_the_window(
        self, editor: CalendarEditor
    ) -> None:
        # Daily from 28 Feb, twenty times: 28 Feb and 1 Mar fall before the window, 16-19 Mar
        # after it.
        editor.add_series(
            "s", "Stand-up", datetime(2026, 2, 28, 1, tzinfo=UTC), timedelta(minutes=15), 20
        )
        changes = self.sync(editor)
        starts = sorted(m.start for m in changes.upserted)
        assert starts == [at(day, 1) for day in range(2, 16)]
        third = next(m for m in changes.upserted if m.start == at(4, 1))
        assert third.uid == "s"
        assert third.occurrence_id == "2026-03-04T01:00:00+00:00"
        assert third.key == "s/2026-03-04T01:00:00+00:00"

    def test_an_excluded_occurrence_is_reported_removed(self, editor: CalendarEditor) -> None:
        editor.add_series("s", "Stand-up", at(2, 1), timedelta(minutes=15), 5)
        first = self.sync(editor)
        editor.exclude("s", at(4, 1))
        changes = self.sync(editor, first.state)
        assert changes.removed == ("s/2026-03-04T01:00:00+00:00",)
        assert changes.upserted == ()
        later = self.sync(editor, changes.state)
        assert later.upserted == () and later.removed == ()

    def test_a_moved_occurrence_keeps_its_key(self, editor: CalendarEditor) -> None:
        editor.add_series("s", "Stand-up", at(2, 1), timedelta(minutes=15), 5)
        first = self.sync(editor)
        editor.move_occurrence("s", at(4, 1), at(4, 3))
        changes = self.sync(editor, first.state)
        (moved,) = changes.upserted
        assert moved.key == "s/2026-03-04T01:00:00+00:00"
        assert (moved.start, moved.end) == (at(4, 3), at(4, 3, 15))
        assert changes.removed == ()

    def test_an_occurrence_moved_out_of_the_window_is_removed(self, editor: CalendarEditor) -> None:
        editor.add_series("s", "Stand-up", at(2, 1), timedelta(minutes=15), 5)
        first = self.sync(editor)
        editor.move_occurrence("s", at(4, 1), at(20, 1))
        changes = self.sync(editor, first.state)
        assert changes.removed == ("s/2026-03-04T01:00:00+00:00",)
        assert changes.upserted == ()

    def test_a_cancelled_event_is_removed_and_never_reported_new(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        first = self.sync(editor)
        editor.cancel("a")
        assert self.sync(editor, first.state).removed == ("a",)
        assert self.sync(editor).upserted == ()

    def test_meetings_outside_the_window_appear_when_the_window_reaches_them(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("late", "Planning", at(20), at(20, 10))
        first = self.sync(editor)
        assert first.upserted == ()
        later = editor.backend.sync(
            first.state, START + timedelta(days=14), END + timedelta(days=14)
        )
        assert keys(later) == ["late"]

    def test_a_naive_window_is_refused(self, editor: CalendarEditor) -> None:
        with pytest.raises(NaiveDateTimeError):
            editor.backend.sync(None, START.replace(tzinfo=None), END)
        with pytest.raises(NaiveDateTimeError):
            editor.backend.sync(None, START, END.replace(tzinfo=None))

    def test_an_unreadable_source_is_a_problem_and_its_meetings_are_kept(
        self, editor: CalendarEditor
    ) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        editor.add_event("b", "Review", at(5), at(5, 10))
        first = self.sync(editor)
        editor.break_source("a")
        editor.add_event("c", "Workshop", at(6), at(6, 12))
        broken = self.sync(editor, first.state)
        assert keys(broken) == ["c"]
        assert broken.removed == ()
        assert len(broken.problems) == 1 and broken.problems[0].message
        editor.restore("a")
        mended = self.sync(editor, broken.state)
        assert (mended.upserted, mended.removed, mended.problems) == ((), (), ())

    def test_occurrences_have_aware_times_and_unique_keys(self, editor: CalendarEditor) -> None:
        editor.add_event("a", "Kick-off", at(3), at(3, 10))
        editor.add_series("s", "Stand-up", at(2, 1), timedelta(minutes=15), 10)
        changes = self.sync(editor)
        assert len({m.key for m in changes.upserted}) == len(changes.upserted) == 11
        assert all(m.start.utcoffset() is not None for m in changes.upserted)


class MemoryEditor:
    """Edits a ``MemoryCalendar`` by putting and removing occurrences."""

    def __init__(self) -> None:
        self.backend = MemoryCalendar()
        self.calendar = self.backend
        self.saved: dict[str, list[Meeting]] = {}

    def _of(self, uid: str) -> list[Meeting]:
        return [m for m in self.calendar.meetings() if m.uid == uid]

    def add_event(self, uid: str, subject: str, start: datetime, end: datetime) -> None:
        self.calendar.put(Meeting(uid=uid, subject=subject, start=start, end=end))

    def add_series(
        self, uid: str, subject: str, first: datetime, length: timedelta, count: int
    ) -> None:
        for n in range(count):
            start = first + timedelta(days=n)
            occurrence = start.astimezone(UTC).isoformat()
            meeting = Meeting(uid, subject, start, start + length, occurrence_id=occurrence)
            self.calendar.put(meeting)

    def _replace(self, uid: str, **changes: Any) -> None:
        for meeting in self._of(uid):
            self.calendar.put(replace(meeting, **changes))

    def rename(self, uid: str, subject: str) -> None:
        self._replace(uid, subject=subject)

    def move(self, uid: str, start: datetime, end: datetime) -> None:
        self._replace(uid, start=start, end=end)

    def cancel(self, uid: str) -> None:
        self._replace(uid, cancelled=True)

    def delete(self, uid: str) -> None:
        for meeting in self._of(uid):
            self.calendar.remove(meeting.key)

    def exclude(self, uid: str, original: datetime) -> None:
        self.calendar.remove(f"{uid}/{original.astimezone(UTC).isoformat()}")

    def move_occurrence(self, uid: str, original: datetime, start: datetime) -> None:
        key = f"{uid}/{original.astimezone(UTC).isoformat()}"
        (meeting,) = [m for m in self._of(uid) if m.key == key]
        self.calendar.put(replace(meeting, start=start, end=start + meeting.duration))

    def break_source(self, uid: str) -> None:
        self.saved[uid] = self._of(uid)
        self.calendar.mark_unreadable(uid, "the event cannot be read")

    def restore(self, uid: str) -> None:
        for meeting in self.saved.pop(uid):
            self.calendar.put(meeting)


class VdirEditor:
    """Edits a vdir: one .ics file per event, written with icalendar as a client would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.backend = VdirCalendar(folder, ZoneInfo("Asia/Shanghai"))
        self.events: dict[str, list[icalendar.Event]] = {}
        self.lengths: dict[str, timedelta] = {}
        self.saved: dict[str, bytes] = {}

    def path(self, uid: str) -> Path:
        return self.folder / f"{uid}.ics"

    def write(self, uid: str) -> None:
        calendar = icalendar.Calendar()
        calendar.add("PRODID", "-//aeflow tests//EN")
        calendar.add("VERSION", "2.0")
        for event in self.events[uid]:
            calendar.add_component(event)
        self.put_bytes(uid, calendar.to_ical())

    def put_bytes(self, uid: str, data: bytes) -> None:
        path = self.path(uid)
        before = path.stat().st_mtime_ns if path.exists() else 0
        path.write_bytes(data)
        # File systems stamp times from a coarse clock: two saves within one tick look alike.
        # A person cannot save twice within a tick, so each save here moves the clock on.
        stamp = max(path.stat().st_mtime_ns, before + 1_000_000)
        os.utime(path, ns=(stamp, stamp))

    def event(self, uid: str, subject: str, start: datetime, end: datetime) -> icalendar.Event:
        event = icalendar.Event()
        event.add("UID", uid)
        event.add("DTSTAMP", datetime(2026, 3, 1, tzinfo=UTC))
        event.add("SUMMARY", subject)
        event.add("DTSTART", start)
        event.add("DTEND", end)
        return event

    def add_event(self, uid: str, subject: str, start: datetime, end: datetime) -> None:
        self.events[uid] = [self.event(uid, subject, start, end)]
        self.write(uid)

    def add_series(
        self, uid: str, subject: str, first: datetime, length: timedelta, count: int
    ) -> None:
        master = self.event(uid, subject, first, first + length)
        master.add("RRULE", {"FREQ": "DAILY", "COUNT": count})
        self.lengths[uid] = length
        self.events[uid] = [master]
        self.write(uid)

    def _set(self, uid: str, name: str, value: object) -> None:
        event = self.events[uid][0]
        event.pop(name, None)
        event.add(name, value)
        self.write(uid)

    def rename(self, uid: str, subject: str) -> None:
        self._set(uid, "SUMMARY", subject)

    def move(self, uid: str, start: datetime, end: datetime) -> None:
        self.events[uid][0].pop("DTEND")
        self._set(uid, "DTSTART", start)
        self._set(uid, "DTEND", end)

    def cancel(self, uid: str) -> None:
        self._set(uid, "STATUS", "CANCELLED")

    def delete(self, uid: str) -> None:
        self.path(uid).unlink()
        del self.events[uid]

    def exclude(self, uid: str, original: datetime) -> None:
        self.events[uid][0].add("EXDATE", original)
        self.write(uid)

    def move_occurrence(self, uid: str, original: datetime, start: datetime) -> None:
        master = self.events[uid][0]
        override = self.event(uid, str(master["SUMMARY"]), start, start + self.lengths[uid])
        override.add("RECURRENCE-ID", original)
        self.events[uid].append(override)
        self.write(uid)

    def break_source(self, uid: str) -> None:
        self.saved[uid] = self.path(uid).read_bytes()
        self.put_bytes(uid, b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n")

    def restore(self, uid: str) -> None:
        self.put_bytes(uid, self.saved.pop(uid))


class TestMemoryCalendarContract(CalendarContract):
    @pytest.fixture
    def editor(self) -> Iterator[CalendarEditor]:
        yield MemoryEditor()


class TestVdirCalendarContract(CalendarContract):
    @pytest.fixture
    def editor(self, tmp_path: Path) -> Iterator[CalendarEditor]:
        yield VdirEditor(tmp_path)
