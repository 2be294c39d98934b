"""iCalendar input: a file's events, and their occurrences as ``rules.model.Meeting``.

``parse_calendar`` reads the file once: text repairs (``ics_text``), then every time given a real
zone (``ics_zones``: Windows and odd TZIDs, X-WR-TIMEZONE, floating times in the user's zone).
``expand`` and ``upcoming`` turn the events into occurrences with ``recurring-ical-events``
(RRULE, RDATE, EXDATE, RECURRENCE-ID overrides); cancelled occurrences are left out.

An all-day event becomes a meeting from midnight to midnight in the user's zone (``default_zone``),
with ``all_day=True``. A file that cannot be read at all raises ``UnreadableInput``; a file that is
partly broken gives what can be read, and ``problems`` says what was not.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.prop import vDDDTypes

from calendar_sync import ics_fields, rrule_bounds
from calendar_sync.ics_text import component_problems, decode, read_calendar, unfold
from calendar_sync.ics_zones import FileZone, first_date, localise, span_of
from calendar_sync.occurrences import overlaps
from rules.errors import Problem, UnreadableInput
from rules.limits import capped_meeting, cut_note
from rules.model import Meeting, require_aware
from rules.occurrence_ids import occurrence_id

log = logging.getLogger(__name__)

UTC = ZoneInfo("UTC")
# How many occurrences of one series ``upcoming`` looks at; a series whose every occurrence is
# cancelled would otherwise be searched for ever.
_UPCOMING_SCAN = 1000
# Occurrences one file may give in one window (a file of thousands of series).
MAX_FILE_OCCURRENCES = 20_000
ITIP_METHODS = frozenset(
    {"PUBLISH", "REQUEST", "REPLY", "ADD", "CANCEL", "REFRESH", "COUNTER", "DECLINECOUNTER"}
)


@dataclass(frozen=True)
class ParsedEvent:
    """One VEVENT of the file: a single event, a series' master, or one overridden occurrence.

    ``meeting`` is the component as written (its own DTSTART, not expanded); ``recurrence_id`` is
    its RECURRENCE-ID as an ISO UTC instant ("" unless it overrides one occurrence).
    """

    uid: str
    method: str
    meeting: Meeting
    recurring: bool
    recurrence_id: str = ""
    rule: str = ""
    status: str = ""

    @property
    def cancelled(self) -> bool:
        return self.meeting.cancelled


@dataclass(frozen=True)
class ParsedCalendar:
    """A parsed file: its METHOD, its events, and what could not be read."""

    source: str
    method: str
    product: str
    default_zone: ZoneInfo
    events: tuple[ParsedEvent, ...]
    problems: tuple[Problem, ...]
    calendar: icalendar.Calendar = field(repr=False, compare=False)
    # Series whose rules the expander rejects: each of their components stands alone.
    unexpandable: frozenset[str] = frozenset()

    @property
    def uids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.uid for e in self.events))


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), zone)


def _utc_id(value: date | datetime, zone: ZoneInfo) -> str:
    """The occurrence id of ``value``: the mailbox names an attendee's answer by the same one."""
    return occurrence_id(value, zone)


def _end_of(component: icalendar.Component, start: date | datetime) -> date | datetime:
    end = first_date(component.get("DTEND"))
    if end is not None and isinstance(end, datetime) == isinstance(start, datetime):
        return end
    span = span_of(component.get("DURATION"))
    if span is not None:
        return start + span
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def _label(start: datetime, default_zone: ZoneInfo) -> ZoneInfo:
    tz = start.tzinfo
    if isinstance(tz, ZoneInfo):
        return tz
    if isinstance(tz, FileZone):
        return tz.label
    return default_zone


