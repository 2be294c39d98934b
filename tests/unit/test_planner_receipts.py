"""Receipts: reminders, notes to the AE, escalations to the manager, bounce alerts; and tracking."""

from __future__ import annotations

from datetime import UTC, datetime

from rules.model import DeliveryStatus, RecipientStatus, Response, Signal, SignalKind
from rules.planner import plan
from rules.policies import Policies
from rules.tracking import apply_signal
from tests.unit.planner_fixtures import AE, JANE, MANAGER, MEI, TOM, at, delivery, state

POLICIES = Policies()


def by_kind(actions: object, kind: str) -> list[object]:
    return [a for a in actions if a.kind == kind]  # type: ignore[attr-defined]


def test_an_unconfirmed_recipient_gets_one_reminder_after_four_working_hours() -> None:
    sent = delivery(sent_at=at(8, 10))  # Tuesday 10:00; lunch 12:00-13:00
    assert (
        by_kind(plan(at(8, 14, 59), state(deliveries=(sent,)), POLICIES).due, "receipt_reminder")
        == []
    )
    result = plan(at(8, 15), state(deliveries=(sent,)), POLICIES)
    reminders = by_kind(result.due, "receipt_reminder")
    assert sorted(r.recipients for r in reminders) == [(JANE.email,), (TOM.email,)]  # type: ignore[attr-defined]
    assert all(r.chain == sent.key for r in reminders)  # type: ignore[attr-defined]
    notes = by_kind(result.due, "call_note")
    assert [n.recipients for n in notes] == [(AE.email,), (AE.email,)]  # type: ignore[attr-defined]


def test_a_confirmed_or_declined_recipient_is_not_chased() -> None:
    sent = delivery(
        statuses={JANE.email: DeliveryStatus.CONFIRMED, TOM.email: DeliveryStatus.DECLINED}
    )
    result = plan(at(10, 12), state(deliveries=(sent,)), POLICIES)
    assert result.due == ()
    assert result.next_wake is None


def test_a_colleague_on_a_client_mail_is_not_chased() -> None:
    sent = delivery(statuses={MEI.email: DeliveryStatus.SENT})
    assert plan(at(10, 12), state(deliveries=(sent,)), POLICIES).due == ()


def test_the_manager_hears_one_working_day_after_the_reminder() -> None:
    sent = delivery(sent_at=at(8, 10))
    reminded = frozenset(a.key for a in plan(at(8, 15), state(deliveries=(sent,)), POLICIES).due)
    assert len(reminded) == 4  # a reminder and a call note for each of two recipients
    world = state(deliveries=(sent,), done=reminded)
    assert plan(at(9, 14, 59), world, POLICIES).due == ()
    result = plan(at(9, 15), world, POLICIES)
    (digest,) = result.due
    assert digest.kind == "escalation"
    assert digest.recipients == (MANAGER,)
    assert len(digest.covers) == 2
    items = digest.data["items"]  # type: ignore[index]
    assert {i["recipient"]["email"] for i in items} == {JANE.email, TOM.email}  # type: ignore[index]


def test_escalations_due_together_go_as_one_digest_covering_every_item() -> None:
    first = delivery(key="confirm:a:1", sent_at=at(7, 10))
    second = delivery(key="confirm:b:2", sent_at=at(7, 11))
    world = state(deliveries=(first, second))
    result = plan(at(10, 9), world, POLICIES)
    digests = by_kind(result.due, "escalation")
    assert len(digests) == 1
    assert len(digests[0].covers) == 4  # type: ignore[attr-defined]
    assert all(k.startswith("escalate:") for k in digests[0].covers)  # type: ignore[attr-defined]
    done = world.done | set(digests[0].covers)  # type: ignore[attr-defined]
    later = plan(at(10, 9), state(deliveries=(first, second), done=frozenset(done)), POLICIES)
    assert by_kind(later.due, "escalation") == []


