"""The outside world of ``aeflow demo``: clients who read, reply, accept, decline, stay silent or
bounce, and an AE who moves and cancels meetings.

It acts only through the local backend, as real people and servers would: it writes real messages
(RFC 8098 read receipts, RFC 3464 bounces, iTIP replies, replies in the thread) into the inbox
Maildir, and edits the vdir. Nothing is put into the store behind the engine's back.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mailer.port import KEY_HEADER

ZONE = ZoneInfo("Asia/Shanghai")
AE = "xiaoming.wang@agency.example"
JANE = ("Jane Doe", "jane.doe@acme-bev.example")
TOM = ("Tom Lee", "tom.lee@acme-bev.example")
TYPO = ("T. Lee", "t.lee@acme-bev.example")  # an address that does not exist: it bounces
MEI = ("Mei Zhang", "mei.zhang@agency.example")
LIU = ("刘总", "liu@huadong-food.example")
TING = ("赵婷", "ting.zhao@agency.example")


@dataclass(frozen=True)
class Event:
    """Something the world does at ``at``; ``describe`` is its line in the timeline."""

    at: datetime
    describe: str
    act: Callable[[World], None]


class World:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calendar = folder / "calendar"
        (folder / "mail").mkdir(parents=True, exist_ok=True)
        self.inbox = mailbox.Maildir(folder / "mail" / "inbox", create=True)
        self.sent_box = folder / "mail" / "sent"
        self.now = datetime.now(UTC)
        self._serial = 0

    # --- the calendar ---

    def write_event(self, name: str, **fields: Any) -> None:
        (self.calendar / name).write_text(event_ics(**fields), encoding="utf-8", newline="")

    def edit_event(self, name: str, old: str, new: str) -> None:
        """Change one value in an event file, leaving the rest as it is."""
        path = self.calendar / name
        path.write_text(
            path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8", newline=""
        )

    # --- looking up what aeflow sent ---

    def sent(self, prefix: str, uid: str = "") -> tuple[str, str] | None:
        """(Message-ID, Subject) of the latest sent message whose key starts with ``prefix`` and
        mentions ``uid``: people answer the newest notice they have."""
        found = []
        for entry in mailbox.Maildir(self.sent_box, create=False):
            key = str(entry.get(KEY_HEADER, ""))
            if key.startswith(prefix) and uid in key:
                sent = parsedate_to_datetime(str(entry["Date"]))
                found.append((sent, str(entry["Message-ID"]), str(entry["Subject"])))
        if not found:
            return None
        _, message_id, subject = max(found)
        return message_id, subject

    # --- mail from the world ---

    def deliver(self, text: str) -> None:
        self.inbox.add(text.replace("\n", "\r\n").encode("utf-8"))

    def _id(self, host: str) -> str:
        self._serial += 1
        return f"<demo-{self._serial}.{int(self.now.timestamp())}@{host}>"

    def read_receipt(self, who: tuple[str, str], prefix: str, uid: str) -> None:
        found = self.sent(prefix, uid)
        if found is None:
            return
        original, subject = found
        host = who[1].split("@")[1]
        self.deliver(
            f"""From: {who[0]} <{who[1]}>
To: {AE}
Subject: Read: {subject}
Date: {format_datetime(self.now)}
Message-ID: {self._id(host)}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="r"

--r
Content-Type: text/plain; charset=utf-8

Your message was read on {format_datetime(self.now)}.
--r
Content-Type: message/disposition-notification

Reporting-UA: mail.{host}
Final-Recipient: rfc822;{who[1]}
Original-Message-ID: {original}
Disposition: manual-action/MDN-sent-manually; displayed

--r--
"""
        )

    def reply(self, who: tuple[str, str], prefix: str, uid: str, text: str) -> None:
        found = self.sent(prefix, uid)
        if found is None:
            return
        original, subject = found
        self.deliver(
            f"""From: {who[0]} <{who[1]}>
