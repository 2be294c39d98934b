"""Building the planner's view of the world from the store, and keeping closed items out of it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from aeflow.bootstrap import App
from aeflow.config import Config
from aeflow.records import delivery_from_record, meeting_from_record, parse_iso
from aeflow.store import Store
from aeflow.sync import LOOK_BACK
from rules.minutes import FollowUp, MinutesNote, MinutesRecord
from rules.model import Person, Response
from rules.planning import AEInfo, PlanState
from rules.responses import MailedResponse, overlay

log = logging.getLogger(__name__)


def planning_horizon(config: Config, now: datetime) -> datetime:
    """How far back the planner looks: nothing that ended or was sent before it is acted on."""
    return now - max(LOOK_BACK, config.policies.receipts.lookback)


def done_keys(store: Store, statuses: Iterable[str]) -> frozenset[str]:
    return store.outbox_keys(frozenset(statuses))


def ae_info(config: Config) -> AEInfo:
    """The AE as the planner knows them."""
    ae = config.ae
    return AEInfo(Person(ae.email, ae.name), ae.manager, phone=ae.phone, language=ae.language)


def build_state(
    app: App, done: frozenset[str], not_before: datetime | None, now: datetime | None = None
) -> PlanState:
    """The planner's view. With ``now``, meetings that ended before the look-back are left out:
    nothing is planned for them any more, and a long history must not slow every tick."""
    config, store = app.config, app.store
    records = store.meetings()
    meetings = [meeting_from_record(r) for r in records]
    first_seen = {str(r["key"]): parse_iso(str(r["seen_at"])) for r in records if r.get("seen_at")}
    if now is not None:
        horizon = planning_horizon(config, now)
        meetings = [m for m in meetings if m.end >= horizon]
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
        ae=ae_info(config),
        clients=config.clients,
        meetings=tuple(overlay(meetings, responses)),
        deliveries=tuple(delivery_from_record(r) for r in store.open_deliveries()),
        done=done,
        workdays=app.workdays,
        not_before=not_before,
        first_seen=first_seen,
        minutes=tuple(minutes_from_record(r) for r in store.minutes_all()),
        minutes_notes=tuple(
            MinutesNote(
                id=str(r["key"]),
                meeting_subject=str(r.get("meeting_subject", "")),
                reply_subject=str(r.get("reply_subject", "")),
                reason=str(r.get("reason", "")),
                at=parse_iso(str(r["at"])),
                command=str(r.get("command", "")),
            )
            for r in store.minutes_notes()
        ),
    )


def minutes_from_record(record: dict[str, Any]) -> MinutesRecord:
    return MinutesRecord(
        meeting=str(record["meeting"]),
        version=int(record.get("version", 1)),
        submitted_at=parse_iso(str(record["submitted_at"])),
        text=str(record.get("text", "")),
        conclusions=tuple(record.get("conclusions", [])),
        next_steps=tuple(
            FollowUp(
                what=str(s.get("what", "")),
                owner=str(s.get("owner", "")),
                due=date.fromisoformat(s["due"]) if s.get("due") else None,
            )
            for s in record.get("next_steps", [])
        ),
        questions=tuple(record.get("questions", [])),
        structured=bool(record.get("structured", True)),
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
