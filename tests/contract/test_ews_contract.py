"""The EWS adapters against the loopback Exchange server (``tests/ews_server``).

``EwsCalendar`` passes ``CalendarContract`` and ``EwsMailbox`` passes ``MailContract``: the editor
and the harness change the mailbox the way its people would, through exchangelib or the server's
own hands (a delivery from outside, a read receipt when someone reads a mail). Every test ends
with the server's check that each request and answer was valid against the official EWS schemas.

Then what only Exchange has: report items and meeting responses as signals, throttling and faults
as aeflow's errors, sends that are never repeated, and how few requests an idle tick costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib import Attendee, CalendarItem, EWSDate, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, Recurrence

from aeflow.clock import FixedClock
from calendar_sync.ews import EwsCalendar
from calendar_sync.port import CalendarBackend
from mailer.ews import EwsMailbox
from mailer.ews_session import KEY_PROPERTY, PROPERTY_SET, SENT_AT_PROPERTY, EwsSession, EwsSettings
from mailer.port import KEY_HEADER, MailBackend
from rules.model import Response, SignalKind
from tests.contract.test_calendar_contract import END, START, CalendarContract, at
from tests.contract.test_mail_contract import (
    DOMAIN,
    KEY,
    ORIGINAL_ID,
    RECEIPT,
    RECEIPT_ORIGINAL,
    MailContract,
    MailHarness,
    corpus_mail,
    outgoing,
)
from tests.contract.test_mail_contract import START as MAIL_START
from tests.ews_server import EwsServer

AE = "ae@agency.example"
COLLEAGUE = "wang.lei@agency.example"
CLIENT = "li.na@client.example"
# Everyone the mail contract writes to has a mailbox, so no bounce lands in the AE's inbox.
RECIPIENTS = (CLIENT, "team@agency.example", "manager@agency.example", "bob@example.net")
PASSWORD = "correct horse"
PASSWORD_ENV = "AEFLOW_TEST_EWS_PASSWORD"
ZONE = ZoneInfo("Asia/Shanghai")
EWS_UTC = EWSTimeZone("UTC")


def session_for(
    server: EwsServer, email: str = AE, password: str = PASSWORD, **changes: Any
) -> EwsSession:
    """A session as the configuration would build it: basic auth, the password from the env."""
    values: dict[str, Any] = {
        "email": email,
        "ews_url": server.url,
        "auth": "basic",
        "password_env": PASSWORD_ENV,
        "version": "Exchange2016",
        "timeout": 10,
    }
    values.update(changes)
    return EwsSession(EwsSettings(**values), ZONE, environ={PASSWORD_ENV: password})


def ews_time(value: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(value.astimezone(ZoneInfo("UTC")))


@pytest.fixture
def server() -> Iterator[EwsServer]:
    with EwsServer() as running:
        running.add_mailbox(AE, PASSWORD, "Wang Fang")
        running.add_mailbox(COLLEAGUE, PASSWORD, "Wang Lei")
        yield running
    running.assert_valid()


# --- the calendar ---------------------------------------------------------------------------------


class EwsEditor:
    """Edits the AE's Exchange calendar as people do, through exchangelib.

    A single event is a meeting a colleague organizes with the AE invited, as most of an AE's
    calendar is: so a cancellation marks the AE's copy cancelled, as Exchange does (an organizer
    who cancels their own meeting removes it). A series is the AE's own appointment.
    """

    def __init__(self, server: EwsServer) -> None:
        self.server = server
        self.user = session_for(server)
        self.colleague = session_for(server, COLLEAGUE)
        self.backend: CalendarBackend = EwsCalendar(session_for(server), ZONE)
        self.meetings: dict[str, CalendarItem] = {}
        self.series: dict[str, CalendarItem] = {}
        self.firsts: dict[str, datetime] = {}
        self.lengths: dict[str, timedelta] = {}
        self.broken: dict[str, str] = {}

    def _copy(self, uid: str) -> CalendarItem:
        """The AE's own copy of a meeting (found the way Outlook does, by UID)."""
        account = self.user.account
        for item in account.calendar.all().only("uid", "subject", "start", "end"):
            if item.uid == uid:
                return item
        raise KeyError(uid)

    def add_event(self, uid: str, subject: str, start: datetime, end: datetime) -> None:
        account = self.colleague.account
        meeting = CalendarItem(
            account=account,
            folder=account.calendar,
            uid=uid,
            subject=subject,
            start=ews_time(start),
            end=ews_time(end),
            required_attendees=[Attendee(mailbox=Mailbox(email_address=AE))],
        )
        meeting.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        self.meetings[uid] = meeting

    def add_series(
        self, uid: str, subject: str, first: datetime, length: timedelta, count: int
    ) -> None:
        account = self.user.account
        series = CalendarItem(
            account=account,
            folder=account.calendar,
            uid=uid,
            subject=subject,
            start=ews_time(first),
            end=ews_time(first + length),
            recurrence=Recurrence(
                pattern=DailyPattern(interval=1),
                start=EWSDate.from_date(first.astimezone(ZoneInfo("UTC")).date()),
                number=count,
            ),
        )
        series.save(send_meeting_invitations=SEND_TO_NONE)
        self.series[uid], self.firsts[uid], self.lengths[uid] = series, first, length

    def _update(self, uid: str, **values: object) -> None:
        meeting = self.meetings[uid]
        for name, value in values.items():
            setattr(meeting, name, value)
        meeting.save(update_fields=list(values), send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    def rename(self, uid: str, subject: str) -> None:
        self._update(uid, subject=subject)

    def move(self, uid: str, start: datetime, end: datetime) -> None:
        self._update(uid, start=ews_time(start), end=ews_time(end))

    def cancel(self, uid: str) -> None:
        self.meetings[uid].cancel()

    def delete(self, uid: str) -> None:
        # The AE deletes the meeting from their own calendar.
        self._copy(uid).delete(send_meeting_cancellations=SEND_TO_NONE)

    def _occurrence(self, uid: str, original: datetime) -> CalendarItem:
        index = (original - self.firsts[uid]) // timedelta(days=1) + 1
        (occurrence,) = self.user.account.fetch([self.series[uid].occurrence(index)])
        assert occurrence.start == original
        return occurrence

    def exclude(self, uid: str, original: datetime) -> None:
        self._occurrence(uid, original).delete(send_meeting_cancellations=SEND_TO_NONE)

    def move_occurrence(self, uid: str, original: datetime, start: datetime) -> None:
        occurrence = self._occurrence(uid, original)
        occurrence.start = ews_time(start)
        occurrence.end = ews_time(start + self.lengths[uid])
        occurrence.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)

    def break_source(self, uid: str) -> None:
        # A client writes the item back broken: a change the sync reports, then unreadable.
        # (The server's garble() alone records no change; see the server's notes.)
        copy = self._copy(uid)
        copy.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
        self.broken[uid] = str(copy.id)
        self.server.mailbox(AE).garble(self.broken[uid])

    def restore(self, uid: str) -> None:
        self.server.mailbox(AE).restore(self.broken.pop(uid))


