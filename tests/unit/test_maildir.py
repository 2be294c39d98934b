"""The Maildir adapter's own behaviour, beyond the contract every mail backend keeps.

The inbox is shared with other mail clients (mutt, notmuch, mbsync), which move messages from
``new/`` to ``cur/`` and add flags (the Maildir layout as Qmail and Dovecot define it; built by hand
here). Sent keeps the copy of everything that leaves; with an SMTP relay, a copy is filed with the
Draft flag before it is relayed and marked Seen once the server took it. The relay tests run a real
SMTP server on loopback (``tests/smtp_server.py``).
"""

from __future__ import annotations

import itertools
import logging
import mailbox
import os
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from aeflow.clock import FixedClock
from mailer.maildir import PENDING, MaildirMailbox
from mailer.port import KEY_HEADER
from mailer.smtp_relay import SmtpRelay, SmtpSettings
from rules.errors import TransientError
from rules.model import SignalKind
from tests.conftest import require_corpus
from tests.smtp_server import (
    LoopbackSmtp,
    closed_port,
    smtp_server_fixture,  # noqa: F401 (a fixture)
    smtp_servers_fixture,  # noqa: F401 (a fixture)
    tls_certificate_fixture,  # noqa: F401 (a fixture)
)

DOMAIN = "agency.example"
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
KEY = "confirm:brand-review-7@agency.example:2026-03-03T02:00:00+00:00"
BOUNCE_ID = "<20130429234532.00000000000@p351355.pool.example.ne.jp>"
AUTO_REPLY_ID = "<fb1b2d9ea3df46d9839a6dcb99410ebb@neko.nyaan.example.net>"
RECEIPT_ID = "<59b1d0c94a8d4834b7ab779a76647d44@mail.example.org>"
BUSY = "451 4.3.0 Mail server temporarily busy, try again later"


def bounce() -> bytes:
    return (require_corpus("bounces") / "lhost-postfix-01.eml").read_bytes()


def auto_reply() -> bytes:
    return (require_corpus("autoreplies") / "soe-rfc3834-02.eml").read_bytes()


def read_receipt() -> bytes:
    return (require_corpus("mdn") / "deltachat-exchange-read-receipt-de.eml").read_bytes()


_serial = itertools.count()


def deliver(inbox: Path, raw: bytes) -> str:
    """Deliver as an MDA does (tmp/, then a rename into new/); returns the Maildir key."""
    key = f"1772415000.M{next(_serial):06d}P{os.getpid()}.mx.agency.example"
    (inbox / "tmp" / key).write_bytes(raw)
    (inbox / "tmp" / key).rename(inbox / "new" / key)
    return key


def message_ids(mailbox_: MaildirMailbox, state: str | None) -> set[str]:
    return {s.message_id for s in mailbox_.sync_inbox(state).signals}


def confirmation() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Wang Fang <ae@agency.example>"
    message["To"] = "Li Na <li.na@client.example>"
    message["Bcc"] = "manager@agency.example"
    message["Subject"] = "Confirmation: brand review, 3 March 10:00"
    message.set_content("Dear Ms. Li,\n\nThis confirms tomorrow's meeting at 10:00.\n")
    return message


class Folders:
    """The two Maildirs, and a way to open them again as aeflow does after a restart."""

    def __init__(self, root: Path) -> None:
        self.inbox = root / "Inbox"
        self.sent = root / "Sent"
        self.clock = FixedClock(START)

    def open(self, relay: SmtpRelay | None = None) -> MaildirMailbox:
        return MaildirMailbox(self.inbox, self.sent, DOMAIN, clock=self.clock.now, relay=relay)

    def sent_flags(self) -> list[str]:
        """The flags of every copy in Sent, as another mail client reads them."""
        folder = mailbox.Maildir(self.sent, factory=None, create=False)
        return sorted(entry.get_flags() for entry in folder)


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    return Folders(tmp_path)


# --- the inbox, shared with other clients -------------------------------------------------------


def test_a_message_another_client_moved_to_cur_is_not_reported_again(folders: Folders) -> None:
    box = folders.open()
    first_state = box.sync_inbox(None).state
    key = deliver(folders.inbox, bounce())
    first = box.sync_inbox(first_state)
    assert {s.message_id for s in first.signals} == {BOUNCE_ID}
    # what mutt does when the AE reads the message: into cur/, with the Seen flag in its name
    os.rename(folders.inbox / "new" / key, folders.inbox / "cur" / f"{key}:2,S")
    moved = box.sync_inbox(first.state)
    assert (moved.signals, moved.problems) == ((), ())
    deliver(folders.inbox, auto_reply())
    assert message_ids(box, moved.state) == {AUTO_REPLY_ID}


