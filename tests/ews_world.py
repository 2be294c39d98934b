"""The demo's world acting through the loopback Exchange server instead of a vdir and a Maildir.

``aeflow.demo_world`` writes files; here everyone has a mailbox on an ``EwsServer`` (everyone but
t.lee@acme-bev.example, who does not exist) and acts as they would in Outlook:

- the AE's meetings are made in the AE's calendar through exchangelib acting as the AE, with the
  subjects, times, places, categories, notes and attendees of ``aeflow.demo_week.write_calendar``;
  Exchange sends their meeting requests, so the attendees have something to answer;
- a client reads a mail (``Mailbox.mark_read``: the server sends the read receipt aeflow asked
  for), replies through exchangelib as themselves (In-Reply-To and References naming the mail they
  got), declines or accepts a meeting request through exchangelib as the attendee;
- mail to the address nobody has bounces by itself: the server files the NDR when aeflow sends;
- the AE moves and cancels meetings through exchangelib, and answers aeflow's minutes prompts
  from their own inbox.

Nothing is put into aeflow's state behind its back: what aeflow learns, it learns through EWS.
The scenario is the demo's (``aeflow.demo_week.events``) without Thursday's pitch: that
appointment becomes a meeting request aeflow sends, which the Exchange backend sends through the
calendar rather than as mail; its scenario is left to the meeting-request tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from exchangelib import Attendee, Body, CalendarItem, EWSDate, EWSDateTime, Mailbox, Message
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE

from aeflow.demo_week import (
    AGENDA,
    BRIEF,
    BRIEF_MINUTES,
    MEDIA,
    PACKAGING,
    REVIEW,
    WEEKLY,
    WEEKLY_MINUTES,
)
from aeflow.demo_world import AE, JANE, LIU, MEI, TING, TOM, TYPO, Event, local
from mailer.port import KEY_HEADER
from tests.ews_server import EwsServer, StoredItem
from tests.ews_server.client import account

PASSWORD = "demo week password"
AE_NAME = "王小明"
MANAGER = ("陈丽华", "lihua.chen@agency.example")
ZONE = ZoneInfo("Asia/Shanghai")
Who = tuple[str, str]
# Everyone aeflow writes to in the demo's week; t.lee@acme-bev.example is left out on purpose.
MAILBOXES: tuple[Who, ...] = ((AE_NAME, AE), JANE, TOM, MEI, LIU, TING, MANAGER)


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class WorldEvent:
    """Something the world does at ``at``; ``describe`` is the demo's line for it."""

    at: datetime
    describe: str
    act: Callable[[EwsWorld], None]


# The demo's events about Thursday's pitch: its booking and move, the answers to its requests.
PITCH_EVENTS = frozenset(
    {
        "the AE books Thursday's pitch with Acme: a tagged appointment, agenda in its notes",
        "Jane accepts the pitch's meeting request in her calendar (iTIP REPLY)",
        "Tom's mail client sends a read receipt for the meeting request",
        "the AE moves Thursday's pitch from 14:00 to 16:00 in the calendar",
        "Jane accepts the updated meeting request",
        "Tom's mail client sends a read receipt for the update",
    }
)


def is_pitch_event(event: Event) -> bool:
    """Whether a demo event belongs to Thursday's pitch."""
    return event.describe in PITCH_EVENTS


