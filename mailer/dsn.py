"""Delivery status notifications (RFC 3464, RFC 6533) and the original a report returns.

Real reports bend the format: an extra blank line splitting one recipient's fields, a
Diagnostic-Code whose continuation lines are not indented, upper-case field names, an address
without its type, the report wrapped in a multipart/mixed or in another message. The fields are
therefore read from the report's text by this module, not through the ``email`` package's header
parser, and loosely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from mailer.headers import (
    address,
    content_type,
    header,
    iter_parts,
    message_ids,
    part_text,
    unfold,
    unique,
)
from rules.model import SignalKind

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "action", "status", "diagnostic-code")
_RETURNED_TYPES = {
    "message/rfc822",
    "message/global",
    "message/rfc822-headers",
    "message/global-headers",
    "text/rfc822-headers",
}
_HEADER_LINE = re.compile(
    r"^(Received|Return-Path|From|To|Subject|Date|Message-ID|MIME-Version)[ \t]*:", re.IGNORECASE
)


@dataclass(frozen=True)
class RecipientStatusReport:
    """What a report says about one recipient."""

    recipient: str
    action: str
    status: str
    diagnostic: str
    status_text: str = ""

    @property
    def reason(self) -> str:
        """The most telling words: the diagnostic, else the status, else the action."""
        if self.diagnostic:
            return self.diagnostic
        if self.status_text:
            return f"Status: {self.status_text}"
        return f"Action: {self.action}" if self.action else ""

    @property
    def kind(self) -> SignalKind:
        return kind_for_action(self.action, self.status, self.diagnostic)


@dataclass(frozen=True)
class StatusReport:
    message_fields: dict[str, str]
    recipients: tuple[RecipientStatusReport, ...]


def kind_for_action(action: str, status: str, diagnostic: str = "") -> SignalKind:
    """The signal an RFC 3464 Action (or, without one, the status class) stands for."""
    if action in {"delivered", "relayed", "expanded"}:
        return SignalKind.DELIVERY_RECEIPT
    if action == "delayed":
        return SignalKind.DELAYED
    # "error" is OpenSMTPD's word for failed.
    if action in {"failed", "error"}:
        return SignalKind.BOUNCE
    code = status or enhanced_status(diagnostic)
    if code.startswith("2"):
        return SignalKind.DELIVERY_RECEIPT
    if code.startswith("4"):
        return SignalKind.DELAYED
    # Without an action or a status, a report about a recipient is about a failure: success and
    # delay reports always say so.
    return SignalKind.BOUNCE


def enhanced_status(text: str) -> str:
    """The first enhanced status code (RFC 3463, such as ``5.1.1``) in ``text``, or ``""``."""
    return next(iter(enhanced_statuses(text)), "")


def enhanced_statuses(text: str) -> list[str]:
    """Every enhanced status code in ``text``, in order; version numbers and IPs are skipped."""
    return [".".join(match.groups()) for match in _STATUS.finditer(text)]


def status_parts(msg: Message, *, look_inside: bool = True) -> list[Message]:
    """The delivery-status parts of the outermost report in ``msg``.

    With ``look_inside``, a report is looked for inside attached messages when there is none
    outside them: some gateways wrap the whole report in a message/rfc822 part.
    """
    for into in (False, True) if look_inside else (False,):
        found = [part for part in iter_parts(msg, into_messages=into) if _is_status(part)]
        if found:
            return found
    return []


def _is_status(part: Message) -> bool:
    return content_type(part) in {"message/delivery-status", "message/global-delivery-status"}


def report_text(part: Message) -> str:
    """The text of a report part, rebuilt from what the ``email`` package made of it."""
    payload = part.get_payload()
    if isinstance(payload, str):
        return part_text(part)
    chunks = []
    for block in payload if isinstance(payload, list) else []:
        if not isinstance(block, Message):
            continue
        lines = [f"{key}: {unfold(str(value))}" for key, value in block.raw_items()]
        body = block.get_payload()
        if isinstance(body, str) and body.strip():
            # A line that is not a field ends the parser's header block early; its body then
            # continues the same block (no blank line in the original).
            lines.append(body)
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks)


def parse_fields(text: str) -> list[dict[str, str]]:
    """Blocks of ``Field: value`` lines separated by blank lines; names in lower case.

    A line that is neither a field nor blank continues the previous field, indented or not.
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        match = _FIELD.match(line) if not line[0].isspace() else None
        if match:
            last = match.group(1).lower()
            current.setdefault(last, match.group(2).strip())
        elif last:
            current[last] = f"{current[last]} {line.strip()}".strip()
    if current:
        blocks.append(current)
    return blocks


