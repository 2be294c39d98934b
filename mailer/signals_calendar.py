"""iTIP messages (RFC 5546) in mail: meeting requests, cancellations and attendees' responses.

The text/calendar part decides. Outlook's subject prefixes ("Accepted:", "已接受:") are used only
when an ATTENDEE carries no PARTSTAT, which RFC 5545 would otherwise read as NEEDS-ACTION. A
COUNTER (a proposal for another time) is an attendee's answer as much as a REPLY is, so it is a
response too, with the attendee's PARTSTAT; its reason says it was a counter-proposal. Calendar
parts inside an attached message (a returned or forwarded invitation) are not this message's.

``occurrence_id`` is the RECURRENCE-ID as ``rules.occurrence_ids`` names it, as the calendar
names the occurrences it expands: an ISO 8601 instant in UTC, a floating time read in the AE's
zone and a date (an all-day occurrence, ``VALUE=DATE`` even with a TZID) as its midnight there.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, tzinfo
from email.message import Message

import icalendar

from mailer.headers import Envelope, content_type, iter_parts, part_text
from rules import occurrence_ids
from rules.model import Response, Signal, SignalKind

log = logging.getLogger(__name__)

_CALENDAR_TYPES = {"text/calendar", "application/ics", "text/x-vcalendar"}
_RESPONSES = {
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "DELEGATED": Response.DELEGATED,
    "NEEDS-ACTION": Response.NEEDS_ACTION,
}
_SUBJECT_HINTS = (
    (re.compile(r"^\s*(declined|已拒绝|已謝絕|abgelehnt|refusé|rechazado|rifiutato)\s*[:：]", re.I),
     Response.DECLINED),
    (re.compile(r"^\s*(tentative|暂定|暫定|mit\s+vorbehalt\s+angenommen|provisoire|provisional)"
                r"\s*[:：]", re.I), Response.TENTATIVE),
    (re.compile(r"^\s*(accepted|已接受|angenommen|accepté|aceptado|accettato)\s*[:：]", re.I),
     Response.ACCEPTED),
)  # fmt: skip
_KINDS = {
    "REPLY": SignalKind.MEETING_RESPONSE,
    "COUNTER": SignalKind.MEETING_RESPONSE,
    "REQUEST": SignalKind.MEETING_REQUEST,
    "CANCEL": SignalKind.MEETING_CANCEL,
}


def calendar_signals(
    msg: Message, env: Envelope, subject: str, zone: tzinfo = UTC
) -> tuple[Signal, ...]:
    """Signals from the first readable iTIP calendar part of ``msg``; ``()`` when there is none.
    ``zone`` is the AE's: floating and all-day RECURRENCE-IDs are read in it."""
    for part in iter_parts(msg):
        if part.is_multipart() or not _is_calendar(part):
            continue
        calendar = _read(part)
        if calendar is None:
            continue
        method = str(calendar.get("METHOD", "") or part.get_param("method", "") or "")
        kind = _KINDS.get(method.strip().upper())
        if kind is None:
            continue
        signals = _event_signals(calendar, kind, method.strip().upper(), env, subject, zone)
        if signals:
            return signals
    return ()


def _is_calendar(part: Message) -> bool:
    if content_type(part) in _CALENDAR_TYPES:
        return True
    try:
        filename = part.get_filename() or ""
    except Exception:  # a hostile Content-Disposition
        return False
    return filename.lower().endswith(".ics")


def _read(part: Message) -> icalendar.Calendar | None:
    text = part_text(part)
    if "BEGIN:VCALENDAR" not in text.upper():
        return None
    try:
        return icalendar.Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises several kinds on bad input
        log.debug("unreadable calendar part: %s", type(exc).__name__)
        return None


def _event_signals(
    calendar: icalendar.Calendar,
    kind: SignalKind,
    method: str,
    env: Envelope,
    subject: str,
    zone: tzinfo,
) -> tuple[Signal, ...]:
    signals: list[Signal] = []
    seen: set[tuple[str, str, str]] = set()
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "") or "").strip()
        occurrence = occurrence_id(event.get("RECURRENCE-ID"), zone)
        reason = f"METHOD:{method}" + (" (counter-proposal)" if method == "COUNTER" else "")
        if kind is not SignalKind.MEETING_RESPONSE:
            if (uid, occurrence, "") not in seen:
                seen.add((uid, occurrence, ""))
                signals.append(
                    env.signal(
                        kind, answers=env.thread, uid=uid, occurrence_id=occurrence, reason=reason
                    )
                )
            continue
        for attendee, response in _attendees(event, subject) or [(env.sender, _hint(subject))]:
            if (uid, occurrence, attendee) in seen:
                continue
            seen.add((uid, occurrence, attendee))
            signals.append(
                env.signal(
                    kind,
                    recipient=attendee,
                    answers=env.thread,
                    response=response,
                    uid=uid,
                    occurrence_id=occurrence,
                    reason=reason,
                )
            )
    return tuple(signals)


def _attendees(event: icalendar.Component, subject: str) -> list[tuple[str, Response | None]]:
    value = event.get("ATTENDEE")
    items = value if isinstance(value, list) else [value] if value is not None else []
    found = []
    for item in items:
        addr = re.sub(r"^\s*mailto:", "", str(item), flags=re.IGNORECASE).strip()
        if "@" not in addr:
            continue
        params = getattr(item, "params", {}) or {}
        partstat = str(params.get("PARTSTAT", "") or "").strip().upper()
        # RFC 5545 reads a missing PARTSTAT as NEEDS-ACTION; Outlook's subject is a better guess.
        hinted = _hint(subject) or Response.NEEDS_ACTION
        response = _RESPONSES.get(partstat) if partstat else hinted
        found.append((addr, response))
    return found


def _hint(subject: str) -> Response | None:
    return next((response for pattern, response in _SUBJECT_HINTS if pattern.search(subject)), None)


def occurrence_id(prop: object, zone: tzinfo) -> str:
    """A RECURRENCE-ID as the calendar names that occurrence; "" when there is none."""
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        return ""
    params = getattr(prop, "params", None) or {}
    # icalendar makes a midnight of a date given a TZID; the calendar side keeps it a date.
    if isinstance(value, datetime) and str(params.get("VALUE", "")).upper() == "DATE":
        value = value.date()
    return occurrence_ids.occurrence_id(value, zone)