To: {AE}
Subject: Re: {subject}
Date: {format_datetime(self.now)}
Message-ID: {self._id(who[1].split("@")[1])}
In-Reply-To: {original}
References: {original}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{text}
"""
        )

    def ae_reply(self, uid: str, text: str) -> None:
        """The AE answers the minutes prompt from their mail client, quoting it as clients do."""
        found = self.sent("minutes-prompt:", uid)
        if found is None:
            return
        original, subject = found
        self.deliver(
            f"""From: 王小明 <{AE}>
To: {AE}
Subject: Re: {subject}
Date: {format_datetime(self.now)}
Message-ID: {self._id("agency.example")}
In-Reply-To: {original}
References: {original}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{text}

On {format_datetime(self.now)}, aeflow <{AE}> wrote:
> (the form aeflow sent)
"""
        )

    def respond(self, who: tuple[str, str], uid: str, partstat: str, verb: str) -> None:
        stamp = self.now.strftime("%Y%m%dT%H%M%SZ")
        self.deliver(
            f"""From: {who[0]} <{who[1]}>
To: {AE}
Subject: {verb}: meeting
Date: {format_datetime(self.now)}
Message-ID: {self._id(who[1].split("@")[1])}
MIME-Version: 1.0
Content-Type: text/calendar; charset=utf-8; method=REPLY

BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Demo client//Mail//EN
METHOD:REPLY
BEGIN:VEVENT
UID:{uid}
DTSTAMP:{stamp}
ATTENDEE;PARTSTAT={partstat}:mailto:{who[1]}
ORGANIZER:mailto:{AE}
END:VEVENT
END:VCALENDAR
"""
        )

    def bounce(self, who: tuple[str, str], prefix: str, uid: str) -> None:
        found = self.sent(prefix, uid)
        if found is None:
            return
        original, subject = found
        self.deliver(
            f"""From: Mail Delivery System <MAILER-DAEMON@mx.acme-bev.example>
To: {AE}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(self.now)}
Message-ID: {self._id("mx.acme-bev.example")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="d"

--d
Content-Type: text/plain; charset=utf-8

Your message could not be delivered to <{who[1]}>: mailbox unknown.
--d
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme-bev.example

Final-Recipient: rfc822; {who[1]}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{who[1]}>: Recipient address rejected: User unknown

--d
Content-Type: text/rfc822-headers

From: {AE}
To: {who[1]}
Subject: {subject}
Message-ID: {original}

--d--
"""
        )


def event_ics(
    uid: str,
    start: str,
    end: str,
    summary: str,
    location: str = "",
    attendees: str = "",
    description: str = "",
    category: str = "",
    status: str = "CONFIRMED",
    sequence: str = "0",
    organizer: bool = True,
) -> str:
    """A vdir file for one event; ``start``/``end`` are local times in Asia/Shanghai."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//aeflow//demo//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=Asia/Shanghai:{start}",
        f"DTEND;TZID=Asia/Shanghai:{end}",
        f"SUMMARY:{summary}",
        f"STATUS:{status}",
        f"SEQUENCE:{sequence}",
    ]
    if organizer:
        lines.append(f"ORGANIZER;CN=王小明:mailto:{AE}")
    if location:
        lines.append(f"LOCATION:{location}")
    if description:
        lines.append("DESCRIPTION:" + description.replace("\n", "\\n").replace(",", "\\,"))
    if category:
        lines.append(f"CATEGORIES:{category}")
    for line in attendees.splitlines():
        if line.strip():
            name, email, partstat = (part.strip() for part in line.split("|"))
            lines.append(
                f"ATTENDEE;CN={name};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat}:mailto:{email}"
            )
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def people(*who: tuple[str, str], partstat: str = "NEEDS-ACTION") -> str:
    return "\n".join(f"{name}|{email}|{partstat}" for name, email in who)


def local(day: date, clock: str) -> datetime:
    hour, minute = (int(x) for x in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def ics_time(day: date, clock: str) -> str:
    return local(day, clock).strftime("%Y%m%dT%H%M%S")
