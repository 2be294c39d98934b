"""Building the planner's view of the world from the store, and keeping closed items out of it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from aeflow.bootstrap import App
from aeflow.records import delivery_from_record, meeting_from_record, parse_iso
from aeflow.store import Store
from rules.model import Person, Response
from rules.planning import AEInfo, PlanState
from rules.responses import MailedResponse, overlay

log = logging.getLogger(__name__)


def done_keys(store: Store, statuses: Iterable[str]) -> frozenset[str]:
    wanted = set(statuses)
    return frozenset(str(r["key"]) for r in store.outbox_all() if r.get("status") in wanted)


def build_state(app: App, done: frozenset[str], not_before: datetime | None) -> PlanState:
    config, store = app.config, app.store
    meetings = [meeting_from_record(r) for r in store.meetings()]
    responses = [
        MailedResponse(
            uid=str(r["uid"]),
            occurrence_id=str(r.get("occurrence_id", "")),
            email=str(r["email"]),
            response=Response(str(r["response"])),
            at=parse_iso(str(r["at"])),
        )
        for r in store.responses()
    ]
    return PlanState(
        ae=AEInfo(
            person=Person(config.ae.email, config.ae.name),
            manager=config.ae.manager,
            phone=config.ae.phone,
            language=config.ae.language,
        ),
        clients=config.clients,
        meetings=tuple(overlay(meetings, responses)),
        deliveries=tuple(delivery_from_record(r) for r in store.open_deliveries()),
        done=done,
        workdays=app.workdays,
        not_before=not_before,
    )


def close_old_deliveries(store: Store, now: datetime, lookback: timedelta) -> int:
    """Close deliveries past the look-back: their chase is over, and later ticks skip them."""
    closed = 0
    with store.batch():
        for record in store.open_deliveries():
            if parse_iso(str(record["sent_at"])) + lookback < now:
                store.delivery_put(str(record["key"]), {**record, "open": False})
                closed += 1
    if closed:
        log.info("closed %d deliveries older than the look-back", closed)
    return closed
