"""Expanding a recurring calendar item into its occurrences, as a CalendarView does.

Patterns: daily, weekly (days of week, interval, first day of week), absolute and relative
monthly, absolute yearly; ranges: no end, end date, number of occurrences. Occurrences keep the
master's wall-clock start in the master's time zone (its StartTimeZone, else the server's zone),
so a series crosses a daylight-saving change the way Outlook shows it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from tests.ews_server.schema import schema_folder
from tests.ews_server.store import StoredItem
from tests.ews_server.xml import Element, local, tchild, ttext

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
INDEX = {"First": 0, "Second": 1, "Third": 2, "Fourth": 3, "Last": -1}
HORIZON = 5000  # occurrences looked at, at most, for a series without an end


@dataclass(frozen=True)
class Occurrence:
    index: int  # 1-based position in the series
    original_start: dt.datetime
    start: dt.datetime
    end: dt.datetime


@functools.cache
def _windows_zones() -> dict[str, str]:
    path = schema_folder() / "cldr-windowsZones.xml"
    if not path.is_file():
        return {}
    found = {}
    for zone in etree.parse(str(path)).iter("mapZone"):
        if zone.get("territory") == "001":
            found[zone.get("other") or ""] = (zone.get("type") or "").split()[0]
    return found


def zone(windows_name: str | None, fallback: str) -> dt.tzinfo:
    """The zone a Windows time zone name (or an IANA name) stands for; UTC when unknown."""
    for name in (windows_name, fallback):
        if not name:
            continue
        if name in {"UTC", "Coordinated Universal Time"}:
            return dt.UTC
        iana = _windows_zones().get(name, name)
        try:
            return ZoneInfo(iana)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return dt.UTC


def item_zone(item: StoredItem, fallback: str) -> dt.tzinfo:
    start_zone = item.props.get("StartTimeZone")
    name = start_zone.get("Id") if start_zone is not None else None
    if not name:
        meeting_zone = item.props.get("MeetingTimeZone")
        name = meeting_zone.get("TimeZoneName") if meeting_zone is not None else None
    return zone(name, fallback)


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    # xs:date may carry an offset ("2024-03-01+08:00"); the date is what matters.
    return dt.date.fromisoformat(text.strip()[:10])


def _weekdays(names: str) -> list[int]:
    days: set[int] = set()
    for name in names.split():
        if name == "Day":
            days.update(range(7))
        elif name == "Weekday":
            days.update(range(5))
        elif name == "WeekendDay":
            days.update({5, 6})
        elif name in DAY_NAMES:
            days.add(DAY_NAMES.index(name))
    return sorted(days)


def _nth_weekday(year: int, month: int, weekdays: list[int], index: int) -> dt.date | None:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    days = [first + dt.timedelta(n) for n in range((following - first).days)]
    matching = [day for day in days if day.weekday() in weekdays]
    if not matching:
        return None
    if index == -1:
        return matching[-1]
    return matching[index] if index < len(matching) else None


def _dates(pattern: Element, start: dt.date) -> Iterator[dt.date]:
    """Every date the pattern names, from ``start`` on (unbounded)."""
    kind = local(pattern)
    interval = max(1, int(ttext(pattern, "Interval") or "1"))
    if kind == "DailyRecurrence":
        day = start
        while True:
            yield day
            day += dt.timedelta(days=interval)
    elif kind == "WeeklyRecurrence":
        weekdays = _weekdays(ttext(pattern, "DaysOfWeek") or "") or [start.weekday()]
        first_day = DAY_NAMES.index(ttext(pattern, "FirstDayOfWeek") or "Sunday")
        week = start - dt.timedelta(days=(start.weekday() - first_day) % 7)
        while True:
            for offset in range(7):
                day = week + dt.timedelta(days=offset)
                if day >= start and day.weekday() in weekdays:
                    yield day
            week += dt.timedelta(weeks=interval)
    elif kind in {"AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence"}:
        yield from _monthly(pattern, start, interval, kind)
    elif kind in {"AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence"}:
        month = MONTHS.index(ttext(pattern, "Month") or "January") + 1
        for year in range(start.year, start.year + 200):
            found = _month_day(pattern, year, month, kind.startswith("Absolute"))
            if found is not None and found >= start:
                yield found


def _monthly(pattern: Element, start: dt.date, interval: int, kind: str) -> Iterator[dt.date]:
    year, month = start.year, start.month
    for _ in range(12 * 200):
        day = _month_day(pattern, year, month, kind.startswith("Absolute"))
        if day is not None and day >= start:
            yield day
        month += interval
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1


def _month_day(pattern: Element, year: int, month: int, absolute: bool) -> dt.date | None:
    if absolute:
        try:
            return dt.date(year, month, int(ttext(pattern, "DayOfMonth") or "1"))
        except ValueError:
            return None
    weekdays = _weekdays(ttext(pattern, "DaysOfWeek") or "")
    return _nth_weekday(year, month, weekdays, INDEX.get(ttext(pattern, "DayOfWeekIndex") or "", 0))


def series(master: StoredItem, fallback_zone: str) -> Iterator[Occurrence]:
    """The occurrences of ``master`` as its pattern and range make them, before exceptions."""
    recurrence = master.props.get("Recurrence")
    start, end = master.start, master.end
    if recurrence is None or start is None or end is None:
        return
    parts = [child for child in recurrence if isinstance(child.tag, str)]
    if len(parts) != 2:
        return
    pattern, limits = parts
    tz = item_zone(master, fallback_zone)
    local_start = start.astimezone(tz)
    duration = end - start
    first = _date(ttext(limits, "StartDate")) or local_start.date()
    last = _date(ttext(limits, "EndDate")) if local(limits) == "EndDateRecurrence" else None
    count = int(ttext(limits, "NumberOfOccurrences") or "0")
    if local(limits) != "NumberedRecurrence":
        count = HORIZON
    for index, day in enumerate(_dates(pattern, first), start=1):
        if index > count or (last is not None and day > last):
            return
        begins = dt.datetime.combine(day, local_start.timetz().replace(tzinfo=None), tzinfo=tz)
        begins = begins.astimezone(dt.UTC)
        yield Occurrence(index, begins, begins, begins + duration)


def expand(
    master: StoredItem, window_start: dt.datetime, window_end: dt.datetime, fallback_zone: str
) -> list[tuple[Occurrence, StoredItem | None]]:
    """The occurrences that overlap the window, each with its exception item when it was
    modified; deleted occurrences are left out."""
    found: list[tuple[Occurrence, StoredItem | None]] = []
    for occurrence in series(master, fallback_zone):
        if occurrence.original_start in master.deleted_occurrences:
            continue
        exception = master.exceptions.get(occurrence.original_start)
        start, end = occurrence.start, occurrence.end
        if exception is not None:
            start, end = exception.start or start, exception.end or end
        if start < window_end and end > window_start:
            found.append(
                (Occurrence(occurrence.index, occurrence.original_start, start, end), exception)
            )
        if occurrence.original_start >= window_end and not master.exceptions:
            break
        if occurrence.original_start >= window_end + dt.timedelta(days=366):
            break
    return found


def occurrence_at(
    master: StoredItem, original_start: dt.datetime, fallback_zone: str
) -> Occurrence | None:
    for occurrence in series(master, fallback_zone):
        if occurrence.original_start == original_start:
            return occurrence
        if occurrence.original_start > original_start:
            return None
    return None


def occurrence_by_index(master: StoredItem, index: int, fallback_zone: str) -> Occurrence | None:
    for occurrence in series(master, fallback_zone):
        if occurrence.index == index:
            return occurrence
        if occurrence.index > index:
            return None
    return None


def first_and_last(
    master: StoredItem, fallback_zone: str
) -> tuple[Occurrence | None, Occurrence | None]:
    """The series' first and last occurrence (last is None for a series without end)."""
    recurrence = master.props.get("Recurrence")
    if recurrence is None:
        return None, None
    ends = tchild(recurrence, "NoEndRecurrence") is None
    first = last = None
    for occurrence in series(master, fallback_zone):
        if first is None:
            first = occurrence
        last = occurrence
        if not ends and occurrence.index >= 2:
            break
    return first, (last if ends else None)
