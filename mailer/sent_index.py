"""Reading what aeflow stamped into messages it sent, for every adapter that keeps MIME copies."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from mailer.port import (
    CHAIN_HEADER,
    COVERS_HEADER,
    KEY_HEADER,
    MEETING_HEADER,
    MEETING_UID_HEADER,
    SentRecord,
)


def sent_record(message: Message, fallback_time: datetime) -> SentRecord | None:
    """The record of a sent message carrying our key header, or None for one without it."""
    key = str(message.get(KEY_HEADER, "") or "").strip()
    if not key:
        return None
    sent_at = fallback_time
    date_header = message.get("Date")
    if date_header:
        try:
            parsed = parsedate_to_datetime(str(date_header))
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            sent_at = parsed.astimezone(UTC)
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    recipients = tuple(addr.lower() for _, addr in getaddresses(fields) if addr)
    return SentRecord(
        key=key,
        message_id=str(message.get("Message-ID", "") or "").strip(),
        sent_at=sent_at,
        recipients=recipients,
        subject=str(message.get("Subject", "") or ""),
        chain=str(message.get(CHAIN_HEADER, "") or "").strip(),
        covers=tuple(
            k for k in str(message.get(COVERS_HEADER, "") or "").replace(",", " ").split() if k
        ),
        in_reply_to=str(message.get("In-Reply-To", "") or "").strip(),
        meeting=str(message.get(MEETING_HEADER, "") or "").strip(),
        meeting_uid=str(message.get(MEETING_UID_HEADER, "") or "").strip(),
    )
