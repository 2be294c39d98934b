"""Fuzzing the calendar reader: whatever bytes a .ics file holds, ``parse_calendar`` gives a
``ParsedCalendar`` or raises ``UnreadableInput``, and ``expand`` gives well-formed meetings over
a 60-day window; no other exception, no hang, bounded memory.

Two kinds of input: real files from the corpus (``<corpus>/ics``) mutated the way disks, mail
gateways and editors damage them (flipped and inserted bytes, cuts, lost, doubled and repeated
lines, changed line ends), and calendars written from scratch out of property names and random
values (RRULEs of any parts, dates from year 1 to 9999, TZIDs that do not exist, broken
VTIMEZONEs). The examples are derandomised so that CI runs the same ones every time.

The mutation strategy and the hang guard are shared with ``test_fuzz_mail`` and
``test_fuzz_config_and_text``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from calendar_sync.ics import (
    ITIP_METHODS,
    MAX_FILE_OCCURRENCES,
    ParsedCalendar,
    ParsedEvent,
    expand,
    parse_calendar,
)
from calendar_sync.ics_text import decode, read_calendar, unfold
from rules.errors import Problem, UnreadableInput
from rules.limits import MAX_ATTENDEES, MAX_BODY, MAX_LOCATION, MAX_SUBJECT
from rules.model import Meeting
from tests.conftest import REPO, require_corpus

T = TypeVar("T")

# --- shared by the three fuzz files -------------------------------------------------------------

# Hypothesis settings for every fuzz test: the same examples on every run (CI reproduces a
# failure from its log alone), no example database, no deadline (the hang guard below is the
# time limit), and no complaint that generating a mutated 100 kB file is slow.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(examples: int) -> settings:
    """``FUZZ`` with an example budget."""
    return settings(FUZZ, max_examples=examples)


# How long one call may take before it counts as a hang. Not a speed requirement (the
# benchmarks measure speed): every call here takes milliseconds, or a second on a large input;
# this is the line past which the daemon would be stuck. Text parsers get less, being pure
# string work on at most 64 kB.
CALL_SECONDS = float(os.environ.get("AEFLOW_FUZZ_CALL_SECONDS", "30"))
TEXT_CALL_SECONDS = float(os.environ.get("AEFLOW_FUZZ_TEXT_CALL_SECONDS", "5"))

# The largest input a mutation may grow (lines repeated thousands of times).
MAX_MUTANT_BYTES = 1_500_000

EXAMPLES_RUN: dict[str, int] = {}


def count(test: str) -> None:
    """One more example of ``test`` ran; the totals are printed by ``test_zz_*`` at the end."""
    EXAMPLES_RUN[test] = EXAMPLES_RUN.get(test, 0) + 1


class _Overran(BaseException):
    """Raised by the alarm. A ``BaseException``, so that the last-resort ``except Exception`` of
    the parsers cannot take a hang for just another unreadable file."""


def within(seconds: float, what: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, failing the test when it has not returned after ``seconds``."""

    def on_alarm(signum: int, frame: object) -> None:
        raise _Overran

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call(*args, **kwargs)
    except _Overran:
        raise AssertionError(f"{what} did not return within {seconds:g} s: a hang") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_problems(problems: Sequence[object]) -> None:
    for problem in problems:
        assert isinstance(problem, Problem)
        assert isinstance(problem.message, str)
        assert problem.message.strip()


def check_refusal(error: UnreadableInput, source: str) -> None:
    assert error.source == source
    assert isinstance(error.reason, str)
    assert error.reason.strip()


@cache
def corpus_files(folder: str, suffixes: tuple[str, ...]) -> tuple[bytes, ...]:
    """The bytes of the corpus files in ``folder`` ending with one of ``suffixes`` (sorted by
    name, so that derandomised runs draw the same seeds); skips or fails as the conftest says
    when the corpus is missing."""
    path = require_corpus(folder)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(suffixes))
    assert files, f"no {suffixes} files in {path}"
    return tuple(p.read_bytes() for p in files)


# What gets inserted: control characters (NUL, ESC, bidi overrides), line breaks of every kind,
# bytes that are not UTF-8, byte-order marks, and the punctuation both formats are built of.
INSERTIONS = (
    b"\x00", b"\r", b"\n", b"\r\n", b"\r\n ", b"\n\t", b"\x1b", b"\x1b[2J", "\u2028".encode(),
    "\u202e".encode(), "\u200b".encode(), "\ufeff".encode(), b"\xef\xbb\xbf", b"\xff\xfe",
    b"\xff", b"\xc3", b"\xe4\xb8", b"\x85", b"\x0b\x0c", b"\t", b" ", b":", b";", b"=", b",",
    b"\\", b'"', b"<", b">", b"--", b"=?", b"?=", b"\r\n\r\n", b"BEGIN:", b"END:", b"99999999",
)  # fmt: skip
REPEATS = (2, 3, 10, 100, 1000, 5000)
MUTATIONS = (
    "flip", "byte", "cut", "insert", "delete", "line-twice", "line-gone", "line-repeated",
    "lines-swapped", "line-from-other", "line-ends", "tail-repeated",
)  # fmt: skip


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [data]