class TestEwsCalendarContract(CalendarContract):
    @pytest.fixture
    def editor(self, server: EwsServer) -> Iterator[Any]:
        yield EwsEditor(server)


# --- the mailbox ----------------------------------------------------------------------------------


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


class EwsHarness:
    """The AE's Exchange mailbox: mail from outside arrives through the server's transport."""

    def __init__(self, server: EwsServer, clock: FixedClock) -> None:
        self.server = server
        self.clock = clock
        self.backend: MailBackend = EwsMailbox(session_for(server), DOMAIN, clock=clock.now)

    def deliver(self, raw: bytes) -> None:
        self.server.mailbox(AE).deliver_mime(raw)

    def file_in_sent(self, message: EmailMessage) -> None:
        self.server.mailbox(AE).deliver_mime(message.as_bytes(), folder="sentitems")

    def sent_copies(self) -> list[EmailMessage]:
        items = self.server.mailbox(AE).items("sentitems")
        return [parsed(item.mime) for item in items if item.mime is not None]


@pytest.fixture
def mail_server() -> Iterator[tuple[EwsServer, FixedClock]]:
    clock = FixedClock(MAIL_START)
    with EwsServer(clock=clock.now) as running:
        running.add_mailbox(AE, PASSWORD, "Wang Fang")
        for address in RECIPIENTS:
            running.add_mailbox(address, PASSWORD)
        yield running, clock
    running.assert_valid()


