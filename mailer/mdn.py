"""Read receipts: RFC 8098 disposition notifications and Exchange's own receipts.

What counts as read: only the ``displayed`` disposition. RFC 8098 section 3.2.6 is explicit that
``processed`` and ``dispatched`` say nothing about a person having seen the message (a client
filed it, a gateway passed it on), so they are kept as plain messages, with what they answer, for
the record. ``deleted`` (and RFC 2298's ``denied``) means the message reached the mailbox and was
discarded unread: NOT_READ.

Exchange turns its read receipts (MS-OXOMSG message class ``REPORT.IPM.Note.IPNRN``, not-read
``IPNNRN``) into multipart/report MDNs when they leave the organisation, but without an
Original-Message-ID: the In-Reply-To header carries the link instead, and
``X-MSExch-Correlation-Key`` is a hash, not a message id. Inside an organisation, or through
older gateways, a receipt may arrive as plain text ("Your message ... was read on ...") with a
localised subject prefix; such a message is a receipt only when its subject and its text both
say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from mailer.dsn import parse_fields, report_text, typed_address
from mailer.headers import content_type, iter_parts, message_ids
from rules.model import SignalKind

_DISPOSITION_TYPES = {"message/disposition-notification", "message/global-disposition-notification"}

_READ_SUBJECT = re.compile(
    r"^\s*(read|gelesen|已读|已讀|lu|leído|letto|gelezen|lido|прочитано|læst|läst|luettu|"
    r"przeczytano|開封済み|읽음)\s*[:：]",
    re.IGNORECASE,
)
_NOT_READ_SUBJECT = re.compile(
    r"^\s*(not\s+read|ungelesen|nicht\s+gelesen|未读|未讀|non\s+lu|no\s+leído|non\s+letto|"
    r"niet\s+gelezen|未開封)\s*[:：]",
    re.IGNORECASE,
)
_READ_TEXT = re.compile(
    r"was\s+read\s+on|wurde\s+am\s.{0,160}?\sgelesen|已于.{0,80}?(阅读|讀取|读取|閱讀)|"
    r"已被.{0,20}?(阅读|读取)|a\s+été\s+lu|fue\s+leído|se\s+leyó|è\s+stato\s+letto|"
    r"開封されました",
    re.IGNORECASE | re.DOTALL,
)
_NOT_READ_TEXT = re.compile(
    r"deleted\s+without\s+being\s+read|ungelesen\s+gelöscht|未(经|經)?(阅读|讀取|读取|閱讀).{0,20}?"
    r"(删除|刪除)|在未读的情况下.{0,10}?删除|supprimé\s+sans\s+avoir\s+été\s+lu",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Disposition:
    """What one disposition notification says."""

    kind: SignalKind
    recipient: str
    original_message_id: str
    disposition: str


def disposition_parts(msg: Message) -> list[Message]:
    return [p for p in iter_parts(msg) if content_type(p) in _DISPOSITION_TYPES]


def kind_for_disposition(disposition: str) -> tuple[SignalKind, str]:
    """The signal for a Disposition field, and its disposition type in lower case.

    The field reads ``action-mode/sending-mode; type[/modifier]``; an ``error`` modifier means
    the user agent failed to do what the type says, so it is not taken as read.
    """
    _, _, rest = disposition.partition(";")
    words = rest.strip().lower().split("/")
    dtype = words[0].strip() if words else ""
    modifiers = {w.strip() for w in words[1:]}
    if dtype == "displayed" and not modifiers & {"error", "failed"}:
        return SignalKind.READ_RECEIPT, dtype
    if dtype in {"deleted", "denied"}:
        return SignalKind.NOT_READ, dtype
    return SignalKind.MESSAGE, dtype


def read_disposition(part: Message) -> Disposition:
    fields: dict[str, str] = {}
    for block in parse_fields(report_text(part)):
        for name, value in block.items():
            fields.setdefault(name, value)
    kind, dtype = kind_for_disposition(fields.get("disposition", ""))
    original = message_ids(fields.get("original-message-id", ""))
    recipient = typed_address(fields.get("final-recipient", "")) or typed_address(
        fields.get("original-recipient", "")
    )
    return Disposition(kind, recipient, original[0] if original else "", dtype)


def text_receipt_kind(subject: str, body: str) -> SignalKind | None:
    """READ_RECEIPT or NOT_READ for an Exchange receipt written as text, else ``None``."""
    if _NOT_READ_SUBJECT.search(subject) and _NOT_READ_TEXT.search(body):
        return SignalKind.NOT_READ
    if _READ_SUBJECT.search(subject) and _READ_TEXT.search(body):
        return SignalKind.READ_RECEIPT
    return None