@st.composite
def mutation(draw: st.DrawFn, data: bytes, donors: Sequence[bytes]) -> bytes:
    """``data`` damaged once: the byte-level and line-level faults that real files suffer."""
    if not data:
        return draw(st.sampled_from(INSERTIONS))
    at = draw(st.integers(0, len(data) - 1))
    kind = draw(st.sampled_from(MUTATIONS))
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
    if kind == "byte":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.sampled_from(INSERTIONS)) + data[at:]
    if kind == "delete":
        return data[:at] + data[at + draw(st.integers(1, 64)) :]
    if kind == "line-ends":
        ending = draw(st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\r", b"\r\r\n"]))
        return re.sub(rb"\r\n|\r|\n", ending, data)
    if kind == "tail-repeated":
        tail = data[at:][:2000]
        times = max(1, min(draw(st.sampled_from(REPEATS)), MAX_MUTANT_BYTES // max(len(tail), 1)))
        return data[:at] + tail * times
    lines = _lines(data)
    index = draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    if kind == "line-twice":
        lines.insert(index, line)
    elif kind == "line-gone":
        del lines[index]
    elif kind == "line-repeated":
        times = max(1, min(draw(st.sampled_from(REPEATS)), MAX_MUTANT_BYTES // max(len(line), 1)))
        lines[index : index + 1] = [line] * times
    elif kind == "lines-swapped":
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    else:  # a line of another file: a property where it does not belong
        donor = _lines(draw(st.sampled_from(donors)))
        lines.insert(index, donor[draw(st.integers(0, len(donor) - 1))])
    return b"".join(lines)


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], most: int = 4) -> bytes:
    """One of ``seeds`` after one to ``most`` mutations."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, most))):
        data = draw(mutation(data, seeds))
    return data[:MAX_MUTANT_BYTES]


# --- the calendar -------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
USER_ZONES = (
    ZoneInfo("UTC"),
    SHANGHAI,
    ZoneInfo("America/New_York"),
    ZoneInfo("Pacific/Kiritimati"),
)
WINDOW = timedelta(days=60)
# expand() looks one day beyond each end of the window.
EARLIEST_WINDOW = datetime(2, 1, 1, tzinfo=UTC)
LATEST_WINDOW = datetime(9999, 10, 1, tzinfo=UTC)
FIXED_WINDOWS = (
    datetime(2026, 12, 7, tzinfo=UTC),
    datetime(2024, 2, 1, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2038, 1, 1, tzinfo=UTC),
    EARLIEST_WINDOW,
    LATEST_WINDOW,
)


def ics_seeds() -> tuple[bytes, ...]:
    return corpus_files("ics", (".ics",))


def check_meeting(meeting: Meeting) -> None:
    assert isinstance(meeting, Meeting)
    for instant in (meeting.start, meeting.end):
        assert isinstance(instant, datetime)
        assert instant.tzinfo is not None and instant.utcoffset() is not None
    assert meeting.end >= meeting.start
    assert len(meeting.subject) <= MAX_SUBJECT
    assert len(meeting.location) <= MAX_LOCATION
    assert len(meeting.body) <= MAX_BODY
    assert len(meeting.attendees) <= MAX_ATTENDEES
    assert isinstance(meeting.sequence, int)


def check_parsed(parsed: object, source: str) -> ParsedCalendar:
    assert isinstance(parsed, ParsedCalendar)
    assert parsed.source == source
    assert parsed.method in ITIP_METHODS or parsed.method == ""
    check_problems(parsed.problems)
    for event in parsed.events:
        assert isinstance(event, ParsedEvent)
        assert event.uid, "every event is given a UID when it has none"
        check_meeting(event.meeting)
    return parsed


def check_expanded(
    meetings: object, problems: list[Problem], start: datetime, end: datetime
) -> list[Meeting]:
    assert isinstance(meetings, list)
    assert len(meetings) <= MAX_FILE_OCCURRENCES
    check_problems(problems)
    for meeting in meetings:
        check_meeting(meeting)
        assert not meeting.cancelled
        if meeting.end == meeting.start:
            assert start <= meeting.start < end
        else:
            assert meeting.start < end and meeting.end > start
    keys = [m.key for m in meetings]
    assert len(keys) == len(set(keys)), "an occurrence twice"
    assert [(m.start, m.key) for m in meetings] == sorted((m.start, m.key) for m in meetings)
    return meetings


def window_near(moment: datetime, days_before: int = 0) -> datetime:
    """A window start ``days_before`` days before ``moment``, inside the range that ``expand``
    can look at (compared, not converted: year 1 in Shanghai is year 0 in UTC)."""
    if moment < EARLIEST_WINDOW + timedelta(days=days_before + 1):
        return EARLIEST_WINDOW
    if moment > LATEST_WINDOW:
        return LATEST_WINDOW
    return moment.astimezone(UTC) - timedelta(days=days_before)


def window_start(draw: st.DrawFn, parsed: ParsedCalendar) -> datetime:
    """A window where the file's events are (its first one), or one of the fixed dates."""
    choices: list[datetime] = list(FIXED_WINDOWS)
    if parsed.events:
        first = min(e.meeting.start for e in parsed.events)
        choices.append(window_near(first, draw(st.integers(0, 30))))
    return draw(st.sampled_from(choices))


def read_and_expand(draw: st.DrawFn, data: bytes, source: str) -> None:
    """The whole contract for one file: parsed or refused, then expanded over a window."""
    zone = draw(st.sampled_from(USER_ZONES))
    try:
        parsed = within(CALL_SECONDS, "parse_calendar", parse_calendar, data, source, zone)
    except UnreadableInput as error:
        check_refusal(error, source)
        return
    check_parsed(parsed, source)
    start = window_start(draw, parsed)
    end = start + WINDOW
    problems: list[Problem] = []
    meetings = within(CALL_SECONDS, "expand", expand, parsed, start, end, problems)
    check_expanded(meetings, problems, start, end)


@fuzz(250)
@given(st.data())
def test_damaged_real_calendars_are_read_or_refused_and_expand_to_well_formed_meetings(
    data: st.DataObject,
) -> None:
    raw = data.draw(mutated(ics_seeds()), label="file")
    read_and_expand(data.draw, raw, "fuzz.ics")
    count("damaged real calendars")


def test_every_real_calendar_of_the_corpus_is_read_or_refused_and_expands() -> None:
    # The undamaged seeds first: a failure here is not the mutations' doing.
    for raw in ics_seeds():
        for start in FIXED_WINDOWS[:3]:
            try:
                parsed = within(CALL_SECONDS, "parse_calendar", parse_calendar, raw, "seed.ics")
            except UnreadableInput as error:
                check_refusal(error, "seed.ics")
                continue
            check_parsed(parsed, "seed.ics")
            problems: list[Problem] = []
            meetings = within(CALL_SECONDS, "expand", expand, parsed, start, start + WINDOW)
            check_expanded(meetings, problems, start, start + WINDOW)


# --- calendars written from scratch -------------------------------------------------------------

TZIDS = (
    "Europe/Berlin", "America/New_York", "Asia/Shanghai", "UTC", "Etc/GMT-14", "Etc/GMT+12",
    "W. Europe Standard Time", "China Standard Time", "Pacific Standard Time",
    "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "GMT +0100 (Standard)",
    "/mozilla.org/20050126_1/Europe/Berlin", "/citadel.org/20190914_1/Asia/Shanghai",
    "Customized Time Zone", "Mars/Olympus_Mons", "Nowhere", "", " ", "America", "Europe/",
    "../../../etc/passwd", "UTC+11", "GMT-0500", "tzone://Microsoft/Custom", "Z", "Local",
    "x" * 300, "Europe/Berlin\u202e", "中国标准时间", "Europe\\,Berlin",
)  # fmt: skip
FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "", "BOGUS")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX", "")
METHODS = (*sorted(ITIP_METHODS), "", "BOGUS", "request", "REPLY ")
STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED", "cancelled", "BOGUS", "")

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
numbers = st.one_of(
    st.integers(-3, 60), st.sampled_from([0, 99, 366, 9999, 2**31, 2**63, 10**30, -(2**31)])
)


def _number_list(low: int, high: int) -> st.SearchStrategy[str]:
    item = st.one_of(st.integers(low, high), numbers).map(str)
    return st.lists(item, min_size=1, max_size=6).map(",".join)


@st.composite
def year(draw: st.DrawFn) -> int:
    return draw(st.one_of(st.integers(1, 9999), st.sampled_from([1, 1582, 1601, 1970, 9999])))


@st.composite
def ical_date(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:  # an impossible or malformed one
        return draw(st.sampled_from(["00000000", "20241301", "20240230", "20240100", "2024", "x"]))
    return f"{draw(year()):04d}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"


@st.composite
def ical_datetime(draw: st.DrawFn) -> str:
    day = draw(ical_date())
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), 0
    if draw(st.integers(0, 9)) == 0:
        hour, minute, second = draw(st.sampled_from([(24, 0, 0), (23, 60, 0), (23, 59, 60)]))
    return f"{day}T{hour:02d}{minute:02d}{second:02d}" + draw(st.sampled_from(["", "Z", "Z", "z"]))


@st.composite
def when(draw: st.DrawFn, name: str) -> str:
    """A DTSTART-like line: a date, a UTC, floating or zoned time, or something else."""
    form = draw(st.sampled_from(["date", "utc", "floating", "zoned", "zoned-date", "garbage"]))
    if form == "date":
        return f"{name};VALUE=DATE:{draw(ical_date())}"
    if form == "zoned" or form == "zoned-date":
        tzid = draw(st.sampled_from(TZIDS))
        quoted = f'"{tzid}"' if draw(st.booleans()) else tzid
        value = draw(ical_date()) if form == "zoned-date" else draw(ical_datetime()).rstrip("Zz")
        extra = ";VALUE=DATE" if form == "zoned-date" else ""
        return f"{name};TZID={quoted}{extra}:{value}"
    if form == "garbage":
        return f"{name}:{draw(texts)}"
    stamp = draw(ical_datetime()).rstrip("Zz")
    return f"{name}:{stamp}Z" if form == "utc" else f"{name}:{stamp}"


@st.composite
def rrule(draw: st.DrawFn) -> str:
    """A recurrence rule of random parts: valid, contradictory, huge or malformed."""
    parts = []
    freq = draw(st.sampled_from(FREQS))
    if freq or draw(st.booleans()):
        parts.append(f"FREQ={freq}")
    optional: dict[str, st.SearchStrategy[str]] = {
        "INTERVAL": st.one_of(st.sampled_from([0, 1, 2, -1]), numbers).map(str),
        "COUNT": numbers.map(str),
        "UNTIL": st.one_of(ical_date(), ical_datetime(), texts),
        "BYDAY": st.lists(
            st.tuples(
                st.sampled_from(["", "+1", "-1", "2", "53", "-53", "0", "+99"]),
                st.sampled_from(DAYS),
            ).map("".join),
            min_size=1,
            max_size=7,
        ).map(",".join),
        "BYMONTHDAY": _number_list(-31, 31),
        "BYMONTH": _number_list(0, 13),
        "BYYEARDAY": _number_list(-366, 366),
        "BYWEEKNO": _number_list(-53, 53),
        "BYHOUR": _number_list(0, 24),
        "BYMINUTE": _number_list(0, 60),
        "BYSECOND": _number_list(0, 61),
        "BYSETPOS": _number_list(-366, 366),
        "WKST": st.sampled_from(DAYS),
        "X-NAME": texts,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=6, unique=True)):
        parts.append(f"{key}={draw(optional[key])}")
    if draw(st.integers(0, 9)) == 0:
        parts.append(draw(st.sampled_from(["", ";", "FREQ", "=", "COUNT=1=2", " BYDAY = MO, TU"])))
    return ";".join(draw(st.permutations(parts)))


@st.composite
def moments(draw: st.DrawFn, name: str) -> str:
    """An RDATE or EXDATE line: one or many times, sometimes periods, sometimes zoned."""
    dated = draw(st.booleans())
    values = draw(st.lists(ical_date() if dated else ical_datetime(), min_size=1, max_size=5))
    if name == "RDATE" and not dated and draw(st.integers(0, 3)) == 0:
        period = draw(st.sampled_from(["PT1H", "P1D", "-PT1H", "PT0S"]))
        return f"{name};VALUE=PERIOD:" + ",".join(f"{v}/{period}" for v in values)
    head = f"{name};VALUE=DATE" if dated else name
    if draw(st.booleans()):
        head += f";TZID={draw(st.sampled_from(TZIDS))}"
        values = [v.rstrip("Zz") for v in values]
    return f"{head}:" + ",".join(values)


duration_values = st.one_of(
    st.sampled_from(["PT1H", "P1D", "PT0S", "-PT1H", "P1W", "P9999W", "P99999999D", "P1Y", "P"]),
    st.builds("P{}DT{}H{}M".format, st.integers(0, 400), st.integers(0, 48), st.integers(0, 90)),
    texts,
)
people = st.one_of(
    st.sampled_from(["jane@acme.example", "TOM@Acme.Example", "", "not an address", "a@b"]),
    st.emails().map(str),
)


@st.composite
def attendee(draw: st.DrawFn, name: str = "ATTENDEE") -> str:
    params = ""
    if draw(st.booleans()):
        params += f";CN={draw(texts)}" if draw(st.booleans()) else f';CN="{draw(texts)}"'
    if draw(st.booleans()):
        status = ["ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION", "DELEGATED", "X", ""]
        params += f";PARTSTAT={draw(st.sampled_from(status))}"
    if draw(st.booleans()):
        params += f";ROLE={draw(st.sampled_from(['REQ-PARTICIPANT', 'CHAIR', 'X']))}"
    scheme = draw(st.sampled_from(["mailto:", "MAILTO:", "", "urn:uuid:", "http://x/"]))
    return f"{name}{params}:{scheme}{draw(people)}"


@st.composite
def vevent(draw: st.DrawFn, uids: Sequence[str]) -> list[str]:
    lines = ["BEGIN:VEVENT"]
    if draw(st.integers(0, 9)):
        lines.append(f"UID:{draw(st.sampled_from(uids))}")
    if draw(st.integers(0, 9)):
        lines.append(draw(when("DTSTART")))
    end = draw(st.sampled_from(["DTEND", "DURATION", "none", "both"]))
    if end in ("DTEND", "both"):
        lines.append(draw(when("DTEND")))
    if end in ("DURATION", "both"):
        lines.append(f"DURATION:{draw(duration_values)}")
    optional: dict[str, st.SearchStrategy[str]] = {
        "RRULE": rrule().map("RRULE:{}".format),
        "RRULE2": rrule().map("RRULE:{}".format),
        "EXRULE": rrule().map("EXRULE:{}".format),
        "RDATE": moments("RDATE"),
        "EXDATE": moments("EXDATE"),
        "RECURRENCE-ID": st.one_of(
            when("RECURRENCE-ID"), when("RECURRENCE-ID;RANGE=THISANDFUTURE")
        ),
        "SUMMARY": texts.map("SUMMARY:{}".format),
        "LOCATION": texts.map("LOCATION:{}".format),
        "DESCRIPTION": texts.map("DESCRIPTION:{}".format),
        "STATUS": st.sampled_from(STATUSES).map("STATUS:{}".format),
        "SEQUENCE": st.one_of(numbers.map(str), texts).map("SEQUENCE:{}".format),
        "ORGANIZER": attendee("ORGANIZER"),
        "ORGANIZER2": attendee("ORGANIZER"),
        "ATTENDEE": attendee(),
        "ATTENDEE2": attendee(),
        "CATEGORIES": st.lists(texts, max_size=4).map(",".join).map("CATEGORIES:{}".format),
        "DTSTAMP": ical_datetime().map("DTSTAMP:{}".format),
        "TRANSP": st.sampled_from(["TRANSPARENT", "OPAQUE", "x"]).map("TRANSP:{}".format),
        "X-MICROSOFT-CDO-ALLDAYEVENT": st.sampled_from(["TRUE", "FALSE"]).map(
            "X-MICROSOFT-CDO-ALLDAYEVENT:{}".format
        ),
        "X-JUNK": texts.map("X-JUNK;X=1:{}".format),
        "JUNK": texts,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=9, unique=True)):
        lines.append(draw(optional[key]))
    if draw(st.integers(0, 5)) == 0:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"]
    lines.append("END:VEVENT")
    return lines


