"""Years the holiday library has no official schedule for, and the calendar's settings checks.

China announces each year's holidays and worked weekend days around November of the year before;
a later year is unknown until then. The first tests use 2027, unknown to the library this project
pins (constraints.txt), while the tests after them use whatever year
follows the library's last published one, so the fallback stays covered.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.errors import NaiveDateTimeError
from rules.holiday_data import last_published_year, year_calendar
from rules.workdays import HolidayDataWarning, NoWorkingTimeError, WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNKNOWN = 2027

# The test command installs the holidays release in constraints.txt, which does not know 2027; a
# newer release that does must fail these tests loudly (and the pin move with them), not skip them.
assert not year_calendar("CN", "", UNKNOWN).published, "holidays now knows China's 2027 schedule"


def china(
    extra_holidays: frozenset[date] = frozenset(),
    extra_working_days: frozenset[date] = frozenset(),
) -> tuple[WorkingCalendar, list[str]]:
    """A calendar for China whose fallback warnings are collected in the returned list."""
    messages: list[str] = []
    calendar = WorkingCalendar(
        SHANGHAI,
        extra_holidays=extra_holidays,
        extra_working_days=extra_working_days,
        warn=messages.append,
    )
    return calendar, messages


def every_day_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


# -- 2027 ------------------------------------------------------------------------------------------


def test_a_year_after_the_last_published_one_falls_back_to_the_regular_calendar() -> None:
    calendar, _ = china()
    assert not calendar.is_working_day(date(2027, 2, 20))  # a Saturday: no adjusted days known
    assert calendar.is_working_day(date(2027, 3, 1))  # an ordinary Monday
    # The statutory days (New Year, Spring Festival from its eve, National Day) stay off.
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2027, 2, 5))
    assert not calendar.is_working_day(date(2027, 2, 8))
    assert not calendar.is_working_day(date(2027, 10, 1))
    assert calendar.unknown_years() == {2027}
    assert not calendar.is_year_known(2027)


def test_an_unknown_year_warns_exactly_once_however_often_it_is_asked() -> None:
    calendar, messages = china()
    for day in every_day_of(2027):
        calendar.is_working_day(day)
    calendar.previous_working_day(date(2027, 10, 8))
    calendar.last_working_day_of_week(date(2027, 2, 10))
    calendar.add_working_hours(datetime(2027, 1, 4, 9, tzinfo=SHANGHAI), 500)
    calendar.next_working_moment(datetime(2027, 9, 30, 19, tzinfo=SHANGHAI))
    assert len(messages) == 1
    assert "CN" in messages[0]
    assert "2027" in messages[0]


def test_an_extra_working_day_makes_a_saturday_of_2027_a_working_day() -> None:
    calendar, _ = china(extra_working_days=frozenset({date(2027, 2, 20)}))
    assert calendar.is_working_day(date(2027, 2, 20))
    assert calendar.previous_working_day(date(2027, 2, 22)) == date(2027, 2, 20)


def test_an_extra_holiday_fills_an_unknown_year_with_a_day_off() -> None:
    calendar, _ = china(extra_holidays=frozenset({date(2027, 2, 11)}))
    assert not calendar.is_working_day(date(2027, 2, 11))
    assert calendar.next_working_day(date(2027, 2, 4)) == date(2027, 2, 12)


# -- whatever year comes after the library's last --------------------------------------------------


def test_the_library_knows_china_at_least_up_to_2026() -> None:
    newest = last_published_year("CN")
    assert newest is not None
    assert newest >= 2026


def test_the_year_after_the_newest_published_one_falls_back_and_warns_once() -> None:
    calendar, messages = china()
    assert calendar.last_published_year is not None
    first_unknown = calendar.last_published_year + 1
    for day in every_day_of(first_unknown):
        calendar.is_working_day(day)
    weekend_days = [d for d in every_day_of(first_unknown) if d.weekday() >= 5]
    assert not any(calendar.is_working_day(d) for d in weekend_days)
    assert calendar.unknown_years() == {first_unknown}
    assert len(messages) == 1
    assert str(first_unknown) in messages[0]


def test_published_years_do_not_warn() -> None:
    calendar, messages = china()
    for day in every_day_of(2025) + every_day_of(2026):
        calendar.is_working_day(day)
    assert messages == []
    assert calendar.unknown_years() == frozenset()
    assert calendar.is_year_known(2026)


def test_without_a_hook_the_fallback_is_one_python_warning() -> None:
    calendar = WorkingCalendar(SHANGHAI)
    first_unknown = (calendar.last_published_year or 0) + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for day in every_day_of(first_unknown)[:60]:
            calendar.is_working_day(day)
    assert [w.category for w in caught] == [HolidayDataWarning]


def test_countries_without_decreed_working_days_have_no_unknown_years() -> None:
    bavaria = WorkingCalendar(ZoneInfo("Europe/Berlin"), country="DE", subdivision="BY")
    assert bavaria.last_published_year is None
    assert bavaria.is_year_known(2040)
    assert not bavaria.is_working_day(date(2040, 12, 25))


# -- settings that cannot work ---------------------------------------------------------------------


def test_an_unknown_country_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="XX"):
        WorkingCalendar(SHANGHAI, country="XX")


def test_an_unknown_subdivision_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="DE-ZZ"):
        WorkingCalendar(ZoneInfo("Europe/Berlin"), country="DE", subdivision="ZZ")


def test_a_subdivision_without_a_country_is_an_error() -> None:
    with pytest.raises(ValueError, match="without a country"):
        WorkingCalendar(SHANGHAI, country="", subdivision="BY")


def test_a_lower_case_country_code_is_accepted() -> None:
    assert WorkingCalendar(SHANGHAI, country="cn").country == "CN"


def test_no_country_means_weekends_only() -> None:
    calendar = WorkingCalendar(SHANGHAI, country="")
    assert calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 10, 10))


@pytest.mark.parametrize(
    "hours",
    [
        (),
        ((time(12), time(9)),),
        ((time(9), time(13)), (time(12), time(18))),
        ((time(9),),),
    ],
    ids=["none", "reversed", "overlapping", "no end"],
)
def test_working_hours_that_make_no_sense_are_rejected(hours: object) -> None:
    with pytest.raises(ValueError, match="span"):
        WorkingCalendar(SHANGHAI, hours=hours)  # type: ignore[arg-type]


def test_weekend_days_must_be_weekday_numbers() -> None:
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar(SHANGHAI, weekend=frozenset({7}))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 10, 10)
    with pytest.raises(NaiveDateTimeError):
        WorkingCalendar(SHANGHAI).is_working_time(naive)
    with pytest.raises(NaiveDateTimeError):
        WorkingCalendar(SHANGHAI).next_working_moment(naive)
    with pytest.raises(NaiveDateTimeError):
        WorkingCalendar(SHANGHAI).add_working_hours(naive, 1)


def test_a_datetime_where_a_date_is_expected_is_rejected() -> None:
    with pytest.raises(TypeError, match="date"):
        WorkingCalendar(SHANGHAI).is_working_day(datetime(2026, 3, 10, 10, tzinfo=SHANGHAI))


def test_a_negative_or_impossible_amount_of_working_time_is_rejected() -> None:
    moment = datetime(2026, 3, 10, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="negative"):
        WorkingCalendar(SHANGHAI).add_working_hours(moment, -1)
    with pytest.raises(ValueError, match="nan"):
        WorkingCalendar(SHANGHAI).add_working_hours(moment, float("nan"))
    with pytest.raises(ValueError, match="beyond"):
        WorkingCalendar(SHANGHAI).add_working_hours(moment, 1e6)


def test_a_calendar_without_any_working_day_raises_instead_of_searching_forever() -> None:
    never = WorkingCalendar(SHANGHAI, country="", weekend=frozenset(range(7)))
    moment = datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)
    with pytest.raises(NoWorkingTimeError, match="no working day within"):
        never.next_working_moment(moment)
    with pytest.raises(NoWorkingTimeError):
        never.add_working_hours(moment, 1)
    with pytest.raises(NoWorkingTimeError):
        never.previous_working_day(date(2026, 3, 10))
    with pytest.raises(NoWorkingTimeError):
        never.next_working_day(date(2026, 3, 10))
    assert never.last_working_day_of_week(date(2026, 3, 10)) is None


def test_a_single_extra_working_day_is_found_in_an_otherwise_idle_calendar() -> None:
    only = date(2029, 6, 1)
    calendar = WorkingCalendar(
        SHANGHAI, country="", weekend=frozenset(range(7)), extra_working_days=frozenset({only})
    )
    moment = datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)
    assert calendar.next_working_moment(moment) == datetime(2029, 6, 1, 9, tzinfo=SHANGHAI)
    assert calendar.add_working_hours(moment, 8) == datetime(2029, 6, 1, 18, tzinfo=SHANGHAI)
