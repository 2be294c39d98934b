"""Bounds on recurrence expansion, so that no calendar file can cost more than a fixed amount.

A rule such as ``FREQ=SECONDLY`` with no end, ``COUNT=1000000000``, or ``MINUTELY`` from 1900
would otherwise make the expander walk (and cache) every occurrence from the series' start: minutes
and gigabytes, at every sync. Before a series is expanded over a window, a copy of it is made whose
expansion is bounded:

- a rule that repeats more often than hourly (``SECONDLY``, ``MINUTELY``) is no meeting series: it
  is not expanded, its written components stand alone;
- a rule without ``COUNT`` whose start lies far before the window starts, in the copy, at the last
  whole number of periods before the window (hourly, daily and weekly rules; the occurrences are
  the same, only the walk from the old start is skipped);
- the walk that is left (periods from the start to the window's end, times the occurrences a
  period can give) must stay under ``MAX_WORK``, else the series is not expanded;
- every rule ends by the window's end: an UNTIL no later than it, in place of a COUNT (the COUNT
  is walked here to the occurrence it ends on; above ``MAX_OCCURRENCES`` the first ones are kept);
- and the caller keeps at most ``MAX_OCCURRENCES`` occurrences of one series in a window (the
  first ones), taking them one by one from the expander.

What was cut is said in a note, which the caller reports with the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from dateutil.rrule import rrulestr
from icalendar.prop import vDDDTypes

from calendar_sync.ics_zones import first_date, span_of

# Occurrences of one series kept in one window, and the total for a file.
MAX_OCCURRENCES = 2000
# Steps the expander may take for one series: periods walked times what one period can give.
MAX_WORK = 20_000
DENSE = frozenset({"SECONDLY", "MINUTELY"})
# Rules whose start can be moved by a whole number of periods: their periods are fixed lengths.
_FIXED_STEPS = {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(7)}
_APPROXIMATE_DAYS = {"MONTHLY": 30.44, "YEARLY": 365.25}
_DAY_PARTS = ("BYYEARDAY", "BYWEEKNO", "BYMONTHDAY", "BYDAY")


@dataclass(frozen=True)
class Bounded:
    """A series made safe to expand: ``components`` (``None``: do not expand, the written
    components stand alone) and what was cut, in words ("" when nothing was)."""

    components: list[icalendar.Component] | None
    note: str = ""


def _rules(component: icalendar.Component) -> list[Any]:
    found = component.get("RRULE")
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _first(rule: Any, name: str, default: Any = None) -> Any:
    values = rule.get(name)
    if not values:
        return default
    return values[0] if isinstance(values, list) else values


def _size(rule: Any, name: str) -> int:
    values = rule.get(name)
    if not values:
        return 1
    return len(values) if isinstance(values, list) else 1


def _per_period(rule: Any, freq: str) -> int:
    """The most occurrences one period of the rule can give (an upper bound)."""
    has_days = any(rule.get(name) for name in _DAY_PARTS)
    if freq == "YEARLY":
        days = 366 if has_days else _size(rule, "BYMONTH")
    elif freq == "MONTHLY":
        days = 31 if has_days else 1
    elif freq == "WEEKLY":
        days = min(7, _size(rule, "BYDAY"))
    else:
        days = 1
    times = _size(rule, "BYMINUTE") * _size(rule, "BYSECOND")
    if freq != "HOURLY":
        times *= _size(rule, "BYHOUR")
    found = days * times
    if rule.get("BYSETPOS"):
        found = min(found, _size(rule, "BYSETPOS"))
    return max(1, found)


def _aware(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, datetime.min.time(), UTC)


def _periods(freq: str, interval: int, start: date | datetime, until: datetime) -> float:
    span = (until - _aware(start)).total_seconds()
    if span <= 0:
        return 1.0
    if freq in _FIXED_STEPS:
        step = _FIXED_STEPS[freq].total_seconds() * interval
    else:
        step = _APPROXIMATE_DAYS[freq] * 86400 * interval
    return span / step + 1


def _length(component: icalendar.Component, start: date | datetime) -> timedelta:
    end = first_date(component.get("DTEND"))
    if end is not None and isinstance(end, datetime) == isinstance(start, datetime):
        return max(timedelta(0), _aware(end) - _aware(start))
    duration = span_of(component.get("DURATION"))
    return duration if duration is not None else timedelta(days=1)


def _shifted(
    component: icalendar.Component, freq: str, interval: int, after: datetime
) -> tuple[date | datetime, timedelta] | None:
    """How far to move the start of a rule without COUNT so its walk begins near ``after``."""
    start = first_date(component.get("DTSTART"))
    if start is None or freq not in _FIXED_STEPS:
        return None
    step = _FIXED_STEPS[freq] * interval
    if not isinstance(start, datetime) and step % timedelta(days=1):
        return None  # an all-day series stepping in hours: left as it is
    # The walk starts a period (and the meeting's length) before the window, so an occurrence
    # under way when the window opens is still found.
    target = after - _length(component, start) - step
    try:
        periods = math.floor((target - _aware(start)) / step)
    except OverflowError:
        return None
    if periods <= 0:
        return None
    delta = step * periods
    try:
        return start + delta, delta
    except OverflowError:
        return None


def _move(component: icalendar.Component, delta: timedelta) -> None:
    for name in ("DTSTART", "DTEND"):
        prop = component.get(name)
        if isinstance(prop, vDDDTypes) and isinstance(prop.dt, date):
            moved = vDDDTypes(prop.dt + delta)
            moved.params = prop.params.copy()  # TZID and VALUE stay as they were
            component[name] = moved


def _copy(component: icalendar.Component) -> icalendar.Component:
    """A copy that can be changed where this module changes it (the start, the end, the
    rules) without touching the original. Not a deep copy: the file's own time zones are
    shared, as they must be."""
    made = type(component)()
    made.update(component)
    made.subcomponents = list(component.subcomponents)
    rules = [icalendar.vRecur(rule) for rule in _rules(component)]
    if rules:
        made["RRULE"] = rules if len(rules) > 1 else rules[0]
    return made


def _interval(rule: Any) -> int:
    """The rule's INTERVAL (1 when absent); 0 for one that is not a whole number."""
    try:
        return int(_first(rule, "INTERVAL", 1))
    except (TypeError, ValueError):
        return 0


