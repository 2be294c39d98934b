"""MIME for the loopback EWS server: the form of every message it sends, the reports it writes
(RFC 3464 delivery status notifications, RFC 8098 message disposition notifications), and reading
delivered MIME back into item properties."""

from __future__ import annotations

import datetime as dt
import email.utils
import uuid
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

REPORTING_MTA = "ews.aeflow.test"


def make_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain or REPORTING_MTA}>"


def format_address(email_address: str, name: str = "") -> str:
    return email.utils.formataddr((name, email_address)) if name else email_address


def compose(
    *,
    sender: tuple[str, str],
    to: list[tuple[str, str]],
    cc: list[tuple[str, str]],
    bcc: list[tuple[str, str]],
    subject: str,
    body: str,
    body_type: str,
    message_id: str,
    sent: dt.datetime,
    headers: list[tuple[str, str]],
    read_receipt: bool,
    delivery_receipt: bool,
) -> bytes:
    """The MIME form of a message a client created from properties."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = format_address(*sender)
    if to:
        message["To"] = ", ".join(format_address(*entry) for entry in to)
    if cc:
        message["Cc"] = ", ".join(format_address(*entry) for entry in cc)
    if bcc:
        message["Bcc"] = ", ".join(format_address(*entry) for entry in bcc)
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(sent)
    message["Message-ID"] = message_id
    if read_receipt:
        message["Disposition-Notification-To"] = format_address(*sender)
    if delivery_receipt:
        message["Return-Receipt-To"] = format_address(*sender)
    for name, value in headers:
        message[name] = value
    subtype = "html" if body_type.lower() == "html" else "plain"
    message.set_content(body, subtype=subtype)
    return message.as_bytes()


def parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def without_bcc(raw: bytes) -> bytes:
    """The copy recipients receive: the same bytes without a Bcc header."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    if not separator:
        head, separator, rest = raw.partition(b"\n\n")
    lines: list[bytes] = []
    skipping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(b"bcc:")
        if not skipping:
            lines.append(line)
    return b"".join(lines) + separator + rest


def ensure_message_id(raw: bytes, message_id: str) -> tuple[bytes, str]:
    """``raw`` with a Message-ID (the one it has, else ``message_id`` added), and that id."""
    existing = parse(raw).get("Message-ID")
    if existing:
        return raw, str(existing).strip()
    return f"Message-ID: {message_id}\r\n".encode() + raw, message_id


def headers_of(raw: bytes) -> bytes:
    head, separator, _ = raw.partition(b"\r\n\r\n")
    if not separator:
        head, _, _ = raw.partition(b"\n\n")
    return head + b"\r\n"


def _report(
    *,
    report_type: str,
    sender: str,
    to: str,
    subject: str,
    sent: dt.datetime,
    message_id: str,
    original_id: str,
    human: str,
    machine: list[list[tuple[str, str]]],
    original_headers: bytes,
) -> bytes:
    """A multipart/report (RFC 6522): a human part, a machine part, the original's headers."""
    report = EmailMessage(policy=policy.SMTP)
    report["From"] = sender
    report["To"] = to
    report["Subject"] = subject
    report["Date"] = email.utils.format_datetime(sent)
    report["Message-ID"] = message_id
    report["In-Reply-To"] = original_id
    report["References"] = original_id
    report["Auto-Submitted"] = (
        "auto-replied" if report_type != "delivery-status" else "auto-generated"
    )
    report.set_type("multipart/report")
    report.set_param("report-type", report_type)
    text = Message()
    text.set_type("text/plain")
    text.set_param("charset", "utf-8")
    text.set_payload(human.encode().decode("ascii", "replace"))
    status = Message()
    status.set_type(f"message/{report_type}")
    if report_type == "delivery-status":
        # The generator writes a delivery-status part as its header blocks, one per recipient
        # after the message's own.
        blocks: list[Message | str] = []
        for fields in machine:
            block = Message()
            for name, value in fields:
                block[name] = value
            blocks.append(block)
        status.set_payload(blocks)
    else:
        status.set_payload("".join(f"{k}: {v}\r\n" for k, v in machine[0]))
    headers = Message()
    headers.set_type("text/rfc822-headers")
    headers.set_payload(original_headers.decode("utf-8", "replace"))
    report.attach(text)  # type: ignore[arg-type]
    report.attach(status)  # type: ignore[arg-type]
    report.attach(headers)  # type: ignore[arg-type]
    return report.as_bytes()