def read_report(text: str) -> StatusReport:
    """The per-message fields and the per-recipient reports in the text of a delivery status.

    A block that names no recipient belongs to the message when it comes first (Boxbe puts
    Action there), and to the recipient before it otherwise (a stray blank line), unless it has
    an Action of its own: then it is a report whose recipient the text must supply.
    """
    message_fields: dict[str, str] = {}
    grouped: list[dict[str, str]] = []
    for block in parse_fields(text):
        names_recipient = "final-recipient" in block or "original-recipient" in block
        if not names_recipient and not grouped:
            for name, value in block.items():
                message_fields.setdefault(name, value)
            continue
        if not names_recipient and "action" not in block:
            for name, value in block.items():
                grouped[-1].setdefault(name, value)
            continue
        grouped.append(dict(block))
    if not grouped and any(name in message_fields for name in _RECIPIENT_FIELDS):
        grouped.append(message_fields)
    reports = tuple(_recipient_report(fields) for fields in grouped)
    return StatusReport(message_fields, reports)


def _recipient_report(fields: dict[str, str]) -> RecipientStatusReport:
    # The original recipient is the address as the sender wrote it, which is what a delivery
    # is tracked by; the final one may be an internal alias.
    recipient = typed_address(fields.get("original-recipient", "")) or typed_address(
        fields.get("final-recipient", "")
    )
    diagnostic = fields.get("diagnostic-code", "")
    dtype, sep, rest = diagnostic.partition(";")
    if sep and " " not in dtype.strip():
        diagnostic = rest.strip()
    return RecipientStatusReport(
        recipient=recipient,
        action=fields.get("action", "").split()[0].lower() if fields.get("action") else "",
        status=enhanced_status(fields.get("status", "")) or enhanced_status(diagnostic),
        diagnostic=diagnostic,
        status_text=fields.get("status", ""),
    )


def typed_address(value: str) -> str:
    """The address in ``rfc822; user@host`` (or ``<user@host>`` with no type), lower case."""
    _, sep, rest = value.partition(";")
    return address(rest if sep else value)


def reports_in_text(text: str) -> StatusReport | None:
    """A delivery status written into a human-readable part (Amazon WorkMail does this)."""
    if not re.search(r"^\s*(Final|Original)-Recipient\s*:", text, re.IGNORECASE | re.MULTILINE):
        return None
    report = read_report(text)
    reports = tuple(r for r in report.recipients if r.recipient)
    return StatusReport(report.message_fields, reports) if reports else None


def returned_message_ids(msg: Message, body: str) -> list[str]:
    """Message ids of the original a report returns: attached, as headers, or quoted in text.

    Only the returned original itself counts, not messages attached inside it (a forwarded
    mail in the original is not what bounced).
    """
    ids: list[str] = []
    for part in returned_parts(msg):
        original = returned_headers(part)
        if original is not None:
            ids += message_ids(header(original, "Message-ID"))
    for match in re.finditer(r"(?im)^[ \t>]*Message-ID[ \t]*:\s*(<[^<>]+>)", body):
        ids += message_ids(match.group(1))
    return list(unique(ids))


def returned_parts(msg: Message) -> list[Message]:
    """The parts holding the returned original: beside the report's status fields when there
    is a report (wrapped in another message or not), else at the top level of ``msg``."""
    for part in iter_parts(msg, into_messages=True):
        children = part.get_payload() if part.is_multipart() else None
        if not isinstance(children, list) or content_type(part).startswith("message/"):
            continue
        kids = [c for c in children if isinstance(c, Message)]
        if any(_is_status(c) or content_type(c).endswith("disposition-notification") for c in kids):
            return [c for c in kids if content_type(c) in _RETURNED_TYPES]
    return [p for p in iter_parts(msg) if content_type(p) in _RETURNED_TYPES]


def returned_headers(part: Message) -> Message | None:
    """The headers of a returned original, from a message/rfc822 or a text/rfc822-headers part."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = part_text(part) if isinstance(payload, str) else ""
    return HeaderParser(policy=compat32).parsestr(text.lstrip()) if text.strip() else None


def quoted_headers(text: str) -> Message | None:
    """A header block quoted in the text of a bounce (the "original message follows" part).

    A block counts when it names at least two of the usual headers, so that a "To:" line in
    the human-readable explanation is not taken for the returned original.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        if not _HEADER_LINE.match(line):
            continue
        block = HeaderParser(policy=compat32).parsestr("\n".join(lines[index : index + 200]))
        known = {"from", "to", "subject", "date", "message-id", "received"}
        if len(known & {str(k).lower() for k in block}) >= 2:
            return block
    return None
