"""Working days in mainland China, checked by hand against the State Council's notices.

The expected dates below are copied by hand from the notices, not computed by the code:

- 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04),
  https://www.gov.cn/gongbao/2025/issue_12406/202511/content_7048922.html
  (also Xinhua, https://politics.gmw.cn/2025-11/04/content_38391083.htm):
  元旦 1月1日至3日, 1月4日(周日)上班; 春节 2月15日(周日)至23日(周一)放假调休, 2月14日(周六)、
  2月28日(周六)上班; 清明节 4月4日至6日; 劳动节 5月1日至5日, 5月9日(周六)上班; 端午节 6月19日
  (周五)至21日; 中秋节 9月25日(周五)至27日; 国庆节 10月1日(周四)至7日(周三)放假调休,
  9月20日(周日)、10月10日(周六)上班.
- 国务院办公厅关于2025年部分节假日安排的通知 (2024-11-12),
  https://www.gov.cn/gongbao/2024/issue_11726/202411/content_6989767.html
  (also Xinhua, https://m.gmw.cn/2024-11/12/content_1303894933.htm):
  春节 1月28日(周二)至2月4日(周二)放假调休, 1月26日(周日)、2月8日(周六)上班.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.holiday_data import year_calendar
from rules.workdays import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHINA = WorkingCalendar(SHANGHAI, country="CN")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def shanghai(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# -- 2026 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", days(date(2026, 2, 15), date(2026, 2, 23)), ids=str)
def test_spring_festival_2026_is_off_from_sunday_february_15_to_monday_february_23(
    day: date,
) -> None:
    assert not CHINA.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)], ids=str)
def test_the_saturdays_around_spring_festival_2026_are_working_days(day: date) -> None:
    assert day.weekday() == 5
    assert CHINA.is_working_day(day)


def test_the_weekdays_on_either_side_of_spring_festival_2026_are_worked() -> None:
    assert CHINA.is_working_day(date(2026, 2, 13))  # Friday
    assert CHINA.is_working_day(date(2026, 2, 24))  # Tuesday


@pytest.mark.parametrize("day", days(date(2026, 10, 1), date(2026, 10, 7)), ids=str)
def test_national_day_2026_is_off_from_october_1_to_7(day: date) -> None:
    assert not CHINA.is_working_day(day)


def test_sunday_september_20_and_saturday_october_10_2026_are_working_days() -> None:
    assert date(2026, 9, 20).weekday() == 6
    assert date(2026, 10, 10).weekday() == 5
    assert CHINA.is_working_day(date(2026, 9, 20))
    assert CHINA.is_working_day(date(2026, 10, 10))
    assert not CHINA.is_working_day(date(2026, 10, 11))  # the Sunday after stays a weekend day


def test_the_library_lists_exactly_the_six_worked_weekend_days_of_the_2026_notice() -> None:
    worked = year_calendar("CN", "", 2026).weekend_workdays
    assert worked == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }


def test_the_other_2026_holidays_of_the_notice_are_days_off() -> None:
    for day in [
        *days(date(2026, 1, 1), date(2026, 1, 3)),
        *days(date(2026, 4, 4), date(2026, 4, 6)),
        *days(date(2026, 5, 1), date(2026, 5, 5)),
        *days(date(2026, 6, 19), date(2026, 6, 21)),
        *days(date(2026, 9, 25), date(2026, 9, 27)),
    ]:
        assert not CHINA.is_working_day(day), day
    assert CHINA.is_working_day(date(2026, 1, 4))
    assert CHINA.is_working_day(date(2026, 5, 9))


# -- 2025 ------------------------------------------------------------------------------------------


def test_sunday_january_26_and_saturday_february_8_2025_are_working_days() -> None:
    assert CHINA.is_working_day(date(2025, 1, 26))
    assert CHINA.is_working_day(date(2025, 2, 8))


@pytest.mark.parametrize("day", days(date(2025, 1, 28), date(2025, 2, 4)), ids=str)
def test_spring_festival_2025_is_off_from_january_28_to_february_4(day: date) -> None:
    assert not CHINA.is_working_day(day)


def test_the_working_day_before_spring_festival_2025_is_monday_january_27() -> None:
    assert CHINA.previous_working_day(date(2025, 2, 5)) == date(2025, 1, 27)


# -- neighbouring working days ---------------------------------------------------------------------


def test_the_working_day_before_monday_february_16_2026_is_the_worked_saturday_before_it() -> None:
    # Sunday 15 opens the festival; Saturday 14 is worked by decree.
    assert CHINA.previous_working_day(date(2026, 2, 16)) == date(2026, 2, 14)


def test_after_the_worked_saturday_february_14_2026_work_resumes_on_tuesday_february_24() -> None:
    assert CHINA.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert CHINA.previous_working_day(date(2026, 2, 24)) == date(2026, 2, 14)


def test_the_working_day_before_monday_september_21_2026_is_the_worked_sunday() -> None:
    assert CHINA.previous_working_day(date(2026, 9, 21)) == date(2026, 9, 20)


def test_national_day_2026_is_jumped_over_in_both_directions() -> None:
    assert CHINA.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert CHINA.previous_working_day(date(2026, 10, 8)) == date(2026, 9, 30)


@pytest.mark.parametrize(
    ("any_day_of_the_week", "last"),
    [
        (date(2026, 10, 5), date(2026, 10, 10)),  # National Day week: ends on the worked Saturday
        (date(2026, 10, 11), date(2026, 10, 10)),  # its Sunday belongs to the same ISO week
        (date(2026, 3, 11), date(2026, 3, 13)),  # an ordinary week ends on Friday
        (date(2026, 6, 15), date(2026, 6, 18)),  # Friday June 19 is the Dragon Boat Festival
        (date(2026, 9, 23), date(2026, 9, 24)),  # Friday September 25 is Mid-Autumn
        (date(2026, 9, 14), date(2026, 9, 20)),  # the worked Sunday ends its week
    ],
    ids=str,
)
def test_the_last_working_day_of_a_week_follows_holidays_and_adjusted_days(
    any_day_of_the_week: date, last: date
) -> None:
    assert CHINA.last_working_day_of_week(any_day_of_the_week) == last


def test_a_week_inside_spring_festival_2026_has_no_last_working_day() -> None:
    assert CHINA.last_working_day_of_week(date(2026, 2, 18)) is None


# -- working hours ---------------------------------------------------------------------------------


def test_working_hours_leave_out_the_lunch_break() -> None:
    assert CHINA.is_working_time(shanghai(2026, 3, 10, 11, 59))
    assert not CHINA.is_working_time(shanghai(2026, 3, 10, 12))
    assert not CHINA.is_working_time(shanghai(2026, 3, 10, 12, 59))
    assert CHINA.is_working_time(shanghai(2026, 3, 10, 13))
    assert not CHINA.is_working_time(shanghai(2026, 3, 10, 18))


def test_the_next_working_moment_is_the_moment_itself_in_working_time() -> None:
    assert CHINA.next_working_moment(shanghai(2026, 3, 10, 10, 15)) == shanghai(2026, 3, 10, 10, 15)


def test_the_next_working_moment_after_lunch_starts_at_one() -> None:
    assert CHINA.next_working_moment(shanghai(2026, 3, 10, 12, 30)) == shanghai(2026, 3, 10, 13)


def test_the_next_working_moment_on_new_years_eve_2026_skips_to_the_worked_sunday() -> None:
    # Wednesday December 31 2025 after hours; January 1-3 are off; Sunday January 4 is worked.
    assert CHINA.next_working_moment(shanghai(2025, 12, 31, 19)) == shanghai(2026, 1, 4, 9)


def test_a_moment_in_another_zone_is_answered_in_the_calendars_zone() -> None:
    moment = datetime(2026, 3, 10, 4, 30, tzinfo=ZoneInfo("UTC"))  # 12:30 in Shanghai
    result = CHINA.next_working_moment(moment)
    assert result == shanghai(2026, 3, 10, 13)
    assert result.tzinfo is SHANGHAI


def test_adding_hours_skips_lunch_and_handles_fractions() -> None:
    assert CHINA.add_working_hours(shanghai(2026, 3, 10, 11), 2) == shanghai(2026, 3, 10, 14)
    assert CHINA.add_working_hours(shanghai(2026, 3, 10, 11), 1.5) == shanghai(2026, 3, 10, 13, 30)
    assert CHINA.add_working_hours(shanghai(2026, 3, 10, 11), timedelta(minutes=45)) == shanghai(
        2026, 3, 10, 11, 45
    )


def test_hours_that_run_out_at_the_end_of_a_span_end_there_not_after_the_break() -> None:
    assert CHINA.add_working_hours(shanghai(2026, 3, 10, 9), 3) == shanghai(2026, 3, 10, 12)
    assert CHINA.add_working_hours(shanghai(2026, 3, 10, 9), 8) == shanghai(2026, 3, 10, 18)


def test_adding_nothing_returns_the_moment_itself() -> None:
    assert CHINA.add_working_hours(shanghai(2026, 3, 7, 22), 0) == shanghai(2026, 3, 7, 22)


def test_adding_hours_from_outside_working_time_starts_counting_at_the_next_span() -> None:
    # Saturday March 7 2026 is an ordinary weekend day.
    assert CHINA.add_working_hours(shanghai(2026, 3, 7, 10), 1) == shanghai(2026, 3, 9, 10)


def test_adding_hours_crosses_spring_festival_2026_through_its_worked_saturday() -> None:
    # Friday 13 17:00 + 3 h: one hour on Friday, two on the worked Saturday 14.
    assert CHINA.add_working_hours(shanghai(2026, 2, 13, 17), 3) == shanghai(2026, 2, 14, 11)
    # Saturday 14 17:00 + 2 h: one hour that Saturday, the next on Tuesday 24 after the festival.
    assert CHINA.add_working_hours(shanghai(2026, 2, 14, 17), 2) == shanghai(2026, 2, 24, 10)


def test_adding_hours_crosses_national_day_2026() -> None:
    # Wednesday September 30 17:00 + 10 h: 1 h that day, 8 h on October 8, 1 h on October 9.
    assert CHINA.add_working_hours(shanghai(2026, 9, 30, 17), 10) == shanghai(2026, 10, 9, 10)


def test_adding_two_weeks_of_hours_skips_whole_days() -> None:
    # Monday March 2 2026 09:00 + 80 h = ten working days, ending Friday March 13 at 18:00.
    assert CHINA.add_working_hours(shanghai(2026, 3, 2, 9), 80) == shanghai(2026, 3, 13, 18)


# -- the config's overrides ------------------------------------------------------------------------


def test_an_extra_holiday_beats_a_worked_saturday_of_the_notice() -> None:
    calendar = WorkingCalendar(SHANGHAI, extra_holidays=frozenset({date(2026, 2, 14)}))
    assert not calendar.is_working_day(date(2026, 2, 14))
    assert calendar.previous_working_day(date(2026, 2, 16)) == date(2026, 2, 13)


def test_an_extra_working_day_beats_a_public_holiday() -> None:
    calendar = WorkingCalendar(SHANGHAI, extra_working_days=frozenset({date(2026, 10, 2)}))
    assert calendar.is_working_day(date(2026, 10, 2))
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 2)


def test_a_date_both_off_and_on_in_the_config_is_an_error_naming_it() -> None:
    clash = date(2026, 5, 9)
    with pytest.raises(ValueError, match="2026-05-09"):
        WorkingCalendar(
            SHANGHAI, extra_holidays=frozenset({clash}), extra_working_days=frozenset({clash})
        )


def test_custom_working_hours_are_used() -> None:
    calendar = WorkingCalendar(SHANGHAI, hours=((time(8, 30), time(17, 30)),))
    assert calendar.is_working_time(shanghai(2026, 3, 10, 12, 30))
    assert calendar.add_working_hours(shanghai(2026, 3, 10, 17), 1) == shanghai(2026, 3, 11, 9)