class TestEwsMailContract(MailContract):
    @pytest.fixture
    def harness(self, mail_server: tuple[EwsServer, FixedClock]) -> Iterator[Any]:
        yield EwsHarness(*mail_server)

    def test_a_read_receipt_answers_the_message_id_that_send_returned(
        self, harness: MailHarness
    ) -> None:
        # As the contract's test, except for one thing only Exchange does: every mail leaves with
        # a delivery receipt requested, and the server files one when it delivers the mail. So
        # the inbox holds that receipt as well; both answer the Message-ID send returned.
        original = parsed(corpus_mail(RECEIPT_ORIGINAL))
        message_id = harness.backend.send(original, KEY)
        assert message_id == ORIGINAL_ID
        harness.deliver(corpus_mail(RECEIPT))
        signals = harness.backend.sync_inbox(None).signals
        by_kind = {s.kind: s for s in signals}
        assert sorted(by_kind) == sorted([SignalKind.READ_RECEIPT, SignalKind.DELIVERY_RECEIPT])
        assert len(signals) == 2
        assert message_id in by_kind[SignalKind.READ_RECEIPT].answers
        assert message_id in by_kind[SignalKind.DELIVERY_RECEIPT].answers
        assert by_kind[SignalKind.DELIVERY_RECEIPT].recipient == "bob@example.net"


# --- what only Exchange does --------------------------------------------------------------------


def sent_by(server: EwsServer, email: str, key: str) -> list[Any]:
    """The items in ``email``'s Sent Items that carry ``key`` in aeflow's property."""
    return [
        item
        for item in server.mailbox(email).items("sentitems")
        if item.extended_value(PROPERTY_SET, KEY_PROPERTY) == key
    ]


def test_an_idle_tick_costs_one_sync_request_per_folder(server: EwsServer) -> None:
    editor = EwsEditor(server)
    editor.add_event("a", "Kick-off", at(3), at(3, 10))
    editor.add_series("s", "Stand-up", at(2, 1), timedelta(minutes=15), 10)
    calendar = editor.backend.sync(None, START, END)
    mailbox = EwsMailbox(session_for(server), DOMAIN)
    inbox = mailbox.sync_inbox(None)
    server.stats.reset()
    assert editor.backend.sync(calendar.state, START, END).upserted == ()
    assert mailbox.sync_inbox(inbox.state).signals == ()
    assert {op: s.count for op, s in server.stats.by_operation().items()} == {"SyncFolderItems": 2}


def test_a_changed_series_is_viewed_again_and_only_its_change_is_reported(
    server: EwsServer,
) -> None:
    editor = EwsEditor(server)
    editor.add_series("s", "Stand-up", at(2, 1), timedelta(minutes=15), 10)
    editor.add_series("t", "Traffic meeting", at(2, 8), timedelta(minutes=30), 10)
    first = editor.backend.sync(None, START, END)
    editor.move_occurrence("s", at(4, 1), at(4, 2))
    server.stats.reset()
    changes = editor.backend.sync(first.state, START, END)
    assert [(m.key, m.start) for m in changes.upserted] == [
        ("s/2026-03-04T01:00:00+00:00", at(4, 2))
    ]
    assert changes.removed == ()
    counts = {op: s.count for op, s in server.stats.by_operation().items()}
    assert counts["SyncFolderItems"] == 1 and counts["FindItem"] == 1


def test_an_attendees_answer_reaches_the_meeting_and_the_inbox(server: EwsServer) -> None:
    server.add_mailbox(CLIENT, PASSWORD, "Li Na")
    account = session_for(server).account
    meeting = CalendarItem(
        account=account,
        folder=account.calendar,
        uid="brand-review-7",
        subject="Brand review",
        start=ews_time(at(3, 2)),
        end=ews_time(at(3, 3)),
        categories=["Client A"],
        required_attendees=[Attendee(mailbox=Mailbox(email_address=CLIENT, name="Li Na"))],
    )
    meeting.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    calendar = EwsCalendar(session_for(server), ZONE)
    mailbox = EwsMailbox(session_for(server), DOMAIN)
    first, inbox = calendar.sync(None, START, END), mailbox.sync_inbox(None)
    (before,) = first.upserted
    assert before.categories == ("Client A",)
    assert before.attendee(CLIENT) is not None
    assert before.attendee(CLIENT).response is Response.NEEDS_ACTION  # type: ignore[union-attr]
    client = server.mailbox(CLIENT)
    (request,) = [i for i in client.items("inbox") if i.item_class.startswith("IPM.Schedule")]
    client.respond(request.item_id, "Accept")
    (after,) = calendar.sync(first.state, START, END).upserted
    answer = after.attendee(CLIENT)
    assert answer is not None and answer.response is Response.ACCEPTED
    assert answer.responded_at is not None and answer.responded_at.utcoffset() is not None
    (response,) = mailbox.sync_inbox(inbox.state).signals
    assert (response.kind, response.response) == (SignalKind.MEETING_RESPONSE, Response.ACCEPTED)
    assert (response.uid, response.recipient) == ("brand-review-7", CLIENT)