@st.composite
def offset(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(["+2500", "-0000", "+01:00", "+0100000", "0100", "", "x"]))
    sign, hours, minutes = (
        draw(st.sampled_from("+-")),
        draw(st.integers(0, 14)),
        draw(st.integers(0, 59)),
    )
    seconds = f"{draw(st.integers(0, 59)):02d}" if draw(st.integers(0, 5)) == 0 else ""
    return f"{sign}{hours:02d}{minutes:02d}{seconds}"


@st.composite
def vtimezone(draw: st.DrawFn) -> list[str]:
    lines = ["BEGIN:VTIMEZONE", f"TZID:{draw(st.sampled_from(TZIDS))}"]
    for kind in draw(st.lists(st.sampled_from(["STANDARD", "DAYLIGHT", "BOGUS"]), max_size=3)):
        lines.append(f"BEGIN:{kind}")
        if draw(st.integers(0, 9)):
            lines.append(f"DTSTART:{draw(ical_datetime()).rstrip('Zz')}")
        lines += [f"TZOFFSETFROM:{draw(offset())}", f"TZOFFSETTO:{draw(offset())}"]
        if draw(st.booleans()):
            lines.append(f"RRULE:{draw(rrule())}")
        if draw(st.booleans()):
            lines.append(f"TZNAME:{draw(texts)}")
        lines.append(f"END:{kind}")
    lines.append("END:VTIMEZONE")
    return lines


