"""Classifying inbound mail into signals: receipts, bounces, replies, meeting responses.

The order of the tests matters and is the point of this module:

1. a delivery status report (RFC 3464), one signal per recipient, most severe first;
2. a disposition notification (RFC 8098) or an abuse feedback report (RFC 5965);
3. a bounce written for people (Exchange, Exim, qmail, Lotus and the rest; see ``bounce_text``);
4. a read receipt written as text (Exchange);
5. an iTIP message (RFC 5546): the text/calendar part decides, subjects are only hints;
6. an automatic reply (RFC 3834 and the habits of responders that ignore it);
7. a reply (In-Reply-To or References), else a plain message.

So a bounce or a receipt is never taken for a reply although it carries In-Reply-To, and a
returned invitation is a bounce, not an invitation: parts inside an attached message are not
read as this message's own. What a signal answers comes from message ids only, never from a
subject.

``Signal.at`` is the Date header; without a usable one, ``received_at`` (the adapter's arrival
time); without that, the newest Received header; failing all three, the Unix epoch, with
"no usable date" in the reason so the placeholder is not mistaken for a time. A message without
a Message-ID gets a stable one made from a hash of its bytes (``<...@no-message-id.invalid>``),
so that signals stay idempotent by message id.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage, Message
from email.parser import BytesParser

from mailer import autoreply, bounce_text, dsn, mdn
from mailer.headers import (
    Envelope,
    address,
    addresses_in,
    all_headers,
    body_text,
    content_type,
    header,
    iter_parts,
    message_ids,
    parse_date,
    raw_headers,
    received_date,
    sanitise,
    thread_ids,
    unique,
)
from mailer.signals_calendar import calendar_signals
from rules.errors import UnreadableInput
from rules.model import Signal, SignalKind, require_aware

__all__ = ["classify_message", "parse_message", "sanitise"]

log = logging.getLogger(__name__)

_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
        "mime-version", "content-type", "sender", "reply-to", "in-reply-to", "references",
        "delivered-to", "auto-submitted",
    }
)  # fmt: skip
_SEVERITY = {SignalKind.BOUNCE: 0, SignalKind.DELAYED: 1, SignalKind.DELIVERY_RECEIPT: 2}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Boundary lines of a message read before the rest is left out (``_bounded_parts``).
MAX_PART_LINES = 400
_BOUNDARY_LINE = re.compile(rb"[\r\n]--")
# Header fields read, and the bytes of each (``_bounded_headers``).
MAX_FIELDS = 1000
MAX_SAME_FIELD = 100
# Per-recipient blocks of a delivery report read (``_delivery_status``).
MAX_REPORTS = 500
MAX_FIELD_BYTES = 16 * 1024
_MAX_LEADING_JUNK = 3
_CHALLENGE_REASON = (
    "challenge-response filter: the message waits until the sender proves to be a person; "
    "neither delivered nor failed"
)


def parse_message(raw: bytes, source: str = "<message>") -> EmailMessage:
    """``raw`` parsed with the modern ``email`` policy, after the clean-up real mailboxes need.

    An mbox ``From `` line, NUL bytes, a byte-order mark, leading blank lines and up to three
    stray lines before the first header are dropped;
    CRLF, LF and CR line ends are all accepted; 8-bit headers are kept (undecodable bytes become
    replacement characters when read). Raises ``UnreadableInput`` naming ``source`` for empty
    input or bytes that carry no mail header at all.
    """
    return _parse(_prepare(raw, source), source)


def classify_message(
    raw: bytes,
    *,
    source: str = "<message>",
    received_at: datetime | None = None,
    zone: tzinfo = UTC,
) -> tuple[Signal, ...]:
    """The signals one inbound message carries; never empty. See the module docstring.

    ``zone`` is the AE's: a meeting answer's floating or all-day RECURRENCE-ID is read in it, as
    the calendar reads the series (``rules.occurrence_ids``)."""
    if received_at is not None:
        require_aware("received_at", received_at)
    data = _prepare(raw, source)
    msg = _parse(data, source)
    try:
        return _classify(msg, data, received_at, zone)
    except Exception as exc:
        # The helpers already absorb what hostile input does to the email package; this is the
        # last guard, so that one message the code did not foresee is reported and skipped
        # instead of stopping a sync.
        log.warning("cannot classify %s", sanitise(source), exc_info=True)
        reason = f"cannot be classified ({type(exc).__name__}: {sanitise(str(exc), 120)})"
        raise UnreadableInput(source, reason) from exc


def _prepare(raw: bytes, source: str) -> bytes:
    if not raw:
        raise UnreadableInput(source, "the message is empty (0 bytes)")
    data = bytes(raw).replace(b"\x00", b"")
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if data.startswith(b"From "):
        first_end = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=-1)
        data = data[first_end + 1 :].lstrip(b"\r\n") if first_end >= 0 else b""
    if not data.strip():
        raise UnreadableInput(source, "the message has no content (only blanks or NUL bytes)")
    return _bounded_parts(_bounded_headers(data, source), source)


def _field_end(field: bytes) -> bytes:
    """A header field cut to ``MAX_FIELD_BYTES``: its start and its end, at spaces, so that a
    Subject keeps its first words and References its newest (last) ids."""
    half = MAX_FIELD_BYTES // 2
    head, tail = field[:half], field[-half:]
    head = head[: head.rfind(b" ")] if b" " in head else head
    tail = tail[tail.find(b" ") :] if b" " in tail else tail
    return head + b" " + tail.lstrip(b" ")


def _bounded_headers(data: bytes, source: str) -> bytes:
    """The header block with at most ``MAX_FIELDS`` fields of at most ``MAX_FIELD_BYTES`` each:
    the email package parses a megabyte of encoded words in minutes, and no mail that aeflow
    reads needs more. Linear in the size of the block."""
    ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n"), data.find(b"\r\r")) if i >= 0]
    cut = min(ends) if ends else len(data)
    head, body = data[:cut], data[cut:]
    if len(head) <= MAX_FIELD_BYTES:  # too small to hold anything costly
        return data
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    kept: list[bytes] = []
    named: dict[bytes, int] = {}
    for field in fields:
        name = field.split(b":", 1)[0].strip().lower()
        named[name] = named.get(name, 0) + 1
        if named[name] > MAX_SAME_FIELD or len(kept) == MAX_FIELDS:
            continue  # a header repeated hundreds of times says nothing more the next time
        if len(field) > MAX_FIELD_BYTES:
            newline = b"\r\n" if field.endswith(b"\r\n") else b"\n"
            field = _field_end(field.rstrip(b"\r\n")) + newline
        kept.append(field)
    if len(kept) < len(fields) or any(len(f) > MAX_FIELD_BYTES for f in fields):
        # said once per message, as the message is read once
        log.warning(
            "%s has %d header fields (some long); only the first %d, each cut to %d bytes, are "
            "read",
            sanitise(source),
            len(fields),
            MAX_FIELDS,
            MAX_FIELD_BYTES,
        )
    return b"".join(kept).rstrip(b"\r\n") + body


def _bounded_parts(data: bytes, source: str) -> bytes:
    """The message cut after its first ``MAX_PART_LINES`` MIME boundary lines, so that neither a
    message of 10,000 parts nor one nested 1,000 deep costs more than a few hundred parts: what
    aeflow reads (headers, report parts, a meeting answer, the text) comes first."""
    found = 0
    position = -1
    for match in _BOUNDARY_LINE.finditer(data):  # LF, CRLF or CR-only line ends alike
        found += 1
        position = match.start()
        if found == MAX_PART_LINES:
            break
    if found < MAX_PART_LINES:
        return data
    log.warning(
        "%s has more than %d MIME parts; only the first ones are read",
        sanitise(source),
        MAX_PART_LINES,
    )
    return data[: position + 1]


def _parse(data: bytes, source: str) -> EmailMessage:
    # A stray line before the headers (an escaped ">From " line, a tool's banner) would make
    # the parser read the whole file as a body; a few such lines are skipped.
    for skipped in range(_MAX_LEADING_JUNK + 1):
        msg = _parse_once(data, source)
        if msg is not None:
            return msg
        first_end = data.find(b"\n")
        if first_end < 0 or skipped == _MAX_LEADING_JUNK:
            break
        data = data[first_end + 1 :]
    raise UnreadableInput(
        source, "not a mail message: none of From, To, Date, Subject, Received, ... found"
    )


def _parse_once(data: bytes, source: str) -> EmailMessage | None:
    try:
        msg = BytesParser(policy=email.policy.default).parsebytes(data)
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise UnreadableInput(source, f"not a mail message ({type(exc).__name__})") from exc
    names = {str(k).lower() for k in msg}
    if not isinstance(msg, EmailMessage) or not names & _MAIL_HEADERS:
        return None
    return msg


@dataclass(frozen=True)
class _Mail:
    """One message as the classification steps read it."""

    msg: Message
    data: bytes
    env: Envelope
    subject: str
    body: str
    report_type: str
    zone: tzinfo  # the AE's, for the floating and all-day times of iTIP parts


def _classify(
    msg: Message, data: bytes, received_at: datetime | None, zone: tzinfo
) -> tuple[Signal, ...]:
    mail = _Mail(
        msg=msg,
        data=data,
        env=_envelope(msg, data, received_at),
        subject=header(msg, "Subject"),
        body=body_text(msg),
        report_type=_report_type(msg),
        zone=zone,
    )
    steps = (
        _delivery_status,
        _disposition,
        _feedback_report,
        _text_bounce,
        _text_receipt,
        _calendar,
        _auto_reply,
    )
    for step in steps:
        found = step(mail)
        if found:
            return tuple(sorted(found, key=lambda s: _SEVERITY.get(s.kind, len(_SEVERITY))))
    kind = SignalKind.REPLY if mail.env.thread else SignalKind.MESSAGE
    recipient = mail.env.sender if kind is SignalKind.REPLY else ""
    return (mail.env.signal(kind, recipient=recipient, answers=mail.env.thread),)


def _envelope(msg: Message, data: bytes, received_at: datetime | None) -> Envelope:
    note = ""
    # The raw Date first: the policy's parsed form drops the zone of "00:19:00 (EDT) -0400".
    written = next(iter(raw_headers(msg, "Date")), "")
    at = parse_date(written) or parse_date(header(msg, "Date")) or received_at or received_date(msg)
    if at is None:
        at, note = _EPOCH, "no usable date"
    at = at.astimezone(UTC)
    ids = message_ids(header(msg, "Message-ID"))
    digest = hashlib.sha256(data).hexdigest()[:32]
    message_id = ids[0] if ids else f"<{digest}@no-message-id.invalid>"
    return Envelope(
        at=at,
        message_id=message_id,
        sender=sanitise(address(header(msg, "From")) or address(header(msg, "Sender")), 320),
        subject=sanitise(header(msg, "Subject")),
        thread=tuple(thread_ids(msg)),
        note=note,
    )


def _report_type(msg: Message) -> str:
    for part in iter_parts(msg):
        if content_type(part) in {"multipart/report", "multipart/mixed"}:
            value = str(part.get_param("report-type", "") or "")
            if value:
                return value.strip().lower()
    return ""


def _returned_ids(mail: _Mail) -> list[str]:
    """What a report returns: ids of the attached or quoted original, and the report's own."""
    ids = dsn.returned_message_ids(mail.msg, mail.body)
    for part in dsn.status_parts(mail.msg):
        fields = dsn.read_report(dsn.report_text(part)).message_fields
        ids += message_ids(fields.get("x-original-message-id", ""))
        ids += message_ids(fields.get("message-id", ""))
    return [i for i in unique(ids) if i != mail.env.message_id]


