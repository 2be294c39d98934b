"""Working time across daylight-saving changes.

The changes in 2026, from the tz database rules: Europe/Berlin goes forward on the last Sunday
of March (March 29, 02:00 CET -> 03:00 CEST) and back on the last Sunday of October (October 25,
03:00 CEST -> 02:00 CET); America/New_York goes forward on the second Sunday of March (March 8,
02:00 EST -> 03:00 EDT) and back on the first Sunday of November (November 1,
02:00 EDT -> 01:00 EST). Expected instants are written in UTC, worked out by hand from those
offsets. Results are compared in UTC because Python compares two datetimes of one zone by wall
clock, ignoring the fold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rules.workdays import WorkingCalendar

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
BAVARIA = WorkingCalendar(BERLIN, country="DE", subdivision="BY")
NEW_YORK_STATE = WorkingCalendar(NEW_YORK, country="US", subdivision="NY")
# Night shifts every day of the week, so that a working span itself crosses the change.
BERLIN_NIGHTS = WorkingCalendar(
    BERLIN, country="", weekend=frozenset(), hours=((time(1), time(4)),)
)
NEW_YORK_NIGHTS = WorkingCalendar(
    NEW_YORK, country="", weekend=frozenset(), hours=((time(0, 30), time(3)),)
)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# -- at() ------------------------------------------------------------------------------------------


def test_a_time_in_the_berlin_spring_gap_moves_forward_by_the_gap() -> None:
    moment = BAVARIA.at(date(2026, 3, 29), time(2, 30))
    assert in_utc(moment) == utc(2026, 3, 29, 1, 30)
    assert (moment.hour, moment.minute) == (3, 30)
    assert moment.utcoffset() == timedelta(hours=2)


def test_a_time_in_the_new_york_spring_gap_moves_forward_by_the_gap() -> None:
    moment = NEW_YORK_STATE.at(date(2026, 3, 8), time(2, 30))
    assert in_utc(moment) == utc(2026, 3, 8, 7, 30)
    assert (moment.hour, moment.minute) == (3, 30)


def test_a_time_that_happens_twice_in_berlin_is_the_first_occurrence() -> None:
    moment = BAVARIA.at(date(2026, 10, 25), time(2, 30))
    assert in_utc(moment) == utc(2026, 10, 25, 0, 30)
    assert moment.utcoffset() == timedelta(hours=2)


def test_a_time_that_happens_twice_in_new_york_is_the_first_occurrence() -> None:
    moment = NEW_YORK_STATE.at(date(2026, 11, 1), time(1, 30))
    assert in_utc(moment) == utc(2026, 11, 1, 5, 30)
    assert moment.utcoffset() == timedelta(hours=-4)


def test_at_gives_the_ordinary_offset_on_ordinary_days() -> None:
    assert in_utc(BAVARIA.at(date(2026, 1, 15), time(9))) == utc(2026, 1, 15, 8)
    assert in_utc(BAVARIA.at(date(2026, 7, 15), time(9))) == utc(2026, 7, 15, 7)


# -- office hours over the weekend of a change -----------------------------------------------------


def test_adding_hours_over_the_berlin_spring_weekend_lands_in_summer_time() -> None:
    # Friday March 27 17:00 CET + 2 h: 17-18 on Friday, then 09-10 CEST on Monday March 30.
    friday = datetime(2026, 3, 27, 17, tzinfo=BERLIN)
    result = BAVARIA.add_working_hours(friday, 2)
    assert in_utc(result) == utc(2026, 3, 30, 8)
    assert result.tzinfo is BERLIN


def test_adding_hours_over_the_berlin_autumn_weekend_lands_in_winter_time() -> None:
    # Friday October 23 17:00 CEST + 2 h -> Monday October 26 10:00 CET.
    friday = datetime(2026, 10, 23, 17, tzinfo=BERLIN)
    assert in_utc(BAVARIA.add_working_hours(friday, 2)) == utc(2026, 10, 26, 9)


def test_adding_hours_over_the_new_york_spring_weekend_lands_in_daylight_time() -> None:
    # Friday March 6 17:00 EST + 2 h -> Monday March 9 10:00 EDT.
    friday = datetime(2026, 3, 6, 17, tzinfo=NEW_YORK)
    assert in_utc(NEW_YORK_STATE.add_working_hours(friday, 2)) == utc(2026, 3, 9, 14)


def test_adding_hours_over_the_new_york_autumn_weekend_lands_in_standard_time() -> None:
    # Friday October 30 17:00 EDT + 2 h -> Monday November 2 10:00 EST.
    friday = datetime(2026, 10, 30, 17, tzinfo=NEW_YORK)
    assert in_utc(NEW_YORK_STATE.add_working_hours(friday, 2)) == utc(2026, 11, 2, 15)


def test_the_next_working_moment_after_the_change_weekend_uses_the_new_offset() -> None:
    saturday = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert in_utc(BAVARIA.next_working_moment(saturday)) == utc(2026, 3, 30, 7)


# -- a working span that crosses the change --------------------------------------------------------


def test_a_night_span_is_one_hour_shorter_when_berlin_springs_forward() -> None:
    start = BERLIN_NIGHTS.at(date(2026, 3, 29), time(1))  # 00:00 UTC
    # 01:00 CET to 04:00 CEST is two real hours.
    assert in_utc(BERLIN_NIGHTS.add_working_hours(start, 2)) == utc(2026, 3, 29, 2)
    # Half an hour more spills into the next night: 01:30 CEST on March 30, 23:30 UTC on the 29th.
    assert in_utc(BERLIN_NIGHTS.add_working_hours(start, 2.5)) == utc(2026, 3, 29, 23, 30)


def test_a_night_span_is_one_hour_longer_when_berlin_falls_back() -> None:
    start = BERLIN_NIGHTS.at(date(2026, 10, 25), time(1))  # 01:00 CEST = 23:00 UTC the day before
    assert in_utc(start) == utc(2026, 10, 24, 23)
    # 01:00 CEST to 04:00 CET is four real hours.
    assert in_utc(BERLIN_NIGHTS.add_working_hours(start, 4)) == utc(2026, 10, 25, 3)
    assert in_utc(BERLIN_NIGHTS.add_working_hours(start, 3.5)) == utc(2026, 10, 25, 2, 30)


def test_both_occurrences_of_a_repeated_hour_are_working_time() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0)
    second = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1)
    assert in_utc(first) != in_utc(second)
    assert BERLIN_NIGHTS.is_working_time(first)
    assert BERLIN_NIGHTS.is_working_time(second)
    assert not BERLIN_NIGHTS.is_working_time(utc(2026, 10, 25, 3))  # 04:00 CET, the span's end


def test_a_night_span_is_one_hour_longer_when_new_york_falls_back() -> None:
    start = NEW_YORK_NIGHTS.at(date(2026, 11, 1), time(0, 30))  # 00:30 EDT = 04:30 UTC
    assert in_utc(start) == utc(2026, 11, 1, 4, 30)
    # 00:30 EDT to 03:00 EST is three and a half real hours; three of them end at 02:30 EST.
    assert in_utc(NEW_YORK_NIGHTS.add_working_hours(start, 3)) == utc(2026, 11, 1, 7, 30)
    assert in_utc(NEW_YORK_NIGHTS.add_working_hours(start, 3.5)) == utc(2026, 11, 1, 8)


def test_a_night_span_is_one_hour_shorter_when_new_york_springs_forward() -> None:
    start = NEW_YORK_NIGHTS.at(date(2026, 3, 8), time(0, 30))  # 00:30 EST = 05:30 UTC
    # 00:30 EST to 03:00 EDT is an hour and a half.
    assert in_utc(NEW_YORK_NIGHTS.add_working_hours(start, 1.5)) == utc(2026, 3, 8, 7)
    # The next half hour starts the next night, at 00:30 EDT on March 9.
    assert in_utc(NEW_YORK_NIGHTS.add_working_hours(start, 2)) == utc(2026, 3, 9, 5)


def test_a_span_starting_in_the_gap_starts_when_the_clocks_resume() -> None:
    calendar = WorkingCalendar(
        BERLIN, country="", weekend=frozenset(), hours=((time(2, 15), time(5)),)
    )
    # 02:15 does not exist on March 29: the span starts at 03:15 CEST and lasts 1 h 45 min.
    start = calendar.next_working_moment(utc(2026, 3, 28, 23))
    assert in_utc(start) == utc(2026, 3, 29, 1, 15)
    assert in_utc(calendar.add_working_hours(start, timedelta(minutes=105))) == utc(2026, 3, 29, 3)


def test_a_span_ending_in_the_gap_does_not_overlap_the_next_span() -> None:
    calendar = WorkingCalendar(
        BERLIN,
        country="",
        weekend=frozenset(),
        hours=((time(1), time(2, 30)), (time(3, 15), time(4))),
    )
    # On March 29 the first span runs 01:00 CET to "02:30", read as 03:30 CEST (00:00-01:30 UTC);
    # the second would start at 03:15 CEST (01:15 UTC), inside the first, so it starts at its end.
    # The night holds two hours of work, not two and a quarter.
    start = calendar.at(date(2026, 3, 29), time(1))
    assert in_utc(calendar.add_working_hours(start, 2)) == utc(2026, 3, 29, 2)
    assert calendar.is_working_time(utc(2026, 3, 29, 1, 20))
