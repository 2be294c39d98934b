"""Everything sent to a client must be confirmed received (必须确认对方收到).

Per recipient of a client mail: no read receipt, reply or acceptance within ``confirm_within``
(working time) brings one polite reminder to the recipient and a note to the AE to call them;
still none ``escalate_after`` later brings the AE's manager an escalation (several due together go
as one digest). A bounce tells the AE at once. A reminder belongs to the chain of the mail it
reminds of: a receipt for it confirms the original, and it starts no chain of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from rules.clients import client_of_address
from rules.confirmation import confirmation_key
from rules.context import local_text, person
from rules.invitations import fingerprint
from rules.model import (
    Action,
    Client,
    Delivery,
    DeliveryStatus,
    Meeting,
    Person,
    RecipientStatus,
)
from rules.planning import PlanState, add_working_time, key_part
from rules.policies import ReceiptsPolicy

# Notices of a meeting: chasing them ends when the meeting begins.
MEETING_NOTICES = frozenset({"confirmation", "invitation", "invitation_cancel"})
WAITING = {"en": "{} working hours", "zh-CN": "{}个工作小时"}
OVERDUE = {
    "en": "more than {} working hours and {} working day(s)",
    "zh-CN": "超过{}个工作小时又{}个工作日",
}


def _name(email: str, clients: tuple[Client, ...]) -> dict[str, str]:
    client = client_of_address(email, clients)
    contact = client.contact(email) if client else None
    if contact is not None:
        return person(contact.person)
    return person(Person(email))


def receipt_actions(state: PlanState, policy: ReceiptsPolicy, zone: ZoneInfo) -> Iterator[Action]:
    if not policy.enabled:
        return
    workdays = state.workdays
    ae = state.ae
    meetings = {m.key: m for m in state.meetings}
    for delivery in state.deliveries:
        if not delivery.client:
            continue
        meeting = meetings.get(delivery.meeting) if delivery.meeting else None
        # The meeting moved, was cancelled or is gone: chasing a notice of it helps no one (a
        # moved meeting has a confirmation of its own). A bounce is still news.
        stale = bool(delivery.meeting) and _superseded(delivery, meeting)
        client = next((c for c in state.clients if c.name == delivery.client), None)
        language = client.language if client else ae.language
        chain = key_part(delivery.key)
        original = {
            "subject": delivery.subject,
            "sent": local_text(delivery.sent_at, zone),
            "kind": delivery.kind,
        }
        remind_at = add_working_time(workdays, delivery.sent_at, policy.confirm_within)
        escalate_at = add_working_time(workdays, remind_at, policy.escalate_after)
        give_up = delivery.sent_at + policy.lookback
        for recipient in delivery.recipients:
            who = _name(recipient.email, state.clients)
            tail = f"{chain}:{key_part(recipient.email)}"
            if recipient.status is DeliveryStatus.FAILED:
                yield _bounce_alert(state, policy, delivery, recipient, who, original, tail)
                continue
            if stale or recipient.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
                continue
            if client is None or not client.owns_address(recipient.email):
                continue  # colleagues on a client mail are not chased
            hours = round(policy.confirm_within.total_seconds() / 3600, 1)
            waiting = WAITING.get(ae.language, WAITING["en"]).format(f"{hours:g}")
            # Nobody needs reminding of a meeting notice once the meeting has begun; the
            # manager still hears that it was never confirmed.
            remind_until = escalate_at
            if meeting is not None and delivery.kind in MEETING_NOTICES:
                remind_until = min(escalate_at, meeting.start)
            yield Action(
                key=f"remind:{tail}",
                kind="receipt_reminder",
                due=remind_at,
                expires=remind_until,
                recipients=(recipient.email,),
                client=delivery.client,
                language=language,
                chain=delivery.key,
                data={"original": original, "recipient": who, "client": {"name": client.name}},
            )
            yield Action(
                key=f"call:{tail}",
                kind="call_note",
                due=remind_at,
                expires=remind_until if delivery.kind in MEETING_NOTICES else give_up,
                recipients=(ae.person.email,),
                client=delivery.client,
                language=ae.language,
                data={
                    "original": original,
                    "recipient": who,
                    "client": {"name": client.name},
                    "waiting": waiting,
                },
            )
            yield Action(
                key=f"escalate:{tail}",
                kind="escalation",
                due=escalate_at,
                expires=give_up,
                recipients=(ae.manager,),
                client=delivery.client,
                language=ae.language,
                data={
                    "item": {
                        "client": client.name,
                        "subject": delivery.subject,
                        "recipient": who,
                        "sent": original["sent"],
                        "waiting": OVERDUE.get(ae.language, OVERDUE["en"]).format(
                            f"{hours:g}", policy.escalate_after.days
                        ),
                    }
                },
            )


def _superseded(delivery: Delivery, meeting: Meeting | None) -> bool:
    """Whether a notice of a meeting no longer describes it: the meeting moved (a confirmation
    or an update of its own follows), was cancelled, or is gone."""
    if delivery.kind == "confirmation":
        return meeting is None or meeting.cancelled or confirmation_key(meeting) != delivery.key
    if delivery.kind == "invitation":
        stated = delivery.key.rpartition(":")[2]
        return meeting is None or meeting.cancelled or fingerprint(meeting) != stated
    return False


def _bounce_alert(
    state: PlanState,
    policy: ReceiptsPolicy,
    delivery: Delivery,
    recipient: RecipientStatus,
    who: dict[str, str],
    original: dict[str, str],
    tail: str,
) -> Action:
    status, _, reason = recipient.detail.partition("|")
    return Action(
        key=f"bounce:{tail}",
        kind="bounce_alert",
        due=recipient.since or delivery.sent_at,
        expires=delivery.sent_at + policy.lookback,
        recipients=(state.ae.person.email,),
        client=delivery.client,
        language=state.ae.language,
        data={
            "original": original,
            "recipient": who,
            "status": status,
            "reason": reason,
            "client": {"name": delivery.client},
        },
    )
