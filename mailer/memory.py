"""An in-memory ``MailBackend`` for unit tests: an inbox to drop raw mail into, and Sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid

from mailer.port import KEY_HEADER, MailChanges, SentRecord
from mailer.sent_index import sent_record
from mailer.signals import classify_message
from rules.errors import Problem, UnreadableInput
from rules.model import Signal, require_aware


class MemoryMailbox:
    def __init__(
        self,
        domain: str = "aeflow.invalid",
        clock: Callable[[], datetime] | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self._domain = domain
        self._zone = zone  # the AE's: floating and all-day RECURRENCE-IDs are read in it
        self._clock = clock or (lambda: datetime.now(UTC))
        self._inbox: list[tuple[bytes, datetime]] = []
        self.sent: list[EmailMessage] = []

    def deliver(self, raw: bytes, received_at: datetime) -> None:
        """Put a raw message into the inbox, as a server would on arrival."""
        self._inbox.append((raw, require_aware("received_at", received_at)))

    def sync_inbox(self, state: str | None) -> MailChanges:
        start = int(json.loads(state)["next"]) if state else 0
        signals: list[Signal] = []
        problems: list[Problem] = []
        for index in range(start, len(self._inbox)):
            raw, received_at = self._inbox[index]
            try:
                signals.extend(
                    classify_message(
                        raw, source=f"inbox#{index}", received_at=received_at, zone=self._zone
                    )
                )
            except UnreadableInput as error:
                problems.append(Problem(f"inbox#{index}", error.reason))
        return MailChanges(tuple(signals), tuple(problems), json.dumps({"next": len(self._inbox)}))

    def fetch(self, message_id: str) -> bytes | None:
        wanted = message_id.strip().strip("<>")
        for raw, _ in self._inbox:
            headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
            if str(headers.get("Message-ID", "")).strip().strip("<>") == wanted:
                return raw
        return None

    def send(self, message: EmailMessage, key: str) -> str:
        stamp(message, key, self._domain, self._clock())
        self.sent.append(message)
        return str(message["Message-ID"])

    def find_sent(self, key: str) -> SentRecord | None:
        for message in self.sent:
            record = sent_record(message, self._clock())
            if record is not None and record.key == key:
                return record
        return None

    def sent_since(self, since: datetime) -> Iterator[SentRecord]:
        require_aware("since", since)
        for message in self.sent:
            record = sent_record(message, self._clock())
            if record is not None and record.sent_at >= since:
                yield record


def stamp(message: EmailMessage, key: str, domain: str, now: datetime) -> None:
    """Put our key on the message, and a Message-ID and Date when it has none."""
    if "\r" in key or "\n" in key:
        raise ValueError(f"an action key cannot hold a line break: {key!r}")
    del message[KEY_HEADER]
    message[KEY_HEADER] = key
    if not message.get("Message-ID"):
        message["Message-ID"] = make_msgid(domain=domain)
    if not message.get("Date"):
        message["Date"] = format_datetime(require_aware("now", now))
