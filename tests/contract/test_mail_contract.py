"""The contract every ``MailBackend`` keeps (see ``mailer/port.py``).

``MailContract`` holds the tests; an adapter's test class subclasses it and provides a ``harness``
fixture: a ``MailHarness`` with the backend, the clock the backend reads, and the ways the world
changes the mailbox behind it (a message arriving, a message the user sent by hand) and looks
into it (the copies in Sent, as another mail client sees them). The tests speak only of raw mail
and MIME, so the EWS, Graph and IMAP adapters can subclass the same class with a harness that
talks to their loopback servers.

Inbound mail is real: a Postfix bounce, an Exchange read receipt and an Exchange out-of-office
reply from the corpus (see each folder's MANIFEST.tsv).
"""

from __future__ import annotations

import itertools
import mailbox
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import pytest

from aeflow.clock import FixedClock
from mailer.maildir import MaildirMailbox
from mailer.memory import MemoryMailbox
from mailer.port import CHAIN_HEADER, COVERS_HEADER, KEY_HEADER, MailBackend, MailChanges
from rules.errors import NaiveDateTimeError
from rules.model import SignalKind
from tests.conftest import require_corpus

DOMAIN = "agency.example"
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # a Monday, 09:30 in Beijing
KEY = "confirm:brand-review-7@agency.example:2026-03-03T02:00:00+00:00"
# Exchange meeting UIDs run to 130 characters; a key holding one must survive the Sent folder.
LONG_KEY = (
    "confirm:040000008200E00074C5B7101A82E0080000000000628DD5412CDA010000000000000000100000003"
    "64A1A3FF3EE024AAF97479096254D81:2024-01-08T12:00:00+00:00"
)

# Real mail, with what the corpus manifests say each one is.
BOUNCE = ("bounces", "lhost-postfix-01.eml")  # Postfix DSN: kijitora@example.org unknown
BOUNCE_ID = "<20130429234532.00000000000@p351355.pool.example.ne.jp>"
RECEIPT = ("mdn", "deltachat-exchange-read-receipt-de.eml")  # Exchange read receipt, German
RECEIPT_ID = "<59b1d0c94a8d4834b7ab779a76647d44@mail.example.org>"
RECEIPT_ORIGINAL = ("mdn", "deltachat-exchange-read-receipt-de.ORIGINAL.eml")
ORIGINAL_ID = "<d5904dc344eeb5deaf9bb44603f0c716@posteo.de>"
AUTO_REPLY = ("autoreplies", "soe-rfc3834-02.eml")  # Exchange "Automatic reply"
AUTO_REPLY_ID = "<fb1b2d9ea3df46d9839a6dcb99410ebb@neko.nyaan.example.net>"

# What a truncated file looks like once its headers are gone: no header at all.
NOT_MAIL = b"the middle of a message body that lost its headers\r\n\r\nregards\r\n"


def corpus_mail(where: tuple[str, str]) -> bytes:
    folder, name = where
    return (require_corpus(folder) / name).read_bytes()


class MailHarness(Protocol):
    """The backend under test, its clock, and the mailbox behind it."""

    @property
    def backend(self) -> MailBackend: ...

    @property
    def clock(self) -> FixedClock:
        """The clock the backend reads; tests move it."""

    def deliver(self, raw: bytes) -> None:
        """Put ``raw`` into the inbox as the server would on arrival, at the clock's time."""

    def file_in_sent(self, message: EmailMessage) -> None:
        """Put a message into Sent as the user's own mail client would (no key of ours)."""

    def sent_copies(self) -> list[EmailMessage]:
        """Every message in Sent, as another mail client reads it (in no particular order)."""