def _delivery_status(mail: _Mail) -> tuple[Signal, ...]:
    # A report inside an attached message counts only when this message itself reads like a
    # bounce: a person forwarding someone else's bounce has not bounced anything.
    look_inside = bounce_text.is_daemon_sender(mail.msg) or bounce_text.is_failure_subject(
        mail.subject
    )
    parts = dsn.status_parts(mail.msg, look_inside=look_inside)
    reports = [r for p in parts for r in dsn.read_report(dsn.report_text(p)).recipients]
    if not reports:
        return ()
    reports = reports[:MAX_REPORTS]  # a report of thousands of recipients: the first ones
    answers = (*_returned_ids(mail), *mail.env.thread)
    diagnostics = " ".join(r.diagnostic for r in reports)
    if bounce_text.is_challenge(f"{mail.subject}\n{mail.body}\n{diagnostics}"):
        # Boxbe and its kind dress their challenge as a failed DSN. It is neither a failure
        # (the message is waiting, and arrives once the sender answers) nor a confirmation (no
        # person saw it): an automatic reply records it and confirms nothing.
        why = _CHALLENGE_REASON
        return tuple(
            mail.env.signal(
                SignalKind.AUTO_REPLY, recipient=r.recipient, answers=answers, reason=why
            )
            for r in reports
        )
    signals = []
    from_text: tuple[str, ...] | None = None  # read once: the same text for every report
    for report in reports:
        recipients: tuple[str, ...] = (report.recipient,)
        if not report.recipient:
            if from_text is None:
                from_text = _text_recipients(mail) or ("",)
            recipients = from_text
        for recipient in recipients:
            signals.append(
                mail.env.signal(
                    report.kind,
                    recipient=recipient,
                    answers=answers,
                    status=report.status,
                    reason=report.reason,
                )
            )
    return tuple(signals)