def fold(line: str, width: int, separator: str) -> str:
    return separator.join(line[i : i + width] for i in range(0, len(line), width)) or line


@st.composite
def written_calendar(draw: st.DrawFn) -> bytes:
    """A VCALENDAR written from property names and random values, then serialised with random
    line ends, folding and encoding."""
    uids = draw(st.lists(st.sampled_from(["a@x", "b@x", "", " ", "040000008200E00074C5B7101A82"]),
                         min_size=1, max_size=3))  # fmt: skip
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN"]
    if draw(st.booleans()):
        lines.append(f"METHOD:{draw(st.sampled_from(METHODS))}")
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"X-WR-TIMEZONE:{draw(st.sampled_from(TZIDS))}")
    for _ in range(draw(st.integers(0, 2))):
        lines += draw(vtimezone())
    for _ in range(draw(st.integers(0, 4))):
        lines += draw(vevent(uids))
    if draw(st.integers(0, 5)) == 0:
        other = draw(st.sampled_from(["VTODO", "VJOURNAL", "VFREEBUSY", "X-THING", "VEVENT"]))
        lines += [f"BEGIN:{other}", draw(when("DTSTART")), f"END:{other}"]
    if draw(st.integers(0, 9)):
        lines.append("END:VCALENDAR")
    width = draw(st.sampled_from([0, 0, 75, 20, 1]))
    separator = draw(st.sampled_from(["\r\n ", "\r\n\t", "\n ", "\r "]))
    if width:
        lines = [fold(line, width, separator) for line in lines]
    text = draw(st.sampled_from(["\r\n", "\n", "\r"])).join(lines) + "\r\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1252", "gb18030"]))
    return text.encode(encoding, errors="replace")


