"""What a parsed event carries, and how text quirks and broken input are handled.

Cases marked "built from RFC 5545" are written here by hand after the specification, for
situations the real corpus does not show; the others read real files from the corpus.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.ics import ParsedCalendar, expand, parse_calendar, upcoming
from rules.errors import NaiveDateTimeError, UnreadableInput
from rules.model import Person, Response, Role
from tests.conftest import require_corpus

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(name: str, zone: ZoneInfo = SHANGHAI) -> ParsedCalendar:
    return parse_calendar((require_corpus("ics") / name).read_bytes(), name, zone)


def calendar(*lines: str) -> bytes:
    """A calendar built from RFC 5545 content lines, CRLF-terminated."""
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//aeflow tests//EN", *lines, "END:VCALENDAR"]
    return ("\r\n".join(body) + "\r\n").encode("utf-8")


def test_organizer_and_attendees_carry_names_roles_responses_and_rsvp() -> None:
    # exchange2010-request-romance-rsvps.ics: the first attendee's CN is folded mid-name.
    (event,) = read("exchange2010-request-romance-rsvps.ics").events
    meeting = event.meeting
    assert meeting.organizer == Person("test2@example.com", "Inbox Apptest2")
    assert meeting.organizer.name == "Inbox Apptest2"
    karim = meeting.attendee("karim@example.com")
    assert karim is not None and karim.person.name == "Karim Hamidou"
    assert (karim.role, karim.response, karim.rsvp) == (Role.REQUIRED, Response.NEEDS_ACTION, True)
    assert [a.person.email for a in meeting.attendees] == ["karim@example.com", "test1@example.com"]
    # The UID is folded over two lines in the file.
    assert event.uid.startswith("040000008200E00074C5B7101A82E008") and " " not in event.uid


def test_chair_and_accepted_and_declined_and_tentative_responses() -> None:
    (lotus,) = read("lotus-notes-request.ics").events
    chair = lotus.meeting.attendee("iCalChair@coffeebean.com")
    assert chair is not None
    assert (chair.role, chair.response, chair.rsvp) == (Role.CHAIR, Response.ACCEPTED, False)
    (reply,) = read("google-reply-invalid.ics").events
    declined = reply.meeting.attendee("karim@example.com")
    assert declined is not None and declined.response is Response.DECLINED
    tentative = read("apple-macos11-tentative.ics").events[0].meeting.attendees[0]
    assert tentative.response is Response.TENTATIVE


def test_an_unknown_partstat_counts_as_no_answer_yet() -> None:
    # apple-macos11-tentative.ics writes PARTSTAT=CONFIRMED, which RFC 5545 does not define.
    confirmed = read("apple-macos11-tentative.ics").events[1].meeting.attendees[0]
    assert confirmed.response is Response.NEEDS_ACTION


def test_the_email_parameter_wins_over_an_imip_relay_address() -> None:
    # icloud-request.ics: ORGANIZER;CN=Karim Hamidou;EMAIL=invalid@example.com:mailto:2_addr@...
    (event,) = read("icloud-request.ics").events
    assert event.meeting.organizer == Person("invalid@example.com", "Karim Hamidou")


def test_an_address_hidden_behind_confluence_parameters_is_found() -> None:
    (event,) = read("atlassian-confluence-calendar.ics").events
    assert [a.person.email for a in event.meeting.attendees] == ["dlatham@apple.com"]
    assert event.meeting.categories == ("other",)
    assert event.meeting.body == "test event"
    assert event.meeting.sequence == 5


def test_description_location_and_sequence_are_kept() -> None:
    (event,) = read("exchange-cdo-request-invalid-tzid.ics").events
    assert event.meeting.body == "How about this description?\n\n--meher"
    assert event.meeting.location == "Test Location"
    (groupwise,) = read("groupwise7-invalid.ics").events
    assert groupwise.meeting.sequence == 7


def test_categories_from_several_lines_and_comma_lists() -> None:
    # Built from RFC 5545 3.8.1.2: CATEGORIES may repeat and each holds a comma list.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:cats@example.com",
        "DTSTART:20260305T090000Z",
        "DTEND:20260305T100000Z",
        "SUMMARY:Quarterly review",
        "CATEGORIES:Client A,Review",
        "CATEGORIES:Internal",
        "CATEGORIES:Review",
        "END:VEVENT",
    )
    (event,) = parse_calendar(data, "cats.ics").events
    assert event.meeting.categories == ("Client A", "Review", "Internal")


def test_a_single_event_has_no_occurrence_id_and_a_series_has_iso_utc_ones() -> None:
    # Built from RFC 5545: a weekly series at 17:00 Shanghai (09:00 UTC) and a single event.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:series@example.com",
        "DTSTART;TZID=China Standard Time:20260305T170000",
        "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:single@example.com",
        "DTSTART:20260306T020000Z",
        "DTEND:20260306T030000Z",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "mixed.ics", SHANGHAI)
    meetings = expand(parsed, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    keys = [m.key for m in meetings]
    assert keys == [
        "series@example.com/2026-03-05T09:00:00+00:00",
        "single@example.com",
        "series@example.com/2026-03-12T09:00:00+00:00",
        "series@example.com/2026-03-19T09:00:00+00:00",
    ]
    assert meetings[0].timezone == "Asia/Shanghai" and meetings[0].start.hour == 17
    assert meetings[1].occurrence_id == "" and meetings[1].timezone == "UTC"
    master = next(e for e in parsed.events if e.uid == "series@example.com")
    assert master.recurring and master.rule == "FREQ=WEEKLY;COUNT=3"


def test_a_cancelled_occurrence_of_a_series_is_left_out() -> None:
    # Built from RFC 5545 3.8.1.11: an override with STATUS:CANCELLED removes that occurrence.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:weekly@example.com",
        "DTSTART:20260302T010000Z",
        "DTEND:20260302T020000Z",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:weekly@example.com",
        "RECURRENCE-ID:20260309T010000Z",
        "DTSTART:20260309T010000Z",
        "DTEND:20260309T020000Z",
        "STATUS:CANCELLED",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "weekly.ics")
    meetings = expand(parsed, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [m.start.day for m in meetings] == [2, 16]


def test_rdate_adds_an_occurrence() -> None:
    # Built from RFC 5545 3.8.5.2.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:rdate@example.com",
        "DTSTART:20260302T010000Z",
        "DTEND:20260302T020000Z",
        "RRULE:FREQ=WEEKLY;COUNT=2",
        "RDATE:20260304T050000Z",
        "END:VEVENT",
    )
    meetings = expand(
        parse_calendar(data, "rdate.ics"),
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert [(m.start.day, m.start.hour) for m in meetings] == [(2, 1), (4, 5), (9, 1)]


def test_floating_times_are_read_in_the_users_zone() -> None:
    # Built from RFC 5545 3.3.5 (form 1, floating): no TZID, no Z, no X-WR-TIMEZONE.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:float@example.com",
        "DTSTART:20260305T100000",
        "DTEND:20260305T110000",
        "END:VEVENT",
    )
    (event,) = parse_calendar(data, "float.ics", SHANGHAI).events
    assert event.meeting.start == datetime(2026, 3, 5, 2, tzinfo=UTC)
    assert event.meeting.timezone == "Asia/Shanghai"
    assert not parse_calendar(data, "float.ics", SHANGHAI).problems


def test_an_unknown_tzid_without_definition_falls_back_to_the_users_zone_with_a_problem() -> None:
    data = calendar(
        "BEGIN:VEVENT",
        "UID:nowhere@example.com",
        "DTSTART;TZID=Nowhere Standard Time:20260305T100000",
        "DTEND;TZID=Nowhere Standard Time:20260305T110000",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "nowhere.ics", SHANGHAI)
    (event,) = parsed.events
    assert event.meeting.start == datetime(2026, 3, 5, 2, tzinfo=UTC)
    (problem,) = parsed.problems
    assert problem.where == "nowhere.ics"
    assert "Nowhere Standard Time" in problem.message and "Asia/Shanghai" in problem.message


def test_bom_crlf_lf_and_folding_all_read_the_same() -> None:
    original = (require_corpus("ics") / "exchange2010-request-romance-rsvps.ics").read_bytes()
    lf = original.replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    with_bom = b"\xef\xbb\xbf" + crlf
    # Fold every long line again at 40 octets with a tab, as RFC 5545 3.1 allows.
    refolded = b"\r\n".join(
        b"\r\n\t".join(line[i : i + 40] for i in range(0, len(line), 40)) or line
        for line in crlf.split(b"\r\n")
    )
    readings = {
        parse_calendar(data, "same.ics").events[0].meeting
        for data in (original, lf, crlf, with_bom, refolded)
    }
    assert len(readings) == 1


def test_a_file_that_is_not_utf8_is_read_as_windows_1252_with_a_problem() -> None:
    data = calendar(
        "BEGIN:VEVENT",
        "UID:latin@example.com",
        "DTSTART:20260305T100000Z",
        "SUMMARY:Réunion",
        "END:VEVENT",
    ).replace("é".encode(), b"\xe9")
    parsed = parse_calendar(data, "latin.ics")
    assert parsed.events[0].meeting.subject == "Réunion"
    assert any("UTF-8" in p.message for p in parsed.problems)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"hello, this is not a calendar", "BEGIN:VCALENDAR"),
        (b"\x00\x01\x02BEGIN:VCALENDAR", "binary"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2006717T080000Z\r\n", "could be read"),
    ],
)
def test_malformed_input_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableInput) as raised:
        parse_calendar(data, "broken.ics")
    assert raised.value.source == "broken.ics"
    assert reason in raised.value.reason


def test_a_partly_broken_file_gives_what_can_be_read_and_says_what_not() -> None:
    # quirk-invalid-tzoffset.ics: its VTIMEZONE has an offset of +53:28, which stops icalendar;
    # the event still reads, in Europe/Berlin (CET, UTC+1 on 2 Dec 2012).
    parsed = read("quirk-invalid-tzoffset.ics")
    (event,) = parsed.events
    assert event.meeting.start == datetime(2012, 12, 2, 7, tzinfo=UTC)
    (problem,) = parsed.problems
    assert "VTIMEZONE" in problem.message and "+5328" in problem.message


def test_an_event_without_a_readable_start_is_skipped_with_a_problem() -> None:
    # Built from RFC 5545: the second event's DTSTART is not a date-time.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:good@example.com",
        "DTSTART:20260305T100000Z",
        "SUMMARY:Good",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:bad@example.com",
        "DTSTART:next tuesday",
        "SUMMARY:Bad",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "half.ics")
    assert [e.uid for e in parsed.events] == ["good@example.com"]
    assert any("'Bad'" in p.message and "DTSTART" in p.message for p in parsed.problems)


def test_an_event_without_uid_gets_a_stable_one_and_a_problem() -> None:
    first = read("exchange-cdo-request-gmt0100-tzid.ics")
    second = read("exchange-cdo-request-gmt0100-tzid.ics")
    assert first.events[0].uid == second.events[0].uid
    assert first.events[0].uid.startswith("no-uid-")
    assert any("no UID" in p.message for p in first.problems)


def test_an_unexpandable_rule_keeps_the_written_occurrence_with_a_problem() -> None:
    # Built from RFC 5545: FREQ=FORTNIGHTLY is not a frequency.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:odd@example.com",
        "DTSTART:20260305T100000Z",
        "RRULE:FREQ=FORTNIGHTLY;COUNT=3",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "odd.ics")
    meetings = expand(parsed, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [m.start for m in meetings] == [datetime(2026, 3, 5, 10, tzinfo=UTC)]
    assert parsed.problems


def test_expand_refuses_a_naive_window() -> None:
    parsed = read("google-export-allday.ics")
    with pytest.raises(NaiveDateTimeError):
        expand(parsed, datetime(2020, 1, 1), datetime(2021, 1, 1, tzinfo=UTC))
    with pytest.raises(NaiveDateTimeError):
        expand(parsed, datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1))


def test_what_inspect_shows_is_all_there() -> None:
    parsed = read("google-request-recurring-la.ics")
    assert parsed.method == "REQUEST" and parsed.product.startswith("-//Google Inc")
    (event,) = parsed.events
    meeting = event.meeting
    assert event.uid == "flg2h6nam1cb1uqetgfkslrfrc@google.com"
    assert meeting.subject == "Weekly Planning Meeting"
    assert meeting.start.isoformat() == "2015-01-12T13:30:00-08:00"
    assert meeting.end.isoformat() == "2015-01-12T14:30:00-08:00"
    assert meeting.timezone == "America/Los_Angeles" and not meeting.all_day
    assert event.recurring and event.rule == "FREQ=WEEKLY;WKST=SU"
    responses = {a.person.email: a.response for a in meeting.attendees}
    assert responses["foobar@nilas.com"] is Response.ACCEPTED
    assert responses["foobar2@nilas.com"] is Response.NEEDS_ACTION


def test_a_cancelled_endless_series_has_no_upcoming_occurrences() -> None:
    # Built from RFC 5546 3.2.5: a CANCEL of a whole series that never ends.
    data = calendar(
        "METHOD:CANCEL",
        "BEGIN:VEVENT",
        "UID:endless@example.com",
        "DTSTART:20260302T010000Z",
        "RRULE:FREQ=DAILY",
        "STATUS:CANCELLED",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "endless.ics")
    assert upcoming(parsed, datetime(2026, 3, 1, tzinfo=UTC)) == []
    assert parsed.events[0].cancelled


def test_a_library_failure_on_odd_input_becomes_unreadable_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: object) -> None:
        raise KeyError("a case the library never met")

    monkeypatch.setattr("calendar_sync.ics.localise", fail)
    data = calendar("BEGIN:VEVENT", "UID:x", "DTSTART:20260302T010000Z", "END:VEVENT")
    with pytest.raises(UnreadableInput) as raised:
        parse_calendar(data, "odd.ics")
    assert "could not be read" in raised.value.reason


def test_a_mozilla_prefixed_tzid_without_definition_is_its_iana_zone() -> None:
    # Built after Thunderbird 1.x output: globally unique TZIDs (RFC 5545 3.2.19) with a vendor
    # prefix, and no VTIMEZONE in the file.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:moz@example.com",
        "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260305T100000",
        "DTEND;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260305T110000",
        "END:VEVENT",
    )
    parsed = parse_calendar(data, "moz.ics", SHANGHAI)
    (event,) = parsed.events
    assert event.meeting.start == datetime(2026, 3, 5, 9, tzinfo=UTC)
    assert event.meeting.timezone == "Europe/Berlin"
    assert not parsed.problems


def test_a_windows_tzid_without_definition_is_mapped() -> None:
    # Built after Exchange output, but with the VTIMEZONE left out, as some relays do.
    data = calendar(
        "BEGIN:VEVENT",
        "UID:cst@example.com",
        'DTSTART;TZID="China Standard Time":20260305T140000',
        "DURATION:PT90M",
        "END:VEVENT",
    )
    (event,) = parse_calendar(data, "cst.ics").events
    assert event.meeting.start == datetime(2026, 3, 5, 6, tzinfo=UTC)
    assert event.meeting.end == datetime(2026, 3, 5, 7, 30, tzinfo=UTC)
    assert event.meeting.timezone == "Asia/Shanghai"