def _disposition(mail: _Mail) -> tuple[Signal, ...]:
    signals = []
    for part in mdn.disposition_parts(mail.msg):
        found = mdn.read_disposition(part)
        answers = (found.original_message_id, *mail.env.thread, *_returned_ids(mail))
        signals.append(
            mail.env.signal(
                found.kind,
                recipient=found.recipient or mail.env.sender,
                answers=answers,
                reason=f"disposition: {found.disposition or 'unknown'}",
            )
        )
    return tuple(signals)


def _feedback_report(mail: _Mail) -> tuple[Signal, ...]:
    is_arf = mail.report_type == "feedback-report" or any(
        content_type(p) == "message/feedback-report" for p in iter_parts(mail.msg)
    )
    if not is_arf:
        return ()
    reason = "abuse feedback report (RFC 5965): a receiver flagged a message; not a bounce"
    answers = (*_returned_ids(mail), *mail.env.thread)
    return (mail.env.signal(SignalKind.MESSAGE, answers=answers, reason=reason),)


def _text_bounce(mail: _Mail) -> tuple[Signal, ...]:
    if autoreply.has_auto_reply_subject(mail.subject) or not bounce_text.looks_like_bounce(
        mail.msg, mail.subject, mail.body, mail.report_type
    ):
        return ()
    answers = (*_returned_ids(mail), *mail.env.thread)
    if bounce_text.is_moderation_notice(mail.subject, mail.body):
        reason = "mailing-list moderation notice: held for a moderator, not a delivery failure"
        return (mail.env.signal(SignalKind.MESSAGE, answers=answers, reason=reason),)
    if bounce_text.is_challenge(f"{mail.subject}\n{bounce_text.head_of(mail.body)}"):
        return (mail.env.signal(SignalKind.AUTO_REPLY, answers=answers, reason=_CHALLENGE_REASON),)
    written = dsn.reports_in_text(mail.body)
    if written is not None:
        return tuple(
            mail.env.signal(
                r.kind, recipient=r.recipient, answers=answers, status=r.status, reason=r.reason
            )
            for r in written.recipients
        )
    found = bounce_text.read_text_bounce(
        mail.msg, mail.data, mail.subject, mail.body, _own_addresses(mail)
    )
    return tuple(
        mail.env.signal(
            found.kind, recipient=r, answers=answers, status=found.status, reason=found.reason
        )
        for r in found.recipients or ("",)
    )