def test_a_bounce_alerts_the_ae_at_once_whatever_the_hour() -> None:
    bounced = delivery(
        sent_at=at(8, 10),
        statuses={JANE.email: DeliveryStatus.SENT},
    )
    bounced = bounced.__class__(
        **{
            **bounced.__dict__,
            "recipients": (
                RecipientStatus(JANE.email, DeliveryStatus.FAILED, at(8, 22), "5.1.1|no such user"),
            ),
        }
    )
    (alert,) = plan(at(8, 22, 5), state(deliveries=(bounced,)), POLICIES).due
    assert alert.kind == "bounce_alert"
    assert alert.recipients == (AE.email,)
    assert alert.data["status"] == "5.1.1"  # type: ignore[index]
    assert alert.data["reason"] == "no such user"  # type: ignore[index]


def test_a_reminder_waits_for_working_time() -> None:
    sent = delivery(sent_at=at(11, 16))  # Friday 16:00: 2h left, then Monday 9:00 + 2h
    result = plan(at(11, 18), state(deliveries=(sent,)), POLICIES)
    assert result.due == ()
    assert result.next_wake == at(14, 11)


def signal(kind: SignalKind, who: str, **extra: object) -> Signal:
    # A receipt or an answer comes from the person it speaks for.
    fields = {"sender": who, **extra}
    return Signal(kind=kind, at=datetime(2026, 12, 8, 3, tzinfo=UTC), recipient=who, **fields)  # type: ignore[arg-type]


def test_a_read_receipt_or_reply_confirms_only_its_own_recipient() -> None:
    sent = delivery()
    read = apply_signal(sent, signal(SignalKind.READ_RECEIPT, JANE.email))
    assert read is not None
    assert read.status_of(JANE.email).status is DeliveryStatus.CONFIRMED  # type: ignore[union-attr]
    assert read.status_of(TOM.email).status is DeliveryStatus.SENT  # type: ignore[union-attr]
    reply = Signal(kind=SignalKind.REPLY, at=datetime(2026, 12, 8, 4, tzinfo=UTC), sender=TOM.email)
    both = apply_signal(read, reply)
    assert both is not None and not both.open


def test_an_automatic_reply_confirms_nothing() -> None:
    assert apply_signal(delivery(), signal(SignalKind.AUTO_REPLY, JANE.email)) is None


def test_a_decline_declines_and_a_late_delivery_receipt_changes_nothing() -> None:
    declined = apply_signal(
        delivery(), signal(SignalKind.MEETING_RESPONSE, JANE.email, response=Response.DECLINED)
    )
    assert declined is not None
    assert declined.status_of(JANE.email).status is DeliveryStatus.DECLINED  # type: ignore[union-attr]
    confirmed = apply_signal(delivery(), signal(SignalKind.READ_RECEIPT, JANE.email))
    assert confirmed is not None
    assert apply_signal(confirmed, signal(SignalKind.DELIVERY_RECEIPT, JANE.email)) is None


def test_a_bounce_fails_its_recipient_with_status_and_reason() -> None:
    bounced = apply_signal(
        delivery(), signal(SignalKind.BOUNCE, TOM.email, status="5.1.1", reason="unknown user")
    )
    assert bounced is not None
    entry = bounced.status_of(TOM.email)
    assert entry is not None and entry.status is DeliveryStatus.FAILED
    assert entry.detail == "5.1.1|unknown user"


def test_a_digest_already_done_is_not_built_again_from_what_it_covered() -> None:
    first = delivery(key="confirm:a:1", sent_at=at(7, 10))
    world = state(deliveries=(first,))
    (digest,) = by_kind(plan(at(10, 9), world, POLICIES).due, "escalation")
    # A digest that failed for good is done; what it covered must not come back as a new one.
    done = (
        world.done
        | {digest.key}
        | {  # type: ignore[attr-defined]
            a.key for a in plan(at(10, 9), world, POLICIES).due if a.kind != "escalation"
        }
    )
    again = plan(at(10, 9, 30), state(deliveries=(first,), done=frozenset(done)), POLICIES)
    assert by_kind(again.due, "escalation") == []