@fuzz(300)
@given(st.data())
def test_calendars_written_from_random_properties_are_read_or_refused_and_expand(
    data: st.DataObject,
) -> None:
    raw = data.draw(written_calendar(), label="file")
    read_and_expand(data.draw, raw, "written.ics")
    count("written calendars")


@fuzz(200)
@example(  # an interval of 0: the rule never moves on (found by this test)
    rule="FREQ=YEARLY;INTERVAL=0",
    start="DTSTART:20261210T100000Z",
    extra=[],
    zone=SHANGHAI,
    window=FIXED_WINDOWS[0],
)
@given(
    rule=rrule(),
    start=when("DTSTART"),
    extra=st.lists(st.one_of(moments("RDATE"), moments("EXDATE")), max_size=2),
    zone=st.sampled_from(USER_ZONES),
    window=st.sampled_from(FIXED_WINDOWS),
)
def test_one_event_with_any_recurrence_rule_expands_within_bounds(
    rule: str, start: str, extra: list[str], zone: ZoneInfo, window: datetime
) -> None:
    text = "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN", "BEGIN:VEVENT", "UID:r@x",
         start, "DURATION:PT30M", f"RRULE:{rule}", *extra, "END:VEVENT", "END:VCALENDAR", ""]
    )  # fmt: skip
    try:
        parsed = within(
            CALL_SECONDS, "parse_calendar", parse_calendar, text.encode(), "r.ics", zone
        )
    except UnreadableInput as error:
        check_refusal(error, "r.ics")
        return
    check_parsed(parsed, "r.ics")
    # The window of the file's own start as well as a fixed one.
    for begin in {window, *(window_near(e.meeting.start) for e in parsed.events)}:
        problems: list[Problem] = []
        meetings = within(CALL_SECONDS, "expand", expand, parsed, begin, begin + WINDOW, problems)
        check_expanded(meetings, problems, begin, begin + WINDOW)
    count("recurrence rules")


