"""Exchange calendar items as meetings: the same meeting the vdir adapter reads from a file.

Items are exchangelib's own objects, built as its parser builds them from a GetItem answer, and
one real Exchange 2016 answer from the corpus (``ews/viewpoint-dodgy_ews_response.xml``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.properties import Attendee, Mailbox
from exchangelib.util import to_xml

from calendar_sync.ews_items import (
    instant,
    meeting_from_item,
    occurrence_id_of,
    response_of,
    teach_windows_zones,
    zone_of,
)
from calendar_sync.ics import expand, parse_calendar
from rules.model import Response, Role
from tests.conftest import require_corpus

SHANGHAI = ZoneInfo("Asia/Shanghai")
EWS_UTC = EWSTimeZone("UTC")
TYPES = "{http://schemas.microsoft.com/exchange/services/2006/types}"


def utc(*parts: int) -> EWSDateTime:
    return EWSDateTime(*parts, tzinfo=EWS_UTC)


def person(email: str, name: str = "") -> Mailbox:
    return Mailbox(email_address=email, name=name)


def answer(email: str, response: str, at: EWSDateTime | None = None, name: str = "") -> Attendee:
    return Attendee(mailbox=person(email, name), response_type=response, last_response_time=at)


def review(**changes: Any) -> CalendarItem:
    """A client review as Exchange gives it: UTC times, the zone it was booked in, attendees."""
    values: dict[str, Any] = {
        "uid": "040000008200E00074C5B7101A82E008000000000000000000000000000000001",
        "type": "Single",
        "subject": "Brand review",
        "start": utc(2026, 3, 3, 2),
        "end": utc(2026, 3, 3, 3),
        "_start_timezone": EWSTimeZone("Asia/Shanghai"),
        "location": "Room 5",
        "organizer": person("ae@agency.example", "Wang Fang"),
        "required_attendees": [
            answer("Li.Na@Client.example", "Accept", utc(2026, 3, 2, 8, 30), "Li Na"),
            answer("zhao@client.example", "Tentative"),
            answer("qian@client.example", "Decline"),
            answer("sun@client.example", "NoResponseReceived"),
        ],
        "optional_attendees": [answer("team@agency.example", "Unknown")],
        "resources": [answer("room5@agency.example", "Accept")],
        "categories": ["Client A", "Review", "Client A"],
        "is_response_requested": True,
        "appointment_sequence_number": 2,
        "text_body": "Agenda:\r\n1. Key visual - 30 min\x0c\r\n",
    }
    values.update(changes)
    return CalendarItem(**values)


def test_a_single_event_is_a_meeting_in_the_zone_it_was_booked_in() -> None:
    meeting = meeting_from_item(review(), ZoneInfo("Europe/Berlin"))
    assert meeting.key == meeting.uid
    assert meeting.start == datetime(2026, 3, 3, 10, tzinfo=SHANGHAI)
    assert meeting.end - meeting.start == timedelta(hours=1)
    assert meeting.timezone == "Asia/Shanghai"
    assert (meeting.subject, meeting.location, meeting.sequence) == ("Brand review", "Room 5", 2)
    assert meeting.organizer is not None and meeting.organizer.display == (
        "Wang Fang <ae@agency.example>"
    )
    assert meeting.categories == ("Client A", "Review")
    assert meeting.body == "Agenda:\n1. Key visual - 30 min"


def test_each_attendee_keeps_the_role_and_the_answer_exchange_holds() -> None:
    meeting = meeting_from_item(review(), SHANGHAI)
    seen = {a.person.email: (a.role, a.response) for a in meeting.attendees}
    assert seen == {
        "li.na@client.example": (Role.REQUIRED, Response.ACCEPTED),
        "zhao@client.example": (Role.REQUIRED, Response.TENTATIVE),
        "qian@client.example": (Role.REQUIRED, Response.DECLINED),
        "sun@client.example": (Role.REQUIRED, Response.NEEDS_ACTION),
        "team@agency.example": (Role.OPTIONAL, Response.NEEDS_ACTION),
        "room5@agency.example": (Role.NON_PARTICIPANT, Response.ACCEPTED),
    }
    li_na = meeting.attendee("li.na@client.example")
    assert li_na is not None and li_na.person.name == "Li Na" and li_na.rsvp
    assert li_na.responded_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def test_the_organizer_is_the_chair_and_unresolved_addresses_are_left_out() -> None:
    item = review(
        required_attendees=[
            answer("ae@agency.example", "Organizer"),
            answer("/O=AGENCY/OU=EXCHANGE/CN=RECIPIENTS/CN=LEGACY", "Accept"),
            answer("li.na@client.example", "Accept"),
            answer("LI.NA@client.example", "Decline"),
        ],
        optional_attendees=None,
        resources=None,
    )
    attendees = meeting_from_item(item, SHANGHAI).attendees
    assert [(a.person.email, a.role, a.response, a.rsvp) for a in attendees] == [
        ("ae@agency.example", Role.CHAIR, Response.ACCEPTED, False),
        ("li.na@client.example", Role.REQUIRED, Response.ACCEPTED, True),
    ]


def test_an_occurrence_is_keyed_by_its_original_start_even_once_moved() -> None:
    moved = review(
        type="Exception",
        start=utc(2026, 3, 4, 3),
        end=utc(2026, 3, 4, 3, 15),
        original_start=utc(2026, 3, 4, 1),
    )
    meeting = meeting_from_item(moved, SHANGHAI)
    assert meeting.occurrence_id == "2026-03-04T01:00:00+00:00"
    assert meeting.key == f"{meeting.uid}/2026-03-04T01:00:00+00:00"
    assert meeting.start == datetime(2026, 3, 4, 3, tzinfo=UTC)
    # Without OriginalStart (an older server), RecurrenceId says the same.
    older = review(type="Occurrence", original_start=None, recurrence_id=utc(2026, 3, 5, 1))
    assert occurrence_id_of(older) == "2026-03-05T01:00:00+00:00"
    assert occurrence_id_of(review()) == ""


def test_an_all_day_event_runs_from_midnight_to_midnight_in_the_users_zone() -> None:
    # exchangelib gives an all-day event's first and last day as dates.
    item = review(is_all_day=True, start=EWSDate(2026, 3, 3), end=EWSDate(2026, 3, 4))
    meeting = meeting_from_item(item, SHANGHAI)
    assert meeting.all_day
    assert (meeting.start, meeting.end) == (
        datetime(2026, 3, 3, tzinfo=SHANGHAI),
        datetime(2026, 3, 5, tzinfo=SHANGHAI),
    )
    assert meeting.timezone == "Asia/Shanghai"


def test_the_same_event_read_from_exchange_and_from_a_file_is_the_same_meeting() -> None:
    # The .ics is written by hand after RFC 5545 (section 3.6.1, 3.8.4.1, 3.2.12 PARTSTAT), as
    # Outlook would export the item above.
    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//aeflow tests//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:040000008200E00074C5B7101A82E008000000000000000000000000000000001\r\n"
        b"DTSTAMP:20260301T000000Z\r\nSUMMARY:Brand review\r\nLOCATION:Room 5\r\n"
        b"DTSTART;TZID=Asia/Shanghai:20260303T100000\r\nDTEND;TZID=Asia/Shanghai:20260303T110000\r\n"
        b"ORGANIZER;CN=Wang Fang:mailto:ae@agency.example\r\n"
        b"ATTENDEE;CN=Li Na;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:Li.Na@Client.e"
        b"xample\r\n"
        b"ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:team@agency.example"
        b"\r\nCATEGORIES:Client A,Review\r\nSEQUENCE:2\r\nDESCRIPTION:Agenda\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    (from_file,) = expand(
        parse_calendar(ics, "review.ics", SHANGHAI),
        datetime(2026, 3, 2, tzinfo=UTC),
        datetime(2026, 3, 9, tzinfo=UTC),
    )
    item = review(
        required_attendees=[answer("Li.Na@Client.example", "Accept", name="Li Na")],
        optional_attendees=[answer("team@agency.example", "NoResponseReceived")],
        resources=None,
        text_body="Agenda",
    )
    assert meeting_from_item(item, SHANGHAI) == from_file


def test_a_real_exchange_answer_is_read_without_its_illegal_characters() -> None:
    # A CalendarItem as Exchange 2016 answered it, Body full of XML-illegal characters, no
    # StartTimeZone (the legacy TimeZone element instead): the user's zone names it.
    raw = (require_corpus("ews") / "viewpoint-dodgy_ews_response.xml").read_bytes()
    element = to_xml(raw).find(f".//{TYPES}CalendarItem")
    item = CalendarItem.from_xml(element, account=None)
    meeting = meeting_from_item(item, SHANGHAI)
    assert (meeting.uid, meeting.subject, meeting.location) == (
        "1234567890",
        "Invalid character",
        "Example",
    )
    assert meeting.start == datetime(2016, 1, 1, tzinfo=UTC) and meeting.timezone == "Asia/Shanghai"
    assert meeting.organizer is not None and meeting.organizer.email == "example@example.com"
    assert meeting.body.startswith("Invalid characters:")
    assert all(ch in "\n\t" or ord(ch) >= 32 for ch in meeting.body)


def test_response_types_read_as_partstat() -> None:
    assert [response_of(r) for r in ("Accept", "Tentative", "Decline", "Unknown", None)] == [
        Response.ACCEPTED,
        Response.TENTATIVE,
        Response.DECLINED,
        Response.NEEDS_ACTION,
        Response.NEEDS_ACTION,
    ]


def test_windows_zone_names_resolve_through_the_cldr_table() -> None:
    teach_windows_zones()
    assert zone_of(EWSTimeZone.from_ms_id("China Standard Time"), UTC_ZONE) == SHANGHAI
    assert zone_of(EWSTimeZone.from_ms_id("W. Europe Standard Time"), UTC_ZONE) == ZoneInfo(
        "Europe/Berlin"
    )
    assert zone_of(None, SHANGHAI) == SHANGHAI
    # Every Windows name of CLDR's table is one exchangelib now reads.
    assert teach_windows_zones() == 0


def test_a_time_without_a_zone_from_the_server_is_refused() -> None:
    with pytest.raises(ValueError, match="without a zone"):
        instant(datetime(2026, 3, 3, 9), SHANGHAI)


UTC_ZONE = ZoneInfo("UTC")


class _Account:
    """Just enough of an exchangelib account to hand ``EwsCalendar`` one GetItem answer."""

    def __init__(self, answer: list[Any]) -> None:
        from exchangelib.version import EXCHANGE_2016, Version

        self.answer = answer
        self.version = Version(build=EXCHANGE_2016)
        self.calendar = None

    def fetch(self, **_: Any) -> list[Any]:
        return self.answer


class _Connection:
    def __init__(self, answer: list[Any]) -> None:
        self.account = _Account(answer)

    def guard(self, what: str) -> Any:
        from contextlib import nullcontext

        return nullcontext()


def test_an_item_that_makes_no_meeting_is_unreadable_not_a_crash() -> None:
    from calendar_sync.ews import EwsCalendar, Unusable
    from calendar_sync.ews_items import MEETING_FIELDS

    naive = review(start=datetime(2026, 3, 3, 9), end=datetime(2026, 3, 3, 10))
    good = review()
    calendar = EwsCalendar(_Connection([naive, good]), SHANGHAI)  # type: ignore[arg-type]
    first, second = calendar._fetch([("a", None), ("b", None)], MEETING_FIELDS)
    assert isinstance(first, Unusable) and "without a zone" in str(first)
    assert second is good
