"""What a tick of the Exchange (EWS) backend asks of the loopback server, counted: an idle tick
makes one SyncFolderItems request per watched folder (calendar, inbox) and no GetItem; a tick
with a few changes reads only those. Counts, never times: ``benchmarks/ews_tick.py`` prints the
costs with bytes and wall time on a 5,000-item mailbox built by ``fill_mailbox`` below.

An AE's mailbox: client mail in the inbox (new threads, replies, delivery and read receipts, the
odd out-of-office reply and bounce) arriving through the server's transport; Sent Items stamped
with aeflow's key property and a calendar (a year of client meetings, the window's, weekly series)
created through EWS, a hundred items a CreateItem, as a client would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib import Attendee, CalendarItem, EWSDate, EWSDateTime, Mailbox, Message
from exchangelib.recurrence import Recurrence, WeeklyPattern

from aeflow.clock import FixedClock
from aeflow.sync import LOOK_BACK
from calendar_sync.ews import EwsCalendar
from calendar_sync.port import CalendarChanges
from mailer.ews import EwsMailbox
from mailer.ews_session import EwsSession, EwsSettings, register_properties
from mailer.port import MailChanges
from rules.model import SignalKind
from tests.conftest import require_corpus
from tests.ews_server import EwsServer
from tests.ews_server import mime as server_mime

AE = "ae@agency.example"
AE_NAME = "Wang Fang"
DOMAIN = "agency.example"
PASSWORD = "correct horse"
PASSWORD_ENV = "AEFLOW_BENCH_EWS_PASSWORD"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 15, 10, 30, tzinfo=ZONE)  # a working Tuesday
HORIZON = timedelta(days=35)  # the configuration's default [backend] horizon
CLIENTS = 10
KINDS = ("confirm", "minutes", "weekly", "remind", "quotation")
BODY = (
    "Dear {name},\n\nThank you for your time today. As agreed, the creative team will send the "
    "revised key visual by Thursday, and media will confirm the flighting plan for the autumn "
    "campaign with your buyer before the end of the week. Please let us know if anything in the "
    "brief has changed on your side.\n\nBest regards,\n{sender}\n"
)
AGENDA = (
    "1. Results of last month's campaign - 20 min\n2. Creative for the next wave - 30 min\n"
    "3. Budget and timing - 10 min\nBring: the signed-off brief.\n"
)


def session_for(server: EwsServer) -> EwsSession:
    """The AE's session as the configuration builds it: basic auth, the password from the env."""
    settings = EwsSettings(AE, ews_url=server.url, auth="basic", password_env=PASSWORD_ENV)
    return EwsSession(settings, ZONE, environ={PASSWORD_ENV: PASSWORD})


def window(now: datetime) -> tuple[datetime, datetime]:
    """The sync window ``aeflow.sync.sync_once`` asks for at ``now``: it moves once a day."""
    midnight = datetime.combine(now.astimezone(ZONE).date(), time(0), tzinfo=ZONE)
    return midnight - LOOK_BACK, midnight + timedelta(days=1) + HORIZON