def _meeting(
    component: icalendar.Component,
    start: date | datetime,
    end: date | datetime,
    occurrence_id: str,
    method: str,
    default_zone: ZoneInfo,
) -> Meeting:
    all_day = not isinstance(start, datetime)
    zone = default_zone if all_day else _label(_instant(start, default_zone), default_zone)
    begins = _instant(start, default_zone).astimezone(zone)
    ends = _instant(end, default_zone).astimezone(zone)
    status = str(component.get("STATUS", "")).strip().upper()
    organizer = component.get("ORGANIZER")
    if isinstance(organizer, list):  # several ORGANIZER lines: RFC 5545 allows one
        organizer = organizer[0] if organizer else None
    return Meeting(
        uid=str(component.get("UID", "")).strip(),
        subject=ics_fields.text(component, "SUMMARY"),
        start=begins,
        end=max(ends, begins),
        occurrence_id=occurrence_id,
        all_day=all_day,
        location=ics_fields.text(component, "LOCATION"),
        organizer=ics_fields.person(organizer) if organizer is not None else None,
        attendees=ics_fields.attendees(component),
        categories=ics_fields.categories(component),
        body=ics_fields.text(component, "DESCRIPTION"),
        cancelled=status == "CANCELLED" or method == "CANCEL",
        sequence=ics_fields.sequence(component),
        timezone=zone.key,
    )


def _is_recurring(component: icalendar.Component) -> bool:
    return any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID"))


def _prepare(calendar: icalendar.Calendar, source: str) -> list[Problem]:
    """Give every event a UID and a usable start and end, or drop it; say what was done."""
    problems: list[Problem] = []
    for index, event in enumerate(list(calendar.walk("VEVENT"))):
        summary = ics_fields.text(event, "SUMMARY")
        name = f"event {summary!r}" if summary else "an event"
        if not str(event.get("UID", "")).strip():
            digest = hashlib.sha256(f"{source}#{index}".encode()).hexdigest()[:16]
            event["UID"] = icalendar.vText(f"no-uid-{digest}")
            problems.append(
                Problem(source, f"{name} has no UID; it is known here as no-uid-{digest}")
            )
        start = first_date(event.get("DTSTART"))
        if start is None:
            _detach(calendar, event)
            problems.append(
                Problem(source, f"{name} has no readable start (DTSTART); it is skipped")
            )
            continue
        end = first_date(event.get("DTEND"))
        if end is not None and (isinstance(end, datetime) != isinstance(start, datetime)):
            del event["DTEND"]
            problems.append(
                Problem(source, f"{name} mixes a date and a date-time; its end is dropped")
            )
        elif end is not None and _instant(end, UTC) < _instant(start, UTC):
            del event["DTEND"]
            problems.append(Problem(source, f"{name} ends before it starts; its end is dropped"))
    for components in _groups(calendar).values():
        _date_recurrence_ids(components)
    return problems


def _detach(calendar: icalendar.Calendar, event: icalendar.Component) -> None:
    """Take ``event`` out of whatever holds it (a VEVENT may be written inside another one)."""
    for holder in calendar.walk():
        if any(sub is event for sub in holder.subcomponents):
            holder.subcomponents = [sub for sub in holder.subcomponents if sub is not event]
            return


def _date_recurrence_ids(components: list[icalendar.Component]) -> None:
    """Exchange names an all-day occurrence by its midnight; the series counts in dates."""
    masters = [c for c in components if "RECURRENCE-ID" not in c]
    if not masters or isinstance(first_date(masters[0].get("DTSTART")), datetime):
        return
    for component in components:
        original = first_date(component.get("RECURRENCE-ID"))
        if isinstance(original, datetime):
            component["RECURRENCE-ID"] = vDDDTypes(original.date())


def _groups(calendar: icalendar.Calendar) -> dict[str, list[icalendar.Component]]:
    groups: dict[str, list[icalendar.Component]] = {}
    for event in calendar.walk("VEVENT"):
        groups.setdefault(str(event.get("UID", "")).strip(), []).append(event)
    return groups


def _query(components: Iterable[icalendar.Component]) -> Any:
    holder = icalendar.Calendar()
    for component in components:
        holder.add_component(component)
    return recurring_ical_events.of(holder, components=["VEVENT"])


