"""Exchange calendar items (as exchangelib reads them) in the domain model's terms.

``meeting_from_item`` gives the same ``Meeting`` the vdir adapter gives for the same event: its
UID, the occurrence's original start as ``occurrence_id`` (an ISO UTC instant, "" for a single
event), times in the event's own zone, all-day events from midnight to midnight in the user's
zone, attendees with the role their list gives them and their response (ResponseType) and when
they gave it (LastResponseTime), categories.

Exchange names zones the Windows way ("China Standard Time"). exchangelib resolves the names it
knows; ``teach_windows_zones`` adds those of CLDR's table (``windows_zones``) it lacks, and
``zone_of`` reads the result through the same table, so a zone means the same here as in a file.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from calendar_sync.windows_zones import iana_zone
from rules.limits import capped_meeting, cut_note
from rules.model import Attendee, Meeting, Person, Response, Role
from rules.text import clean_text

log = logging.getLogger(__name__)

# CalendarItemType values.
SINGLE = "Single"
OCCURRENCE = "Occurrence"
EXCEPTION = "Exception"
MASTER = "RecurringMaster"
RECURRING_TYPES = frozenset({OCCURRENCE, EXCEPTION})

# What a meeting needs, and no more (GetItem). A server without ``text_body`` (Exchange 2010) is
# asked for ``body`` instead.
MEETING_FIELDS = (
    "uid",
    "type",
    "subject",
    "start",
    "end",
    "_start_timezone",
    "_end_timezone",
    "is_all_day",
    "location",
    "organizer",
    "required_attendees",
    "optional_attendees",
    "resources",
    "categories",
    "is_cancelled",
    "is_response_requested",
    "appointment_sequence_number",
    "original_start",
    "recurrence_id",
    "text_body",
)

_RESPONSES = {
    "Accept": Response.ACCEPTED,
    "Tentative": Response.TENTATIVE,
    "Decline": Response.DECLINED,
    "Organizer": Response.ACCEPTED,
    "NoResponseReceived": Response.NEEDS_ACTION,
    "Unknown": Response.NEEDS_ACTION,
}


def response_of(response_type: str | None) -> Response:
    """An EWS ResponseType as an iCalendar PARTSTAT would say it."""
    return _RESPONSES.get(response_type or "", Response.NEEDS_ACTION)


def plain(value: object) -> str:
    return str(value).strip() if value is not None else ""


def text_of(value: object) -> str:
    """Text from the server, without the control characters Exchange lets into items.

    Line breaks become LF and tabs stay; the rest of C0 (a NUL, a form feed), C1 and the bidi
    controls go (``rules.text``): they cannot be shown, or reorder what a reader sees.
    """
    return clean_text(plain(value), multiline=True)


def has_text_body(account: Any) -> bool:
    """Whether the server gives TextBody (Exchange 2013 on); else the body is asked for."""
    from exchangelib import CalendarItem

    field_ = CalendarItem.get_field_by_fieldname("text_body")
    return bool(field_.supports_version(account.version))


def body_of(item: Any) -> str:
    """The event's notes as text: the AE's own notes kept when aeflow made the body a meeting
    notice; else TextBody (Exchange 2013 on), else a Body given as text."""
    kept = getattr(item, "aeflow_notes", None)
    if kept:
        return text_of(kept)
    text = getattr(item, "text_body", None)
    if text is None:
        body = getattr(item, "body", None)
        # An HTML body is not notes a person can read in a mail; Exchange 2010 gives HTML
        # unless the item was written as text.
        if body is not None and type(body).__name__ != "HTMLBody":
            text = body
    return text_of(text)


def item_label(item_id: str) -> str:
    """An item id short enough for a message: EWS ids run to 150 characters of base64."""
    return item_id if len(item_id) <= 24 else f"…{item_id[-16:]}"


def is_stale_sync_state(error: BaseException) -> bool:
    return type(error).__name__ == "ErrorInvalidSyncStateData"


@cache
def _cldr_rows() -> tuple[tuple[str, str], ...]:
    text = resources.files("calendar_sync").joinpath("data/windows_zones.json").read_text("utf-8")
    return tuple((row["windows"], row["iana"]) for row in json.loads(text)["zones"])


def teach_windows_zones() -> int:
    """Give exchangelib CLDR's Windows names it does not know; how many were added."""
    from exchangelib import EWSTimeZone

    known = EWSTimeZone.MS_TO_IANA_MAP
    added = 0
    for windows, iana in _cldr_rows():
        if windows not in known:
            known[windows] = iana
            added += 1
    return added


