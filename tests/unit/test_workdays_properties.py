"""Invariants of the working calendar, for any instant, amount and calendar (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.workdays import WorkingCalendar


def ignore(_message: str) -> None:
    """Unknown years are expected here (the range reaches past the library's last year)."""


CALENDARS = [
    WorkingCalendar(ZoneInfo("Asia/Shanghai"), country="CN", warn=ignore),
    WorkingCalendar(ZoneInfo("Europe/Berlin"), country="DE", subdivision="BY", warn=ignore),
    WorkingCalendar(ZoneInfo("America/New_York"), country="US", subdivision="NY", warn=ignore),
    # Spans that cross the daylight-saving changes, every day of the week.
    WorkingCalendar(
        ZoneInfo("Europe/Berlin"),
        country="",
        weekend=frozenset(),
        hours=((time(1), time(2, 30)), (time(3, 15), time(4))),
        warn=ignore,
    ),
    WorkingCalendar(
        ZoneInfo("America/New_York"),
        country="",
        weekend=frozenset(),
        hours=((time(0, 30), time(3)),),
        warn=ignore,
    ),
]

calendars = st.sampled_from(CALENDARS)
# The 2026 daylight-saving changes in UTC: Berlin in March and October, New York in March and
# November. Half the instants are drawn within three days of one, where the edge cases live.
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
]
around_changes = st.builds(
    lambda change, offset: change + timedelta(minutes=offset),
    st.sampled_from(CHANGES),
    st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60),
)
instants = st.one_of(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    around_changes,
)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
minutes = st.integers(min_value=0, max_value=120 * 60).map(lambda m: timedelta(minutes=m))

property_settings = settings(max_examples=200, deadline=None)


@property_settings
@given(calendars, instants)
def test_the_next_working_moment_is_never_earlier_and_is_working_time(
    calendar: WorkingCalendar, moment: datetime
) -> None:
    result = calendar.next_working_moment(moment)
    assert result >= moment
    assert calendar.is_working_time(result)
    assert result.tzinfo is calendar.zone


@property_settings
@given(calendars, instants)
def test_a_working_moment_is_its_own_next_working_moment(
    calendar: WorkingCalendar, moment: datetime
) -> None:
    if calendar.is_working_time(moment):
        assert calendar.next_working_moment(moment).astimezone(UTC) == moment


@property_settings
@given(calendars, instants, minutes, minutes)
def test_adding_hours_in_two_steps_equals_adding_them_at_once(
    calendar: WorkingCalendar, moment: datetime, first: timedelta, second: timedelta
) -> None:
    at_once = calendar.add_working_hours(moment, first + second)
    in_two_steps = calendar.add_working_hours(calendar.add_working_hours(moment, first), second)
    assert at_once.astimezone(UTC) == in_two_steps.astimezone(UTC)


@property_settings
@given(calendars, instants, minutes.filter(bool))
def test_added_hours_end_right_after_working_time(
    calendar: WorkingCalendar, moment: datetime, amount: timedelta
) -> None:
    result = calendar.add_working_hours(moment, amount)
    assert result > moment
    assert result - moment >= amount
    assert calendar.is_working_time(result - timedelta(microseconds=1))


@property_settings
@given(calendars, days)
def test_the_previous_working_day_is_earlier_working_and_nothing_in_between_is(
    calendar: WorkingCalendar, day: date
) -> None:
    previous = calendar.previous_working_day(day)
    assert previous < day
    assert calendar.is_working_day(previous)
    between = (previous + timedelta(days=n) for n in range(1, (day - previous).days))
    assert not any(calendar.is_working_day(d) for d in between)


@property_settings
@given(calendars, days)
def test_the_next_working_day_is_later_and_working(calendar: WorkingCalendar, day: date) -> None:
    following = calendar.next_working_day(day)
    assert following > day
    assert calendar.is_working_day(following)


@property_settings
@given(calendars, days)
def test_the_last_working_day_of_a_week_is_in_that_week_and_nothing_after_it_is_worked(
    calendar: WorkingCalendar, day: date
) -> None:
    last = calendar.last_working_day_of_week(day)
    monday = day - timedelta(days=day.weekday())
    week = [monday + timedelta(days=n) for n in range(7)]
    if last is None:
        assert not any(calendar.is_working_day(d) for d in week)
    else:
        assert last in week
        assert calendar.is_working_day(last)
        assert not any(calendar.is_working_day(d) for d in week if d > last)