def delivery_status(
    *,
    original: bytes,
    original_id: str,
    recipients: list[str],
    action: str,
    to: str,
    sent: dt.datetime,
    message_id: str,
) -> bytes:
    """An RFC 3464 DSN about ``recipients``: ``action`` "failed" (a bounce, status 5.1.1, no such
    user) or "delivered" (a delivery receipt, status 2.0.0)."""
    failed = action == "failed"
    status, diagnostic = ("5.1.1", "smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found")
    if not failed:
        status, diagnostic = ("2.0.0", "smtp; 250 2.0.0 delivered")
    subject = parse(original).get("Subject", "")
    blocks = [[("Reporting-MTA", f"dns; {REPORTING_MTA}"), ("Arrival-Date", _rfc822(sent))]]
    for recipient in recipients:
        blocks.append(
            [
                ("Final-Recipient", f"rfc822; {recipient}"),
                ("Action", action),
                ("Status", status),
                ("Diagnostic-Code", diagnostic),
            ]
        )
    human = (
        f"Your message couldn't be delivered to {', '.join(recipients)}: no mailbox by that name."
        if failed
        else f"Your message has been delivered to {', '.join(recipients)}."
    )
    return _report(
        report_type="delivery-status",
        sender=f"Microsoft Outlook <postmaster@{REPORTING_MTA}>",
        to=to,
        subject=("Undeliverable: " if failed else "Delivered: ") + str(subject),
        sent=sent,
        message_id=message_id,
        original_id=original_id,
        human=human,
        machine=blocks,
        original_headers=headers_of(original),
    )


def disposition(
    *,
    original: bytes,
    original_id: str,
    reader: tuple[str, str],
    to: str,
    sent: dt.datetime,
    message_id: str,
    disposition_type: str = "displayed",
) -> bytes:
    """An RFC 8098 MDN from ``reader``: ``displayed`` for a read receipt, ``deleted`` for a
    not-read notice."""
    subject = parse(original).get("Subject", "")
    blocks = [
        [
            ("Reporting-UA", f"{REPORTING_MTA}; aeflow loopback EWS"),
            ("Final-Recipient", f"rfc822; {reader[0]}"),
            ("Original-Message-ID", original_id),
            ("Disposition", f"manual-action/MDN-sent-manually; {disposition_type}"),
        ]
    ]
    read = disposition_type == "displayed"
    human = f"Your message to {reader[0]} was {'read' if read else 'deleted without being read'}."
    return _report(
        report_type="disposition-notification",
        sender=format_address(*reader),
        to=to,
        subject=("Read: " if read else "Not read: ") + str(subject),
        sent=sent,
        message_id=message_id,
        original_id=original_id,
        human=human,
        machine=blocks,
        original_headers=headers_of(original),
    )


def _rfc822(value: dt.datetime) -> str:
    return email.utils.format_datetime(value.astimezone(dt.UTC))


def report_class(message: EmailMessage) -> str | None:
    """The ItemClass Exchange gives a report, or None for a message that is not one."""
    if message.get_content_type() != "multipart/report":
        return None
    kind = str(message.get_param("report-type", "") or "").lower()
    for part in message.walk():
        content_type = part.get_content_type()
        if kind == "delivery-status" and content_type == "message/delivery-status":
            actions = {value.lower() for value in _fields(part, "Action")}
            if "failed" in actions:
                return "REPORT.IPM.Note.NDR"
            if "delivered" in actions or "relayed" in actions or "expanded" in actions:
                return "REPORT.IPM.Note.DR"
            if "delayed" in actions:
                return "REPORT.IPM.Note.Delayed"
        if kind == "disposition-notification" and content_type == (
            "message/disposition-notification"
        ):
            values = " ".join(_fields(part, "Disposition")).lower()
            return "REPORT.IPM.Note.IPNRN" if "displayed" in values else "REPORT.IPM.Note.IPNNRN"
    return "REPORT.IPM.Note.NDR" if kind == "delivery-status" else None


def _fields(part: Any, name: str) -> list[str]:
    """Values of ``name`` in every header block of a message/delivery-status-like part."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    if isinstance(payload, str | bytes):
        text = payload.decode() if isinstance(payload, bytes) else payload
        return [
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.lower().startswith(name.lower() + ":")
        ]
    found = []
    for block in blocks:
        value = block.get(name)
        if value:
            found.append(str(value))
    return found


def original_message_id(message: EmailMessage) -> str | None:
    """The Message-ID a report answers: an MDN's Original-Message-ID, else the quoted headers'."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/disposition-notification":
            found = _fields(part, "Original-Message-ID")
            if found:
                return found[0]
        if content_type == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                found_id = parse(raw + b"\r\n").get("Message-ID")
                if found_id:
                    return str(found_id).strip()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(first, Message) and first.get("Message-ID"):
                return str(first.get("Message-ID")).strip()
    in_reply_to = message.get("In-Reply-To")
    return str(in_reply_to).strip() if in_reply_to else None


def text_body(message: EmailMessage) -> tuple[str, str]:
    """The body a client would see: (text, "Text" | "HTML")."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", "Text"
    content = part.get_content()
    kind = "HTML" if part.get_content_type() == "text/html" else "Text"
    return (content if isinstance(content, str) else ""), kind


def addresses(message: EmailMessage, header: str) -> list[tuple[str, str]]:
    values = message.get_all(header) or []
    return [
        (addr, name) for name, addr in email.utils.getaddresses([str(v) for v in values]) if addr
    ]
