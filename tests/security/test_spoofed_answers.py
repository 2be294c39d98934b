"""An answer counts only from the person it speaks for: a meeting response or a read receipt from
a stranger naming a client's contact changes nothing, stores no answer, and is logged; a delivery
report counts from a mail system or the recipient's own domain."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aeflow.records import delivery_to_record
from aeflow.store import Store
from aeflow.sync import track
from rules.model import DeliveryStatus, Response, Signal, SignalKind
from rules.tracking import apply_signal, vouched
from tests.unit.planner_fixtures import JANE, delivery

AT = datetime(2026, 12, 8, 3, tzinfo=UTC)
EVIL = "evil@evil.example"


def answer(kind: SignalKind, sender: str, **extra: object) -> Signal:
    return Signal(kind=kind, at=AT, sender=sender, recipient=JANE.email, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spoof",
    [
        answer(SignalKind.MEETING_RESPONSE, EVIL, response=Response.DECLINED),
        answer(SignalKind.MEETING_RESPONSE, EVIL, response=Response.ACCEPTED),
        answer(SignalKind.READ_RECEIPT, EVIL),
        answer(SignalKind.DELIVERY_RECEIPT, EVIL),
        answer(SignalKind.BOUNCE, EVIL, status="5.1.1"),
    ],
    ids=["decline", "accept", "read-receipt", "delivery-receipt", "bounce"],
)
def test_a_stranger_cannot_answer_for_a_recipient(spoof: Signal) -> None:
    assert not vouched(spoof)
    assert apply_signal(delivery(), spoof) is None


@pytest.mark.parametrize(
    "genuine",
    [
        answer(SignalKind.MEETING_RESPONSE, JANE.email, response=Response.DECLINED),
        answer(SignalKind.READ_RECEIPT, JANE.email),
        answer(SignalKind.BOUNCE, "MAILER-DAEMON@mx.acme.example", status="5.1.1"),
        answer(SignalKind.BOUNCE, "postmaster@agency.example", status="5.1.1"),
        answer(SignalKind.DELIVERY_RECEIPT, "gateway@acme.example"),
        answer(SignalKind.BOUNCE, "", status="5.1.1"),
    ],
    ids=["decline", "read-receipt", "their-daemon", "our-postmaster", "their-domain", "null"],
)
def test_the_person_or_a_mail_system_is_believed(genuine: Signal) -> None:
    assert vouched(genuine)
    assert apply_signal(delivery(), genuine) is not None


def test_a_spoofed_decline_stores_no_answer_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(tmp_path / "state.json")
    try:
        sent = delivery(key="confirm:m1:x", meeting="m1")
        store.delivery_put(sent.key, delivery_to_record(sent, "m1"))
        spoof = answer(
            SignalKind.MEETING_RESPONSE,
            EVIL,
            response=Response.DECLINED,
            uid="m1",
            answers=(sent.message_id,),
        )
        with caplog.at_level(logging.WARNING):
            assert track(store, spoof) == []
        assert store.responses() == []
        record = store.delivery_get(sent.key)
        assert record is not None
        assert all(r["status"] == DeliveryStatus.SENT.value for r in record["recipients"])  # type: ignore[index, union-attr]
        assert any("speaks for jane@acme.example" in r.getMessage() for r in caplog.records)
        genuine = answer(
            SignalKind.MEETING_RESPONSE,
            JANE.email,
            response=Response.DECLINED,
            uid="m1",
            answers=(sent.message_id,),
        )
        assert len(track(store, genuine)) == 1
        assert [r["email"] for r in store.responses()] == [JANE.email]
    finally:
        store.close()