def _open_rule(rule: Any) -> str:
    """The rule's text without its end (COUNT, UNTIL), which this module applies itself."""
    parts = rule.to_ical().decode().split(";")
    return ";".join(part for part in parts if not part.startswith(("COUNT", "UNTIL")))


def _until(start: date | datetime, last: datetime) -> date | datetime:
    return last.astimezone(UTC) if isinstance(start, datetime) else last.date()


def _local(start: date | datetime) -> datetime:
    return start if isinstance(start, datetime) else datetime.combine(start, datetime.min.time())


def _matches_some_date(rule: Any, start: date | datetime) -> bool:
    """Whether the rule's filters (BYMONTH, BYMONTHDAY, BYDAY...) match any date at all.

    The expander looks for a matching date period by period until the year 9999, whatever the
    rule's end says, so a rule that matches nothing ("30 February") would cost millions of steps.
    It is tried here on its own start moved to the last years before 9999 by a whole number of
    28-year cycles (the same weekdays and leap years), where the walk ends within 70 years."""
    if not any(rule.get(name) for name in (*_DAY_PARTS, "BYMONTH", "BYSETPOS")):
        return True
    local = _local(start)
    year = 9959 - (9959 - local.year) % 28 if local.year <= 9959 else local.year
    try:
        late = local.replace(year=year)
    except ValueError:  # 29 February
        late = local.replace(year=year, day=28)
    text = _open_rule(rule)
    try:
        return next(iter(rrulestr(text, dtstart=late)), None) is not None
    except (ValueError, OverflowError):
        return False


