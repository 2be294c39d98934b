"""The local ``MailBackend``: Maildirs for the inbox and for Sent (as mbsync, notmuch, mutt keep).

Messages arriving in the inbox are found by their Maildir keys (the unique part of the file name,
which stays the same when a mail client moves a message from ``new/`` to ``cur/`` and adds flags).
The sync state is the set of keys already seen, so a message read by another client is not missed
and one that was already classified is not classified again.

Inbox messages are read only when they are regular files, up to a size cap (``mailer.files``):
a FIFO, a symlink to a device or a message over the cap is reported once (its key is seen like
any other) and left unread.
"""

from __future__ import annotations

import glob
import json
import logging
import mailbox
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from mailer.files import MAIL_LIMIT, RefusedFile, read_regular
from mailer.memory import stamp
from mailer.port import MailChanges, SentRecord
from mailer.sent_index import sent_record
from mailer.signals import classify_message, sanitise
from mailer.smtp_relay import SmtpPermanentError, SmtpRelay
from rules.errors import Problem, UnreadableInput
from rules.model import Signal, require_aware

log = logging.getLogger(__name__)

STATE_VERSION = 1
# The Maildir flag of a copy filed in Sent whose relay has not been confirmed yet (Draft), and of
# one the server refused for good (Trashed): neither counts as sent.
PENDING = "D"
TRASHED = "T"


