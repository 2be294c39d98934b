"""Working days and working hours in the AE's zone.

"The day before" a meeting is the previous working day, and mail to clients leaves only in
working hours, so every policy asks this module what counts as work: weekends, public holidays and
the weekend days a government turns into working days (China's 调休), with the config's overrides
on top.

Days come from the ``holidays`` library (see ``rules.holiday_data``). A year the library has no
official schedule for falls back to the regular calendar and is reported once per calendar through
``warn`` (or the ``warnings`` module when no hook is given), so the shell can tell the user to fill
the gap with ``extra_holidays`` / ``extra_working_days``.

Time is computed in wall time per day and converted to instants per working span, so a span that
crosses a daylight-saving change lasts as long as it really does (01:00-04:00 is two hours on the
night the clocks go forward). Wall times follow RFC 5545 section 3.3.5: a time that does not exist
(in the spring gap) is read with the offset before the gap, which moves it forward by the gap's
length; a time that exists twice (in the autumn fold) is the first of the two. Everything inside
works on UTC instants, because Python compares and subtracts two datetimes of the same zone by
their wall clocks, ignoring the fold.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rules.errors import NoWorkingTimeError
from rules.holiday_data import YearCalendar, check_region, last_published_year, year_calendar
from rules.model import require_aware

# How far any search goes before deciding the calendar has no working time: ten years.
SEARCH_DAYS = 3660

_ONE_DAY = timedelta(days=1)
_SPAN_CACHE_SIZE = 4096
_Span = tuple[datetime, datetime]


class HolidayDataWarning(UserWarning):
    """A year the holiday library has no official schedule for; the regular calendar stands in."""


@dataclass(frozen=True)
class WorkingCalendar:
    """When the AE works: days, hours, holidays and adjusted days, in one time zone.

    ``country`` is the ISO code given to ``holidays`` (``""``: weekends only), ``subdivision`` an
    optional region of it. ``hours`` are the working spans of a day, in wall time, in order.
    ``extra_holidays`` and ``extra_working_days`` come from the config and beat the library; a date
    in both is a ``ValueError``. ``warn`` receives, once per year, the news that a year fell back to
    the regular calendar; without it a ``HolidayDataWarning`` is issued.

    Every datetime argument must be aware (``NaiveDateTimeError`` otherwise); every datetime
    returned is in ``zone``.
    """

    zone: ZoneInfo
    country: str = "CN"
    subdivision: str = ""
    hours: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
    weekend: frozenset[int] = frozenset({5, 6})
    extra_holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    warn: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    # Memos; the calendar is immutable, so they never go stale.
    _years: dict[int, YearCalendar] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _day_spans: dict[date, tuple[_Span, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _fallen_back: dict[int, object] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.zone, ZoneInfo):
            raise TypeError(f"zone must be a zoneinfo.ZoneInfo, got {self.zone!r}")
        country = self.country.strip().upper()
        subdivision = self.subdivision.strip()
        check_region(country, subdivision)
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "subdivision", subdivision)
        object.__setattr__(self, "hours", _checked_hours(self.hours))
        object.__setattr__(self, "weekend", _checked_weekend(self.weekend))
        off = _checked_dates("extra_holidays", self.extra_holidays)
        on = _checked_dates("extra_working_days", self.extra_working_days)
        both = sorted(off & on)
        if both:
            listed = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"{listed}: listed both in extra_holidays and extra_working_days")
        object.__setattr__(self, "extra_holidays", off)
        object.__setattr__(self, "extra_working_days", on)

    # -- days ---------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is worked: the config first, then the library, then the weekend."""
        _require_date("day", day)
        if day in self.extra_working_days:
            return True
        if day in self.extra_holidays:
            return False
        year = self._year(day.year)
        if day in year.holidays:
            return False
        if day.weekday() in self.weekend:
            return day in year.weekend_workdays
        return True

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        _require_date("day", day)
        for back in range(1, SEARCH_DAYS + 1):
            candidate = _shift(day, -back)
            if self.is_working_day(candidate):
                return candidate
        raise NoWorkingTimeError(self._nothing_within("before", day))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        _require_date("day", day)
        for ahead in range(1, SEARCH_DAYS + 1):
            candidate = _shift(day, ahead)
            if self.is_working_day(candidate):
                return candidate
        raise NoWorkingTimeError(self._nothing_within("after", day))

    def last_working_day_of_week(self, day: date) -> date | None:
        """The last working day of the ISO week (Monday to Sunday) holding ``day``; None if none."""
        _require_date("day", day)
        monday = _shift(day, -day.weekday())
        for offset in range(6, -1, -1):
            candidate = _shift(monday, offset)
            if self.is_working_day(candidate):
                return candidate
        return None

    # -- moments ------------------------------------------------------------------------------

    def at(self, day: date, clock: time) -> datetime:
        """``clock`` on ``day`` in the calendar's zone (RFC 5545 rules for gaps and folds)."""
        _require_date("day", day)
        if clock.tzinfo is not None:
            raise ValueError(f"clock must be a wall time without a zone, got {clock.isoformat()}")
        return self._instant(day, clock).astimezone(self.zone)

    def is_working_time(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside a working span (start included, end excluded)."""
        instant = require_aware("moment", moment).astimezone(UTC)
        day = instant.astimezone(self.zone).date()
        return any(start <= instant < end for start, end in self._spans(day))

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when it is working time, else the start of the next working span."""
        instant = require_aware("moment", moment).astimezone(UTC)
        first = instant.astimezone(self.zone).date()
        for ahead in range(SEARCH_DAYS + 1):
            for start, end in self._spans(_shift(first, ahead)):
                if instant < end:
                    return max(start, instant).astimezone(self.zone)
        raise NoWorkingTimeError(self._nothing_within("from", first))

    def add_working_hours(self, moment: datetime, hours: float | timedelta) -> datetime:
        """The earliest instant by which ``hours`` of working time have passed since ``moment``.

        Time outside working spans does not count. When the amount runs out exactly at the end of
        a span, that end is the answer (a deadline at 12:00, not at 13:00 after lunch); adding
        nothing returns ``moment`` itself. So adding ``a`` then ``b`` equals adding ``a + b``.
        """
        instant = require_aware("moment", moment).astimezone(UTC)
        try:
            remaining = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
        except (ValueError, OverflowError):
            raise ValueError(f"{hours!r} is not an amount of working hours") from None
        if remaining < timedelta(0):
            raise ValueError(f"cannot add a negative amount of working time ({remaining})")
        if remaining > timedelta(days=SEARCH_DAYS):
            raise ValueError(f"{remaining} of working time is beyond what the calendar plans for")
        day = instant.astimezone(self.zone).date()
        idle_days = 0
        while remaining:
            spans = self._spans(day)
            for start, end in spans:
                if end <= instant:
                    continue
                begin = max(start, instant)
                if remaining <= end - begin:
                    return (begin + remaining).astimezone(self.zone)
                remaining -= end - begin
            # A working day wholly consumed (or wholly past) is skipped in one step.
            idle_days = 0 if spans else idle_days + 1
            if idle_days > SEARCH_DAYS:
                raise NoWorkingTimeError(self._nothing_within("after", day))
            day = _shift(day, 1)
        return instant.astimezone(self.zone)

    # -- what the library did not know --------------------------------------------------------

    @property
    def last_published_year(self) -> int | None:
        """The last year with an official schedule of adjusted days (None: the country has none)."""
        return last_published_year(self.country, self.subdivision)

    def is_year_known(self, year: int) -> bool:
        """Whether ``year`` has its official schedule in the library; asking never warns."""
        return year_calendar(self.country, self.subdivision, year).published

    def unknown_years(self) -> frozenset[int]:
        """The years this calendar has looked up so far that fell back to the regular calendar."""
        return frozenset(self._fallen_back)

    # -- inside -------------------------------------------------------------------------------

    def _year(self, year: int) -> YearCalendar:
        known = self._years.get(year)
        if known is not None:
            return known
        calendar = year_calendar(self.country, self.subdivision, year)
        if not calendar.published:
            # setdefault is atomic on a dict of ints: of two threads meeting the year at once,
            # only the one whose token went in reports it. (No lock: it would not deep-copy.)
            token = object()
            if self._fallen_back.setdefault(year, token) is token:
                self._report_fallback(year)
        self._years[year] = calendar
        return calendar

    def _report_fallback(self, year: int) -> None:
        last = self.last_published_year
        region = f"{self.country}-{self.subdivision}" if self.subdivision else self.country
        newest = f"its newest is {last}" if last is not None else "it has none"
        message = (
            f"the holidays library has no official schedule of working days for {region} in "
            f"{year} ({newest}): using the statutory holidays and no adjusted weekend working "
            f"days; list that year's days off and worked weekend days in the config overrides"
        )
        if self.warn is not None:
            self.warn(message)
        else:
            warnings.warn(message, HolidayDataWarning, stacklevel=4)

    def _spans(self, day: date) -> tuple[_Span, ...]:
        """The working spans of ``day`` as UTC instants, in order and never overlapping."""
        cached = self._day_spans.get(day)
        if cached is not None:
            return cached
        spans: list[_Span] = []
        if self.is_working_day(day):
            floor: datetime | None = None
            for wall_start, wall_end in self.hours:
                start = self._instant(day, wall_start)
                end = self._instant(day, wall_end)
                # A span starting in the spring gap is moved forward and may reach into the next.
                if floor is not None and start < floor:
                    start = floor
                if end > start:
                    spans.append((start, end))
                    floor = end
        result = tuple(spans)
        if len(self._day_spans) >= _SPAN_CACHE_SIZE:
            self._day_spans.clear()
        self._day_spans[day] = result
        return result

    def _instant(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock.replace(fold=0), tzinfo=self.zone).astimezone(UTC)

    def _nothing_within(self, direction: str, day: date) -> str:
        return (
            f"no working day within {SEARCH_DAYS} days {direction} {day.isoformat()} "
            f"(weekend {sorted(self.weekend)}, country {self.country or 'none'}): check the "
            "working-days settings"
        )


def _require_date(name: str, value: object) -> None:
    # datetime is a date subclass, but a datetime never equals a date: lookups would silently miss.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, got {value!r}")


def _shift(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise NoWorkingTimeError(
            f"{day.isoformat()} {days:+d} days is outside the dates the calendar can represent"
        ) from None


def _checked_hours(hours: object) -> tuple[tuple[time, time], ...]:
    if not isinstance(hours, tuple | list) or not hours:
        raise ValueError("hours must list at least one working span (start, end)")
    spans: list[tuple[time, time]] = []
    for span in hours:
        if not (
            isinstance(span, tuple | list)
            and len(span) == 2
            and all(isinstance(t, time) and t.tzinfo is None for t in span)
        ):
            raise ValueError(f"working span {span!r} must be two wall times (start, end)")
        start, end = span
        if not start < end:
            raise ValueError(f"working span {start}-{end} must end after it starts")
        if spans and start < spans[-1][1]:
            previous = spans[-1]
            raise ValueError(
                f"working span {start}-{end} starts before {previous[0]}-{previous[1]} ends; "
                "list the spans in order, without overlaps"
            )
        spans.append((start, end))
    return tuple(spans)


def _checked_weekend(weekend: object) -> frozenset[int]:
    if not isinstance(weekend, frozenset | set | tuple | list):
        raise ValueError(f"weekend must be a set of weekday numbers, got {weekend!r}")
    days = frozenset(weekend)
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days):
        raise ValueError(f"weekend days must be numbers 0 (Monday) to 6 (Sunday), got {weekend!r}")
    return days


def _checked_dates(name: str, days: object) -> frozenset[date]:
    if not isinstance(days, frozenset | set | tuple | list):
        raise ValueError(f"{name} must be a set of dates, got {days!r}")
    checked = frozenset(days)
    for day in checked:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"{name} must hold dates, got {day!r}")
    return checked