def outgoing(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Wang Fang <ae@agency.example>"
    message["To"] = "Li Na <Li.Na@Client.example>"
    message["Subject"] = "Confirmation: brand review, 3 March 10:00"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Dear Ms. Li,\n\nThis confirms tomorrow's meeting at 10:00.\n")
    return message


def seen(changes: MailChanges) -> set[tuple[str, SignalKind]]:
    return {(s.message_id, s.kind) for s in changes.signals}


class MailContract:
    @pytest.fixture
    def harness(self) -> Iterator[MailHarness]:
        raise NotImplementedError("an adapter's test class provides the harness")

    def deliver_corpus(self, harness: MailHarness) -> None:
        for where in (BOUNCE, RECEIPT, AUTO_REPLY):
            harness.deliver(corpus_mail(where))
            harness.clock.set(harness.clock.now() + timedelta(minutes=1))

    # --- inbound --------------------------------------------------------------------------------

    def test_an_empty_inbox_reports_nothing_and_a_state_to_go_on_from(
        self, harness: MailHarness
    ) -> None:
        first = harness.backend.sync_inbox(None)
        assert (first.signals, first.problems) == ((), ())
        harness.deliver(corpus_mail(BOUNCE))
        assert seen(harness.backend.sync_inbox(first.state)) == {(BOUNCE_ID, SignalKind.BOUNCE)}

    def test_the_first_sync_reports_every_message_in_the_inbox_classified(
        self, harness: MailHarness
    ) -> None:
        self.deliver_corpus(harness)
        changes = harness.backend.sync_inbox(None)
        assert changes.problems == ()
        assert seen(changes) == {
            (BOUNCE_ID, SignalKind.BOUNCE),
            (RECEIPT_ID, SignalKind.READ_RECEIPT),
            (AUTO_REPLY_ID, SignalKind.AUTO_REPLY),
        }
        by_kind = {s.kind: s for s in changes.signals}
        assert by_kind[SignalKind.BOUNCE].recipient == "kijitora@example.org"
        assert by_kind[SignalKind.READ_RECEIPT].recipient == "bob@example.net"
        assert by_kind[SignalKind.READ_RECEIPT].answers[0] == ORIGINAL_ID
        assert by_kind[SignalKind.AUTO_REPLY].sender == "nekonyaan@example.org"
        assert all(s.at.utcoffset() is not None for s in changes.signals)

    def test_a_sync_from_the_returned_state_reports_nothing(self, harness: MailHarness) -> None:
        self.deliver_corpus(harness)
        first = harness.backend.sync_inbox(None)
        again = harness.backend.sync_inbox(first.state)
        assert (again.signals, again.problems) == ((), ())
        assert harness.backend.sync_inbox(again.state).signals == ()

    def test_a_message_arriving_after_a_sync_is_reported_alone(self, harness: MailHarness) -> None:
        harness.deliver(corpus_mail(BOUNCE))
        first = harness.backend.sync_inbox(None)
        harness.clock.set(START + timedelta(hours=1))
        harness.deliver(corpus_mail(RECEIPT))
        later = harness.backend.sync_inbox(first.state)
        assert seen(later) == {(RECEIPT_ID, SignalKind.READ_RECEIPT)}

    def test_syncing_again_from_an_old_state_replays_the_same_signals(
        self, harness: MailHarness
    ) -> None:
        # The caller saves the state only once the signals are stored; a crash in between means
        # the next sync starts from the old state, and must hand the same signals over again.
        harness.deliver(corpus_mail(BOUNCE))
        first = harness.backend.sync_inbox(None)
        harness.deliver(corpus_mail(RECEIPT))
        harness.deliver(corpus_mail(AUTO_REPLY))
        lost = harness.backend.sync_inbox(first.state)
        replayed = harness.backend.sync_inbox(first.state)
        assert seen(lost) == {
            (RECEIPT_ID, SignalKind.READ_RECEIPT),
            (AUTO_REPLY_ID, SignalKind.AUTO_REPLY),
        }
        assert sorted(replayed.signals, key=repr) == sorted(lost.signals, key=repr)
        assert seen(harness.backend.sync_inbox(None)) == seen(first) | seen(lost)

    def test_an_unreadable_message_is_a_problem_and_does_not_stop_the_others(
        self, harness: MailHarness
    ) -> None:
        harness.deliver(corpus_mail(BOUNCE))
        harness.deliver(NOT_MAIL)
        harness.deliver(corpus_mail(AUTO_REPLY))
        changes = harness.backend.sync_inbox(None)
        assert seen(changes) == {
            (BOUNCE_ID, SignalKind.BOUNCE),
            (AUTO_REPLY_ID, SignalKind.AUTO_REPLY),
        }
        (problem,) = changes.problems
        assert problem.where
        assert "not a mail message" in problem.message

    def test_an_unreadable_message_is_skipped_for_good(self, harness: MailHarness) -> None:
        harness.deliver(NOT_MAIL)
        broken = harness.backend.sync_inbox(None)
        assert len(broken.problems) == 1 and broken.signals == ()
        again = harness.backend.sync_inbox(broken.state)
        assert (again.signals, again.problems) == ((), ())
        harness.deliver(corpus_mail(RECEIPT))
        assert seen(harness.backend.sync_inbox(again.state)) == {
            (RECEIPT_ID, SignalKind.READ_RECEIPT)
        }

    def test_a_read_receipt_answers_the_message_id_that_send_returned(
        self, harness: MailHarness
    ) -> None:
        # The corpus holds both halves of one exchange: the mail that asked for a receipt, and
        # the receipt Exchange sent back. The first goes out through the backend.
        original = message_from_bytes(corpus_mail(RECEIPT_ORIGINAL), policy=policy.default)
        assert isinstance(original, EmailMessage)
        message_id = harness.backend.send(original, KEY)
        assert message_id == ORIGINAL_ID
        harness.deliver(corpus_mail(RECEIPT))
        (receipt,) = harness.backend.sync_inbox(None).signals
        assert receipt.kind is SignalKind.READ_RECEIPT
        assert message_id in receipt.answers

    # --- outbound -------------------------------------------------------------------------------

    def test_send_stamps_the_key_and_gives_a_message_id_and_a_date(
        self, harness: MailHarness
    ) -> None:
        message_id = harness.backend.send(outgoing(), KEY)
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id)
        (copy,) = harness.sent_copies()
        assert copy[KEY_HEADER] == KEY
        assert copy["Message-ID"] == message_id
        assert copy["Date"].datetime == START

    def test_send_keeps_the_message_id_and_date_the_message_has(self, harness: MailHarness) -> None:
        message = outgoing(
            Message_ID="<confirm-7@agency.example>", Date="Mon, 02 Mar 2026 08:00 +0800"
        )
        assert harness.backend.send(message, KEY) == "<confirm-7@agency.example>"
        record = harness.backend.find_sent(KEY)
        assert record is not None
        assert record.message_id == "<confirm-7@agency.example>"
        assert record.sent_at == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

    def test_a_message_stamped_again_carries_only_the_new_key(self, harness: MailHarness) -> None:
        message = outgoing()
        message[KEY_HEADER] = "draft:left-over"
        harness.backend.send(message, KEY)
        (copy,) = harness.sent_copies()
        assert copy.get_all(KEY_HEADER) == [KEY]
        assert harness.backend.find_sent("draft:left-over") is None

    def test_find_sent_finds_the_message_stamped_with_the_key(self, harness: MailHarness) -> None:
        message = outgoing(
            Cc="Team <Team@Agency.example>",
            Bcc="manager@agency.example",
            In_Reply_To="<invite-7@agency.example>",
        )
        del message["Subject"]
        message["Subject"] = "会议确认：品牌评审 3月3日 10:00"
        message[CHAIN_HEADER] = "confirm:brand-review-7"
        message[COVERS_HEADER] = "receipt:a, receipt:b"
        harness.backend.send(outgoing(), "confirm:another-meeting")
        message_id = harness.backend.send(message, KEY)
        record = harness.backend.find_sent(KEY)
        assert record is not None
        assert (record.key, record.message_id, record.sent_at) == (KEY, message_id, START)
        assert record.recipients == (
            "li.na@client.example",
            "team@agency.example",
            "manager@agency.example",
        )
        assert record.subject == "会议确认：品牌评审 3月3日 10:00"
        assert record.chain == "confirm:brand-review-7"
        assert record.covers == ("receipt:a", "receipt:b")
        assert record.in_reply_to == "<invite-7@agency.example>"

    def test_a_key_as_long_as_an_exchange_uid_is_found_again(self, harness: MailHarness) -> None:
        message_id = harness.backend.send(outgoing(), LONG_KEY)
        record = harness.backend.find_sent(LONG_KEY)
        assert record is not None and record.message_id == message_id

    def test_find_sent_knows_nothing_of_a_key_never_sent(self, harness: MailHarness) -> None:
        assert harness.backend.find_sent(KEY) is None
        harness.backend.send(outgoing(), KEY)
        assert harness.backend.find_sent(KEY + ":other") is None
        assert harness.backend.find_sent("confirm:brand-review-7@agency.example") is None

    def test_sent_since_lists_what_was_sent_from_that_time_on(self, harness: MailHarness) -> None:
        harness.backend.send(outgoing(), "confirm:monday")
        tuesday = START + timedelta(days=1)
        harness.clock.set(tuesday)
        harness.backend.send(outgoing(), "confirm:tuesday")
        harness.clock.set(tuesday + timedelta(hours=2))

        def keys(since: datetime) -> list[str]:
            return sorted(r.key for r in harness.backend.sent_since(since))

        assert keys(START - timedelta(days=7)) == ["confirm:monday", "confirm:tuesday"]
        assert keys(START) == ["confirm:monday", "confirm:tuesday"]
        assert keys(tuesday) == ["confirm:tuesday"]
        # the same instant, told in Beijing time
        assert keys(tuesday.astimezone(ZoneInfo("Asia/Shanghai"))) == ["confirm:tuesday"]
        assert keys(tuesday + timedelta(seconds=1)) == []

    def test_sent_since_ignores_mail_the_user_sent_by_hand(self, harness: MailHarness) -> None:
        harness.backend.send(outgoing(), KEY)
        by_hand = outgoing(
            Message_ID="<by-hand@agency.example>", Date="Mon, 02 Mar 2026 10:00 +0800"
        )
        harness.file_in_sent(by_hand)
        assert [r.key for r in harness.backend.sent_since(START - timedelta(days=1))] == [KEY]
        assert len(harness.sent_copies()) == 2

    @pytest.mark.parametrize(
        "key",
        ["confirm:a\nBcc: someone@elsewhere.example", "confirm:a\r", "confirm:a\r\nX-Other: 1"],
        ids=["line feed", "carriage return", "both"],
    )
    def test_a_key_with_a_line_break_is_refused_and_nothing_leaves(
        self, harness: MailHarness, key: str
    ) -> None:
        with pytest.raises(ValueError, match="line break"):
            harness.backend.send(outgoing(), key)
        assert harness.sent_copies() == []
        assert list(harness.backend.sent_since(START - timedelta(days=1))) == []

    def test_a_naive_time_is_refused(self, harness: MailHarness) -> None:
        harness.backend.send(outgoing(), KEY)
        with pytest.raises(NaiveDateTimeError):
            list(harness.backend.sent_since(START.replace(tzinfo=None)))


