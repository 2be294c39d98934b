"""How long ``WorkingCalendar.add_working_hours`` takes, over random instants and amounts.

Run from the repository root: ``.venv/bin/python benchmarks/bench_workdays.py``. It prints
figures only.
The first round starts with empty caches (every year's holidays and every day's spans are built);
the second asks again for the same kind of work with the caches warm.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules.workdays import WorkingCalendar

CALLS = 10_000
SEED = 20260215


def random_work(rng: random.Random) -> list[tuple[datetime, float]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = int(timedelta(days=3 * 366).total_seconds())
    return [
        (start + timedelta(seconds=rng.randrange(span)), rng.choice([0.25, 2, 8, 24, 40, 200]))
        for _ in range(CALLS)
    ]


def measure(label: str, calendar: WorkingCalendar, work: list[tuple[datetime, float]]) -> None:
    began = time.perf_counter()
    for moment, hours in work:
        calendar.add_working_hours(moment, hours)
    elapsed = time.perf_counter() - began
    print(f"{label:<44} {CALLS} calls  {elapsed:8.3f} s  {elapsed / CALLS * 1e6:8.1f} µs/call")


def note(message: str) -> None:
    print(f"  note: {message}")


def main() -> None:
    rng = random.Random(SEED)
    work = random_work(rng)
    print("amounts drawn from 0.25, 2, 8, 24, 40 and 200 working hours; instants 2024-2026")
    for name, zone, country, subdivision in [
        ("Shanghai, CN", "Asia/Shanghai", "CN", ""),
        ("Berlin, DE-BY", "Europe/Berlin", "DE", "BY"),
        ("New York, US-NY", "America/New_York", "US", "NY"),
    ]:
        calendar = WorkingCalendar(
            ZoneInfo(zone), country=country, subdivision=subdivision, warn=note
        )
        measure(f"{name} (cold caches)", calendar, work)
        measure(f"{name} (warm caches)", calendar, random_work(rng))


if __name__ == "__main__":
    main()
