"""Exchange inbox items as signals: the MIME decides, the item's class and fields fill the gaps.

Every item is classified from its MIME content by ``mailer.signals.classify_message``, exactly as
the local backend classifies a file, so both backends agree on what a message is. Exchange files
receipts and bounces as report items (ItemClass ``REPORT.IPM.Note.IPNRN`` read, ``.IPNNRN`` not
read, ``.DR`` delivered, ``.NDR`` not delivered) and attendees' answers as meeting responses
(``IPM.Schedule.Meeting.Resp.Pos``, ``.Tent``, ``.Neg``). When the MIME carries the report or the
iTIP REPLY (the usual case), its signals stand; when it does not (Exchange sometimes renders a
report as a plain note), the item's class says what it is and its In-Reply-To and References say
what it answers, never its subject.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from mailer.headers import message_ids, unique
from mailer.signals import classify_message
from rules import occurrence_ids
from rules.model import Response, Signal, SignalKind

_REPORTS = (
    # Longest suffix first: ".IPNNRN" also ends with "NRN", ".NDR" with "DR".
    (".IPNNRN", SignalKind.NOT_READ),
    (".IPNRN", SignalKind.READ_RECEIPT),
    (".NDR", SignalKind.BOUNCE),
    (".DR", SignalKind.DELIVERY_RECEIPT),
)
_RESPONSES = {
    "IPM.SCHEDULE.MEETING.RESP.POS": Response.ACCEPTED,
    "IPM.SCHEDULE.MEETING.RESP.TENT": Response.TENTATIVE,
    "IPM.SCHEDULE.MEETING.RESP.NEG": Response.DECLINED,
}
_REPORT_SIGNALS = frozenset(
    {
        SignalKind.READ_RECEIPT,
        SignalKind.NOT_READ,
        SignalKind.DELIVERY_RECEIPT,
        SignalKind.DELAYED,
        SignalKind.BOUNCE,
    }
)


@dataclass(frozen=True)
class ItemFacts:
    """What the server says of an item besides its MIME (plain values: no exchangelib here)."""

    item_class: str = ""
    received_at: datetime | None = None
    in_reply_to: str = ""
    references: str = ""
    # The original's Message-ID as the server links it (a report item's own field), if known.
    original_message_id: str = ""
    uid: str = ""
    recurrence_id: datetime | None = None


def report_kind(item_class: str) -> SignalKind | None:
    """The signal a report item's class stands for; ``None`` when it is not a report."""
    name = item_class.strip().upper()
    if not name.startswith("REPORT."):
        return None
    return next((kind for suffix, kind in _REPORTS if name.endswith(suffix)), None)


def response_of_class(item_class: str) -> Response | None:
    """The answer a meeting response's class carries; ``None`` when it is not one."""
    return _RESPONSES.get(item_class.strip().upper())


def item_signals(
    raw: bytes, facts: ItemFacts, source: str, zone: tzinfo = UTC
) -> tuple[Signal, ...]:
    """The signals of one inbox item. Raises ``UnreadableInput`` when its MIME is not mail.
    ``zone`` is the AE's (``mailer.signals.classify_message``)."""
    signals = classify_message(raw, source=source, received_at=facts.received_at, zone=zone)
    kind = report_kind(facts.item_class)
    if kind is not None:
        return _report(signals, kind, facts)
    response = response_of_class(facts.item_class)
    if response is not None:
        return _response(signals, response, facts, zone)
    return signals


def _linked(facts: ItemFacts, signal: Signal) -> tuple[str, ...]:
    """What the item answers by the server's fields, strongest first, then the MIME's thread."""
    found = (
        message_ids(facts.original_message_id)
        + message_ids(facts.in_reply_to)
        + list(reversed(message_ids(facts.references)))
    )
    return unique([*found, *signal.answers])


def _report(signals: tuple[Signal, ...], kind: SignalKind, facts: ItemFacts) -> tuple[Signal, ...]:
    reports = [s for s in signals if s.kind in _REPORT_SIGNALS]
    if reports:
        # The MIME's report is richer (a status per recipient); the item only adds links to it.
        return tuple(s if s.answers else replace(s, answers=_linked(facts, s)) for s in reports)
    first = signals[0]
    reader = first.sender if kind in (SignalKind.READ_RECEIPT, SignalKind.NOT_READ) else ""
    return (
        Signal(
            kind=kind,
            at=first.at,
            message_id=first.message_id,
            sender=first.sender,
            recipient=reader,
            answers=_linked(facts, first),
            reason=f"Exchange report item ({facts.item_class})",
            subject=first.subject,
        ),
    )


def _response(
    signals: tuple[Signal, ...], response: Response, facts: ItemFacts, zone: tzinfo
) -> tuple[Signal, ...]:
    if any(s.kind is SignalKind.MEETING_RESPONSE for s in signals):
        return signals
    first = signals[0]
    occurrence = ""
    if facts.recurrence_id is not None:
        occurrence = occurrence_ids.occurrence_id(facts.recurrence_id, zone)
    return (
        Signal(
            kind=SignalKind.MEETING_RESPONSE,
            at=first.at,
            message_id=first.message_id,
            sender=first.sender,
            recipient=first.sender,
            answers=_linked(facts, first),
            response=response,
            uid=facts.uid,
            occurrence_id=occurrence,
            reason=f"Exchange meeting response ({facts.item_class})",
            subject=first.subject,
        ),
    )
