"""A published calendar (iTIP METHOD:PUBLISH, RFC 5546 section 3.2.1) of plain event values.

The weekly schedule attaches one, so that a client can put next week's meetings in their own
calendar. PUBLISH, not REQUEST: it informs and asks nothing back, so no mail client offers to
accept or decline, and no attendee is listed (the file names nobody). Each occurrence of a series
is its own VEVENT under the series' UID with its RECURRENCE-ID, as RFC 5545 section 3.8.4.4
prescribes, so a calendar that already holds the series updates the occurrence instead of
doubling it. Times are written in UTC, all-day events as dates.

The events are the plain values ``rules.weekly`` puts in an action: ``uid``, ``occurrence_id``
(an ISO UTC instant, or "" for a single event), ``subject``, ``location``, ``start`` and ``end``
(ISO instants), ``sequence``; for all-day events ``all_day``, ``start_date``, ``end_date`` (the
day after the last) and ``recurrence_date``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

import icalendar

# RFC 5545 3.3.11: TEXT holds no control character but HTAB; line breaks are escaped by the
# library, the rest cannot be written at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def publish_calendar(
    events: Iterable[Mapping[str, object]],
    *,
    prodid: str,
    organizer_email: str,
    name: str,
    stamp: datetime | None = None,
) -> bytes:
    """A VCALENDAR with METHOD:PUBLISH and one VEVENT per event, CRLF line endings, lines folded
    at 75 octets. ``name`` names the calendar (NAME, X-WR-CALNAME); ``stamp`` is the DTSTAMP of
    every event (now when not given). A malformed event is a ``ValueError`` saying which."""
    if "@" not in organizer_email or any(c in organizer_email for c in "\r\n\0 "):
        raise ValueError(f"not an organizer address: {organizer_email!r}")
    when = stamp if stamp is not None else datetime.now(UTC)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"the stamp must be an aware datetime, got {when.isoformat()}")
    calendar = new_calendar("PUBLISH", prodid)
    if name:
        calendar.add("name", _clean(name))
        calendar.add("x-wr-calname", _clean(name))
    for index, event in enumerate(events):
        try:
            calendar.add_component(vevent(event, organizer_email, when.astimezone(UTC)))
        except (KeyError, TypeError, ValueError) as error:
            uid = event.get("uid", "") if isinstance(event, Mapping) else ""
            raise ValueError(f"event {index} ({uid!r}) cannot be published: {error}") from error
    data: bytes = calendar.to_ical()
    return data


def new_calendar(method: str, prodid: str) -> icalendar.Calendar:
    """An empty VCALENDAR of iTIP ``method``, as every calendar aeflow writes begins."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", _clean(prodid))
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def vevent(event: Mapping[str, object], organizer: str, stamp: datetime) -> icalendar.Event:
    """One VEVENT of the plain values described above (a ``ValueError``/``TypeError`` saying
    what is wrong with them); meeting requests add their attendees to it."""
    uid = _clean(_text(event, "uid")).strip()
    if not uid:
        raise ValueError("it has no uid")
    all_day = bool(event.get("all_day", False))
    start: date | datetime
    end: date | datetime
    if all_day:
        start, end = _date(event, "start_date"), _date(event, "end_date")
    else:
        start, end = _instant(event, "start"), _instant(event, "end")
    if end < start:  # both dates or both datetimes
        raise ValueError("it ends before it starts")
    vevent = icalendar.Event()
    vevent.add("uid", uid)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    occurrence = _text(event, "occurrence_id").strip()
    if occurrence:
        original = _original(event, occurrence, all_day)
        if original is None:
            # Not an instant: the occurrence still goes, as an event of its own.
            digest = hashlib.sha256(occurrence.encode()).hexdigest()[:12]
            vevent["uid"] = icalendar.vText(f"{uid}-{digest}")
        else:
            vevent.add("recurrence-id", original)
    vevent.add("summary", _clean(_text(event, "subject")))
    location = _clean(_text(event, "location"))
    if location:
        vevent.add("location", location)
    sequence = event.get("sequence", 0)
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ValueError(f"its sequence {sequence!r} is not a number 0 or more")
    vevent.add("sequence", sequence)
    vevent.add("organizer", f"mailto:{organizer}")
    return vevent


def _original(
    event: Mapping[str, object], occurrence: str, all_day: bool
) -> date | datetime | None:
    """The RECURRENCE-ID: of the same value type as DTSTART (RFC 5545 3.8.4.4)."""
    if all_day:
        day = _text(event, "recurrence_date").strip()
        return date.fromisoformat(day) if day else None
    try:
        instant = datetime.fromisoformat(occurrence)
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    return instant.astimezone(UTC)


def _text(event: Mapping[str, object], field: str) -> str:
    value = event.get(field, "")
    if not isinstance(value, str):
        raise TypeError(f"its {field} is not text: {value!r}")
    return value


def _instant(event: Mapping[str, object], field: str) -> datetime:
    value = datetime.fromisoformat(_text(event, field))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"its {field} {value.isoformat()} has no UTC offset")
    return value.astimezone(UTC)


def _date(event: Mapping[str, object], field: str) -> date:
    return date.fromisoformat(_text(event, field))


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)
