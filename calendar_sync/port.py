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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rules.errors import Problem
from rules.model import Meeting


@dataclass(frozen=True)
class CalendarChanges:
    upserted: tuple[Meeting, ...]
    removed: tuple[str, ...]
    problems: tuple[Problem, ...]
    state: str


class CalendarBackend(Protocol):
    def sync(self, state: str | None, start: datetime, end: datetime) -> CalendarChanges:
        """Occurrences in ``[start, end)`` changed since ``state``; see the module docstring."""
        ...
