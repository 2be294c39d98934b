"""The ``MailBackend`` port: what the engine asks of any mailbox.

Contract (every adapter passes ``tests/contract/test_mail_contract.py``):

- ``sync_inbox(state)`` returns the signals of the messages that arrived since ``state`` (``None``
  the first time: every message in the inbox), each message classified by
  ``mailer.signals.classify_message``. ``state`` is opaque; the caller saves the returned state only
  after it has stored the signals, so a crash in between replays them (signals are idempotent by
  their ``message_id``). A message the adapter cannot parse is reported in ``problems`` and skipped
  for good; it does not stop the others.
- ``send(message, key)`` stamps the message with ``key`` (header ``X-AEFlow-Key`` or the backend's
  own property), sends it, keeps a copy in Sent, and returns the Message-ID it carries.
- ``find_sent(key)`` returns the record of the sent message stamped with ``key``, or ``None``.
  It is how a crash between "about to send" and "marked sent" is resolved: the mailbox is the truth.
- ``sent_since(since)`` lists every stamped message in Sent from ``since`` on, for rebuilding a lost
  store before anything is sent.
- ``fetch(message_id)`` returns the raw bytes of the inbox message with that Message-ID (with or
  without angle brackets), or ``None``: how a reply's text is read when its signal calls for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from rules.errors import Problem
from rules.model import Signal

KEY_HEADER = "X-AEFlow-Key"
# A reminder names the delivery whose chain it belongs to; a digest lists the keys it carries.
CHAIN_HEADER = "X-AEFlow-Chain"
COVERS_HEADER = "X-AEFlow-Covers"
# A mail about a meeting names it (Meeting.key and its UID), so a lost store can be rebuilt whole.
MEETING_HEADER = "X-AEFlow-Meeting"
MEETING_UID_HEADER = "X-AEFlow-Meeting-UID"


@dataclass(frozen=True)
class SentRecord:
    key: str
    message_id: str
    sent_at: datetime
    recipients: tuple[str, ...]
    subject: str = ""
    chain: str = ""
    covers: tuple[str, ...] = ()
    in_reply_to: str = ""
    meeting: str = ""
    meeting_uid: str = ""


@dataclass(frozen=True)
class MailChanges:
    signals: tuple[Signal, ...]
    problems: tuple[Problem, ...]
    state: str


class MailBackend(Protocol):
    def sync_inbox(self, state: str | None) -> MailChanges:
        """Signals from messages that arrived since ``state``; see the module docstring."""
        ...

    def send(self, message: EmailMessage, key: str) -> str:
        """Stamp, send, keep a copy in Sent; return the Message-ID."""
        ...

    def find_sent(self, key: str) -> SentRecord | None:
        """The sent message stamped with ``key``, if there is one."""
        ...

    def sent_since(self, since: datetime) -> Iterator[SentRecord]:
        """Every stamped message in Sent from ``since`` on."""
        ...

    def fetch(self, message_id: str) -> bytes | None:
        """The raw inbox message with this Message-ID, if it is there."""
        ...
