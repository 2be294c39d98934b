"""Real files give the instants their authors meant.

Every expected instant below was worked out by hand from the file named in the test (its
DTSTART, its TZID or X-WR-TIMEZONE, and that zone's rules on that date), not by running the code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from calendar_sync.ics import ParsedCalendar, expand, parse_calendar, upcoming
from calendar_sync.itip_mail import calendar_part
from rules.model import Meeting
from tests.conftest import require_corpus

UTC = ZoneInfo("UTC")


def read(name: str, zone: str = "Asia/Shanghai") -> ParsedCalendar:
    data = (require_corpus("ics") / name).read_bytes()
    if name.endswith(".eml"):
        data = calendar_part(data, name)
    return parse_calendar(data, name, ZoneInfo(zone))


def z(text: str) -> datetime:
    """An instant written as UTC: ``z("2024-01-08 12:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def between(parsed: ParsedCalendar, start: str, end: str) -> list[Meeting]:
    return expand(parsed, z(start), z(end))


def test_exchange_w_europe_series_follows_central_european_summer_time() -> None:
    # exchange2010-request-gxl475.ics: 13:00-15:00 "W. Europe Standard Time", second Monday of
    # six months from January 2024. CET is UTC+1; from 31 March 2024 CEST is UTC+2.
    parsed = read("exchange2010-request-gxl475.ics")
    meetings = between(parsed, "2024-01-01", "2024-12-31")
    assert [m.start for m in meetings] == [
        z("2024-01-08 12:00"),
        z("2024-02-12 12:00"),
        z("2024-03-11 12:00"),
        z("2024-04-08 11:00"),
        z("2024-05-13 11:00"),
        z("2024-06-10 11:00"),
    ]
    assert all(m.duration == timedelta(hours=2) for m in meetings)
    assert {m.timezone for m in meetings} == {"Europe/Berlin"}
    assert meetings[0].start.utcoffset() == timedelta(hours=1)


def test_exchange_eastern_standard_time_is_new_york_still_in_daylight_time() -> None:
    # exchange2010-eastern-standard-time.ics: 28 Oct 2024 17:00-18:00; US DST ends 3 Nov 2024,
    # so EDT (UTC-4) applies.
    (event,) = read("exchange2010-eastern-standard-time.ics").events
    assert event.meeting.start == z("2024-10-28 21:00")
    assert event.meeting.end == z("2024-10-28 22:00")
    assert event.meeting.timezone == "America/New_York"


def test_exchange_tokyo_standard_time_is_utc_plus_nine() -> None:
    # exchange2010-tokyo-standard-time.ics: 24 Feb 2017 12:00-12:30 "Tokyo Standard Time".
    (event,) = read("exchange2010-tokyo-standard-time.ics").events
    assert (event.meeting.start, event.meeting.end) == (
        z("2017-02-24 03:00"),
        z("2017-02-24 03:30"),
    )
    assert event.meeting.timezone == "Asia/Tokyo"


def test_exchange_gmt_standard_time_all_day_override_moves_the_day() -> None:
    # exchange2010-gmt-standard-time-recurid.ics: all-day "Refuse black bin" every other Thursday
    # from 2 Apr 2020; the 16 April occurrence (RECURRENCE-ID at midnight GMT Standard Time) is
    # moved to Friday 17 April. All-day meetings run midnight to midnight in the user's zone,
    # London here, on BST (UTC+1) in April.
    parsed = read("exchange2010-gmt-standard-time-recurid.ics", "Europe/London")
    refuse = [m for m in between(parsed, "2020-04-01", "2020-05-01") if m.subject.startswith("Ref")]
    assert [m.start for m in refuse] == [
        z("2020-04-01 23:00"),
        z("2020-04-16 23:00"),
        z("2020-04-29 23:00"),
    ]
    moved = refuse[1]
    assert moved.all_day and moved.end - moved.start == timedelta(days=1)
    assert moved.occurrence_id == "2020-04-15T23:00:00+00:00"
    assert moved.timezone == "Europe/London"


def test_google_x_wr_timezone_only_file_keeps_instants_and_takes_the_zone() -> None:
    # google-export-x-wr-timezone-only.ics: times in UTC, X-WR-TIMEZONE America/New_York. The
    # summaries say noon-1PM and 9PM-10PM on 22 Dec 2021: EST is UTC-5.
    parsed = read("google-export-x-wr-timezone-only.ics")
    first, second = between(parsed, "2021-12-22", "2021-12-24")
    assert (first.start, first.end) == (z("2021-12-22 17:00"), z("2021-12-22 18:00"))
    assert (second.start, second.end) == (z("2021-12-23 02:00"), z("2021-12-23 03:00"))
    assert first.timezone == second.timezone == "America/New_York"
    assert (first.start.hour, second.start.hour) == (12, 21)


def test_apple_moscow_zone_with_seconds_offsets_uses_moscow_time() -> None:
    # apple-macos10.13-moscow-offset-seconds.ics: 20 Apr 2018 12:00-13:00 Europe/Moscow. Its
    # VTIMEZONE claims +02:30:17 (Moscow's mean time of 1880), but Europe/Moscow is a real zone
    # name, which clients look up: MSK is UTC+3 since 2014.
    (event,) = read("apple-macos10.13-moscow-offset-seconds.ics").events
    assert (event.meeting.start, event.meeting.end) == (
        z("2018-04-20 09:00"),
        z("2018-04-20 10:00"),
    )
    assert event.meeting.timezone == "Europe/Moscow"


def test_daily_series_with_exdate_and_moved_occurrences_in_london() -> None:
    # davx5-ical4j-exdate-recurid-london.ics: daily 18:00-23:30 Europe/London (GMT in December)
    # from 1 Jan 2023; 22 Dec 2023 excluded; 25 Dec moved to 21:15 and 27 Dec to 20:30.
    parsed = read("davx5-ical4j-exdate-recurid-london.ics")
    meetings = between(parsed, "2023-12-20", "2023-12-29")
    assert [m.start for m in meetings] == [
        z("2023-12-20 18:00"),
        z("2023-12-21 18:00"),
        z("2023-12-23 18:00"),
        z("2023-12-24 18:00"),
        z("2023-12-25 21:15"),
        z("2023-12-26 18:00"),
        z("2023-12-27 20:30"),
        z("2023-12-28 18:00"),
    ]
    moved = meetings[6]
    assert moved.end == z("2023-12-27 23:30")
    assert moved.occurrence_id == "2023-12-27T18:00:00+00:00"
    assert moved.key == "event_issue1812/2023-12-27T18:00:00+00:00"
    # 15 May 2025 is excluded too; in May London is on BST, so 18:00 is 17:00 UTC.
    may = between(parsed, "2025-05-14", "2025-05-17")
    assert [m.start for m in may] == [z("2025-05-14 17:00"), z("2025-05-16 17:00")]


def test_google_yearly_series_with_moved_first_and_excluded_third_year() -> None:
    # google-export-la-exdate-recurid.ics: yearly 1 Aug 19:00-20:00 Los Angeles (PDT, UTC-7)
    # from 2014; the 2014 one moved to 18:30, 2016 excluded.
    parsed = read("google-export-la-exdate-recurid.ics")
    meetings = between(parsed, "2014-01-01", "2018-01-01")
    assert [m.start for m in meetings] == [
        z("2014-08-02 01:30"),
        z("2015-08-02 02:00"),
        z("2017-08-02 02:00"),
    ]
    assert meetings[0].occurrence_id == "2014-08-02T02:00:00+00:00"


def test_google_all_day_event_spans_the_users_day() -> None:
    # google-export-allday.ics: VALUE=DATE 14 Aug 2020 to 15 Aug. For a user in Shanghai
    # (UTC+8) the day is 13 Aug 16:00 UTC to 14 Aug 16:00 UTC.
    parsed = read("google-export-allday.ics", "Asia/Shanghai")
    (meeting,) = between(parsed, "2020-08-10", "2020-08-20")
    assert meeting.all_day
    assert (meeting.start, meeting.end) == (z("2020-08-13 16:00"), z("2020-08-14 16:00"))
    assert meeting.start.hour == 0 and meeting.timezone == "Asia/Shanghai"
    assert meeting.occurrence_id == ""


def test_quoted_windows_display_tzid_with_exdates() -> None:
    # quirk-quoted-windows-tzid-rrule.ics: DTSTART 6 Jul 2015 12:00 "(UTC-05:00) Eastern Time
    # (US and Canada)" (EDT, UTC-4), DTEND 13:00 America/Los_Angeles (PDT, UTC-7), daily, ten
    # times. The EXDATEs say noon on 8 and 10 July in Los Angeles' zone: the expander matches
    # them to those days' noon occurrences, which is what the author meant.
    parsed = read("quirk-quoted-windows-tzid-rrule.ics")
    meetings = between(parsed, "2015-07-01", "2015-08-01")
    days = [6, 7, 9, 11, 12, 13, 14, 15]
    assert [m.start for m in meetings] == [z(f"2015-07-{d:02d} 16:00") for d in days]
    assert all(m.end - m.start == timedelta(hours=4) for m in meetings)
    assert meetings[0].timezone == "America/New_York"


def test_google_cancel_names_the_meeting_it_cancels_and_leaves_no_occurrence() -> None:
    # google-request-before-cancel.ics invites to 1 Apr 2015 14:00-15:00 UTC; google-cancel.ics
    # (METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE:1) cancels the same UID.
    request = read("google-request-before-cancel.ics")
    cancel = read("google-cancel.ics")
    (invited,) = request.events
    (cancelled,) = cancel.events
    assert invited.uid == cancelled.uid == "c74p2nmutcd0kt69ku7rs8vu2g@google.com"
    assert cancelled.meeting.start == invited.meeting.start == z("2015-04-01 14:00")
    assert cancelled.meeting.end == z("2015-04-01 15:00")
    assert cancelled.cancelled and not invited.cancelled
    assert (invited.meeting.sequence, cancelled.meeting.sequence) == (0, 1)
    assert len(between(request, "2015-04-01", "2015-04-02")) == 1
    assert between(cancel, "2015-04-01", "2015-04-02") == []


def test_legacy_cdo_offset_tzid_series_runs_weekdays_until_its_end() -> None:
    # exchange-cdo-request-gmt0100-tzid.ics: 3 Jul 2015 10:00-10:30 "GMT +0100 (Standard) /
    # GMT +0200 (Daylight)" (CEST, UTC+2), daily on weekdays until 22 Jul 08:00 UTC inclusive:
    # Fri 3, 6-10, 13-17, 20-22 July.
    parsed = read("exchange-cdo-request-gmt0100-tzid.ics")
    meetings = between(parsed, "2015-07-01", "2015-08-01")
    days = [3, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21, 22]
    assert [m.start for m in meetings] == [z(f"2015-07-{d:02d} 08:00") for d in days]


def test_outlook_city_list_tzid_follows_sydney_daylight_saving() -> None:
    # outlook11-standup-canberra-tzid.ics: weekdays 09:30 "Canberra, Melbourne, Sydney" from
    # 10 Mar 2009. AEDT (UTC+11) until 5 Apr 2009, then AEST (UTC+10).
    parsed = read("outlook11-standup-canberra-tzid.ics")
    first = between(parsed, "2009-03-09", "2009-03-10 12:00")
    assert [m.start for m in first] == [z("2009-03-09 22:30")]
    after_switch = between(parsed, "2009-04-05 12:00", "2009-04-06 12:00")
    assert [m.start for m in after_switch] == [z("2009-04-05 23:30")]
    assert first[0].timezone == "Australia/Sydney"


def test_owa_display_name_tzids_in_sydney_and_new_york() -> None:
    # exchange2010-owa-gmt-plus10-tzid.ics: "TEST Syd" 28 Oct 2020 13:30 "(GMT+10:00) Canberra,
    # Melbourne, Sydney" (AEDT since 4 Oct, UTC+11); "TEST" same wall time "(UTC-05:00) Eastern
    # Time (US & Canada)" (EDT, UTC-4).
    parsed = read("exchange2010-owa-gmt-plus10-tzid.ics")
    by_subject = {e.meeting.subject: e.meeting for e in parsed.events}
    assert by_subject["TEST Syd"].start == z("2020-10-28 02:30")
    assert by_subject["TEST"].start == z("2020-10-28 17:30")
    assert by_subject["TEST"].end == z("2020-10-28 19:00")


def test_customized_time_zone_uses_the_files_own_rules() -> None:
    # exchange2010-customized-time-zone.ics: "Customized Time Zone" is no known name; its
    # VTIMEZONE is UTC-5 with US daylight rules. Tue/Thu 10:35 from 25 Aug 2020 until
    # 17 Dec 2020 15:35 UTC: EDT (UTC-4) in August, EST (UTC-5) after 1 Nov.
    parsed = read("exchange2010-customized-time-zone.ics", "Asia/Shanghai")
    august = between(parsed, "2020-08-25", "2020-08-26")
    assert [m.start for m in august] == [z("2020-08-25 14:35")]
    december = between(parsed, "2020-12-15", "2021-01-31")
    assert [m.start for m in december] == [z("2020-12-15 15:35"), z("2020-12-17 15:35")]
    assert august[0].timezone == "America/New_York"


def test_thunderbird_localized_tzid_is_central_european_time() -> None:
    # thunderbird-localized-windows-tzid-mez.ics: 1 Jul 2026 17:00-18:30 "Mitteleuropäische
    # Zeit" (German Windows for W. Europe; CEST, UTC+2 in July).
    (event,) = read("thunderbird-localized-windows-tzid-mez.ics").events
    assert (event.meeting.start, event.meeting.end) == (
        z("2026-07-01 15:00"),
        z("2026-07-01 16:30"),
    )
    assert event.meeting.timezone == "Europe/Berlin"


def test_floating_time_in_apple_file_reads_in_its_x_wr_timezone() -> None:
    # apple-ical1-request-mixed-tz.ics: "No Timezone" is floating 28 Oct 2002 01:20:30 with
    # X-WR-TIMEZONE US/Pacific; DST ended 27 Oct 2002, so PST (UTC-8).
    parsed = read("apple-ical1-request-mixed-tz.ics")
    by_subject = {e.meeting.subject: e.meeting for e in parsed.events}
    assert by_subject["No Timezone"].start == z("2002-10-28 09:20:30")
    assert by_subject["UTC Timezone"].start == z("2002-10-28 01:20:30")
    assert by_subject["Inline Timezone"].start == z("2002-10-28 06:20:30")


def test_teams_invitation_email_in_fle_standard_time() -> None:
    # itip-email-teams-meeting-request.eml: 2 Dec 2020 19:00-21:00 "FLE Standard Time" (EET,
    # UTC+2 in winter).
    parsed = read("itip-email-teams-meeting-request.eml")
    (event,) = parsed.events
    assert (event.meeting.start, event.meeting.end) == (
        z("2020-12-02 17:00"),
        z("2020-12-02 19:00"),
    )
    assert parsed.method == "REQUEST"


def test_thunderbird_series_ends_at_its_utc_until() -> None:
    # thunderbird-recurring-moved.ics "test7": daily 04:00 Europe/Berlin (CET, UTC+1) from
    # 18 Mar 2019 until 20 Mar 03:00 UTC inclusive; the 19 Mar one is edited but not moved.
    parsed = read("thunderbird-recurring-moved.ics")
    test7 = [
        m for m in between(parsed, "2019-03-17", "2019-03-25") if m.subject.startswith("test7")
    ]
    assert [m.start for m in test7] == [
        z("2019-03-18 03:00"),
        z("2019-03-19 03:00"),
        z("2019-03-20 03:00"),
    ]
    assert test7[1].subject == "test7 - edited" and test7[1].location == "location"


def test_upcoming_lists_the_next_occurrences_of_a_weekly_series() -> None:
    # google-request-recurring-la.ics: weekly Mondays 13:30 Los Angeles (PST, UTC-8) from
    # 12 Jan 2015.
    parsed = read("google-request-recurring-la.ics")
    nxt = upcoming(parsed, z("2015-02-01"), limit=3)
    assert [m.start for m in nxt] == [
        z("2015-02-02 21:30"),
        z("2015-02-09 21:30"),
        z("2015-02-16 21:30"),
    ]
    assert nxt[0].occurrence_id == "2015-02-02T21:30:00+00:00"


def test_utc_plus_eleven_tzid_is_a_fixed_offset() -> None:
    # quirk-bad-tzid-utc-plus11.ics: 28 Feb 2017 23:00-23:30 TZID "UTC+11", defined as a fixed
    # +11:00 VTIMEZONE.
    (event,) = read("quirk-bad-tzid-utc-plus11.ics").events
    assert (event.meeting.start, event.meeting.end) == (
        z("2017-02-28 12:00"),
        z("2017-02-28 12:30"),
    )
    assert event.meeting.timezone == "Etc/GMT-11"


def test_gmt_offset_pair_tzid_without_definition_is_us_eastern_time() -> None:
    # quirk-tzid-gmt-0500-no-vtimezone.ics: every other Thursday 13:00 "GMT-05.00/-04.00" (no
    # VTIMEZONE) from 26 Jul 2012 until 1 Nov 03:59:59 UTC. Standard -5, daylight -4 is US
    # Eastern time, on EDT (UTC-4) through October: seven meetings at 17:00 UTC.
    parsed = read("quirk-tzid-gmt-0500-no-vtimezone.ics")
    meetings = between(parsed, "2012-07-01", "2012-12-01")
    days = ["07-26", "08-09", "08-23", "09-06", "09-20", "10-04", "10-18"]
    assert [m.start for m in meetings] == [z(f"2012-{d} 17:00") for d in days]
    assert not parsed.problems