@dataclass(frozen=True)
class Mix:
    """How many items of each kind a mailbox of ``total`` items holds."""

    inbox: int
    sent: int
    past_meetings: int
    window_meetings: int
    series: int

    @classmethod
    def of(cls, total: int) -> Mix:
        if total < 20:
            raise ValueError(f"a mailbox of at least 20 items, not {total}")
        inbox, sent = total * 60 // 100, total * 24 // 100
        calendar = total - inbox - sent
        series = max(1, calendar // 50)
        window_meetings = (calendar - series) * 35 // 100
        return cls(inbox, sent, calendar - series - window_meetings, window_meetings, series)

    @property
    def total(self) -> int:
        return self.inbox + self.sent + self.past_meetings + self.window_meetings + self.series


@dataclass
class Filled:
    """What ``fill_mailbox`` made: the mix, the (id, change key) of the window's meetings still
    ahead, the Message-IDs and MIME of Sent Items, and the MIME bytes delivered to the inbox."""

    mix: Mix
    ahead: list[tuple[str, str]] = field(default_factory=list)
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    inbox_bytes: int = 0


def contact(c: int, index: int) -> tuple[str, str]:
    role = ("boss", "pm")[index % 2]
    return f"{role.title()} {c}", f"{role}@client{c}.example"


def slots(first: datetime, last: datetime, count: int) -> list[datetime]:
    """``count`` meeting starts on the hours 09-16 of weekdays, spread evenly from first to last."""
    hours: list[datetime] = []
    day = first.astimezone(ZONE).date()
    while day < last.astimezone(ZONE).date():
        if day.weekday() < 5:
            hours += [datetime(day.year, day.month, day.day, h, tzinfo=ZONE) for h in range(9, 17)]
        day += timedelta(days=1)
    return [hours[i * len(hours) // count] for i in range(count)] if count else []


def ews_time(value: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(value.astimezone(UTC))


def client_mail(c: int, index: int, sent: datetime, answers: str = "", away: bool = False) -> bytes:
    """A client's mail as Outlook sends it, text and HTML; a reply if it ``answers`` a
    Message-ID, an out-of-office reply if ``away``."""
    name, address = contact(c, index)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"{name} <{address}>"
    message["To"] = f"{AE_NAME} <{AE}>"
    message["Subject"] = f"{'RE: ' if answers else ''}Autumn campaign, Client {c} ({index})"
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = f"<in{index:07d}@client{c}.example>"
    if answers:
        message["In-Reply-To"] = message["References"] = answers
    if away:
        message.replace_header("Subject", "Automatic reply: " + message["Subject"])
        message["Auto-Submitted"] = "auto-replied"
        message.set_content("I am out of the office until Monday and will reply on my return.\n")
        return message.as_bytes()
    text = BODY.format(name=AE_NAME, sender=name)
    message.set_content(text)
    html = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
    message.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
    return message.as_bytes()


def sent_mail(j: int, sent: datetime) -> tuple[str, str, bytes]:
    """(key, Message-ID, MIME) of the ``j``th mail the AE sent to a client through aeflow."""
    c = j % CLIENTS
    name, address = contact(c, j)
    key = f"{KINDS[j % len(KINDS)]}:client{c}-{j:06d}"
    message_id = f"<s{j:06d}@{DOMAIN}>"
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"{AE_NAME} <{AE}>"
    message["To"] = f"{name} <{address}>"
    message["Subject"] = f"Client {c}: meeting confirmation {j}"
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = message_id
    message["X-AEFlow-Key"] = key
    message["Disposition-Notification-To"] = AE
    message["Return-Receipt-To"] = AE
    message.set_content(BODY.format(name=name, sender=AE_NAME) + "\n" + AGENDA)
    return key, message_id, message.as_bytes()


def inbox_item(i: int, filled: Filled, received: datetime) -> bytes:
    """The ``i``th inbox message: of every twenty, eleven new client mails, four replies to
    what the AE sent, two delivery receipts, two read receipts, and an out-of-office reply or
    a bounce."""
    c, turn = i % CLIENTS, i % 20
    if turn <= 10 or not filled.sent:
        return client_mail(c, i, received)
    # Answers go to a mail sent about as long ago as the answer arrived.
    message_id, original = filled.sent[i * len(filled.sent) // max(filled.mix.inbox, 1)]
    name, address = contact(c, i)
    report_id = server_mime.make_message_id(server_mime.REPORTING_MTA)
    if turn <= 14:
        return client_mail(c, i, received, answers=message_id)
    if turn <= 16:
        return server_mime.delivery_status(
            original=original, original_id=message_id, recipients=[address], action="delivered",
            to=AE, sent=received, message_id=report_id,
        )  # fmt: skip
    if turn <= 18:
        return server_mime.disposition(
            original=original, original_id=message_id, reader=(address, name), to=AE,
            sent=received, message_id=f"<mdn{i:07d}@client{c}.example>",
        )  # fmt: skip
    if (i // 20) % 2 == 0:
        return client_mail(c, i, received, answers=message_id, away=True)
    return server_mime.delivery_status(
        original=original, original_id=message_id, recipients=[f"left{i}@client{c}.example"],
        action="failed", to=AE, sent=received, message_id=report_id,
    )  # fmt: skip


def meeting_item(
    account: Any, index: int, start: datetime, length: timedelta, weekly: int = 0
) -> CalendarItem:
    """A client meeting the AE organizes; with ``weekly``, a series of that many weeks."""
    c = index % CLIENTS
    people = [contact(c, 0), contact(c, 1), (f"Team {c}", f"team{c}@{DOMAIN}")]
    day = start.astimezone(UTC).date()
    pattern = WeeklyPattern(interval=1, weekdays=[day.isoweekday()])
    series = Recurrence(pattern=pattern, start=EWSDate.from_date(day), number=weekly)
    return CalendarItem(
        account=account,
        folder=account.calendar,
        uid=series_uid(index) if weekly else f"m{index:06d}@{DOMAIN}",
        subject=f"Client {c} weekly status" if weekly else f"Client {c} review {index}",
        start=ews_time(start),
        end=ews_time(start + length),
        location=f"Meeting room {index % 4 + 1}",
        categories=[f"Client {c}"],
        body=AGENDA,
        required_attendees=[Attendee(mailbox=Mailbox(email_address=e, name=n)) for n, e in people],
        recurrence=series if weekly else None,
    )


def fill_mailbox(server: EwsServer, clock: FixedClock, total: int) -> Filled:
    """Give the server the AE's mailbox of ``total`` items; ``clock`` is the server's, moved to
    each arrival's time and left at ``NOW``. Ends with the server's request counts at zero."""
    mix = Mix.of(total)
    filled = Filled(mix)
    box = server.add_mailbox(AE, PASSWORD, AE_NAME)
    session = session_for(server)
    account = session.account
    year_ago = NOW - timedelta(days=365)
    register_properties()
    sent_items = []
    for j in range(mix.sent):
        at = year_ago + (NOW - year_ago) * j / mix.sent
        key, message_id, raw = sent_mail(j, at)
        filled.sent.append((message_id, raw))
        stamped = {"aeflow_key": key, "aeflow_sent_at": ews_time(at)}
        sent_items.append(Message(account=account, mime_content=raw, is_read=True, **stamped))
    account.bulk_create(folder=account.sent, items=sent_items, chunk_size=100)
    for i in range(mix.inbox):
        received = year_ago + (NOW - year_ago) * (i + 1) / mix.inbox
        clock.set(received)
        raw = inbox_item(i, filled, received)
        filled.inbox_bytes += len(raw)
        box.deliver_mime(raw)
    clock.set(NOW)
    start, end = window(NOW)
    hour = timedelta(hours=1)
    past = [
        meeting_item(account, i, at, hour)
        for i, at in enumerate(slots(year_ago, start, mix.past_meetings))
    ]
    current = [
        meeting_item(account, mix.past_meetings + i, at, hour)
        for i, at in enumerate(slots(start, end, mix.window_meetings))
    ]
    account.bulk_create(folder=account.calendar, items=past, chunk_size=100)
    created = account.bulk_create(folder=account.calendar, items=current, chunk_size=100)
    ahead = [made for item, made in zip(current, created, strict=True) if item.start > NOW]
    filled.ahead = [(made.id, made.changekey) for made in ahead]
    # Weekly status meetings for a year, begun half a year ago, on weekdays from 09:30 on.
    monday = (NOW - timedelta(weeks=26)).date()
    monday -= timedelta(days=monday.weekday())
    firsts = [
        datetime.combine(monday + timedelta(days=s % 5), time(9 + s % 8, 30), tzinfo=ZONE)
        for s in range(mix.series)
    ]
    half_hour = timedelta(minutes=30)
    series = [meeting_item(account, s, at, half_hour, 52) for s, at in enumerate(firsts)]
    account.bulk_create(folder=account.calendar, items=series, chunk_size=100)
    session.close()
    server.stats.reset()
    return filled


def change_a_few(server: EwsServer, filled: Filled, clock: FixedClock) -> tuple[str, str]:
    """What a few minutes of a working day bring: three inbox messages (a reply, a read
    receipt, a new mail), a meeting moved by an hour and a new meeting booked. The UIDs of the
    moved and the new meeting."""
    box = server.mailbox(AE)
    moment = clock.now()
    message_id, original = filled.sent[-1]
    box.deliver_mime(client_mail(1, 900_001, moment, answers=message_id))
    receipt = server_mime.disposition(
        original=original, original_id=message_id, reader=contact(2, 0)[::-1], to=AE,
        sent=moment, message_id="<mdn-new@client2.example>",
    )  # fmt: skip
    box.deliver_mime(receipt)
    box.deliver_mime(client_mail(3, 900_002, moment))
    session = session_for(server)
    account = session.account
    (moved,) = account.fetch(
        ids=filled.ahead[len(filled.ahead) // 2 :][:1], only_fields=["uid", "start", "end"]
    )
    moved.start, moved.end = moved.start + timedelta(hours=1), moved.end + timedelta(hours=1)
    moved.save(update_fields=["start", "end"], send_meeting_invitations="SendToNone")
    booked = meeting_item(account, 900_000, NOW + timedelta(days=3, hours=5), timedelta(hours=1))
    booked.save(send_meeting_invitations="SendToNone")
    session.close()
    return str(moved.uid), str(booked.uid)


def series_uid(s: int) -> str:
    return f"weekly{s:03d}@{DOMAIN}"


def counts(server: EwsServer) -> dict[str, int]:
    return {operation: s.count for operation, s in server.stats.by_operation().items()}


# --- the tests ------------------------------------------------------------------------------------


@dataclass
class Synced:
    """A 200-item mailbox after the first sync: its adapters, their states, what that cost."""

    server: EwsServer
    filled: Filled
    clock: FixedClock
    calendar: EwsCalendar
    mail: EwsMailbox
    first: CalendarChanges
    inbox: MailChanges
    cost: dict[str, int]


@pytest.fixture
def synced() -> Iterator[Synced]:
    require_corpus("ews")  # the server checks every request against the schemas there
    clock = FixedClock(NOW)
    with EwsServer(clock=clock.now) as server:
        filled = fill_mailbox(server, clock, 200)
        calendar = EwsCalendar(session_for(server), ZONE)
        mail = EwsMailbox(session_for(server), DOMAIN)
        start, end = window(NOW)
        first, inbox = calendar.sync(None, start, end), mail.sync_inbox(None)
        cost = counts(server)
        server.stats.reset()
        yield Synced(server, filled, clock, calendar, mail, first, inbox, cost)
    server.assert_valid()


def test_an_idle_tick_asks_one_sync_per_watched_folder_and_reads_no_item(synced: Synced) -> None:
    start, end = window(NOW)
    for _ in range(3):
        again = synced.calendar.sync(synced.first.state, start, end)
        assert (again.upserted, again.removed) == ((), ())
        assert synced.mail.sync_inbox(synced.inbox.state).signals == ()
    assert counts(synced.server) == {"SyncFolderItems": 2 * 3}


def test_a_tick_with_a_few_changes_reads_only_the_changed_items(synced: Synced) -> None:
    start, end = window(NOW)
    moved, booked = change_a_few(synced.server, synced.filled, synced.clock)
    synced.server.stats.reset()
    changes = synced.calendar.sync(synced.first.state, start, end)
    arrived = synced.mail.sync_inbox(synced.inbox.state)
    assert sorted(m.uid for m in changes.upserted) == sorted([moved, booked])
    assert changes.removed == ()
    kinds = sorted(s.kind for s in arrived.signals)
    assert kinds == sorted([SignalKind.REPLY, SignalKind.READ_RECEIPT, SignalKind.MESSAGE])
    # One GetItem for the two meetings, one for the three messages' MIME.
    assert counts(synced.server) == {"SyncFolderItems": 2, "GetItem": 2}
    synced.server.stats.reset()
    synced.calendar.sync(changes.state, start, end)
    synced.mail.sync_inbox(arrived.state)
    assert counts(synced.server) == {"SyncFolderItems": 2}


def test_the_first_sync_reads_the_window_and_every_inbox_message_once(synced: Synced) -> None:
    mix = synced.filled.mix
    singles = [m for m in synced.first.upserted if m.occurrence_id == ""]
    occurrences = [m for m in synced.first.upserted if m.occurrence_id]
    assert len(singles) == mix.window_meetings
    assert {m.uid for m in occurrences} == {series_uid(s) for s in range(mix.series)}
    assert len(synced.inbox.signals) == mix.inbox and synced.inbox.problems == ()
    assert {s.kind for s in synced.inbox.signals} == {
        SignalKind.MESSAGE,
        SignalKind.REPLY,
        SignalKind.DELIVERY_RECEIPT,
        SignalKind.READ_RECEIPT,
        SignalKind.AUTO_REPLY,
        SignalKind.BOUNCE,
    }
    # The calendar folder listed 512 changes a request, the window viewed once and its items
    # read 50 a request; the inbox listed, each message's MIME read 10 a request. (GetFolder
    # finds the folders when a session starts.)
    listed = math.ceil((mix.past_meetings + mix.window_meetings + mix.series) / 512)
    viewed = len(synced.first.upserted)
    assert {op: n for op, n in synced.cost.items() if op != "GetFolder"} == {
        "SyncFolderItems": listed + math.ceil(mix.inbox / 512),
        "FindItem": 1,
        "GetItem": math.ceil(viewed / 50) + math.ceil(mix.inbox / 10),
    }


def test_the_daily_move_of_the_window_views_it_once_and_reads_no_mail(synced: Synced) -> None:
    start, end = window(NOW + timedelta(days=1))
    moved = synced.calendar.sync(synced.first.state, start, end)
    assert synced.mail.sync_inbox(synced.inbox.state).signals == ()
    assert all(m.end > end - timedelta(days=1) for m in moved.upserted)
    cost = counts(synced.server)
    in_view = len(EwsCalendar(session_for(synced.server), ZONE).sync(None, start, end).upserted)
    assert cost == {"SyncFolderItems": 2, "FindItem": 1, "GetItem": math.ceil(in_view / 50)}