def ews_time(value: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(value.astimezone(ZONE))


def _headers(item: StoredItem) -> EmailMessage:
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(item.mime or b"")
    assert isinstance(parsed, EmailMessage)
    return parsed


def _sent_at(headers: EmailMessage) -> datetime:
    return parsedate_to_datetime(str(headers["Date"]))


class EwsWorld:
    """The people of the demo's week, each with a mailbox on ``server`` (``clock`` says when it
    is: it dates what they send, as the server's own clock should)."""

    def __init__(self, server: EwsServer, clock: Clock) -> None:
        self.server = server
        self.clock = clock
        self._accounts: dict[str, Any] = {}

    def open_mailboxes(self) -> None:
        for name, email in MAILBOXES:
            self.server.add_mailbox(email, PASSWORD, name)

    def account(self, email: str) -> Any:
        """exchangelib signed in as ``email``, as that person's own mail program."""
        if email not in self._accounts:
            self._accounts[email] = account(self.server, email, PASSWORD, ZONE.key)
        return self._accounts[email]

    def close(self) -> None:
        for found in self._accounts.values():
            found.protocol.close()
        self._accounts.clear()

    # --- the AE's calendar ---------------------------------------------------------------------

    def _meeting(
        self,
        uid: str,
        subject: str,
        start: datetime,
        end: datetime,
        attendees: tuple[Who, ...],
        location: str = "",
        notes: str = "",
        category: str = "",
    ) -> None:
        ae = self.account(AE)
        item = CalendarItem(
            account=ae,
            folder=ae.calendar,
            uid=uid,
            subject=subject,
            start=ews_time(start),
            end=ews_time(end),
            location=location or None,
            body=Body(notes) if notes else None,
            categories=[category] if category else None,
            required_attendees=[
                Attendee(mailbox=Mailbox(email_address=email, name=name))
                for name, email in attendees
            ],
        )
        # As Outlook sends a meeting the AE organizes: every attendee gets its request (and the
        # one for t.lee comes back as an NDR, aeflow's business only once aeflow writes to him).
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    def write_calendar(self, week: list[date]) -> None:
        """The AE's week, as ``aeflow.demo_week.write_calendar`` writes it to a vdir."""
        mon, tue, wed, thu, fri = week
        self._meeting(
            BRIEF,
            "Acme summer campaign brief",
            local(mon, "10:00"),
            local(mon, "11:30"),
            (JANE, TOM, MEI),
            location="Acme HQ, meeting room 3",
            notes=AGENDA,
            category="Client: Acme",
        )
        self._meeting(
            WEEKLY,
            "华东食品 周例会",
            local(tue, "14:00"),
            local(tue, "15:00"),
            (LIU, TING),
            location="华东食品 3楼会议室",
            notes="议题：上周进展 20分钟\n议题：新品包装 40分钟",
        )
        self._meeting(
            REVIEW,
            "Acme creative review",
            local(wed, "15:00"),
            local(wed, "16:00"),
            (JANE, TYPO, MEI),
            location="Agency studio",
        )
        self._meeting(
            PACKAGING,
            "包装设计确认",
            local(thu, "10:00"),
            local(thu, "11:00"),
            (LIU, TING),
            location="华东食品 3楼会议室",
        )
        self._meeting(
            MEDIA, "Acme media plan", local(fri, "16:00"), local(fri, "17:00"), (JANE, TOM)
        )
        ae = self.account(AE)
        offsite = CalendarItem(
            account=ae,
            folder=ae.calendar,
            uid="offsite.demo@agency.example",
            subject="Team offsite",
            is_all_day=True,
            start=EWSDate.from_date(thu),
            end=EWSDate.from_date(thu),  # exchangelib's all-day end is the last day
        )
        offsite.save(send_meeting_invitations=SEND_TO_NONE)

    def _calendar_item(self, uid: str) -> Any:
        """The AE's own item of the meeting ``uid``, looked up the way Outlook does, by UID."""
        ae = self.account(AE)
        for item in ae.calendar.all().only("uid", "subject", "start", "end"):
            if item.uid == uid:
                return item
        raise LookupError(f"the AE's calendar has no meeting {uid}")

    def move(self, uid: str, start: datetime, end: datetime) -> None:
        item = self._calendar_item(uid)
        item.start, item.end = ews_time(start), ews_time(end)
        item.save(
            update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
        )

    def cancel(self, uid: str) -> None:
        # The organizer cancels: attendees are told, the item leaves the AE's calendar.
        self._calendar_item(uid).cancel()

    # --- what people got -----------------------------------------------------------------------

    def received(self, email: str, prefix: str, uid: str) -> tuple[StoredItem, EmailMessage] | None:
        """The newest mail from aeflow in ``email``'s inbox whose key starts with ``prefix`` and
        mentions ``uid``: people answer the newest notice they have."""
        found = []
        for item in self.server.mailbox(email).items("inbox"):
            if item.mime is None:
                continue
            headers = _headers(item)
            key = str(headers.get(KEY_HEADER, ""))
            if key.startswith(prefix) and uid in key:
                found.append((_sent_at(headers), item.item_id, item, headers))
        if not found:
            return None
        _, _, item, headers = max(found, key=lambda entry: (entry[0], entry[1]))
        return item, headers

    # --- what people do ------------------------------------------------------------------------

    def read_receipt(self, who: Who, prefix: str, uid: str) -> None:
        """``who`` opens the mail; the server sends the read receipt it asks for."""
        found = self.received(who[1], prefix, uid)
        if found is not None:
            self.server.mailbox(who[1]).mark_read(found[0].item_id)

    def _send_mime(self, sender: Who, to: str, subject: str, answers: str, text: str) -> None:
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = f"{sender[0]} <{sender[1]}>"
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock.now())
        message["Message-ID"] = make_msgid(domain=sender[1].split("@")[1])
        message["In-Reply-To"] = answers
        message["References"] = answers
        message.set_content(text)
        me = self.account(sender[1])
        # Sent as its MIME, as a mail program that writes its own threading headers does.
        Message(account=me, folder=me.sent, mime_content=message.as_bytes()).send_and_save()

    def reply(self, who: Who, prefix: str, uid: str, text: str) -> None:
        found = self.received(who[1], prefix, uid)
        if found is None:
            return
        _, headers = found
        subject = f"Re: {headers['Subject']}"
        self._send_mime(who, f"{AE_NAME} <{AE}>", subject, str(headers["Message-ID"]), text)

    def ae_reply(self, uid: str, text: str) -> None:
        """The AE answers the minutes prompt in their inbox, quoting it as mail programs do."""
        found = self.received(AE, "minutes-prompt:", uid)
        if found is None:
            return
        _, headers = found
        quoted = f"{text}\n\nOn {headers['Date']}, aeflow <{AE}> wrote:\n> (the form aeflow sent)\n"
        subject = f"Re: {headers['Subject']}"
        sender = (AE_NAME, AE)
        self._send_mime(sender, f"{AE_NAME} <{AE}>", subject, str(headers["Message-ID"]), quoted)

    def respond(self, who: Who, uid: str, accept: bool) -> None:
        """``who`` answers the meeting request in their inbox (Exchange tells the organizer)."""
        requests = [
            item
            for item in self.server.mailbox(who[1]).items("inbox")
            if item.kind == "MeetingRequest" and item.uid == uid and not item.flag("IsOutOfDate")
        ]
        if not requests:
            raise LookupError(f"{who[1]} has no meeting request for {uid}")
        newest = requests[-1]
        (request,) = self.account(who[1]).fetch(ids=[(newest.item_id, newest.change_key)])
        if accept:
            request.accept()
        else:
            request.decline()

    def bounced(self, address: str) -> bool:
        """Whether the AE's inbox holds an NDR from the server for mail aeflow sent to
        ``address``: on Exchange the server bounces by itself, nobody has to act."""
        for item in self.server.mailbox(AE).items("inbox"):
            raw = item.mime or b""
            ndr = item.item_class == "REPORT.IPM.Note.NDR"
            if ndr and address.encode() in raw and KEY_HEADER.encode() in raw:
                return True
        return False


