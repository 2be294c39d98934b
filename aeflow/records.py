"""Turning domain objects into the plain JSON records the store keeps, and back.

Datetimes are stored as ISO strings in UTC; enums as their values. A record written by an older
version may lack newer fields: readers take the model's defaults for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rules.model import (
    Attendee,
    Delivery,
    DeliveryStatus,
    Meeting,
    Person,
    RecipientStatus,
    Response,
    Role,
    Signal,
    SignalKind,
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"stored time {text!r} has no zone")
    return moment


def _person(person: Person | None) -> dict[str, str] | None:
    return None if person is None else {"email": person.email, "name": person.name}


def meeting_to_record(meeting: Meeting) -> dict[str, Any]:
    return {
        "key": meeting.key,
        "uid": meeting.uid,
        "occurrence_id": meeting.occurrence_id,
        "subject": meeting.subject,
        "start": iso(meeting.start),
        "end": iso(meeting.end),
        "all_day": meeting.all_day,
        "location": meeting.location,
        "organizer": _person(meeting.organizer),
        "attendees": [
            {
                "email": a.person.email,
                "name": a.person.name,
                "role": a.role.value,
                "response": a.response.value,
                "rsvp": a.rsvp,
                "responded_at": iso(a.responded_at) if a.responded_at else None,
            }
            for a in meeting.attendees
        ],
        "categories": list(meeting.categories),
        "body": meeting.body,
        "cancelled": meeting.cancelled,
        "sequence": meeting.sequence,
        "timezone": meeting.timezone,
    }


def meeting_from_record(record: dict[str, Any]) -> Meeting:
    organizer = record.get("organizer")
    return Meeting(
        uid=record["uid"],
        occurrence_id=record.get("occurrence_id", ""),
        subject=record.get("subject", ""),
        start=parse_iso(record["start"]),
        end=parse_iso(record["end"]),
        all_day=record.get("all_day", False),
        location=record.get("location", ""),
        organizer=Person(organizer["email"], organizer.get("name", "")) if organizer else None,
        attendees=tuple(
            Attendee(
                Person(a["email"], a.get("name", "")),
                role=Role(a.get("role", Role.REQUIRED.value)),
                response=Response(a.get("response", Response.NEEDS_ACTION.value)),
                rsvp=a.get("rsvp", False),
                responded_at=parse_iso(a["responded_at"]) if a.get("responded_at") else None,
            )
            for a in record.get("attendees", [])
        ),
        categories=tuple(record.get("categories", [])),
        body=record.get("body", ""),
        cancelled=record.get("cancelled", False),
        sequence=record.get("sequence", 0),
        timezone=record.get("timezone", "UTC"),
    )


def signal_id(signal: Signal) -> str:
    """What makes a signal unique: one inbound message may hold several (a DSN per recipient)."""
    anchor = signal.message_id or f"{iso(signal.at)}/{signal.sender}/{','.join(signal.answers)}"
    return f"{anchor}|{signal.kind.value}|{signal.recipient}"


def signal_to_record(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal_id(signal),
        "kind": signal.kind.value,
        "at": iso(signal.at),
        "message_id": signal.message_id,
        "sender": signal.sender,
        "recipient": signal.recipient,
        "answers": list(signal.answers),
        "status": signal.status,
        "reason": signal.reason,
        "response": signal.response.value if signal.response else None,
        "uid": signal.uid,
        "occurrence_id": signal.occurrence_id,
        "subject": signal.subject,
    }


def signal_from_record(record: dict[str, Any]) -> Signal:
    return Signal(
        kind=SignalKind(record["kind"]),
        at=parse_iso(record["at"]),
        message_id=record.get("message_id", ""),
        sender=record.get("sender", ""),
        recipient=record.get("recipient", ""),
        answers=tuple(record.get("answers", [])),
        status=record.get("status", ""),
        reason=record.get("reason", ""),
        response=Response(record["response"]) if record.get("response") else None,
        uid=record.get("uid", ""),
        occurrence_id=record.get("occurrence_id", ""),
        subject=record.get("subject", ""),
    )


def delivery_to_record(delivery: Delivery, meeting_uid: str = "") -> dict[str, Any]:
    return {
        "key": delivery.key,
        "kind": delivery.kind,
        "message_id": delivery.message_id,
        "sent_at": iso(delivery.sent_at),
        "recipients": [
            {
                "email": r.email,
                "status": r.status.value,
                "since": iso(r.since) if r.since else None,
                "detail": r.detail,
            }
            for r in delivery.recipients
        ],
        "client": delivery.client,
        "subject": delivery.subject,
        "meeting": delivery.meeting,
        "meeting_uid": meeting_uid,
        "reminder_ids": list(delivery.reminder_ids),
        "open": delivery.open,
    }


def delivery_from_record(record: dict[str, Any]) -> Delivery:
    return Delivery(
        key=record["key"],
        kind=record.get("kind", ""),
        message_id=record.get("message_id", ""),
        sent_at=parse_iso(record["sent_at"]),
        recipients=tuple(
            RecipientStatus(
                r["email"],
                DeliveryStatus(r.get("status", DeliveryStatus.SENT.value)),
                parse_iso(r["since"]) if r.get("since") else None,
                r.get("detail", ""),
            )
            for r in record.get("recipients", [])
        ),
        client=record.get("client", ""),
        subject=record.get("subject", ""),
        meeting=record.get("meeting", ""),
        reminder_ids=tuple(record.get("reminder_ids", [])),
    )


def local_now_text(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
