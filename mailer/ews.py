"""``EwsMailbox``: the mail port over an Exchange mailbox (EWS, through exchangelib).

Inbound: SyncFolderItems on the Inbox says which items arrived since the saved cursor; each one's
MIME is fetched (GetItem with MimeContent) and classified like a local file (``ews_reports``).

Outbound: a message is sent as its MIME content (CreateItem with SendAndSaveCopy, the copy filed
in Sent Items), with read and delivery receipts requested. MIME rather than item properties,
because the message aeflow composes is more than EWS's properties can say: its own Message-ID
(receipts and replies are matched by it), its threading headers, the X-AEFlow-* headers that let
a lost store be rebuilt from Sent, and a text/calendar part for invitations. The key is also set
as a named property of our own (``AEFlowKey`` in aeflow's property set, a string), so Sent Items
can be searched for it on the server; a second one (``AEFlowSentAt``) holds the Date the message
carries, so ``sent_since`` asks the server about our clock, not its own.

``send`` looks for the key in Sent Items (and the Outbox) before it sends, so a send retried
after a lost answer (the engine retries a ``TransientError``) does not send twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

from mailer.ews_reports import ItemFacts, item_signals
from mailer.ews_session import EwsError, EwsSession
from mailer.headers import sanitise
from mailer.memory import stamp
from mailer.port import KEY_HEADER, MailChanges, SentRecord
from mailer.sent_index import sent_record
from rules.errors import Problem, UnreadableInput
from rules.model import Signal, require_aware

log = logging.getLogger(__name__)

STATE_VERSION = 1
_PAGE = 512
_MIME_CHUNK = 10  # MIME bodies are large: few per GetItem
_INBOX_FIELDS = ("mime_content", "item_class", "datetime_received", "in_reply_to", "references")
_SENT_FIELDS = ("mime_content", "bcc_recipients", "datetime_sent", "aeflow_key")


def _item_label(item_id: object) -> str:
    text = str(item_id)
    return text if len(text) <= 24 else f"…{text[-16:]}"


def _aware(value: object) -> datetime | None:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return datetime.fromtimestamp(value.timestamp(), UTC)
    return None


def _read_state(state: str | None) -> str | None:
    if not state:
        return None
    try:
        data = json.loads(state)
        if data.get("v") != STATE_VERSION:
            raise ValueError("unknown version")
        cursor = data["cursor"]
        return str(cursor) if cursor else None
    except (ValueError, KeyError, TypeError, AttributeError):
        # Signals are idempotent by Message-ID in the store: reading it all again repeats nothing.
        log.warning("the saved inbox sync state is unreadable; the inbox is read again in full")
        return None


class EwsMailbox:
    """A ``MailBackend`` over the Exchange mailbox of ``session``'s account."""

    def __init__(
        self,
        session: EwsSession,
        domain: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.session = session
        self._domain = domain
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def _account(self) -> Any:
        return self.session.account

    # --- inbound -------------------------------------------------------------------------------

    def sync_inbox(self, state: str | None) -> MailChanges:
        cursor = _read_state(state)
        with self.session.guard("reading the Exchange inbox"):
            arrived, cursor = self._arrivals(cursor)
            items = self._fetch(arrived, _INBOX_FIELDS, _MIME_CHUNK)
        signals: list[Signal] = []
        problems: list[Problem] = []
        readable = []
        for listed, item in zip(arrived, items, strict=True):
            source = f"exchange inbox item {_item_label(listed.id)}"
            if isinstance(item, Exception):
                if type(item).__name__ != "ErrorItemNotFound":  # moved away since: not ours
                    reason = f"the server cannot give its content ({type(item).__name__})"
                    problems.append(Problem(source, f"{reason}; it is skipped"))
                continue
            readable.append((item, source))
        readable.sort(
            key=lambda pair: (_aware(pair[0].datetime_received) or self._clock(), pair[1])
        )
        for item, source in readable:
            try:
                signals.extend(
                    item_signals(
                        item.mime_content or b"", item_facts(item), source, self.session.zone
                    )
                )
            except UnreadableInput as error:
                problems.append(Problem(source, f"{error.reason}; it is skipped"))
        state_out = json.dumps({"v": STATE_VERSION, "cursor": cursor})
        return MailChanges(tuple(signals), tuple(problems), state_out)

    def _arrivals(self, cursor: str | None) -> tuple[list[Any], str | None]:
        inbox = self._account.inbox
        try:
            return self._walk(inbox, cursor)
        except Exception as error:
            if cursor is None or type(error).__name__ != "ErrorInvalidSyncStateData":
                raise
            log.warning("the inbox's saved sync state was refused; the inbox is read again")
            return self._walk(inbox, None)

    @staticmethod
    def _walk(folder: Any, cursor: str | None) -> tuple[list[Any], str | None]:
        folder.item_sync_state = cursor  # the folder object keeps the last one; ours counts
        arrived: dict[str, Any] = {}
        for kind, item in folder.sync_items(
            sync_state=cursor, only_fields=["item_class"], max_changes_returned=_PAGE
        ):
            if kind == "create":
                arrived[str(item.id)] = item
            elif kind == "delete":
                arrived.pop(str(item.id), None)
        return list(arrived.values()), folder.item_sync_state

    def _fetch(self, items: list[Any], fields: tuple[str, ...], chunk: int) -> list[Any]:
        if not items:
            return []
        return list(self._account.fetch(ids=items, only_fields=list(fields), chunk_size=chunk))

    def fetch(self, message_id: str) -> bytes | None:
        wanted = f"<{message_id.strip().strip('<>')}>"
        with self.session.guard("reading a message from the Exchange inbox"):
            found = list(self._account.inbox.filter(message_id=wanted).only("id")[:1])
            if not found:
                return None
            (item,) = self._fetch(found, ("mime_content",), 1)
        if isinstance(item, Exception) or not item.mime_content:
            return None
        return bytes(item.mime_content)

    # --- outbound ------------------------------------------------------------------------------

    def send(self, message: EmailMessage, key: str) -> str:
        """Send ``message`` stamped with ``key``, keeping a copy in Sent Items; its Message-ID.

        A key already in Sent Items (or the Outbox) is not sent again: its Message-ID is returned.
        """
        from exchangelib import EWSDateTime
        from exchangelib import Message as EwsMessage

        if "\r" in key or "\n" in key:
            raise ValueError(f"an action key cannot hold a line break: {key!r}")
        with self.session.guard("sending through Exchange"):
            existing = self._locate(key)
            if existing is not None:
                record = self._record(existing)
                if record is None:
                    # It went; sending again would send it twice.
                    raise EwsError(f"the sent copy of {key!r} is in Sent Items but unreadable")
                log.info("%s is already in Sent Items; not sent again", sanitise(key, 120))
                return record.message_id
            stamp(message, key, self._domain, self._clock())
            dated = _date_of(message) or self._clock()
            account = self._account
            outgoing = EwsMessage(
                account=account,
                folder=account.sent,
                mime_content=message.as_bytes(policy=policy.SMTP),
                is_read_receipt_requested=True,
                is_delivery_receipt_requested=True,
                aeflow_key=key,
                aeflow_sent_at=EWSDateTime.from_datetime(dated.astimezone(UTC)),
            )
            outgoing.send_and_save()
        return str(message["Message-ID"])

    def _locate(self, key: str) -> Any | None:
        """The item stamped ``key`` in Sent Items, else in the Outbox (submitted, not yet moved)."""
        account = self._account
        for folder in (account.sent, account.outbox):
            found = list(folder.filter(aeflow_key=key).only("id")[:1])
            if found:
                return found[0]
        return None

    def find_sent(self, key: str) -> SentRecord | None:
        with self.session.guard("searching Exchange Sent Items"):
            found = self._locate(key)
            return self._record(found) if found is not None else None

    def sent_since(self, since: datetime) -> Iterator[SentRecord]:
        require_aware("since", since)
        return self._sent_since(since)

    def _sent_since(self, since: datetime) -> Iterator[SentRecord]:
        from exchangelib import EWSDateTime

        with self.session.guard("reading Exchange Sent Items"):
            bound = EWSDateTime.from_datetime(since.astimezone(UTC))
            found = list(self._account.sent.filter(aeflow_sent_at__gte=bound).only("id"))
            items = self._fetch(found, _SENT_FIELDS, _MIME_CHUNK)
        records = [self._read_record(item) for item in items if not isinstance(item, Exception)]
        kept = [r for r in records if r is not None and r.sent_at >= since]
        yield from sorted(kept, key=lambda r: (r.sent_at, r.key))

    def _record(self, listed: Any) -> SentRecord | None:
        (item,) = self._fetch([listed], _SENT_FIELDS, 1)
        if isinstance(item, Exception):
            return None
        return self._read_record(item)

    def _read_record(self, item: Any) -> SentRecord | None:
        """The record of a sent item: its MIME headers, the key from our property."""
        raw = item.mime_content or b""
        headers: Message = BytesHeaderParser(policy=policy.default).parsebytes(bytes(raw))
        key = str(getattr(item, "aeflow_key", "") or "")
        if key:
            del headers[KEY_HEADER]
            headers[KEY_HEADER] = key
        record = sent_record(headers, _aware(item.datetime_sent) or self._clock())
        if record is None:
            return None
        if not headers.get_all("Bcc"):
            # Exchange keeps blind copies out of the MIME it gives back; the item still has them.
            extra = [
                str(m.email_address).lower() for m in item.bcc_recipients or () if m.email_address
            ]
            missing = tuple(a for a in extra if a not in record.recipients)
            if missing:
                record = replace(record, recipients=(*record.recipients, *missing))
        return record


def _date_of(message: EmailMessage) -> datetime | None:
    value = message.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def item_facts(item: Any) -> ItemFacts:
    return ItemFacts(
        item_class=str(item.item_class or ""),
        received_at=_aware(item.datetime_received),
        in_reply_to=str(getattr(item, "in_reply_to", "") or ""),
        references=str(getattr(item, "references", "") or ""),
    )
