"""Recurrence expansion is bounded for any rule: by the window, by a cap on occurrences per
series, and by a cap on the expander's work. A hostile or broken series costs itself only: it is
reported, and every other event is read as usual."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_sync import rrule_bounds
from calendar_sync.ics import expand, parse_calendar
from calendar_sync.vdir import VdirCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOW = (datetime(2026, 12, 7, tzinfo=UTC), datetime(2027, 2, 7, tzinfo=UTC))


def series(rule: str, start: str = "20261201T100000Z", uid: str = "hostile@x") -> str:
    end = start[:-5] + "3000Z" if start.endswith("Z") else start
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:Series\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


# The rules that ran for minutes into gigabytes before the bounds, and their kin.
HOSTILE = {
    "secondly-forever": ("FREQ=SECONDLY", "20261201T100000Z"),
    "secondly-count-1e9": ("FREQ=SECONDLY;COUNT=1000000000", "20261201T100000Z"),
    "minutely-from-1900": ("FREQ=MINUTELY", "19000101T100000Z"),
    "hourly-from-1900": ("FREQ=HOURLY", "19000101T100000Z"),
    "daily-every-second": (
        "FREQ=DAILY;BYHOUR="
        + ",".join(map(str, range(24)))
        + ";BYMINUTE="
        + ",".join(map(str, range(60)))
        + ";BYSECOND="
        + ",".join(map(str, range(60))),
        "20261201T100000Z",
    ),
    "matches-no-date": ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "20261201T100000Z"),
    "matches-no-date-count": ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31;COUNT=5", "20261201T100000Z"),
    "monthly-from-year-1": ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR", "00010101T100000Z"),
    "yearly-from-9999": ("FREQ=YEARLY", "99991231T100000Z"),
}

# Runs in a child process with 1 GiB of address space and a time limit, so that a regression
# fails the test instead of taking the machine down with it.
CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from datetime import datetime, UTC
    from pathlib import Path
    from zoneinfo import ZoneInfo
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from calendar_sync.vdir import VdirCalendar
    changes = VdirCalendar(Path(sys.argv[1]), ZoneInfo("Asia/Shanghai")).sync(
        None, datetime(2026, 12, 7, tzinfo=UTC), datetime(2027, 2, 7, tzinfo=UTC)
    )
    print(json.dumps({
        "uids": sorted({m.uid for m in changes.upserted}),
        "hostile": sum(1 for m in changes.upserted if m.uid == "hostile@x"),
        "problems": [p.message for p in changes.problems],
    }))
    """
)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_series_is_bounded_reported_and_the_other_events_are_read(
    tmp_path: Path, name: str
) -> None:
    rule, start = HOSTILE[name]
    (tmp_path / "hostile.ics").write_text(series(rule, start), newline="")
    (tmp_path / "weekly.ics").write_text(
        series("FREQ=WEEKLY;BYDAY=TU", "20200107T020000Z", uid="standup@agency"), newline=""
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert "standup@agency" in found["uids"]
    assert found["hostile"] <= rrule_bounds.MAX_OCCURRENCES
    # An hourly series from 1900 is expanded (from near the window) and needs no word.
    reported = any("hostile@x" in p for p in found["problems"])
    assert reported == (name != "hourly-from-1900"), found["problems"]


def test_a_series_past_the_cap_keeps_its_first_occurrences_and_says_so_once(
    tmp_path: Path,
) -> None:
    rule = "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=0,15,30,45"
    (tmp_path / "dense.ics").write_text(series(rule), newline="")
    calendar = VdirCalendar(tmp_path, SHANGHAI)
    first = calendar.sync(None, *WINDOW)
    starts = sorted(m.start for m in first.upserted)
    assert 0 < len(starts) <= rrule_bounds.MAX_OCCURRENCES
    # The first ones are kept: from the one under way when the window opens (30 minutes long).
    assert starts[0] == WINDOW[0] - timedelta(minutes=15)
    notes = [p.message for p in first.problems if "dense" in p.where or "hostile" in p.message]
    assert len(notes) == 1 and "only the first 2,000" in notes[0]
    again = calendar.sync(first.state, *WINDOW)
    assert again.problems == () and again.upserted == ()  # said once, not at every sync


def test_count_above_the_cap_keeps_the_first_occurrences() -> None:
    parsed = parse_calendar(
        series("FREQ=DAILY;COUNT=1000000", "20261001T020000Z").encode(), "c.ics", SHANGHAI
    )
    problems: list = []
    found = expand(
        parsed, datetime(2026, 10, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC), problems
    )
    assert len(found) <= rrule_bounds.MAX_OCCURRENCES
    assert found[0].start == datetime(2026, 10, 1, 2, tzinfo=UTC)


def _library(text: str, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    calendar = icalendar.Calendar.from_ical(text)
    found = recurring_ical_events.of(calendar).between(
        start - timedelta(days=1), end + timedelta(days=1)
    )
    out = []
    for event in found:
        begins = event["DTSTART"].dt
        if not isinstance(begins, datetime):
            begins = datetime.combine(begins, datetime.min.time(), SHANGHAI)
        stops = event["DTEND"].dt if "DTEND" in event else begins
        if not isinstance(stops, datetime):
            stops = datetime.combine(stops, datetime.min.time(), SHANGHAI)
        if begins < end and stops > start:
            out.append((begins.astimezone(UTC), str(event["SUMMARY"])))
    return sorted(out)


@settings(max_examples=60, deadline=None)
@given(
    freq=st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    interval=st.integers(1, 3),
    days=st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), max_size=3),
    count=st.one_of(st.none(), st.integers(1, 400)),
    start=st.datetimes(datetime(2018, 1, 1), datetime(2026, 12, 1)),
    zoned=st.booleans(),
)
def test_bounded_expansion_gives_what_the_expander_gives_for_ordinary_series(
    freq: str, interval: int, days: set[str], count: int | None, start: datetime, zoned: bool
) -> None:
    if freq == "HOURLY" and count is not None:
        # Counted from its start, an hourly series from 2018 is past the work bound, by design.
        start = max(start, datetime(2026, 11, 20))
    rule = f"FREQ={freq};INTERVAL={interval}"
    if days and freq in ("WEEKLY", "MONTHLY", "DAILY"):
        rule += ";BYDAY=" + ",".join(sorted(days))
    if count is not None:
        rule += f";COUNT={count}"
    stamp = start.replace(microsecond=0, second=0)
    if zoned:
        when = f";TZID=Asia/Shanghai:{stamp:%Y%m%dT%H%M%S}"
        later = f";TZID=Asia/Shanghai:{stamp + timedelta(minutes=30):%Y%m%dT%H%M%S}"
    else:
        when = f":{stamp:%Y%m%dT%H%M%S}Z"
        later = f":{stamp + timedelta(minutes=30):%Y%m%dT%H%M%S}Z"
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:s@x\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART{when}\r\nDTEND{later}\r\nSUMMARY:S\r\n"
        f"RRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    window = (datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 28, tzinfo=UTC))
    parsed = parse_calendar(text.encode(), "s.ics", SHANGHAI)
    problems: list = []
    ours = sorted((m.start, m.subject) for m in expand(parsed, *window, problems))
    assert problems == []
    assert ours == _library(text, *window)


def test_an_all_day_series_from_long_ago_is_expanded_in_the_window() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:d@x\r\n"
        "DTSTART;VALUE=DATE:19500103\r\nDTEND;VALUE=DATE:19500104\r\nSUMMARY:Day\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    parsed = parse_calendar(text.encode(), "d.ics", SHANGHAI)
    found = expand(parsed, *WINDOW)
    assert [m.start.date() for m in found][:2] == [date(2026, 12, 8), date(2026, 12, 15)]
    assert all(m.start.weekday() == 1 and m.all_day for m in found)
