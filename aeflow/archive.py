"""History out of the live state: once a day, what no policy can act on any more moves to an
archive of one state file per month (``state/archive/2026-09.json``), which ``aeflow history``
reads; so the cost of a tick and of a send depends on the AE's current work, not on how long
aeflow has run.

What moves, each record by the month of its own time:

- meetings that ended before the horizon (the sync window forgets them too);
- outbox records done (sent, skipped, failed) before the horizon, unless they are about a meeting
  still in the live state (a meeting request's history decides its updates);
- deliveries closed (their chase over) and sent before the horizon;
- responses and minutes of meetings no longer in the live state, from before the horizon;
- minutes notes from before the horizon;
- signals from before twice the horizon (they only match what is still open).

The horizon is the look-back the planner keeps in view (``aeflow.state``): nothing older is ever
planned again, so nothing is lost to the live state that it could still use. The archive is
written first, record by record under its key (writing one again changes nothing), and only then
is the live state cut, in one write: a crash between the two leaves the records in both places,
and the next pass finishes the move without a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aeflow import store_schema as schema
from aeflow.records import iso, parse_iso
from aeflow.store import Store

log = logging.getLogger(__name__)

ARCHIVED_ON = "archived_on"
# Signals stay longer: a late receipt is matched against what is still open.
_SIGNAL_EXTRA = timedelta(days=14)
FOLDER = "archive"
DONE = frozenset({"sent", "skipped", "failed"})
# The record field that says when each kind of record happened.
_WHEN = {
    schema.MEETINGS: ("end",),
    schema.OUTBOX: ("sent_at", "started", "at"),
    schema.DELIVERIES: ("sent_at",),
    schema.SIGNALS: ("at",),
    schema.RESPONSES: ("at",),
    schema.MINUTES: ("submitted_at",),
    schema.MINUTES_NOTES: ("at",),
}


@dataclass
class Moved:
    """What one pass moved: per month, per table, the number of records."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(n for tables in self.counts.values() for n in tables.values())


def folder_of(store: Store) -> Path | None:
    """The archive folder beside the state file; ``None`` for a store kept in memory."""
    return store.path.parent / FOLDER if store.path is not None else None


def month_files(folder: Path) -> list[Path]:
    """The archive's monthly files, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("????-??.json") if p.is_file())


def due(store: Store, now: datetime, zone: Any) -> bool:
    """Whether today's pass is still to do (an upgraded or new file: at once)."""
    return folder_of(store) is not None and store.meta_get(ARCHIVED_ON) != _day(now, zone)


def _day(now: datetime, zone: Any) -> str:
    return now.astimezone(zone).date().isoformat()


def _when(table: str, record: dict[str, Any]) -> datetime | None:
    for name in _WHEN[table]:
        value = record.get(name)
        if isinstance(value, str) and value:
            try:
                return parse_iso(value)
            except ValueError:
                continue
    return None


def _live_meetings(store: Store, horizon: datetime) -> tuple[set[str], set[str]]:
    keys, uids = set(), set()
    for record in store.meetings():
        end = record.get("end")
        if isinstance(end, str) and parse_iso(end) < horizon:
            continue
        keys.add(str(record["key"]))
        uids.add(str(record.get("uid", "")))
    return keys, uids


def _closed(
    table: str,
    record: dict[str, Any],
    horizon: datetime,
    live: tuple[set[str], set[str]],
) -> bool:
    when = _when(table, record)
    if when is None:
        return False
    if table == schema.SIGNALS:
        return when < horizon - _SIGNAL_EXTRA
    if when >= horizon:
        return False
    keys, uids = live
    if table == schema.OUTBOX:
        meeting = str(record.get("meeting", "") or "")
        return record.get("status") in DONE and meeting not in keys
    if table == schema.DELIVERIES:
        return not record.get("open")
    if table == schema.MEETINGS:
        return True  # ended before the horizon: the planner no longer looks at it
    if table == schema.RESPONSES:
        occurrence = str(record.get("occurrence_id", "") or "")
        uid = str(record.get("uid", ""))
        key = f"{uid}/{occurrence}" if occurrence else uid
        return key not in keys and uid not in uids
    if table == schema.MINUTES:
        return str(record.get("meeting", "")) not in keys
    return True  # minutes notes


def _selected(store: Store, horizon: datetime) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(month, table, record) for every record that moves."""
    live = _live_meetings(store, horizon)
    for table in _WHEN:
        for record in store.records(table):
            if _closed(table, record, horizon, live):
                when = _when(table, record)
                assert when is not None
                yield f"{when:%Y-%m}", table, record


def _stamp_undated(store: Store, now: datetime) -> None:
    """Done outbox records that carry no time (given up before they were due) get one, so that
    they leave the live state a horizon later."""
    for record in store.records(schema.OUTBOX):
        if record.get("status") in DONE and _when(schema.OUTBOX, record) is None:
            store.outbox_put(str(record["key"]), {**record, "at": iso(now)})


def move_closed(store: Store, now: datetime, horizon: datetime, zone: Any) -> Moved:
    """Today's pass: the archive written first, then the live state cut in one write."""
    folder = folder_of(store)
    moved = Moved()
    if folder is None:
        return moved
    by_month: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for month, table, record in _selected(store, horizon):
        by_month.setdefault(month, {}).setdefault(table, []).append(record)
    for month, tables in sorted(by_month.items()):
        folder.mkdir(parents=True, exist_ok=True)
        segment = Store.open(folder / f"{month}.json")
        try:
            with segment.batch():
                for table, records in tables.items():
                    for record in records:
                        segment.put_record(table, str(record["key"]), record)
        finally:
            segment.close()
        moved.counts[month] = {table: len(records) for table, records in tables.items()}
    with store.batch():
        for tables in by_month.values():
            for table, records in tables.items():
                store.remove_records(table, (str(r["key"]) for r in records))
        _stamp_undated(store, now)
        store.meta_set(ARCHIVED_ON, _day(now, zone))
    if moved.total:
        log.info(
            "archived %d closed records to %s (%s)",
            moved.total,
            folder,
            ", ".join(f"{m}: {sum(t.values())}" for m, t in sorted(moved.counts.items())),
        )
    return moved