def _unexpandable(calendar: icalendar.Calendar, source: str) -> tuple[set[str], list[Problem]]:
    """Series whose recurrence cannot be expanded (a rule the expander rejects, or one past the
    bounds of ``rrule_bounds``); tried once at parse time, over a few days from the start."""
    broken: set[str] = set()
    problems: list[Problem] = []
    for uid, components in _groups(calendar).items():
        if not any(_is_recurring(c) for c in components):
            continue
        starts = [first_date(c.get("DTSTART")) for c in components]
        earliest = min(_instant(s, UTC) for s in starts if s is not None)
        try:
            bounded = rrule_bounds.bound(components, earliest, earliest + timedelta(days=2), uid)
            if bounded.components is None:
                broken.add(uid)
                problems.append(Problem(source, bounded.note))
                continue
            next(iter(_query(bounded.components).after(earliest)), None)
        except Exception as error:  # the expander raises its own and dateutil's errors
            broken.add(uid)
            problems.append(
                Problem(
                    source,
                    f"the recurrence of {uid!r} cannot be expanded ({error}); "
                    "only the occurrences written out in the file are shown",
                )
            )
    return broken, problems


def parse_calendar(data: bytes, source: str, default_zone: ZoneInfo = UTC) -> ParsedCalendar:
    """Read an iCalendar file. Raises ``UnreadableInput`` when nothing in it can be read."""
    text, problems = decode(data, source)
    try:
        return _parse(text, problems, source, default_zone)
    except UnreadableInput:
        raise
    except OverflowError as error:
        # Year 1 or 9999 with a time zone or a day added: no meeting lives there.
        raise UnreadableInput(
            source, f"a date in it is out of the range aeflow computes with ({error})"
        ) from None
    except Exception as error:
        # icalendar, dateutil and the expander were not written for every file in the wild;
        # whatever they raise on one file must not stop the others.
        log.exception("%s: unexpected failure while reading the calendar", source)
        raise UnreadableInput(source, f"the calendar could not be read ({error})") from error


def _parse(
    text: str, problems: list[Problem], source: str, default_zone: ZoneInfo
) -> ParsedCalendar:
    calendar, more = read_calendar(unfold(text), source)
    problems += more + component_problems(calendar, source)
    raw_method = str(calendar.get("METHOD", "")).strip().upper()
    method = raw_method if raw_method in ITIP_METHODS else ""
    if raw_method and not method:
        problems.append(Problem(source, f"unknown METHOD {raw_method!r} is ignored"))
    calendar, more = localise(calendar, source, default_zone)
    problems += more + _prepare(calendar, source)
    broken, more = _unexpandable(calendar, source)
    problems += more
    recurring_uids = {
        uid for uid, comps in _groups(calendar).items() if any(_is_recurring(c) for c in comps)
    }
    events: list[ParsedEvent] = []
    for component in calendar.walk("VEVENT"):
        uid = str(component["UID"]).strip()
        start = first_date(component.get("DTSTART"))
        if start is None:  # _prepare removed those; kept for the type checker
            continue
        recurrence = first_date(component.get("RECURRENCE-ID"))
        recurrence_id = _utc_id(recurrence, default_zone) if recurrence is not None else ""
        own_id = recurrence_id or (_utc_id(start, default_zone) if uid in recurring_uids else "")
        rule = component.get("RRULE")
        # Cut to aeflow's limits, said once here: a 20 MB SUMMARY must not travel into the
        # state file and every mail (the occurrences are cut the same way, silently).
        meeting, cuts = capped_meeting(
            _meeting(component, start, _end_of(component, start), own_id, method, default_zone)
        )
        if cuts and not any(e.uid == uid for e in events):
            problems.append(Problem(source, cut_note(uid, cuts)))
        events.append(
            ParsedEvent(
                uid=uid,
                method=method,
                meeting=meeting,
                recurring=uid in recurring_uids,
                recurrence_id=recurrence_id,
                rule=rule.to_ical().decode() if hasattr(rule, "to_ical") else "",
                status=str(component.get("STATUS", "")).strip().upper(),
            )
        )
    return ParsedCalendar(
        source=source,
        method=method,
        product=str(calendar.get("PRODID", "")).strip(),
        default_zone=default_zone,
        events=tuple(events),
        problems=tuple(problems),
        calendar=calendar,
        unexpandable=frozenset(broken),
    )