def _end_by(rule: Any, start: date | datetime, after: datetime, before: datetime, uid: str) -> str:
    """Give ``rule`` an UNTIL no later than ``before`` in place of its COUNT, keeping at most
    ``MAX_OCCURRENCES`` occurrences from ``after``: the rule is walked here (its cost bounded by
    ``MAX_WORK`` already) to find the occurrence it then ends on."""
    local = _local(start)
    aware = local.tzinfo is not None
    horizon = before if aware else before.replace(tzinfo=None)
    opens = after if aware else after.replace(tzinfo=None)
    # The rule is read without its own end (an UNTIL may be in UTC beside a date or floating
    # start, which dateutil refuses); that end is applied here, in the start's terms.
    base = rrulestr(_open_rule(rule), dtstart=local)
    count = int(_first(rule, "COUNT", 0) or 0)
    own_until = _first(rule, "UNTIL")
    stop = horizon
    if own_until is not None and count == 0:
        own = _aware(own_until) if aware else _aware(own_until).astimezone(UTC).replace(tzinfo=None)
        stop = min(own, horizon)
    walked = base.replace(count=None, until=stop)
    last: datetime | None = None
    taken = in_window = 0
    note = ""
    for value in walked:
        if count and taken == count:
            break
        if value >= opens:
            if in_window == MAX_OCCURRENCES:
                note = (
                    f"the series {uid!r} has more than {MAX_OCCURRENCES:,} occurrences in the "
                    f"window; only the first {MAX_OCCURRENCES:,} are used"
                )
                break
            in_window += 1
        last, taken = value, taken + 1
    ends = last if (note or (count and taken == count)) and last is not None else stop
    if "COUNT" in rule:
        del rule["COUNT"]
    rule["UNTIL"] = [_until(start, ends if ends.tzinfo is not None else ends.replace(tzinfo=UTC))]
    return note


def bound(
    components: list[icalendar.Component], after: datetime, before: datetime, uid: str
) -> Bounded:
    """``components`` (one series: its master and overrides) made safe to expand over
    ``[after, before]``; the originals are not changed."""
    masters = [c for c in components if "RECURRENCE-ID" not in c and c.get("RRULE") is not None]
    if not masters:
        return Bounded(components)
    notes: list[str] = []
    result: list[icalendar.Component] = []
    for component in components:
        if component not in masters:
            result.append(component)
            continue
        made, note = _bound_master(component, after, before, uid)
        if made is None:
            return Bounded(None, note)
        if note:
            notes.append(note)
        result.append(made)
    return Bounded(result, "; ".join(notes))


def _bound_master(
    component: icalendar.Component, after: datetime, before: datetime, uid: str
) -> tuple[icalendar.Component | None, str]:
    start = first_date(component.get("DTSTART"))
    rules = _rules(component)
    if start is None or not rules:
        return component, ""
    freqs = [str(_first(rule, "FREQ", "")).upper() for rule in rules]
    if any(freq in DENSE for freq in freqs):
        return None, (
            f"the series {uid!r} repeats every {'second' if 'SECONDLY' in freqs else 'minute'}, "
            "which no meeting does; only its written occurrences are used"
        )
    if any(freq not in _FIXED_STEPS and freq not in _APPROXIMATE_DAYS for freq in freqs):
        return None, f"the series {uid!r} has no known frequency; only its first date is used"
    for rule in rules:
        if _interval(rule) < 1:  # the expander would step by nothing, for ever
            return None, (
                f"the series {uid!r} repeats at an interval of {_first(rule, 'INTERVAL')!r}; "
                "only its first date is used"
            )
    made = _copy(component)
    notes: list[str] = []
    made_rules = _rules(made)
    counted = any(rule.get("COUNT") for rule in made_rules)
    if len(made_rules) == 1 and not counted:
        rule = made_rules[0]
        moved = _shifted(made, freqs[0], _interval(rule), after)
        if moved is not None:
            start, delta = moved
            _move(made, delta)
    work = 0.0
    for rule, freq in zip(made_rules, freqs, strict=True):
        work += _periods(freq, _interval(rule), start, before) * _per_period(rule, freq)
    if work > MAX_WORK:
        return None, (
            f"the series {uid!r} would take {int(work):,} steps to expand (its rule is too dense "
            "or starts too long ago); only its written occurrences are used"
        )
    for rule in made_rules:
        if not _matches_some_date(rule, start):
            return (
                None,
                f"the rule of the series {uid!r} matches no date; only its first date is used",
            )
    for rule in made_rules:
        note = _end_by(rule, start, after, before, uid)
        if note:
            notes.append(note)
    return made, "; ".join(notes)