def test_a_read_receipt_from_exchange_confirms_the_mail_it_answers(
    mail_server: tuple[EwsServer, FixedClock],
) -> None:
    server, clock = mail_server
    mailbox = EwsMailbox(session_for(server), DOMAIN, clock=clock.now)
    message_id = mailbox.send(outgoing(), KEY)
    client = server.mailbox(CLIENT)
    (arrived,) = client.items("inbox")
    client.mark_read(arrived.item_id)
    signals = {s.kind: s for s in mailbox.sync_inbox(None).signals}
    assert sorted(signals) == sorted([SignalKind.READ_RECEIPT, SignalKind.DELIVERY_RECEIPT])
    for signal in signals.values():
        assert message_id in signal.answers
        assert signal.recipient == CLIENT


def test_mail_to_an_address_nobody_has_comes_back_as_a_bounce(
    mail_server: tuple[EwsServer, FixedClock],
) -> None:
    server, clock = mail_server
    mailbox = EwsMailbox(session_for(server), DOMAIN, clock=clock.now)
    message = outgoing()
    message.replace_header("To", "Nobody <nobody@client.example>")
    message_id = mailbox.send(message, KEY)
    (bounce,) = mailbox.sync_inbox(None).signals
    assert bounce.kind is SignalKind.BOUNCE
    assert bounce.recipient == "nobody@client.example"
    assert message_id in bounce.answers


def test_a_sent_mail_carries_the_key_property_and_asks_for_both_receipts(
    mail_server: tuple[EwsServer, FixedClock],
) -> None:
    server, clock = mail_server
    EwsMailbox(session_for(server), DOMAIN, clock=clock.now).send(outgoing(), KEY)
    (copy,) = sent_by(server, AE, KEY)
    assert copy.extended_value(PROPERTY_SET, SENT_AT_PROPERTY) is not None
    assert copy.flag("IsReadReceiptRequested") and copy.flag("IsDeliveryReceiptRequested")
    assert parsed(copy.mime)[KEY_HEADER] == KEY


def test_sending_again_with_a_key_already_in_sent_items_sends_nothing(
    mail_server: tuple[EwsServer, FixedClock],
) -> None:
    # The engine sends again when a send raised before it could mark the action sent (an answer
    # lost on the way back): the mailbox, not the store, says whether it went.
    server, clock = mail_server
    mailbox = EwsMailbox(session_for(server), DOMAIN, clock=clock.now)
    first = mailbox.send(outgoing(), KEY)
    again = mailbox.send(outgoing(), KEY)
    assert again == first
    assert len(sent_by(server, AE, KEY)) == 1
    assert len(server.mailbox(CLIENT).items("inbox")) == 1


def test_the_raw_message_is_fetched_by_its_message_id(
    mail_server: tuple[EwsServer, FixedClock],
) -> None:
    server, clock = mail_server
    mailbox = EwsMailbox(session_for(server), DOMAIN, clock=clock.now)
    raw = corpus_mail(RECEIPT)
    server.mailbox(AE).deliver_mime(raw)
    fetched = mailbox.fetch("59b1d0c94a8d4834b7ab779a76647d44@mail.example.org")
    assert fetched is not None
    assert parsed(fetched)["Message-ID"] == "<59b1d0c94a8d4834b7ab779a76647d44@mail.example.org>"
    assert mailbox.fetch("<never-arrived@client.example>") is None


def test_an_inbox_item_the_server_cannot_give_is_a_problem_once(
    mail_server: tuple[EwsServer, FixedClock],
) -> None:
    server, clock = mail_server
    mailbox = EwsMailbox(session_for(server), DOMAIN, clock=clock.now)
    box = server.mailbox(AE)
    broken = box.deliver_mime(corpus_mail(RECEIPT))
    box.garble(broken)
    first = mailbox.sync_inbox(None)
    (problem,) = first.problems
    assert "ErrorCorruptData" in problem.message and first.signals == ()
    again = mailbox.sync_inbox(first.state)
    assert (again.signals, again.problems) == ((), ())


def test_a_sync_state_the_server_refuses_starts_the_folder_afresh(server: EwsServer) -> None:
    editor = EwsEditor(server)
    editor.add_event("a", "Kick-off", at(3), at(3, 10))
    first = editor.backend.sync(None, START, END)
    forged = first.state.replace('"cursor": "', '"cursor": "x', 1)
    changes = editor.backend.sync(forged, START, END)
    assert changes.upserted == () and changes.removed == ()
    assert any("sync state" in p.message for p in changes.problems)