def events(week: list[date], eve: date) -> list[WorldEvent]:
    """What the world does, in order: ``aeflow.demo_week.events`` without the pitch, each the
    Exchange way."""
    mon, tue, wed, thu, fri = week

    def bounce(world: EwsWorld) -> None:
        if not world.bounced(TYPO[1]):
            raise AssertionError("the server filed no NDR for the review's confirmation to t.lee")

    found = [
        WorldEvent(
            local(eve, "11:00"),
            "Jane replies to the brief's confirmation",
            lambda w: w.reply(JANE, "confirm:", "brief", "Thanks, see you on Monday."),
        ),
        WorldEvent(
            local(eve, "11:30"),
            "Tom's mail client sends a read receipt",
            lambda w: w.read_receipt(TOM, "confirm:", "brief"),
        ),
        WorldEvent(
            local(mon, "11:00"),
            "刘总 declines the weekly meeting (iTIP REPLY)",
            lambda w: w.respond(LIU, WEEKLY, accept=False),
        ),
        WorldEvent(
            local(mon, "11:30"),
            "赵婷 accepts the weekly meeting",
            lambda w: w.respond(TING, WEEKLY, accept=True),
        ),
        WorldEvent(
            local(tue, "10:05"),
            "t.lee@acme-bev.example does not exist: the server bounces",
            bounce,
        ),
        WorldEvent(
            local(wed, "12:00"),
            "the AE cancels Friday's media plan meeting in the calendar",
            lambda w: w.cancel(MEDIA),
        ),
        WorldEvent(
            local(wed, "14:00"),
            "the AE moves 包装设计确认 from Thursday to Friday",
            lambda w: w.move(PACKAGING, local(fri, "10:00"), local(fri, "11:00")),
        ),
        WorldEvent(
            local(mon, "14:00"),
            "the AE replies to the minutes prompt of the brief",
            lambda w: w.ae_reply("brief", BRIEF_MINUTES.format(due=wed.isoformat())),
        ),
        WorldEvent(
            local(wed, "16:00"),
            "the AE replies, late, with the weekly meeting's minutes",
            lambda w: w.ae_reply("weekly", WEEKLY_MINUTES.format(due=fri.isoformat())),
        ),
        WorldEvent(
            local(wed, "17:00"),
            "the AE replies to the review's prompt without writing anything",
            lambda w: w.ae_reply("review", ""),
        ),
        WorldEvent(
            local(thu, "11:00"),
            "刘总's mail client sends a read receipt",
            lambda w: w.read_receipt(LIU, "confirm:", "packaging"),
        ),
        WorldEvent(
            local(thu, "15:00"),
            "刘总 replies: he will be there",
            lambda w: w.reply(LIU, "confirm:", "packaging", "收到，周五准时参加。"),
        ),
    ]
    return sorted(found, key=lambda e: e.at)