def _text_recipients(mail: _Mail) -> tuple[str, ...]:
    found = bounce_text.read_text_bounce(
        mail.msg, mail.data, mail.subject, mail.body, _own_addresses(mail)
    )
    return found.recipients


def _own_addresses(mail: _Mail) -> set[str]:
    """Addresses a bounce names that are not failed recipients: its own and the sender's."""
    own: set[str] = set()
    for name in ("From", "To", "Cc", "Return-Path", "Sender", "Delivered-To", "Reply-To"):
        for value in all_headers(mail.msg, name):
            own.update(addresses_in(value))
    originals = [dsn.returned_headers(p) for p in iter_parts(mail.msg, into_messages=True)]
    originals = [*originals, dsn.quoted_headers(mail.body)]
    for original in originals:
        if original is None:
            continue
        for name in ("From", "Sender", "Return-Path"):
            own.update(addresses_in(" ".join(str(v) for v in original.get_all(name, []))))
    own.update(i.strip("<>").lower() for i in _returned_ids(mail))
    return own


def _text_receipt(mail: _Mail) -> tuple[Signal, ...]:
    kind = mdn.text_receipt_kind(mail.subject, mail.body)
    if kind is None:
        return ()
    reason = "receipt written as text (Exchange)"
    return (
        mail.env.signal(kind, recipient=mail.env.sender, answers=mail.env.thread, reason=reason),
    )


def _calendar(mail: _Mail) -> tuple[Signal, ...]:
    return calendar_signals(mail.msg, mail.env, mail.subject, mail.zone)


def _auto_reply(mail: _Mail) -> tuple[Signal, ...]:
    reason = autoreply.auto_reply_reason(mail.msg, mail.subject, mail.body)
    if not reason:
        return ()
    return (
        mail.env.signal(
            SignalKind.AUTO_REPLY, recipient=mail.env.sender, answers=mail.env.thread, reason=reason
        ),
    )