# What a file the reader gave up on says (``parse_calendar``'s last guard): something inside
# raised what nobody foresaw, and every event of the file is lost with it.
GAVE_UP = "the calendar could not be read ("


def _with_events(*events: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", *events, "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


GOOD_EVENT = "BEGIN:VEVENT\r\nUID:good@x\r\nDTSTART:20261211T100000Z\r\nEND:VEVENT"


@fuzz(200)
@example(  # found by this test: an unreadable DURATION (fixed)
    raw=_with_events(
        "BEGIN:VEVENT\r\nUID:a@x\r\nDTSTART:20261210T100000Z\r\nDURATION:x\r\nEND:VEVENT",
        GOOD_EVENT,
    )
)
@example(  # found by this test: a VEVENT inside a VEVENT, without a start
    raw=_with_events(
        "BEGIN:VEVENT\r\nUID:a@x\r\nDTSTART:20261210T100000Z\r\n"
        "BEGIN:VEVENT\r\nUID:b@x\r\nEND:VEVENT\r\nEND:VEVENT",
        GOOD_EVENT,
    )
)
@given(raw=st.one_of(written_calendar(), st.deferred(lambda: mutated(ics_seeds()))))
def test_a_calendar_is_never_lost_to_the_readers_last_guard(raw: bytes) -> None:
    # The module promises that a partly broken file gives what can be read, with problems for
    # the rest; the last guard is for what nobody foresaw, and each time it fires a whole
    # calendar (every meeting in the file) is lost for one bad property.
    try:
        within(CALL_SECONDS, "parse_calendar", parse_calendar, raw, "guard.ics", SHANGHAI)
    except UnreadableInput as error:
        cause = error.__cause__
        assert GAVE_UP not in error.reason, f"{type(cause).__name__} inside: {error.reason}"
    count("calendars, last guard")


# --- the text layer: decode, unfold, read_calendar ----------------------------------------------


@fuzz(300)
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.builds(lambda b: b"BEGIN:VCALENDAR\r\n" + b, st.binary(max_size=3000)),
    )
)
def test_any_bytes_are_decoded_to_calendar_text_or_refused(raw: bytes) -> None:
    try:
        text, problems = within(TEXT_CALL_SECONDS, "decode", decode, raw, "any.ics")
    except UnreadableInput as error:
        check_refusal(error, "any.ics")
        return
    assert isinstance(text, str)
    assert "\x00" not in text
    assert re.search(r"^BEGIN:VCALENDAR\s*$", text, re.I | re.M)
    check_problems(problems)
    count("decode")


