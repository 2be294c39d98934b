"""What one tick of the Exchange (EWS) backend asks of the server, on an AE's mailbox of 5,000
items held by the loopback EWS server. Prints figures only.

.venv/bin/python benchmarks/ews_tick.py [--items 5000] [--runs 5] [--json]

The mailbox is built by ``tests.system.test_ews_tick_cost.fill_mailbox`` (the test that asserts
the idle tick's request counts on 200 items): 60% inbox (client mail, replies, delivery and read
receipts, out-of-office replies, bounces), 24% Sent Items stamped with aeflow's key property, and
the calendar: a year of client meetings, the sync window's meetings and weekly series.

For the first sync, an idle tick (median wall time of --runs), a tick after a few changes (three
new inbox messages, one meeting moved, one booked), the daily move of the sync window, and a naive
full re-scan (what a backend without sync state would do at every tick: FindItem of the whole
inbox, a calendar view of the window, GetItem of everything), it prints the requests and bytes of
each EWS operation, from the server's own counts, and the wall time. The wall time includes the
loopback server's work, its check of every request and answer against the EWS schemas among it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exchangelib import EWSDateTime

from aeflow.clock import FixedClock
from calendar_sync.ews import EwsCalendar
from calendar_sync.ews_items import MEETING_FIELDS, meeting_from_item
from calendar_sync.port import CalendarChanges
from mailer.ews import EwsMailbox, item_facts
from mailer.ews_reports import item_signals
from mailer.port import MailChanges
from rules.errors import UnreadableInput
from tests.conftest import CORPUS
from tests.ews_server import EwsServer, OpStats
from tests.system.test_ews_tick_cost import (
    DOMAIN,
    NOW,
    ZONE,
    change_a_few,
    fill_mailbox,
    session_for,
    window,
)

NUMBERS = ("requests", "bytes_sent", "bytes_received")
# What ``EwsMailbox.sync_inbox`` reads of each new message; the naive re-scan reads the same.
INBOX_FIELDS = ["mime_content", "item_class", "datetime_received", "in_reply_to", "references"]


@dataclass
class Part:
    """One call (``calendar.sync``, ``mail.sync_inbox`` ...): the server's counts, the time."""

    label: str
    operations: dict[str, OpStats]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "wall_ms": round(self.seconds * 1000, 2),
            "operations": {
                op: {
                    "requests": s.count,
                    "bytes_sent": s.request_bytes,
                    "bytes_received": s.response_bytes,
                }
                for op, s in sorted(self.operations.items())
            },
        }


@dataclass
class Phase:
    name: str
    detail: str
    parts: list[Part]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        parts = [part.as_dict() for part in self.parts]
        return {"name": self.name, "detail": self.detail, "note": self.note, "parts": parts}


def measure(
    server: EwsServer, label: str, action: Callable[[], Any], runs: int = 1
) -> tuple[Part, Any]:
    """Run ``action`` ``runs`` times: the counts of the last run, the median time, the result."""
    times, result = [], None
    for _ in range(runs):
        server.stats.reset()
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return Part(label, server.stats.by_operation(), statistics.median(times)), result


def tick(
    server: EwsServer,
    name: str,
    detail: str,
    calendar: Callable[[], CalendarChanges],
    inbox: Callable[[], MailChanges],
    runs: int = 1,
) -> tuple[Phase, CalendarChanges, MailChanges]:
    """The calendar's sync, then the inbox's, as ``aeflow.sync.sync_once`` makes them."""
    calendar_part, changes = measure(server, "calendar.sync", calendar, runs)
    inbox_part, arrived = measure(server, "mail.sync_inbox", inbox, runs)
    note = (
        f"{len(changes.upserted):,} meetings new or changed, {len(changes.removed):,} removed, "
        f"{len(arrived.signals):,} signals"
    )
    return Phase(name, detail, [calendar_part, inbox_part], note), changes, arrived