def zone_of(tz: object, fallback: ZoneInfo) -> ZoneInfo:
    """The IANA zone of an exchangelib time zone (its Windows id first), else ``fallback``."""
    if tz is None:
        return fallback
    for name in (getattr(tz, "ms_id", ""), getattr(tz, "key", "")):
        if name:
            found = iana_zone(str(name))
            if found is not None:
                return found
    return fallback


def instant(value: object, zone: tzinfo) -> datetime:
    """An exchangelib date or datetime as a plain aware datetime in ``zone``."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the server gave a time without a zone: {value!r}")
        return datetime.fromtimestamp(value.timestamp(), UTC).astimezone(zone)
    if isinstance(value, date):
        return datetime.combine(date(value.year, value.month, value.day), time(), zone)
    raise ValueError(f"expected a date or a time, got {value!r}")


def _person(mailbox: Any) -> Person | None:
    if mailbox is None:
        return None
    address = plain(getattr(mailbox, "email_address", None))
    if "@" not in address:
        # An Exchange-internal (X.500) address the server did not resolve to SMTP.
        return None
    name = clean_text(plain(getattr(mailbox, "name", None)), multiline=False)
    return Person(email=address, name=name)


def attendees_of(item: Any) -> tuple[Attendee, ...]:
    """Required, optional and resource attendees, each once, with their responses."""
    asks = bool(getattr(item, "is_response_requested", False))
    found: dict[str, Attendee] = {}
    lists = (
        (getattr(item, "required_attendees", None), Role.REQUIRED),
        (getattr(item, "optional_attendees", None), Role.OPTIONAL),
        (getattr(item, "resources", None), Role.NON_PARTICIPANT),
    )
    for entries, role in lists:
        for entry in entries or ():
            person = _person(getattr(entry, "mailbox", None))
            if person is None or person.email in found:
                continue
            response_type = getattr(entry, "response_type", None)
            answered = getattr(entry, "last_response_time", None)
            found[person.email] = Attendee(
                person=person,
                role=Role.CHAIR if response_type == "Organizer" else role,
                response=response_of(response_type),
                rsvp=asks and response_type != "Organizer",
                responded_at=instant(answered, UTC) if isinstance(answered, datetime) else None,
            )
    return tuple(found.values())


def _categories(item: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in getattr(item, "categories", None) or ():
        text = plain(name)
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def occurrence_id_of(item: Any) -> str:
    """The occurrence's original start as an ISO UTC instant; "" for a single event."""
    if getattr(item, "type", SINGLE) not in RECURRING_TYPES:
        return ""
    for name in ("original_start", "recurrence_id", "start"):
        value = getattr(item, name, None)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return instant(value, UTC).isoformat()
    return ""


def _day_span(first: object, last: object, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """An all-day event from midnight to midnight in ``zone``.

    exchangelib gives an all-day event's days as dates, the end being its last day; a server that
    answered with times is read at its word.
    """
    start = instant(first, zone)
    if isinstance(last, date) and not isinstance(last, datetime):
        following = date(last.year, last.month, last.day) + timedelta(days=1)
        return start, datetime.combine(following, time(), zone)
    return start, instant(last, zone) if last is not None else start + timedelta(days=1)


def meeting_from_item(item: Any, default_zone: ZoneInfo, uid: str = "") -> Meeting:
    """The ``Meeting`` an exchangelib calendar item (a single event or an occurrence) stands for.

    ``uid`` overrides the item's own (a view's occurrence read without it).
    """
    all_day = bool(getattr(item, "is_all_day", False))
    if all_day:
        zone = default_zone
        start, end = _day_span(item.start, item.end, default_zone)
    else:
        zone = zone_of(getattr(item, "_start_timezone", None), default_zone)
        start = instant(item.start, zone)
        end = instant(item.end, zone) if item.end is not None else start
    sequence = getattr(item, "appointment_sequence_number", None)
    meeting = Meeting(
        uid=uid or plain(getattr(item, "uid", None)),
        subject=clean_text(plain(getattr(item, "subject", None)), multiline=False),
        start=start,
        end=max(end, start),
        occurrence_id=occurrence_id_of(item),
        all_day=all_day,
        location=clean_text(plain(getattr(item, "location", None)), multiline=False),
        organizer=_person(getattr(item, "organizer", None)),
        attendees=attendees_of(item),
        categories=_categories(item),
        body=body_of(item),
        cancelled=bool(getattr(item, "is_cancelled", False)),
        sequence=int(sequence) if isinstance(sequence, int) else 0,
        timezone=zone.key,
    )
    capped, cuts = capped_meeting(meeting)
    if cuts:
        # repr: the note quotes the server's UID, which must not forge log lines
        log.warning("%r", cut_note(meeting.uid, cuts))
    return capped