# Content lines as unfold() must give them back: a property name first (so that no line is blank
# or starts with the space of a continuation), then any text without a line break; not a
# recurrence rule, whose spaces it removes on purpose.
plain_lines = st.builds(
    "{}{}".format,
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}[:;]", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")),
).filter(lambda line: not re.match(r"(?i)(RRULE|EXRULE)[;:]", line))


@fuzz(300)
@given(
    lines=st.lists(plain_lines, min_size=1, max_size=20),
    widths=st.lists(st.integers(1, 80), min_size=1, max_size=20),
    ending=st.sampled_from(["\r\n", "\n", "\r"]),
    continuation=st.sampled_from([" ", "\t"]),
    blanks=st.booleans(),
)
def test_unfolding_gives_back_the_lines_however_they_were_folded(
    lines: list[str], widths: list[int], ending: str, continuation: str, blanks: bool
) -> None:
    folded = []
    for index, line in enumerate(lines):
        width = widths[index % len(widths)]
        folded.append(fold(line, width, ending + continuation))
        if blanks:
            folded.append("")
    assert within(TEXT_CALL_SECONDS, "unfold", unfold, ending.join(folded)) == lines
    count("unfold round trip")


@fuzz(300)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=2000))
def test_unfolding_any_text_gives_whole_non_blank_lines(text: str) -> None:
    lines = within(TEXT_CALL_SECONDS, "unfold", unfold, text)
    assert isinstance(lines, list)
    for line in lines:
        assert isinstance(line, str)
        assert line.strip()
        assert "\r" not in line and "\n" not in line
    count("unfold any text")


@fuzz(200)
@given(st.data())
def test_reading_the_lines_of_a_damaged_calendar_gives_a_calendar_or_is_refused(
    data: st.DataObject,
) -> None:
    raw = data.draw(mutated(ics_seeds()), label="file")
    text = raw.decode("utf-8", errors="replace")
    lines = within(TEXT_CALL_SECONDS, "unfold", unfold, text)
    try:
        calendar, problems = within(CALL_SECONDS, "read_calendar", read_calendar, lines, "r.ics")
    except UnreadableInput as error:
        check_refusal(error, "r.ics")
        return
    assert isinstance(calendar, icalendar.Calendar)
    check_problems(problems)
    count("read_calendar")


# --- hostile sizes: each shape once, in a child process with bounded memory -------------------

MB = 1024 * 1024
# The address space a child reading one hostile file may use (as in test_unbounded_recurrence):
# ample for icalendar's objects of a 4 MB file, far below what an unbounded expansion takes. A
# child that needs more dies of MemoryError and fails the test instead of the machine.
MEMORY_LIMIT = 1024 * MB

