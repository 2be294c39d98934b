"""The messages meetings travel as: requests, responses and cancellations, as EWS items and as
iTIP (RFC 5546) MIME, built from the organizer's or attendee's calendar item."""

from __future__ import annotations

import datetime as dt
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime as rfc822_date
from typing import TYPE_CHECKING

from tests.ews_server import mime
from tests.ews_server.store import StoredItem, clone_props
from tests.ews_server.xml import format_datetime, mailbox, mailbox_element, tel

if TYPE_CHECKING:
    from tests.ews_server.core import Core, Mailbox

PREFIX = {"Accept": "Accepted: ", "Tentative": "Tentative: ", "Decline": "Declined: "}
RESPONSE_CLASS = {
    "Accept": "IPM.Schedule.Meeting.Resp.Pos",
    "Tentative": "IPM.Schedule.Meeting.Resp.Tent",
    "Decline": "IPM.Schedule.Meeting.Resp.Neg",
}
PARTSTAT = {"Accept": "ACCEPTED", "Tentative": "TENTATIVE", "Decline": "DECLINED"}
# Properties a meeting message carries over from the calendar item it is about.
CARRIED = (
    "Subject", "Body", "Sensitivity", "Importance", "Categories", "UID", "Start", "End",
    "OriginalStart", "IsAllDayEvent", "Location", "IsMeeting", "IsCancelled", "IsRecurring",
    "CalendarItemType", "Organizer", "RequiredAttendees", "OptionalAttendees", "Resources",
    "AppointmentSequenceNumber", "Recurrence", "StartTimeZone", "EndTimeZone", "MeetingTimeZone",
)  # fmt: skip


def new_uid() -> str:
    # The shape of the UIDs Outlook gives meetings: a fixed prefix, then a unique part, in hex.
    return "040000008200E00074C5B7101A82E00800000000" + uuid.uuid4().hex.upper()


def _ics_time(value: dt.datetime | None) -> str:
    return (value or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics(method: str, item: StoredItem, stamp: dt.datetime, attendee_status: dict[str, str]) -> str:
    """An iCalendar object with one VEVENT for ``item`` (unfolded: lines are short here)."""
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//aeflow//loopback EWS//EN",
        "VERSION:2.0",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{item.uid or ''}",
        f"DTSTAMP:{_ics_time(stamp)}",
        f"DTSTART:{_ics_time(item.start)}",
        f"DTEND:{_ics_time(item.end)}",
        f"SUMMARY:{_ics_text(item.subject)}",
        f"SEQUENCE:{item.text('AppointmentSequenceNumber') or '0'}",
    ]
    if item.text("Location"):
        lines.append(f"LOCATION:{_ics_text(item.text('Location') or '')}")
    if item.organizer:
        lines.append(f"ORGANIZER:mailto:{item.organizer}")
    for attendee in item.attendees():
        status = attendee_status.get(attendee.email, "NEEDS-ACTION")
        role = "OPT-PARTICIPANT" if attendee.kind == "OptionalAttendees" else "REQ-PARTICIPANT"
        lines.append(f"ATTENDEE;ROLE={role};PARTSTAT={status};RSVP=TRUE:mailto:{attendee.email}")
    if method == "CANCEL":
        lines.append("STATUS:CANCELLED")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def message_mime(
    *, sender: Mailbox, to: list[str], subject: str, body: str, calendar: str, method: str,
    sent: dt.datetime, message_id: str,
) -> bytes:  # fmt: skip
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = mime.format_address(sender.email, sender.name)
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = rfc822_date(sent)
    message["Message-ID"] = message_id
    message.set_content(body or subject)
    message.add_alternative(calendar, subtype="calendar", params={"method": method})
    return message.as_bytes()


def meeting_message(
    core: Core,
    *,
    kind: str,
    item_class: str,
    about: StoredItem,
    sender: Mailbox,
    owner: str,
    to: list[str],
    subject: str,
    method: str,
    statuses: dict[str, str],
) -> StoredItem:
    """A meeting message (not yet placed) about ``about`` from ``sender``, for ``owner``'s store."""
    now = core.now()
    props = {k: v for k, v in clone_props(about.props).items() if k in CARRIED}
    message = StoredItem(core.new_item_id(owner), kind, owner, "inbox", props=props)
    message.set_text("ItemClass", item_class)
    message.set_text("Subject", subject)
    message.props["From"] = mailbox_element("From", sender.email, sender.name)
    message.props["Sender"] = mailbox_element("Sender", sender.email, sender.name)
    recipients = tel("ToRecipients")
    for address in to:
        box = core.mailbox_of(address)
        recipients.append(mailbox(address, box.name if box else ""))
    message.props["ToRecipients"] = recipients
    message_id = mime.make_message_id(sender.email.split("@")[-1])
    message.set_text("InternetMessageId", message_id)
    for name in ("DateTimeSent", "DateTimeCreated", "DateTimeReceived", "LastModifiedTime"):
        message.set_text(name, format_datetime(now))
    message.set_text("DateTimeStamp", format_datetime(now))
    message.set_text("IsRead", "false")
    body = about.props.get("Body")
    message.mime = message_mime(
        sender=sender,
        to=to,
        subject=subject,
        body=(body.text or "") if body is not None else "",
        calendar=ics(method, about, now, statuses),
        method=method,
        sent=now,
        message_id=message_id,
    )
    return message
