"""Which signal confirms which delivery, and what it does to each recipient's status.

A read receipt, a reply in the thread or a meeting acceptance confirms; a decline declines; a
bounce fails; a delivery receipt only says it arrived; an automatic reply confirms nothing.
A signal speaks for one person: the recipient it names (a receipt's final recipient, a response's
attendee), or its sender (a reply); and it counts only when its sender may speak for that person
(``vouched``): nobody can confirm or decline for somebody else. Matching a signal to a delivery
(by Message-ID, In-Reply-To, References or the meeting) is the caller's; this module only decides
what the match means.
"""

from __future__ import annotations

from dataclasses import replace

from rules.model import (
    Delivery,
    DeliveryStatus,
    RecipientStatus,
    Response,
    Signal,
    SignalKind,
    email_domain,
    normalise_email,
)

_CONFIRMING_RESPONSES = {Response.ACCEPTED: "accepted", Response.TENTATIVE: "tentative"}


def _outcome(signal: Signal) -> tuple[DeliveryStatus, str] | None:
    """The status a signal gives the person it speaks for, with a word saying why."""
    kind = signal.kind
    if kind is SignalKind.READ_RECEIPT:
        return DeliveryStatus.CONFIRMED, "read-receipt"
    if kind is SignalKind.REPLY:
        return DeliveryStatus.CONFIRMED, "reply"
    if kind is SignalKind.MEETING_RESPONSE and signal.response is not None:
        if signal.response is Response.DECLINED:
            return DeliveryStatus.DECLINED, "declined"
        if signal.response in _CONFIRMING_RESPONSES:
            return DeliveryStatus.CONFIRMED, _CONFIRMING_RESPONSES[signal.response]
        return None
    if kind is SignalKind.DELIVERY_RECEIPT:
        return DeliveryStatus.DELIVERED, "delivery-receipt"
    if kind is SignalKind.BOUNCE:
        return DeliveryStatus.FAILED, f"{signal.status}|{signal.reason}"
    return None  # automatic replies, delays, not-read notices: recorded, confirm nothing


def speaks_for(signal: Signal) -> str:
    """The address whose status this signal changes."""
    if signal.kind is SignalKind.REPLY:
        return signal.sender
    return signal.recipient or signal.sender


# The local parts of the addresses mail systems send delivery reports from (RFC 3464 reports
# come from the reporting MTA, which may be the recipient's provider or the AE's own server).
_MAIL_SYSTEMS = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mdaemon", "microsoftexchange"}
)
_DSN_KINDS = frozenset({SignalKind.DELIVERY_RECEIPT, SignalKind.BOUNCE, SignalKind.DELAYED})


def vouched(signal: Signal) -> bool:
    """Whether the signal's sender may speak for the person it names: an answer (a read receipt,
    a meeting response) counts only from that person; a delivery report only from a mail system
    (a daemon or postmaster address, or the recipient's own domain). A reply speaks for its
    sender by definition. A signal that names nobody else is its sender's own."""
    if signal.kind is SignalKind.REPLY or not signal.recipient:
        return True
    if signal.sender == signal.recipient:
        return True
    if signal.kind in _DSN_KINDS:
        if not signal.sender:
            return True  # a null return path: how a mail system sends reports
        local = signal.sender.split("@", 1)[0].lower()
        if local in _MAIL_SYSTEMS or local.startswith("microsoftexchange"):
            return True
        return email_domain(signal.sender) == email_domain(signal.recipient)
    return False


# A read receipt proves the mail was read; a reply or an acceptance also says the person answered
# (which the decision-maker check needs), so it may replace a read receipt's confirmation.
_ANSWERED = frozenset({"reply", "accepted", "tentative"})


def _allowed(current: RecipientStatus, new: DeliveryStatus, detail: str) -> bool:
    """Statuses only move forward: a late delivery receipt never undoes a confirmation, and a
    bounce after a reply (a second address of the same person failing) is not believed."""
    if current.status is new:
        return (
            new is DeliveryStatus.CONFIRMED
            and detail in _ANSWERED
            and current.detail not in _ANSWERED
        )
    return _moves_forward(current.status, new)


def _moves_forward(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    if new is DeliveryStatus.DELIVERED:
        return current is DeliveryStatus.SENT
    if new is DeliveryStatus.FAILED:
        return current in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    # CONFIRMED or DECLINED: the person answered; that outranks anything but a later answer.
    return True


def apply_signal(delivery: Delivery, signal: Signal) -> Delivery | None:
    """The delivery after ``signal``, or ``None`` when it changes nothing (or its sender may not
    speak for the person it names: ``vouched``)."""
    if not vouched(signal):
        return None
    outcome = _outcome(signal)
    if outcome is None:
        return None
    status, detail = outcome
    who = normalise_email(speaks_for(signal))
    if not who:
        # A bounce that names nobody: only a single-recipient mail can be pinned on someone.
        if signal.kind is not SignalKind.BOUNCE or len(delivery.recipients) != 1:
            return None
        who = delivery.recipients[0].email
    changed = False
    recipients = []
    for entry in delivery.recipients:
        if entry.email == who and _allowed(entry, status, detail):
            entry = RecipientStatus(entry.email, status, signal.at, detail)
            changed = True
        recipients.append(entry)
    return replace(delivery, recipients=tuple(recipients)) if changed else None
