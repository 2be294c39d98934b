"""Writing to a vdir: a new event file, and whom an event invited.

Files are replaced atomically (a dotfile beside them, then a rename), so a calendar program or
vdirsyncer reading the folder never sees half a file, and a crash leaves the old file or the new.
Only the event's own lines that aeflow owns change (ORGANIZER, ATTENDEE, SEQUENCE); the rest of
the file is written back as the iCalendar library reads it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar

from calendar_sync import ics_fields
from calendar_sync.files import ICS_LIMIT, read_regular
from calendar_sync.ics_text import decode, read_calendar, unfold
from calendar_sync.port import EventNotFound
from rules.errors import UnreadableInput
from rules.model import Attendee, Meeting, Person

PRODID = "-//aeflow//aeflow calendar//EN"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


TEMP_PREFIX, TEMP_SUFFIX = ".aeflow-", ".tmp"
# A temporary file older than this was left by a writer that was killed: no write takes so long.
STALE_TEMPORARY = 600.0


def remove_stale_temporaries(folder: Path, now: float) -> int:
    """Delete the temporary files of writes killed half-way (``write_atomically``'s own names,
    older than ``STALE_TEMPORARY`` seconds); how many."""
    removed = 0
    with suppress(OSError):
        for entry in folder.iterdir():
            if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
                continue
            with suppress(OSError):
                if entry.is_file() and now - entry.stat().st_mtime > STALE_TEMPORARY:
                    entry.unlink()
                    removed += 1
    return removed


def write_atomically(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _address(person: Person, params: dict[str, str] | None = None) -> Any:
    return ics_fields.cal_address(person.email, person.name, params)


def _attendee_params(attendee: Attendee) -> dict[str, str]:
    return {
        "ROLE": ics_fields.ICAL_ROLES[attendee.role],
        "PARTSTAT": ics_fields.ICAL_RESPONSES[attendee.response],
        "RSVP": "TRUE" if attendee.rsvp else "FALSE",
    }


def event_file_name(uid: str) -> str:
    return (_UNSAFE.sub("_", uid)[:120] or "event") + ".ics"


def new_event_file(folder: Path, meeting: Meeting, stamp: datetime) -> Path:
    """Write ``meeting`` as a new file; a ``ValueError`` if its UID is already in the folder."""
    if find_event(folder, meeting.uid) is not None:
        raise ValueError(f"the calendar already has an event with UID {meeting.uid!r}")
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", meeting.uid)
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("DTSTART", meeting.start)
    event.add("DTEND", meeting.end)
    event.add("SUMMARY", meeting.subject)
    event.add("SEQUENCE", meeting.sequence)
    if meeting.location:
        event.add("LOCATION", meeting.location)
    if meeting.body:
        event.add("DESCRIPTION", meeting.body)
    if meeting.categories:
        event.add("CATEGORIES", list(meeting.categories))
    if meeting.organizer is not None:
        event.add("ORGANIZER", _address(meeting.organizer))
    for attendee in meeting.attendees:
        event.add("ATTENDEE", _address(attendee.person, _attendee_params(attendee)))
    calendar.add_component(event)
    path = folder / event_file_name(meeting.uid)
    if path.exists():
        raise ValueError(f"{path} is already there")
    write_atomically(path, calendar.to_ical())
    return path


def _escaped(uid: str) -> str:
    """``uid`` as an iCalendar TEXT value is written (RFC 5545 3.3.11)."""
    return uid.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _unfolded(path: Path) -> list[str] | None:
    try:
        text, _ = decode(read_regular(path, ICS_LIMIT, "[backend] max_ics_bytes"), str(path))
    except (OSError, UnreadableInput):
        return None
    return unfold(text)


def _with_master(path: Path, text: list[str], uid: str) -> tuple[Path, icalendar.Calendar] | None:
    try:
        calendar, _ = read_calendar(text, str(path))
    except UnreadableInput:
        return None
    return (path, calendar) if _master(calendar, uid) is not None else None


def find_event(folder: Path, uid: str) -> tuple[Path, icalendar.Calendar] | None:
    """The file holding event ``uid`` (its master or single event), parsed; ``None`` if none.

    Events are matched by their parsed UID, as the calendar reader knows them: a UID folded
    across lines or written with escapes (``meeting\\,42@x``) is found like any other. Only
    the files whose unfolded text holds the UID as written (plain or escaped) are parsed at
    first; when none of them has it, every other file is parsed too, so an event written in an
    unforeseen way is still found.
    """
    forms = (uid, _escaped(uid))
    later: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.lower().endswith(".ics"):
            continue
        if not path.is_file():
            continue
        text = _unfolded(path)
        if text is None:
            continue
        uid_lines = [line for line in text if line[:4].upper() in ("UID:", "UID;")]
        if not any(form in line for line in uid_lines for form in forms):
            later.append(path)  # read again if need be: a folder of files is not held at once
            continue
        found = _with_master(path, text, uid)
        if found is not None:
            return found
    for path in later:
        text = _unfolded(path)
        found = _with_master(path, text, uid) if text is not None else None
        if found is not None:
            return found
    return None


def _master(calendar: icalendar.Calendar, uid: str) -> icalendar.Component | None:
    for event in calendar.walk("VEVENT"):
        if str(event.get("UID", "")).strip() == uid and "RECURRENCE-ID" not in event:
            return event
    return None


def record_invitation(
    folder: Path, uid: str, organizer: Person, attendees: Sequence[Attendee], sequence: int
) -> bool:
    found = find_event(folder, uid)
    if found is None:
        raise EventNotFound(f"the calendar has no event with UID {uid!r}")
    path, calendar = found
    event = _master(calendar, uid)
    assert event is not None
    changed = False
    if ics_fields.person(event.get("ORGANIZER")) is None:
        event["ORGANIZER"] = _address(organizer)
        changed = True
    present = {a.person.email for a in ics_fields.attendees(event)}
    for attendee in attendees:
        if attendee.person.email not in present:
            event.add("ATTENDEE", _address(attendee.person, _attendee_params(attendee)))
            changed = True
    if ics_fields.sequence(event) < sequence:
        event["SEQUENCE"] = sequence
        changed = True
    if changed:
        write_atomically(path, calendar.to_ical())
    return changed