# Runs in the child: sets the limit, reads the file and checks what came out with the checks
# above; prints the peak resident memory. ``argv``: the reader's dotted name and the file.
CHILD = textwrap.dedent(
    """
    import importlib, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]), int(sys.argv[3])))
    module, name = sys.argv[1].rsplit(".", 1)
    getattr(importlib.import_module(module), name)(open(sys.argv[2], "rb").read())
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


def run_bounded(reader: str, raw: bytes, folder: Path, what: str) -> int:
    """Run ``reader`` (a dotted name) on ``raw`` in a child process under ``MEMORY_LIMIT`` and
    the hang limit; fail on any error there; the child's peak resident memory in MB."""
    path = folder / "input"
    path.write_bytes(raw)
    command = [sys.executable, "-c", CHILD, reader, str(path), str(MEMORY_LIMIT)]
    try:
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=2 * CALL_SECONDS + 30
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{what}: the reader did not finish: a hang") from None
    assert done.returncode == 0, f"{what} ({len(raw) / MB:.1f} MB):\n{done.stderr[-3000:]}"
    return int(done.stdout.split()[-1])


def read_hostile_calendar(raw: bytes) -> None:
    """The child's work for one hostile calendar: the whole contract, as for the fuzzed files."""
    start = datetime(2026, 12, 7, tzinfo=UTC)
    try:
        parsed = within(CALL_SECONDS, "parse_calendar", parse_calendar, raw, "big.ics", SHANGHAI)
    except UnreadableInput as error:
        check_refusal(error, "big.ics")
        return
    check_parsed(parsed, "big.ics")
    problems: list[Problem] = []
    end = start + WINDOW
    meetings = within(CALL_SECONDS, "expand", expand, parsed, start, end, problems)
    check_expanded(meetings, problems, start, end)


def _event(*lines: str, uid: str = "big@x", start: str = "20261210T100000Z") -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART:{start}", "DURATION:PT1H", *lines, "END:VEVENT"]


def _calendar(*lines: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *lines, "END:VCALENDAR", ""]).encode()


def _second(index: int) -> str:
    """The ``index``-th second of 2026-12-10 from 10:00 UTC, as an iCalendar UTC time."""
    return f"{datetime(2026, 12, 10, 10, tzinfo=UTC) + timedelta(seconds=index):%Y%m%dT%H%M%SZ}"


def _attendees() -> bytes:
    return _calendar(*_event(*(f"ATTENDEE;CN=P{i}:mailto:p{i}@x.example" for i in range(100_000))))


def _exdates() -> bytes:
    lines = (f"EXDATE:{2000 + i % 8000:04d}0101T100000Z" for i in range(100_000))
    return _calendar(*_event("RRULE:FREQ=DAILY", *lines))


def _rdates() -> bytes:
    return _calendar(*_event("RDATE:" + ",".join(_second(i) for i in range(50_000))))


def _overrides() -> bytes:
    overrides = (
        line
        for i in range(20_000)
        for line in _event(f"RECURRENCE-ID:{_second(60 * i)}", start=_second(60 * i + 30))
    )
    return _calendar(*_event("RRULE:FREQ=MINUTELY"), *overrides)


def _events() -> bytes:
    return _calendar(*(line for i in range(30_000) for line in _event(uid=f"e{i}@x")))


def _nested() -> bytes:
    opened = ["BEGIN:VEVENT", "UID:n@x", "DTSTART:20261210T100000Z"] * 3000
    return _calendar(*opened, *(["END:VEVENT"] * 3000))


def _zones() -> bytes:
    zone = ["BEGIN:STANDARD", "DTSTART:16010101T000000", "TZOFFSETFROM:+0100"]
    zone += ["TZOFFSETTO:+0100", "RRULE:FREQ=YEARLY", "END:STANDARD"]
    zones = (
        ln for i in range(1000) for ln in ["BEGIN:VTIMEZONE", f"TZID:Z{i}", *zone, "END:VTIMEZONE"]
    )
    return _calendar(*zones, *_event(start="20261210T100000", uid="z@x"))


HOSTILE_CALENDARS: dict[str, Callable[[], bytes]] = {
    "100k attendees": _attendees,
    "100k exdates": _exdates,
    "50k rdates in the window": _rdates,
    "20k overrides of one series": _overrides,
    "30k single events": _events,
    "3000 nested components": _nested,
    "1000 vtimezones": _zones,
    "4 MB summary on one line": lambda: _calendar(*_event("SUMMARY:" + "S" * (4 * MB))),
    "description in 500k one-character folds": lambda: _calendar(
        *_event("DESCRIPTION:" + "\r\n D" * (MB // 2))
    ),
    "byday repeated 100k times": lambda: _calendar(
        *_event("RRULE:FREQ=SECONDLY;BYDAY=" + ",".join(["MO"] * 100_000))
    ),
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_CALENDARS))
def test_a_hostile_calendar_is_read_within_bounded_memory(shape: str, tmp_path: Path) -> None:
    raw = HOSTILE_CALENDARS[shape]()
    peak = run_bounded(f"{__name__}.read_hostile_calendar", raw, tmp_path, shape)
    print(f"{shape}: {len(raw) / MB:.1f} MB read with a peak of {peak} MB")


def test_zz_print_how_many_examples_the_calendar_fuzzing_ran(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capsys.disabled():
        for name, total in sorted(EXAMPLES_RUN.items()):
            print(f"\nfuzz examples run: {name}: {total}", end="")
    assert all(total > 0 for total in EXAMPLES_RUN.values())