# --- the in-package adapters ---------------------------------------------------------------------


def reparsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class MemoryHarness:
    def __init__(self) -> None:
        self.clock = FixedClock(START)
        self.backend = MemoryMailbox(DOMAIN, clock=self.clock.now)

    def deliver(self, raw: bytes) -> None:
        self.backend.deliver(raw, self.clock.now())

    def file_in_sent(self, message: EmailMessage) -> None:
        self.backend.sent.append(message)

    def sent_copies(self) -> list[EmailMessage]:
        return [reparsed(m) for m in self.backend.sent]


class MaildirHarness:
    """Two Maildirs written the way a delivery agent and a mail client write them."""

    def __init__(self, folder: Path) -> None:
        self.clock = FixedClock(START)
        self.inbox = folder / "Inbox"
        self.sent = folder / "Sent"
        self.backend = MaildirMailbox(self.inbox, self.sent, DOMAIN, clock=self.clock.now)
        self._serial = itertools.count()

    def deliver(self, raw: bytes) -> None:
        # An MDA writes into tmp/ and renames into new/, so a reader never sees half a file.
        arrived = self.clock.now().timestamp()
        name = f"{int(arrived)}.M{next(self._serial):06d}P{os.getpid()}.mx.agency.example"
        draft = self.inbox / "tmp" / name
        draft.write_bytes(raw)
        os.utime(draft, (arrived, arrived))
        draft.rename(self.inbox / "new" / name)

    def file_in_sent(self, message: EmailMessage) -> None:
        entry = mailbox.MaildirMessage(message)
        entry.set_subdir("cur")
        entry.set_flags("S")
        mailbox.Maildir(self.sent, factory=None, create=False).add(entry)

    def sent_copies(self) -> list[EmailMessage]:
        copies = []
        for sub in ("new", "cur"):
            for path in sorted((self.sent / sub).iterdir()):
                parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                copies.append(parsed)
        return copies


class TestMemoryMailContract(MailContract):
    @pytest.fixture
    def harness(self) -> Iterator[MailHarness]:
        yield MemoryHarness()


class TestMaildirMailContract(MailContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[MailHarness]:
        yield MaildirHarness(tmp_path)
