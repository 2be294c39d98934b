"""``aeflow inspect [--json] FILE...``: what aeflow understands of each .ics or mail file.

A calendar file gives its events (times with offsets, the next occurrences, attendees and their
responses); a mail gives what it is (receipt, bounce, automatic reply, meeting response, reply) and
what it answers. A file aeflow cannot read is ``unreadable`` with the reason; never a traceback.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calendar_sync.ics import ParsedCalendar, parse_calendar, upcoming
from calendar_sync.itip_mail import calendar_part
from mailer.signals import classify_message, parse_message, sanitise
from rules.errors import UnreadableInput, UserError
from rules.model import Meeting, Signal, SignalKind

CALENDAR_SUFFIXES = {".ics", ".ical", ".ifb", ".icalendar"}
ITIP_KINDS = {"REQUEST": "itip-request", "REPLY": "itip-reply", "CANCEL": "itip-cancel"}
# The signal kinds a file may be reported as; finer distinctions go in "signal".
MAIL_KINDS = {
    SignalKind.READ_RECEIPT: "read-receipt",
    SignalKind.DELIVERY_RECEIPT: "delivery-receipt",
    SignalKind.BOUNCE: "bounce",
    SignalKind.AUTO_REPLY: "auto-reply",
    SignalKind.REPLY: "reply",
    SignalKind.MEETING_RESPONSE: "itip-reply",
    SignalKind.MEETING_REQUEST: "itip-request",
    SignalKind.MEETING_CANCEL: "itip-cancel",
}


def run(args: argparse.Namespace) -> int:
    zone = _zone(args.zone)
    now = datetime.now(UTC)
    unreadable = 0
    for path in args.files:
        result = inspect_file(path, zone, now, args.occurrences)
        unreadable += result["kind"] == "unreadable"
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            print(render_text(result), flush=True)
    return 1 if unreadable else 0


def _zone(name: str) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"--zone {name!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None


def inspect_file(path: Path, zone: ZoneInfo, now: datetime, occurrences: int) -> dict[str, Any]:
    """The JSON-ready description of one file; ``kind`` is ``unreadable`` when it cannot be read."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return {"file": source, "kind": "unreadable", "reason": f"cannot read: {error.strerror}"}
    try:
        if _looks_like_calendar(path, data):
            parsed = parse_calendar(data, source, zone)
            return {
                "file": source,
                "kind": ITIP_KINDS.get(parsed.method, "event"),
                **_calendar_fields(parsed, now, occurrences),
            }
        received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return _mail_fields(source, data, zone, now, occurrences, received)
    except UnreadableInput as error:
        return {"file": source, "kind": "unreadable", "reason": sanitise(error.reason, 300)}


def _looks_like_calendar(path: Path, data: bytes) -> bool:
    if path.suffix.lower() in CALENDAR_SUFFIXES:
        return True
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return head.startswith(b"BEGIN:VCALENDAR")


def _calendar_fields(parsed: ParsedCalendar, now: datetime, occurrences: int) -> dict[str, Any]:
    events = []
    series_seen: set[str] = set()
    for event in parsed.events:
        if event.recurrence_id and event.uid in series_seen:
            continue  # overrides show up among the series' next occurrences
        series_seen.add(event.uid)
        described = _meeting_fields(event.meeting)
        described["recurring"] = event.recurring
        if event.rule:
            described["rule"] = event.rule
        if event.recurrence_id:
            described["recurrence_id"] = event.recurrence_id
        events.append(described)
    next_ones = [_occurrence(m) for m in upcoming(parsed, now, occurrences)] if occurrences else []
    return {
        "method": parsed.method,
        "product": sanitise(parsed.product, 120),
        "events": events,
        "next_occurrences": next_ones,
        "problems": [str(p) for p in parsed.problems],
    }