def test_a_message_already_read_before_the_first_sync_is_reported(folders: Folders) -> None:
    folders.open()
    key = deliver(folders.inbox, read_receipt())
    os.rename(folders.inbox / "new" / key, folders.inbox / "cur" / f"{key}:2,RS")
    deliver(folders.inbox, bounce())
    assert message_ids(folders.open(), None) == {RECEIPT_ID, BOUNCE_ID}


def test_the_arrival_time_of_a_message_without_a_date_is_its_file_time(
    folders: Folders,
) -> None:
    # Built by hand from RFC 5322: a message whose sender left out the Date header.
    box = folders.open()
    key = deliver(
        folders.inbox,
        b"From: li.na@client.example\r\nTo: ae@agency.example\r\n"
        b"Message-ID: <undated@client.example>\r\nSubject: hello\r\n\r\nno date here\r\n",
    )
    arrived = datetime(2026, 3, 2, 3, 4, 5, tzinfo=UTC)
    os.rename(folders.inbox / "new" / key, folders.inbox / "cur" / f"{key}:2,S")
    os.utime(folders.inbox / "cur" / f"{key}:2,S", (arrived.timestamp(), arrived.timestamp()))
    (signal,) = box.sync_inbox(None).signals
    assert (signal.kind, signal.at) == (SignalKind.MESSAGE, arrived)


def test_an_unreadable_message_is_named_by_its_file(folders: Folders) -> None:
    box = folders.open()
    key = deliver(folders.inbox, b"")
    deliver(folders.inbox, bounce())
    changes = box.sync_inbox(None)
    (problem,) = changes.problems
    assert key in problem.where and str(folders.inbox) in problem.where
    assert "empty" in problem.message and "skipped" in problem.message
    assert {s.message_id for s in changes.signals} == {BOUNCE_ID}


