"""Public holidays and adjusted working days, per year, as the ``holidays`` library knows them.

``holidays`` is updated every month and covers every country an AE may work in. For countries that
move working days each year by decree (China's 调休: a weekend day becomes a working day to bridge a
long holiday), it keeps the official days in per-year tables (``special_*_holidays``), entered as
"day off, substituted from that weekend day". Those tables end with the last year the government has
published; for a later year the library still computes the statutory holidays by rule, but knows
no adjusted days. ``YearCalendar.published`` says which case a year is in, derived from the tables
themselves so that a newer library release extends it without a change here.

Lookups are cached per ``(country, subdivision, year)`` for the life of the process: the library is
deterministic, and building one year of China costs about a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays


@dataclass(frozen=True)
class YearCalendar:
    """One year of one region: the days off on weekdays and the weekend days that are worked.

    ``published`` is False when the library has no official schedule for the year (a year after
    the last one the government has announced): ``holidays`` then holds the rule-based statutory
    days and ``weekend_workdays`` is empty.
    """

    year: int
    holidays: frozenset[date]
    weekend_workdays: frozenset[date]
    published: bool


def check_region(country: str, subdivision: str = "") -> None:
    """Raise ``ValueError`` naming the code when the library knows no such country/subdivision."""
    if country:
        _library_facts(country, subdivision)
    elif subdivision:
        raise ValueError(f"subdivision {subdivision!r} given without a country")


def last_published_year(country: str, subdivision: str = "") -> int | None:
    """The last year with an official schedule of adjusted days; None when the country has none.

    A country that never moves working days by decree (Germany, the United States) has every year
    fully described by rules, so none of its years is ever unknown.
    """
    if not country:
        return None
    return _library_facts(country, subdivision)[0]


def year_calendar(country: str, subdivision: str, year: int) -> YearCalendar:
    """The days off and the worked weekend days of ``year``; none when ``country`` is ``""``."""
    if not country:
        return YearCalendar(year, frozenset(), frozenset(), published=True)
    return _year_calendar(country, subdivision, year)


@lru_cache(maxsize=64)
def _library_facts(country: str, subdivision: str) -> tuple[int | None, int, int]:
    """(last published year, first year, last year) the library covers for the region."""
    try:
        region = holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError as error:
        where = f"{country}-{subdivision}" if subdivision else country
        raise ValueError(f"unknown holiday region {where!r}: {error}") from None
    published: int | None = None
    if getattr(region, "has_substituted_holidays", False):
        years = _years_with_substitutions(region)
        published = max(years) if years else None
    return published, int(region.start_year), int(region.end_year)


def _years_with_substitutions(region: holidays.HolidayBase) -> set[int]:
    """Years whose special-holiday tables move a day off from another date (the decree years)."""
    years: set[int] = set()
    for name in dir(region):
        if not (name.startswith("special_") and name.endswith("_holidays")):
            continue
        table = getattr(region, name, None)
        if not isinstance(table, dict):
            continue
        for year, entries in table.items():
            if isinstance(year, int) and any(len(entry) >= 4 for entry in _entries(entries)):
                years.add(year)
    return years


def _entries(value: object) -> Iterable[tuple[object, ...]]:
    """A year's table entry is either one tuple or a tuple of tuples; always give the tuples."""
    if not isinstance(value, tuple) or not value:
        return ()
    if isinstance(value[0], tuple):
        return (entry for entry in value if isinstance(entry, tuple))
    return (value,)


@lru_cache(maxsize=512)
def _year_calendar(country: str, subdivision: str, year: int) -> YearCalendar:
    published_until, first, last = _library_facts(country, subdivision)
    if not first <= year <= last:
        # Outside the library's range it returns nothing at all: keep the weekends, say so.
        return YearCalendar(year, frozenset(), frozenset(), published=False)
    region = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    # For a year without an official schedule the rule-based holidays are kept, not dropped: the
    # statutory days themselves (春节, 国庆节 1-3 October...) are fixed by law and will be days off
    # whatever the decree says; the library's "observed" days around them are an estimate, but
    # treating a day as off when it is worked only makes aeflow wait a day, while treating a
    # holiday as a working day would send mail to clients on it. The decree's worked weekend days
    # cannot be guessed; the config's overrides fill them in.
    days_off = frozenset(day for day in region if day.year == year)
    # The library also lists worked weekend days of neighbouring years (a January notice may move
    # a day of the previous December); each year keeps only its own.
    worked: Iterable[date] = getattr(region, "weekend_workdays", ())
    weekend_workdays = frozenset(day for day in worked if day.year == year)
    published = published_until is None or year <= published_until
    return YearCalendar(year, days_off, weekend_workdays, published)
