"""The input side of a tick: what changed in the calendar and the inbox goes into the store.

Both sync states are saved in the same write as the changes they account for, so a crash either
keeps both or neither, and a replay after a crash repeats nothing (meetings are upserted by key,
signals added by identity).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from aeflow import quarantine
from aeflow.bootstrap import App
from aeflow.minutes_intake import note_failure, take_reply
from aeflow.records import (
    delivery_from_record,
    delivery_to_record,
    iso,
    meeting_to_record,
    parse_iso,
    signal_to_record,
)
from aeflow.store import Store
from mailer.signals import sanitise
from rules.errors import Problem
from rules.model import Delivery, Meeting, Signal, SignalKind
from rules.tracking import apply_signal, speaks_for, vouched

log = logging.getLogger(__name__)

CALENDAR = "calendar"
INBOX = "inbox"
# Meetings this far back stay in view: their minutes and receipts are still being tracked.
LOOK_BACK = timedelta(days=14)


@dataclass
class SyncReport:
    upserted: list[Meeting] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    tracked: list[tuple[Signal, Delivery]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.upserted or self.removed or self.signals)


def sync_once(app: App) -> SyncReport:
    now = app.clock.now()
    # The window moves once a day (from the AE's midnight), so an unchanged calendar is not
    # re-read at every tick.
    midnight = datetime.combine(now.astimezone(app.zone).date(), time(0), tzinfo=app.zone)
    start = midnight - max(LOOK_BACK, app.config.policies.receipts.lookback)
    end = midnight + timedelta(days=1) + app.config.backend.horizon
    report = SyncReport()
    store = app.store
    with store.batch():
        calendar = app.calendar.sync(store.get_sync_state(CALENDAR), start, end)
        for meeting in calendar.upserted:
            # When aeflow first saw it: an appointment already there when aeflow was installed
            # is not one the AE asked it to send a meeting request for.
            known = store.get_meeting(meeting.key)
            seen = known.get("seen_at") if known is not None else None
            store.upsert_meeting(
                meeting.key, {**meeting_to_record(meeting), "seen_at": seen or iso(now)}
            )
        gone = frozenset(calendar.gone)
        for key in calendar.removed:
            last = store.get_meeting(key) if key in gone else None
            if last is not None and parse_iso(str(last["start"])) > now:
                # Cancelled or deleted ahead of time: kept as cancelled, so whoever was invited
                # to it is told (a meeting that only left the window is simply forgotten).
                store.upsert_meeting(key, {**last, "cancelled": True})
            else:
                store.remove_meeting(key)
        store.set_sync_state(CALENDAR, calendar.state)
        report.upserted.extend(calendar.upserted)
        report.removed.extend(calendar.removed)
        report.problems.extend(calendar.problems)

        inbox = app.mail.sync_inbox(store.get_sync_state(INBOX))
        for signal in inbox.signals:
            if store.signal_add(signal_to_record(signal)):
                report.signals.append(signal)
                report.tracked.extend(track(store, signal))
                take_reply_safely(app, signal)
        store.set_sync_state(INBOX, inbox.state)
        report.problems.extend(inbox.problems)
        fresh = quarantine.note(store, report.problems, now)
    for problem in fresh:
        # Once per item and reason (aeflow status lists them all); the message may quote a
        # file or a mail: one line, no control characters.
        log.warning("%s", sanitise(str(problem), 1000))
    log.log(
        logging.INFO if report.changed or report.problems else logging.DEBUG,
        "sync: %d meetings new or changed, %d removed, %d signals, %d problems",
        len(report.upserted),
        len(report.removed),
        len(report.signals),
        len(report.problems),
    )
    return report


def track(store: Store, signal: Signal) -> list[tuple[Signal, Delivery]]:
    """Apply a new signal to the deliveries it answers; the changed ones, for the log."""
    if not vouched(signal):
        log.warning(
            "ignored a %s from %s that speaks for %s: only that person (or, for a delivery "
            "report, a mail system) may",
            signal.kind.value,
            sanitise(signal.sender, 80) or "nobody",
            sanitise(signal.recipient, 80),
        )
        return []
    records: dict[str, dict[str, object]] = {}
    for message_id in signal.answers:
        record = store.delivery_by_message_id(message_id)
        if record is not None:
            records[str(record["key"])] = record
    if signal.kind is SignalKind.MEETING_RESPONSE and signal.uid:
        wanted = f"{signal.uid}/{signal.occurrence_id}" if signal.occurrence_id else ""
        for record in store.deliveries_for_meeting(signal.uid):
            meeting = str(record.get("meeting", ""))
            if not wanted or meeting in (wanted, signal.uid):
                records[str(record["key"])] = record
        if signal.response is not None:
            who = speaks_for(signal)
            store.response_put(
                f"{signal.uid}|{signal.occurrence_id}|{who}",
                {
                    "uid": signal.uid,
                    "occurrence_id": signal.occurrence_id,
                    "email": who,
                    "response": signal.response.value,
                    "at": iso(signal.at),
                },
            )
    changed = []
    for key, record in sorted(records.items()):
        delivery = delivery_from_record(dict(record))
        updated = apply_signal(delivery, signal)
        if updated is not None:
            store.delivery_put(
                key, {**record, **delivery_to_record(updated, str(record.get("meeting_uid", "")))}
            )
            changed.append((signal, updated))
            now_status = updated.status_of(speaks_for(signal) or updated.recipients[0].email)
            log.info(
                "track %s: %s for %s -> %s",
                key,
                signal.kind.value,
                sanitise(speaks_for(signal), 80),
                now_status.status.value if now_status else "?",
            )
    return changed


def take_reply_safely(app: App, signal: Signal) -> None:
    """A reply to a minutes prompt that cannot be taken in for any reason becomes a note to the
    AE: the signal is stored once, so an error here must not lose the AE's minutes silently."""
    try:
        take_reply(app, signal)
    except Exception as error:  # the note says what went wrong; the sync goes on
        log.error("a reply to a minutes prompt could not be taken in: %s", error)
        note_failure(app, signal, str(error))
