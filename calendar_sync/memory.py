"""``MemoryCalendar``: the calendar port in memory, for unit tests and the demo.

It holds occurrences (``Meeting`` objects) rather than series: a test puts each occurrence it
wants, removes keys, and can make one event's source unreadable to see how the engine copes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from calendar_sync.occurrences import digest, overlaps
from calendar_sync.port import CalendarChanges, EventNotFound
from rules.errors import Problem
from rules.model import Attendee, Meeting, Person, require_aware

_VERSION = 1


def _read_state(state: str | None) -> tuple[dict[str, tuple[str, str]], list[Problem]]:
    """``{key: (uid, digest)}`` from a state string this class wrote."""
    if state is None:
        return {}, []
    try:
        loaded = json.loads(state)
        if loaded.get("version") != _VERSION:
            raise ValueError(f"version {loaded.get('version')!r}")
        return {key: (uid, dig) for key, (uid, dig) in loaded["keys"].items()}, []
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        message = f"the saved sync state is unreadable ({error}); everything is reported as new"
        return {}, [Problem("memory calendar", message)]


class MemoryCalendar:
    """A ``CalendarBackend`` over occurrences kept in a dictionary by ``Meeting.key``.

    ``sync`` reports, for the window, occurrences that are new or whose content changed, and the
    keys of those that went away (removed, cancelled, or out of the window). An event marked
    unreadable is reported in ``problems`` at every sync until it is put again; its occurrences
    known to the state are kept as they were.
    """

    def __init__(self, meetings: Iterable[Meeting] = ()) -> None:
        self._meetings: dict[str, Meeting] = {}
        self._unreadable: dict[str, str] = {}
        for meeting in meetings:
            self.put(meeting)

    def put(self, meeting: Meeting) -> None:
        """Add or replace the occurrence ``meeting.key``; a cancelled one counts as absent."""
        self._meetings[meeting.key] = meeting
        self._unreadable.pop(meeting.uid, None)

    def remove(self, key: str) -> None:
        """Forget the occurrence ``key``; removing an unknown key does nothing."""
        self._meetings.pop(key, None)

    def mark_unreadable(self, uid: str, reason: str = "the event cannot be read") -> None:
        """Make the source of event ``uid`` unreadable until one of its occurrences is put."""
        self._unreadable[uid] = reason

    def meetings(self) -> tuple[Meeting, ...]:
        return tuple(sorted(self._meetings.values(), key=lambda m: (m.start, m.key)))

    def sync(self, state: str | None, start: datetime, end: datetime) -> CalendarChanges:
        require_aware("start", start)
        require_aware("end", end)
        known, problems = _read_state(state)
        now: dict[str, tuple[str, str]] = {}
        current: dict[str, Meeting] = {}
        for key, meeting in self._meetings.items():
            if meeting.uid in self._unreadable:
                continue
            if not meeting.cancelled and overlaps(meeting, start, end):
                current[key] = meeting
                now[key] = (meeting.uid, digest(meeting))
        for uid, reason in sorted(self._unreadable.items()):
            problems.append(Problem(f"memory calendar event {uid!r}", reason))
            now.update({k: v for k, v in known.items() if v[0] == uid})
        upserted = sorted(
            (m for k, m in current.items() if known.get(k) != now[k]),
            key=lambda m: (m.start, m.key),
        )
        removed = sorted(k for k in known if k not in now)
        gone = tuple(k for k in removed if k not in self._meetings or self._meetings[k].cancelled)
        new_state = json.dumps(
            {"version": _VERSION, "keys": {k: list(v) for k, v in sorted(now.items())}},
            ensure_ascii=False,
        )
        return CalendarChanges(tuple(upserted), tuple(removed), tuple(problems), new_state, gone)

    # --- writing (``CalendarWriter``) ---

    def create_event(self, meeting: Meeting) -> str:
        if any(m.uid == meeting.uid for m in self._meetings.values()):
            raise ValueError(f"the calendar already has an event with UID {meeting.uid!r}")
        self.put(meeting)
        return f"memory:{meeting.uid}"

    def record_invitation(
        self, uid: str, organizer: Person, attendees: Sequence[Attendee], sequence: int
    ) -> bool:
        meeting = self._meetings.get(uid)
        if meeting is None:
            raise EventNotFound(f"the calendar has no event with UID {uid!r}")
        present = {a.person.email for a in meeting.attendees}
        added = tuple(a for a in attendees if a.person.email not in present)
        updated = replace(
            meeting,
            organizer=meeting.organizer or organizer,
            attendees=(*meeting.attendees, *added),
            sequence=max(meeting.sequence, sequence),
        )
        if updated == meeting:
            return False
        self._meetings[uid] = updated
        return True