def _meeting_fields(meeting: Meeting) -> dict[str, Any]:
    return {
        "uid": meeting.uid,
        "summary": sanitise(meeting.subject, 200),
        "start": meeting.start.isoformat(),
        "end": meeting.end.isoformat(),
        "all_day": meeting.all_day,
        "timezone": meeting.timezone,
        "location": sanitise(meeting.location, 200),
        "cancelled": meeting.cancelled,
        "sequence": meeting.sequence,
        "categories": list(meeting.categories),
        "organizer": meeting.organizer.email if meeting.organizer else "",
        "attendees": [
            {
                "email": a.person.email,
                "name": sanitise(a.person.name, 80),
                "role": a.role.value,
                "response": a.response.value,
            }
            for a in meeting.attendees
        ],
    }


def _occurrence(meeting: Meeting) -> dict[str, Any]:
    return {
        "uid": meeting.uid,
        "occurrence_id": meeting.occurrence_id,
        "summary": sanitise(meeting.subject, 200),
        "start": meeting.start.isoformat(),
        "end": meeting.end.isoformat(),
    }


def _mail_fields(
    source: str, data: bytes, zone: ZoneInfo, now: datetime, occurrences: int, received: datetime
) -> dict[str, Any]:
    signals = classify_message(data, source=source, received_at=received, zone=zone)
    message = parse_message(data, source)
    first = signals[0]
    result: dict[str, Any] = {
        "file": source,
        "kind": MAIL_KINDS.get(first.kind, "message"),
        "signal": first.kind.value,
        "message_id": first.message_id,
        "from": first.sender,
        "subject": sanitise(str(message.get("Subject", "") or ""), 200),
        "date": first.at.isoformat(),
        **_signal_fields(first),
    }
    if len(signals) > 1:
        result["recipients"] = [{"signal": s.kind.value, **_signal_fields(s)} for s in signals]
    if first.kind in (SignalKind.MEETING_REQUEST, SignalKind.MEETING_CANCEL):
        try:
            parsed = parse_calendar(calendar_part(data, source), source, zone)
        except UnreadableInput as error:
            result["calendar_problem"] = sanitise(error.reason, 300)
        else:
            result.update(_calendar_fields(parsed, now, occurrences))
    return result


def _signal_fields(signal: Signal) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "answers": list(signal.answers),
        "recipient": signal.recipient,
        "status": signal.status,
        "reason": signal.reason,
    }
    if signal.response is not None:
        fields["response"] = signal.response.value
    if signal.uid:
        fields["uid"] = signal.uid
        fields["occurrence_id"] = signal.occurrence_id
    return fields


def render_text(result: dict[str, Any]) -> str:
    """The human form of one file's description."""
    lines = [f"{result['file']}: {result['kind']}"]
    if result["kind"] == "unreadable":
        lines.append(f"  reason: {result['reason']}")
        return "\n".join(lines)
    if "signal" in result:
        lines.append(f"  from {result['from'] or '?'}, {result['date']}: {result['subject']}")
        if result["signal"] != result["kind"]:
            lines.append(f"  signal: {result['signal']}")
        for entry in result.get("recipients", [result]):
            detail = ", ".join(
                f"{k} {entry[k]}" for k in ("recipient", "status", "response") if entry.get(k)
            )
            if detail:
                lines.append(f"  {detail}")
            if entry.get("reason"):
                lines.append(f"    {entry['reason']}")
        if result.get("answers"):
            lines.append(f"  answers {' '.join(result['answers'])}")
    for event in result.get("events", []):
        when = f"{event['start']} .. {event['end']}" + (" (all day)" if event["all_day"] else "")
        lines.append(f"  event {event['summary']!r} uid {event['uid']}")
        lines.append(
            f"    {when} [{event['timezone']}]" + (" CANCELLED" if event["cancelled"] else "")
        )
        if event.get("rule"):
            lines.append(f"    repeats {event['rule']}")
        for attendee in event["attendees"]:
            lines.append(
                f"    attendee {attendee['email']} {attendee['role']} {attendee['response']}"
            )
    for occurrence in result.get("next_occurrences", []):
        lines.append(f"  next {occurrence['start']}  {occurrence['summary']}")
    for problem in result.get("problems", []):
        lines.append(f"  problem: {problem}")
    return "\n".join(lines)