class MaildirMailbox:
    def __init__(
        self,
        inbox: Path,
        sent: Path,
        domain: str,
        clock: Callable[[], datetime] | None = None,
        relay: SmtpRelay | None = None,
        max_message_bytes: int = MAIL_LIMIT,
        zone: tzinfo = UTC,
    ) -> None:
        self._relay = relay
        self._zone = zone  # the AE's: meeting answers name occurrences in it
        self._max_message_bytes = max_message_bytes
        self._arrivals: dict[str, datetime] = {}
        self._inbox_files: dict[str, Path] = {}
        self._inbox_path = inbox
        self._sent_path = sent
        self._domain = domain
        self._clock = clock or (lambda: datetime.now(UTC))
        inbox.parent.mkdir(parents=True, exist_ok=True)
        sent.parent.mkdir(parents=True, exist_ok=True)
        self._inbox = mailbox.Maildir(inbox, factory=None, create=True)
        self._sent = mailbox.Maildir(sent, factory=None, create=True)
        # key header -> Maildir key in Sent; filled on first use, kept up to date by send()
        self._sent_keys: dict[str, str] | None = None

    # --- inbound --------------------------------------------------------------------------------

    def sync_inbox(self, state: str | None) -> MailChanges:
        seen = _read_state(state)
        present = set(self._inbox.keys())
        self._arrivals = self._list_arrivals()
        signals: list[Signal] = []
        problems: list[Problem] = []
        for key in sorted(present - seen, key=self._arrival_order):
            source = str(self._inbox_path / key)
            try:
                raw = self._read_inbox(key)
            except RefusedFile as error:
                # Its key stays seen: said once, not at every sync, until it is moved or removed.
                problems.append(Problem(source, f"{error.reason} (the message is left unread)"))
                continue
            except (KeyError, OSError) as error:
                # vanished between listing and reading (another client moved it): next sync sees it
                log.info("inbox message %s could not be read now: %s", sanitise(key), error)
                present.discard(key)
                continue
            try:
                signals.extend(
                    classify_message(
                        raw, source=source, received_at=self._received_at(key), zone=self._zone
                    )
                )
            except UnreadableInput as error:
                problems.append(
                    Problem(source, f"{error.reason}; it is skipped (move it out of the inbox)")
                )
        new_state = json.dumps({"v": STATE_VERSION, "seen": sorted(present)})
        return MailChanges(tuple(signals), tuple(problems), new_state)

    def _arrival_order(self, key: str) -> tuple[float, str]:
        return (self._received_at(key).timestamp(), key)

    def _list_arrivals(self) -> dict[str, datetime]:
        """Each inbox message's arrival (its file's mtime), from one listing of new/ and cur/;
        the files found are kept for ``_read_inbox``."""
        arrivals: dict[str, datetime] = {}
        self._inbox_files = {}
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self._inbox_path / sub))
            except OSError:
                continue
            for entry in entries:
                key = entry.name.split(":", 1)[0]
                self._inbox_files[key] = Path(entry.path)
                try:
                    arrivals[key] = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                except OSError:
                    continue
        return arrivals

    def _read_inbox(self, key: str) -> bytes:
        """The bytes of inbox message ``key``, by ``mailer.files.read_regular`` (mailbox's own
        reading would open a FIFO and wait, or read a link to /dev/zero until memory runs out).

        Raises ``KeyError`` when there is no such message (any more).
        """
        path = self._inbox_files.get(key)
        if path is None or not os.path.lexists(path):
            path = self._inbox_file(key)
        return read_regular(path, self._max_message_bytes, "[backend] max_mail_bytes")

    def _inbox_file(self, key: str) -> Path:
        # A Maildir file is named <key> in new/ and <key>:<info> in cur/; a mail client may have
        # moved it since the listing.
        for sub in ("new", "cur"):
            folder = self._inbox_path / sub
            for path in (folder / key, *folder.glob(f"{glob.escape(key)}:*")):
                if os.path.lexists(path):
                    return path
        raise KeyError(key)

    def _received_at(self, key: str) -> datetime:
        known = self._arrivals.get(key)
        if known is not None:
            return known
        # A Maildir file is named <key> in new/ and <key>:<info> in cur/; its mtime is its arrival.
        for sub in ("new", "cur"):
            folder = self._inbox_path / sub
            for path in (folder / key, *folder.glob(f"{glob.escape(key)}:*")):
                try:
                    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
                except OSError:
                    continue
        return self._clock()

    def fetch(self, message_id: str) -> bytes | None:
        wanted = message_id.strip().strip("<>")
        for maildir_key in self._inbox.iterkeys():
            try:
                raw = self._read_inbox(maildir_key)
                headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
                if str(headers.get("Message-ID", "")).strip().strip("<>") == wanted:
                    return raw
            except (KeyError, OSError, ValueError, UnreadableInput):
                continue  # refused ones were reported by the sync that met them
        return None

    # --- outbound -------------------------------------------------------------------------------

    def send(self, message: EmailMessage, key: str) -> str:
        """File the message in Sent, then relay it when an SMTP relay is set.

        With a relay, the copy is filed first with the Draft flag ("not yet left") and the flag
        is cleared once the server has accepted it. A crash in between leaves a draft in Sent,
        which ``find_sent`` and ``sent_since`` relay before they answer; so a mail is never lost,
        and sent twice only if the process dies in the instant between the server's acceptance
        and the flag. One key has one copy: a send retried after a failed relay relays the copy
        already filed instead of filing another. A relay that fails for the connection (a refused
        login: ``BackendUnavailable``) or for now leaves the copy pending, to leave with that retry.
        """
        existing = self._index_sent().get(key)
        if existing is not None:
            entry = self._sent.get_message(existing)
            if PENDING in entry.get_flags():
                self._relay_pending(key, existing, entry)
            record = self._record(existing)
            if record is not None and TRASHED not in entry.get_flags():
                return record.message_id
        stamp(message, key, self._domain, self._clock())
        entry = mailbox.MaildirMessage(message)
        entry.set_subdir("cur")
        entry.set_flags(PENDING if self._relay is not None else "S")
        # Maildir delivery writes to tmp/ and renames into cur/: whole or not at all
        maildir_key = self._sent.add(entry)
        self._index_sent()[key] = maildir_key
        if self._relay is not None:
            self._relay_and_mark(maildir_key, message)
        return str(message["Message-ID"])

    def _relay_and_mark(self, maildir_key: str, message: EmailMessage) -> None:
        assert self._relay is not None
        # A TransientError (BackendUnavailable among them: a refused login, TLS, DNS) passes
        # through and leaves the copy pending: the mail is not at fault, and goes once it works.
        try:
            refused = self._relay.relay(message)
        except SmtpPermanentError:
            # It will never leave as it is: marked so that no restart relays it again, and no
            # rebuild of the state counts it as sent.
            self._set_flags(maildir_key, TRASHED)
            raise
        for address, refusal in refused.items():
            log.warning(
                "the server refused %s for %s: %s %s",
                sanitise(address, 80),
                sanitise(str(message.get("X-AEFlow-Key", "")), 120),
                refusal.code,
                sanitise(refusal.text, 200),
            )
        self._set_flags(maildir_key, "S")

    def _set_flags(self, maildir_key: str, flags: str) -> None:
        entry = self._sent.get_message(maildir_key)
        entry.set_flags(flags)
        self._sent[maildir_key] = entry

    def _relay_pending(self, key: str, maildir_key: str, entry: mailbox.MaildirMessage) -> None:
        """A copy filed but not relayed yet (aeflow stopped, or the relay failed): it leaves now."""
        if self._relay is None:
            return
        log.info("relaying %s, filed in Sent earlier and not relayed yet", sanitise(key, 120))
        message = message_from_bytes(entry.as_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        self._relay_and_mark(maildir_key, message)

    def find_sent(self, key: str) -> SentRecord | None:
        index = self._index_sent()
        maildir_key = index.get(key)
        if maildir_key is None:
            return None
        try:
            entry = self._sent.get_message(maildir_key)
            if TRASHED in entry.get_flags():
                return None
            if PENDING in entry.get_flags():
                self._relay_pending(key, maildir_key, entry)
            return self._record(maildir_key)
        except (KeyError, OSError):
            index.pop(key, None)
            return None

    def sent_since(self, since: datetime) -> Iterator[SentRecord]:
        require_aware("since", since)
        return self._sent_since(since)

    def _sent_since(self, since: datetime) -> Iterator[SentRecord]:
        for key, maildir_key in list(self._index_sent().items()):
            try:
                filed = self._record(maildir_key)
            except (KeyError, OSError):
                continue
            if filed is None or filed.sent_at < since:
                continue  # older drafts are not relayed on the way: only what is asked for
            record = self.find_sent(key)
            if record is not None:
                yield record

    def _index_sent(self) -> dict[str, str]:
        if self._sent_keys is None:
            index: dict[str, str] = {}
            for maildir_key in self._sent.iterkeys():
                try:
                    record = self._record(maildir_key)
                except (KeyError, OSError):
                    continue
                if record is not None:
                    index[record.key] = maildir_key
            self._sent_keys = index
        return self._sent_keys

    def _record(self, maildir_key: str) -> SentRecord | None:
        with self._sent.get_file(maildir_key) as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)  # type: ignore[arg-type]
        return sent_record(headers, self._clock())


def _read_state(state: str | None) -> set[str]:
    if not state:
        return set()
    try:
        data = json.loads(state)
        if data.get("v") != STATE_VERSION:
            raise ValueError("unknown version")
        return {str(k) for k in data["seen"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        # A state we cannot read means we cannot know what was seen: start over. Signals are
        # idempotent by Message-ID in the store, so re-reading the inbox repeats nothing.
        log.warning("the saved inbox sync state is unreadable; the inbox is read again in full")
        return set()
