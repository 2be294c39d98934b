"""The meeting requests aeflow sends, against RFC 5546 and against what Outlook, Google and Apple
send: our own parser reads ours exactly as it reads theirs."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_sync.ics import parse_calendar
from calendar_sync.itip_mail import calendar_part
from calendar_sync.itip_out import itip_calendar
from mailer.compose import Attachment, compose
from mailer.render import RenderedMail
from mailer.signals import classify_message
from rules.model import Person, Response, Role, SignalKind
from tests.conftest import require_corpus

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAMP = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
REQUEST = {
    "method": "REQUEST",
    "uid": "b1f7c2d4-aeflow-1@agency.example",
    "sequence": 0,
    "start": "2026-12-09T02:00:00+00:00",
    "end": "2026-12-09T03:30:00+00:00",
    "subject": "2027春季新品上市传播方案提案",
    "location": "云杉大厦12楼, 第一会议室; 上海",
    "organizer": {"email": "wang.fang@agency.example", "name": "王芳"},
    "attendees": [
        {"email": "li.wei@yunshan.example", "name": "李伟", "role": "required"},
        {"email": "chen.lei@agency.example", "name": "Chen, Lei", "role": "required"},
        {"email": "guest@partner.example", "name": "", "role": "optional"},
    ],
}
NOTICE = "议程\n10:00–10:30  品牌回顾（30分钟）\n请准时到会。"
# Meeting requests written by Outlook/Exchange, Google and Apple, as files and as mails.
THEIRS = (
    "exchange2010-request-romance-rsvps.ics",
    "exchange2010-request-gxl475.ics",
    "google-request-before-cancel.ics",
    "icloud-request.ics",
    "itip-email-google-meet-request.eml",
    "itip-email-icloud-request-french.eml",
    "itip-email-teams-meeting-request.eml",
)


def ours(**changes: object) -> bytes:
    return itip_calendar({**REQUEST, **changes}, stamp=STAMP, description=NOTICE)


def event_of(data: bytes) -> icalendar.Component:
    (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    return event


def test_a_request_has_what_rfc_5546_asks_of_the_organizer() -> None:
    data = ours()
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    assert "PRODID" in calendar
    event = event_of(data)
    assert str(event["UID"]) == REQUEST["uid"]
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTAMP"].dt == STAMP
    assert event["DTSTART"].dt == datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    assert str(event["ORGANIZER"]) == "mailto:wang.fang@agency.example"
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == [f"mailto:{a['email']}" for a in REQUEST["attendees"]]
    for attendee in attendees:
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    assert [a.params["ROLE"] for a in attendees] == [
        "REQ-PARTICIPANT",
        "REQ-PARTICIPANT",
        "OPT-PARTICIPANT",
    ]
    assert str(event["DESCRIPTION"]) == NOTICE


def test_lines_end_in_crlf_and_are_folded_within_75_octets() -> None:
    data = ours(subject="一个很长的会议主题" * 12)
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 75


def test_an_update_keeps_the_uid_and_raises_the_sequence() -> None:
    first, update = (
        event_of(ours()),
        event_of(
            ours(sequence=1, start="2026-12-10T02:00:00+00:00", end="2026-12-10T03:30:00+00:00")
        ),
    )
    assert str(first["UID"]) == str(update["UID"])
    assert int(update["SEQUENCE"]) == 1


def test_a_cancellation_names_the_meeting_and_says_it_is_cancelled() -> None:
    data = ours(method="CANCEL", sequence=2)
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    event = event_of(data)
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 2
    assert str(event["UID"]) == REQUEST["uid"]
    assert all("RSVP" not in a.params for a in event["ATTENDEE"])
    (parsed,) = parse_calendar(data, "ours.ics", SHANGHAI).events
    assert parsed.cancelled


def test_no_other_method_and_no_naive_time_is_written() -> None:
    with pytest.raises(ValueError, match="REPLY"):
        ours(method="REPLY")
    with pytest.raises(ValueError):
        ours(start="2026-12-09T10:00:00")


def test_a_line_break_in_an_address_is_refused() -> None:
    hostile = [{"email": "a@b.example\r\nATTENDEE:mailto:x@evil.example", "role": "required"}]
    with pytest.raises(ValueError, match="address"):
        ours(attendees=hostile)


def _read(data: bytes, source: str) -> tuple[str, object]:
    parsed = parse_calendar(data, source, SHANGHAI)
    return parsed.method, parsed.events[0].meeting


def test_our_request_reads_back_as_the_meeting_it_describes() -> None:
    method, meeting = _read(ours(), "ours.ics")
    assert method == "REQUEST"
    assert meeting.uid == REQUEST["uid"] and meeting.sequence == 0
    assert meeting.subject == REQUEST["subject"] and meeting.location == REQUEST["location"]
    assert meeting.start == datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)
    assert meeting.organizer == Person("wang.fang@agency.example", "王芳")
    assert [
        (a.person.email, a.person.name, a.role, a.response, a.rsvp) for a in meeting.attendees
    ] == [
        ("li.wei@yunshan.example", "李伟", Role.REQUIRED, Response.NEEDS_ACTION, True),
        ("chen.lei@agency.example", "Chen, Lei", Role.REQUIRED, Response.NEEDS_ACTION, True),
        ("guest@partner.example", "", Role.OPTIONAL, Response.NEEDS_ACTION, True),
    ]


@pytest.mark.parametrize("name", THEIRS)
def test_requests_from_outlook_google_and_apple_read_the_same_way_as_ours(name: str) -> None:
    path: Path = require_corpus("ics") / name
    data = path.read_bytes()
    if name.endswith(".eml"):
        data = calendar_part(data, name)
    method, meeting = _read(data, name)
    _, mine = _read(ours(), "ours.ics")
    # The same fields, filled the same way: a method, a UID, an organizer, and invitees who have
    # not answered yet with RSVP asked for.
    assert method == "REQUEST"
    assert meeting.uid and meeting.organizer is not None and mine.organizer is not None
    waiting = [a for a in meeting.attendees if a.response is Response.NEEDS_ACTION]
    assert waiting and all(a.rsvp and a.role is Role.REQUIRED for a in waiting)
    assert meeting.sequence >= 0 and meeting.start.tzinfo is not None


def _mail(data: bytes, method: str) -> bytes:
    message: EmailMessage = compose(
        RenderedMail("会议通知：提案", NOTICE, f"<p>{NOTICE}</p>"),
        sender=Person("wang.fang@agency.example", "王芳"),
        to=[Person("li.wei@yunshan.example", "李伟")],
        calendar=Attachment.calendar(data, method),
        headers={"Message-ID": "<req-1@agency.example>", "Date": "Mon, 07 Dec 2026 15:00:00 +0800"},
    )
    return message.as_bytes()


def test_the_mail_carries_the_request_as_the_third_alternative() -> None:
    raw = _mail(ours(), "REQUEST")
    assert calendar_part(raw, "mail").replace(b"\r\n", b"\n") == ours().replace(b"\r\n", b"\n")
    message = email.message_from_bytes(raw)
    assert message.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in message.get_payload()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    assert message.get_payload()[2].get_param("method") == "REQUEST"


def test_a_client_receiving_our_request_or_cancellation_reads_it_as_one() -> None:
    (request,) = classify_message(_mail(ours(), "REQUEST"), source="request")
    assert request.kind is SignalKind.MEETING_REQUEST and request.uid == REQUEST["uid"]
    cancel = ours(method="CANCEL", sequence=1)
    (cancelled,) = classify_message(_mail(cancel, "CANCEL"), source="cancel")
    assert cancelled.kind is SignalKind.MEETING_CANCEL