def _expanded(
    parsed: ParsedCalendar,
    uid: str,
    components: list[icalendar.Component],
    after: datetime,
    before: datetime | None,
    notes: list[str],
) -> Iterator[icalendar.Component]:
    """The series' occurrences from ``after`` (to ``before``, else a bounded number of them),
    on a copy of the series bounded by ``rrule_bounds`` (what it cut is added to ``notes``)."""
    limit = rrule_bounds.MAX_OCCURRENCES if before is not None else _UPCOMING_SCAN
    given = 0
    try:
        # The bounds need an end; ``upcoming`` looks a bounded number of occurrences ahead.
        horizon = before if before is not None else after + timedelta(days=400)
        bounded = rrule_bounds.bound(components, after, horizon, uid)
        if bounded.note:
            notes.append(bounded.note)
        if bounded.components is None:
            yield from components
            return
        query = _query(bounded.components)
        stream = query.between(after, before) if before is not None else query.after(after)
        for occurrence in itertools.islice(stream, limit):
            given += 1
            yield occurrence
    except Exception as error:  # the parse-time probe did not try every rule at every date
        log.warning(
            "%s: cannot expand %r (%r); using its written events", parsed.source, uid, str(error)
        )
        if not given:
            yield from components


def _occurrences(
    parsed: ParsedCalendar,
    uid: str,
    components: list[icalendar.Component],
    after: datetime,
    before: datetime | None,
    notes: list[str],
) -> Iterator[Meeting]:
    zone = parsed.default_zone
    recurring = any(_is_recurring(c) for c in components)
    found: Iterable[icalendar.Component] = components
    if recurring and uid not in parsed.unexpandable:
        found = _expanded(parsed, uid, components, after, before, notes)
    for occurrence in found:
        start = first_date(occurrence.get("DTSTART"))
        if start is None:
            continue
        original = first_date(occurrence.get("RECURRENCE-ID")) or start
        meeting = _meeting(
            occurrence,
            start,
            _end_of(occurrence, start),
            _utc_id(original, zone) if recurring else "",
            parsed.method,
            zone,
        )
        yield capped_meeting(meeting)[0]


def expand(
    parsed: ParsedCalendar,
    start: datetime,
    end: datetime,
    problems: list[Problem] | None = None,
) -> list[Meeting]:
    """The occurrences that overlap ``[start, end)``, cancelled ones left out, by start time.

    Bounded for any file: see ``rrule_bounds``; what was cut is added to ``problems`` (when
    given, else logged). A file gives at most ``MAX_FILE_OCCURRENCES`` occurrences."""
    require_aware("start", start)
    require_aware("end", end)
    # A day of slack each side: all-day events are compared by date inside the expander.
    after, before = start - timedelta(days=1), end + timedelta(days=1)
    found: dict[str, Meeting] = {}
    notes: list[str] = []
    for uid, components in _groups(parsed.calendar).items():
        if len(found) >= MAX_FILE_OCCURRENCES:
            notes.append(
                f"the file gives more than {MAX_FILE_OCCURRENCES:,} occurrences in the window; "
                f"the events from {uid!r} on are left out"
            )
            break
        for meeting in _occurrences(parsed, uid, components, after, before, notes):
            if not meeting.cancelled and overlaps(meeting, start, end):
                found.setdefault(meeting.key, meeting)
    for note in dict.fromkeys(notes):
        if problems is not None:
            problems.append(Problem(parsed.source, note))
        else:  # repr: the note quotes a UID from the file, which must not forge log lines
            log.warning("%s: %r", parsed.source, note)
    return sorted(found.values(), key=lambda m: (m.start, m.key))


def upcoming(parsed: ParsedCalendar, after: datetime, limit: int = 5) -> list[Meeting]:
    """The next ``limit`` occurrences starting at or after ``after`` (for ``aeflow inspect``)."""
    require_aware("after", after)
    found: dict[str, Meeting] = {}
    for uid, components in _groups(parsed.calendar).items():
        stream = _occurrences(parsed, uid, components, after - timedelta(days=1), None, [])
        wanted = (m for m in stream if not m.cancelled and m.start >= after)
        for meeting in itertools.islice(wanted, limit):
            found.setdefault(meeting.key, meeting)
    return sorted(found.values(), key=lambda m: (m.start, m.key))[:limit]
