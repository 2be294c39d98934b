"""The ``CalendarBackend`` port: what the engine asks of any calendar.

Contract (every adapter passes ``tests/contract/test_calendar_contract.py``):

- ``sync(state, start, end)`` returns the occurrences that are new or changed since ``state`` and
  the keys of those that went away, for the window ``[start, end)`` (an occurrence is in the window
  when it overlaps it, so a meeting under way at ``start`` is included). ``state`` is the opaque
  string a previous call returned in ``CalendarChanges.state`` (``None`` the first time: everything
  in the window is new). The caller saves the new state only after it has stored the changes, so a
  crash in between replays the same changes instead of losing them. Syncing twice with the same
  state returns the same changes; syncing with the returned state and nothing changed returns no
  changes.
- Recurring series are expanded into occurrences within the window; an occurrence that moves out of
  the window is reported removed. A cancelled occurrence (STATUS:CANCELLED or an EXDATE) is not an
  occurrence: it is reported removed if it was known, and never reported new.
- A source the adapter cannot read (a malformed file) is reported in ``problems`` with what to do;
  its previously known occurrences are kept (neither re-reported nor removed), and the rest goes on.
- ``start`` and ``end`` must be aware; a naive datetime raises ``NaiveDateTimeError``.
- ``gone`` lists the keys among ``removed`` whose event was cancelled or deleted, as against
  those that only left the window: a meeting the AE invited a client to is cancelled with them
  only when it is really gone.

A backend that can also write the AE's calendar (``CalendarWriter``) lets aeflow create the
meetings ``aeflow invite`` books and note on an event whom it invited, as a calendar program does
for its organizer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from rules.errors import Problem
from rules.model import Attendee, Meeting, Person


@dataclass(frozen=True)
class CalendarChanges:
    upserted: tuple[Meeting, ...]
    removed: tuple[str, ...]
    problems: tuple[Problem, ...]
    state: str
    gone: tuple[str, ...] = ()


class CalendarBackend(Protocol):
    def sync(self, state: str | None, start: datetime, end: datetime) -> CalendarChanges:
        """Occurrences in ``[start, end)`` changed since ``state``; see the module docstring."""
        ...


class EventNotFound(LookupError):
    """The calendar has no event with the UID asked for."""


@runtime_checkable
class CalendarWriter(Protocol):
    def create_event(self, meeting: Meeting) -> str:
        """Add ``meeting`` (a single event) to the calendar; return where it was written.
        An event with the same UID already there is a ``ValueError``."""
        ...

    def record_invitation(
        self, uid: str, organizer: Person, attendees: Sequence[Attendee], sequence: int
    ) -> bool:
        """Note on event ``uid`` its organizer, the attendees invited (each answer already there
        is kept) and the SEQUENCE of the last request sent. Idempotent: ``False`` when the event
        already says so, ``True`` when it was changed. ``EventNotFound`` when the calendar has
        no such event, so that nobody takes a write that did not happen for one."""
        ...


@runtime_checkable
class MeetingOrganizer(Protocol):
    """A calendar server that sends meeting requests itself, from the organizer's own item
    (Exchange): aeflow hands it the request instead of mailing an iTIP message."""

    def send_invitation(self, itip: Mapping[str, object], key: str, notice_html: str) -> bool:
        """Invite ``itip``'s attendees to the meeting ``itip["uid"]`` with the notice as its
        body, marked with ``key``; ``False`` when the item already carries ``key``."""
        ...

    def invitation_sent(self, itip: Mapping[str, object], key: str) -> bool:
        """Whether the meeting's item carries ``key``: the request went (a crash after handing
        it over is settled by this, as a mail is by Sent)."""
        ...