@pytest.mark.parametrize(
    "state",
    [
        "{not json",
        "[]",
        "null",
        '{"v": 99, "seen": []}',
        '{"v": 1}',
        '{"v": 1, "seen": 5}',
        '{"next": 3}',  # what the in-memory backend saves
    ],
)
def test_a_corrupt_inbox_state_reads_the_inbox_again_with_a_warning(
    folders: Folders, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    box = folders.open()
    deliver(folders.inbox, bounce())
    deliver(folders.inbox, auto_reply())
    with caplog.at_level(logging.WARNING, logger="mailer.maildir"):
        changes = box.sync_inbox(state)
    assert {s.message_id for s in changes.signals} == {BOUNCE_ID, AUTO_REPLY_ID}
    assert any("state is unreadable" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mailer.maildir"):
        again = box.sync_inbox(changes.state)
    assert again.signals == ()
    assert caplog.records == []


# --- Sent ---------------------------------------------------------------------------------------


def test_the_sent_index_survives_a_restart(folders: Folders) -> None:
    message_id = folders.open().send(confirmation(), KEY)
    folders.open().send(confirmation(), "confirm:another-meeting")
    restarted = folders.open()
    record = restarted.find_sent(KEY)
    assert record is not None
    assert (record.key, record.message_id, record.sent_at) == (KEY, message_id, START)
    assert record.recipients == ("li.na@client.example", "manager@agency.example")
    assert sorted(r.key for r in restarted.sent_since(START)) == [
        "confirm:another-meeting",
        KEY,
    ]


def test_without_a_relay_the_copy_is_filed_as_seen(folders: Folders) -> None:
    folders.open().send(confirmation(), KEY)
    assert folders.sent_flags() == ["S"]


# --- Sent with an SMTP relay --------------------------------------------------------------------


def relay_to(server: LoopbackSmtp) -> SmtpRelay:
    settings = SmtpSettings(
        host=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        timeout=10.0,
        local_hostname="aeflow.test",
    )
    return SmtpRelay(settings, tls_context=server.client_tls_context())


def test_send_relays_the_mail_and_files_the_copy_as_seen(
    folders: Folders, smtp_server: LoopbackSmtp
) -> None:
    message_id = folders.open(relay_to(smtp_server)).send(confirmation(), KEY)
    (received,) = smtp_server.handler.received
    assert received.rcpt_tos == ("li.na@client.example", "manager@agency.example")
    relayed = received.message()
    assert (relayed["Message-ID"], relayed[KEY_HEADER]) == (message_id, KEY)
    assert relayed["Bcc"] is None
    assert folders.sent_flags() == ["S"]
    record = folders.open().find_sent(KEY)
    assert record is not None and "manager@agency.example" in record.recipients


def test_a_transient_relay_failure_keeps_the_copy_pending_and_raises(
    folders: Folders, smtp_server: LoopbackSmtp
) -> None:
    smtp_server.handler.data_reply = BUSY
    with pytest.raises(TransientError, match="451"):
        folders.open(relay_to(smtp_server)).send(confirmation(), KEY)
    assert smtp_server.handler.received == []
    assert folders.sent_flags() == [PENDING]


def test_a_restart_relays_the_pending_copy_once_when_asked_for_it(
    folders: Folders, smtp_server: LoopbackSmtp
) -> None:
    with closed_port() as port:
        down = SmtpRelay(SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout=10.0))
        with pytest.raises(TransientError):
            folders.open(down).send(confirmation(), KEY)
    (copy,) = mailbox.Maildir(folders.sent, factory=None, create=False)
    message_id = copy["Message-ID"]
    assert smtp_server.handler.received == []

    restarted = folders.open(relay_to(smtp_server))
    record = restarted.find_sent(KEY)
    assert record is not None and record.message_id == message_id
    (received,) = smtp_server.handler.received
    assert received.message()["Message-ID"] == message_id
    assert received.rcpt_tos == ("li.na@client.example", "manager@agency.example")
    assert received.message()["Bcc"] is None
    assert folders.sent_flags() == ["S"]

    assert restarted.find_sent(KEY) is not None
    assert folders.open(relay_to(smtp_server)).find_sent(KEY) is not None
    assert len(smtp_server.handler.received) == 1


def test_asking_for_a_pending_copy_while_the_relay_still_fails_raises_and_keeps_it(
    folders: Folders, smtp_server: LoopbackSmtp
) -> None:
    # Answering "sent" here would have the caller mark it done and the copy never leave.
    smtp_server.handler.data_reply = BUSY
    with pytest.raises(TransientError):
        folders.open(relay_to(smtp_server)).send(confirmation(), KEY)
    with pytest.raises(TransientError):
        folders.open(relay_to(smtp_server)).find_sent(KEY)
    assert folders.sent_flags() == [PENDING]
    smtp_server.handler.data_reply = None
    assert folders.open(relay_to(smtp_server)).find_sent(KEY) is not None
    assert len(smtp_server.handler.received) == 1
    assert folders.sent_flags() == ["S"]


def test_a_send_retried_after_a_transient_failure_leaves_nothing_to_relay_again(
    folders: Folders, smtp_server: LoopbackSmtp
) -> None:
    # The engine marks a send that failed for now as unsent, and the next tick sends the same
    # key again. If aeflow then stops before it records the send, the next start asks
    # find_sent(key): the client must not receive the mail a second time.
    box = folders.open(relay_to(smtp_server))
    smtp_server.handler.data_reply = BUSY
    with pytest.raises(TransientError):
        box.send(confirmation(), KEY)
    smtp_server.handler.data_reply = None
    box.send(confirmation(), KEY)
    assert len(smtp_server.handler.received) == 1

    assert folders.open(relay_to(smtp_server)).find_sent(KEY) is not None
    assert len(smtp_server.handler.received) == 1
    assert PENDING not in "".join(folders.sent_flags())


def test_rebuilding_from_sent_lists_only_mail_that_has_left(
    folders: Folders, smtp_server: LoopbackSmtp
) -> None:
    smtp_server.handler.data_reply = BUSY
    with pytest.raises(TransientError):
        folders.open(relay_to(smtp_server)).send(confirmation(), KEY)
    smtp_server.handler.data_reply = None
    restarted = folders.open(relay_to(smtp_server))
    listed = [r.message_id for r in restarted.sent_since(START - timedelta(days=1))]
    relayed = [r.message()["Message-ID"] for r in smtp_server.handler.received]
    assert listed == relayed