def naive_inbox(mail: EwsMailbox) -> int:
    """Every inbox message listed and read in full, classified again: the signals found."""
    account = mail.session.account
    listing = account.inbox.all().only("id")
    listing.page_size = 1000  # the most Exchange gives a FindItem by default
    items = account.fetch(ids=list(listing), only_fields=INBOX_FIELDS, chunk_size=10)
    found = 0
    for item in items:
        if isinstance(item, Exception):
            continue
        try:
            found += len(item_signals(item.mime_content or b"", item_facts(item), "inbox"))
        except UnreadableInput:
            continue
    return found


def naive_calendar(calendar: EwsCalendar, start: datetime, end: datetime) -> int:
    """Every occurrence in the window viewed and read in full: the meetings found."""
    account = calendar.connection.account
    view = account.calendar.view(
        start=EWSDateTime.from_datetime(start.astimezone(UTC)),
        end=EWSDateTime.from_datetime(end.astimezone(UTC)),
    )
    entries = list(view.only("type"))
    fields = list(MEETING_FIELDS)
    items = account.fetch(ids=entries, folder=account.calendar, only_fields=fields, chunk_size=50)
    meetings = [meeting_from_item(i, ZONE) for i in items if not isinstance(i, Exception)]
    return len(meetings)


def run(items: int, runs: int) -> dict[str, Any]:
    clock = FixedClock(NOW)
    with EwsServer(clock=clock.now) as server:
        began = time.perf_counter()
        filled = fill_mailbox(server, clock, items)
        fill_seconds = time.perf_counter() - began
        calendar = EwsCalendar(session_for(server), ZONE)
        mail = EwsMailbox(session_for(server), DOMAIN)
        start, end = window(NOW)
        phases: list[Phase] = []

        first, cal, inbox = tick(
            server, "first sync", "no saved state; the sessions find their folders first",
            lambda: calendar.sync(None, start, end), lambda: mail.sync_inbox(None),
        )  # fmt: skip
        phases.append(first)
        in_window = len(cal.upserted)
        seen, read = cal.state, inbox.state
        idle, _, _ = tick(
            server, "idle tick", f"nothing changed; wall time the median of {runs} runs",
            lambda: calendar.sync(seen, start, end), lambda: mail.sync_inbox(read), runs,
        )  # fmt: skip
        phases.append(idle)

        clock.set(NOW + timedelta(minutes=5))
        change_a_few(server, filled, clock)
        changed, cal, inbox = tick(
            server, "tick with changes", "3 new messages, 1 meeting moved, 1 booked",
            lambda: calendar.sync(seen, start, end), lambda: mail.sync_inbox(read),
        )  # fmt: skip
        phases.append(changed)

        seen, read = cal.state, inbox.state
        later, until = window(NOW + timedelta(days=1))
        moved, _, _ = tick(
            server, "window moved a day", "the first tick after midnight views the window",
            lambda: calendar.sync(seen, later, until), lambda: mail.sync_inbox(read),
        )  # fmt: skip
        phases.append(moved)

        meetings, naive_meetings = measure(
            server, "calendar view + GetItem", lambda: naive_calendar(calendar, start, end)
        )
        messages, signals = measure(server, "inbox FindItem + GetItem", lambda: naive_inbox(mail))
        phases.append(
            Phase(
                "naive full re-scan",
                "no sync state: everything listed and read at every tick",
                [meetings, messages],
                f"{naive_meetings:,} meetings and {signals:,} signals read again",
            )
        )
        server.assert_valid()
    mix = filled.mix
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "now": NOW.isoformat(),
        "window": [start.isoformat(), end.isoformat()],
        "mailbox": {
            "items": mix.total,
            "inbox": mix.inbox,
            "inbox_mime_bytes": filled.inbox_bytes,
            "sent": mix.sent,
            "past_meetings": mix.past_meetings,
            "window_meetings": mix.window_meetings,
            "weekly_series": mix.series,
            "window_occurrences": in_window,
            "fill_seconds": round(fill_seconds, 2),
        },
        "phases": [phase.as_dict() for phase in phases],
    }


def size(count: float) -> str:
    if count < 10_000:
        return f"{count:,.0f} B"
    if count < 10 * 2**20:
        return f"{count / 1024:,.1f} KiB"
    return f"{count / 2**20:,.1f} MiB"


COLUMNS = f"  {'':<26} {'operation':<16} {'requests':>8} {'sent':>11} {'received':>11} {'wall':>11}"


def totals(phase: dict[str, Any]) -> tuple[int, int, int, float]:
    """Requests, bytes sent, bytes received and wall milliseconds of a phase."""
    counts = [s for part in phase["parts"] for s in part["operations"].values()]
    return (
        sum(s["requests"] for s in counts),
        sum(s["bytes_sent"] for s in counts),
        sum(s["bytes_received"] for s in counts),
        sum(part["wall_ms"] for part in phase["parts"]),
    )


def print_phase(phase: dict[str, Any]) -> None:
    print(f"\n== {phase['name']} ({phase['detail']})")
    if phase["note"]:
        print(f"   {phase['note']}")
    print(COLUMNS)
    for part in phase["parts"]:
        rows = sorted(part["operations"].items())
        for index, (op, s) in enumerate(rows or [("(none)", dict.fromkeys(NUMBERS, 0))]):
            label, took = (part["label"], f"{part['wall_ms']:,.1f} ms") if index == 0 else ("", "")
            print(
                f"  {label:<26} {op:<16} {s['requests']:>8,} {size(s['bytes_sent']):>11} "
                f"{size(s['bytes_received']):>11} {took:>11}"
            )
    requests, sent, received, wall = totals(phase)
    print(
        f"  {'total':<26} {'':<16} {requests:>8,} {size(sent):>11} {size(received):>11} "
        f"{wall:>8,.1f} ms"
    )


def report(result: dict[str, Any]) -> None:
    box = result["mailbox"]
    print(f"python {result['python']}, {result['cpus']} CPUs; now = {result['now']}")
    print(
        f"mailbox of {box['items']:,} items: {box['inbox']:,} in the inbox "
        f"({size(box['inbox_mime_bytes'])} of MIME), {box['sent']:,} in Sent Items,\n  "
        f"{box['past_meetings'] + box['window_meetings']:,} meetings "
        f"({box['window_meetings']:,} in the sync window), {box['weekly_series']} weekly series "
        f"({box['window_occurrences']:,} occurrences in the window, series included); "
        f"built in {box['fill_seconds']:.1f} s"
    )
    print(f"sync window: {result['window'][0]} to {result['window'][1]}")
    for phase in result["phases"]:
        print_phase(phase)
    print(f"\n== per tick, on {box['items']:,} items")
    print(f"  {'':<26} {'requests':>8} {'bytes':>11} {'wall':>11}")
    by_name = {phase["name"]: totals(phase) for phase in result["phases"]}
    for name, (requests, sent, received, wall) in by_name.items():
        print(f"  {name:<26} {requests:>8,} {size(sent + received):>11} {wall:>8,.1f} ms")
    idle = next(p for p in result["phases"] if p["name"] == "idle tick")
    ops: dict[str, int] = {}
    for part in idle["parts"]:
        for op, s in part["operations"].items():
            ops[op] = ops.get(op, 0) + s["requests"]
    print(
        f"  an idle tick: {ops.get('SyncFolderItems', 0)} SyncFolderItems for 2 watched folders "
        f"(calendar, inbox), {ops.get('GetItem', 0)} GetItem, "
        f"{sum(ops.values()) - ops.get('SyncFolderItems', 0)} other requests"
    )
    quiet, naive = by_name["idle tick"], by_name["naive full re-scan"]
    print(
        f"  the naive re-scan: {naive[0] / quiet[0]:,.0f}x the requests, "
        f"{(naive[1] + naive[2]) / (quiet[1] + quiet[2]):,.0f}x the bytes and "
        f"{naive[3] / quiet[3]:,.0f}x the wall time of an idle tick"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=5000, help="mailbox size (default 5000)")
    parser.add_argument("--runs", type=int, default=5, help="idle ticks for the median (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    if options.items < 20:
        parser.error("--items must be at least 20")
    if not (CORPUS / "ews").is_dir():
        parser.error(f"the EWS schemas are missing: {CORPUS / 'ews'} (set AEFLOW_CORPUS)")
    result = run(options.items, max(1, options.runs))
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)


if __name__ == "__main__":
    main()
