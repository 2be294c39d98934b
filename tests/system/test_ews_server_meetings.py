"""Meetings on the loopback EWS server, driven by exchangelib as organizer and as attendee:
invitations, responses, updates, cancellations, and calendar views of recurring series."""

from __future__ import annotations

import datetime as dt

import pytest
from exchangelib import Attendee, CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib import Mailbox as Address
from exchangelib.items import (
    SEND_ONLY_TO_ALL,
    SEND_TO_ALL_AND_SAVE_COPY,
    MeetingCancellation,
    MeetingRequest,
    MeetingResponse,
)
from exchangelib.recurrence import DailyPattern, Recurrence, WeeklyPattern

from tests.ews_server import EwsServer
from tests.ews_server.client import account
from tests.ews_server.fixtures import ews_server_fixture

__all__ = ["ews_server_fixture"]

AE = "ae@agency.example"
BUYER = "buyer@client.example"
BOSS = "boss@client.example"
SHANGHAI = EWSTimeZone("Asia/Shanghai")
START = EWSDateTime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def server(ews_server: EwsServer) -> EwsServer:
    for address in (AE, BUYER, BOSS):
        ews_server.add_mailbox(address, "secret", address.split("@")[0].title())
    return ews_server


def invite(server: EwsServer, *attendees: str, mode: str = SEND_TO_ALL_AND_SAVE_COPY) -> str:
    """The organizer sends a meeting; returns its id in the organizer's calendar."""
    ae = account(server, AE)
    meeting = CalendarItem(
        account=ae,
        folder=ae.calendar,
        subject="Campaign kickoff",
        body="Agenda: 10:00 brief (20 min), 10:20 budget (40 min). Please be on time.",
        start=START,
        end=START + dt.timedelta(hours=1),
        location="Room 3, Agency",
        categories=["Client A"],
        required_attendees=[Attendee(mailbox=Address(email_address=a)) for a in attendees],
    )
    meeting.save(send_meeting_invitations=mode)
    return str(meeting.id)


def test_a_meeting_sent_to_all_reaches_each_attendee_as_a_request_and_a_tentative_meeting(
    server: EwsServer,
) -> None:
    invite(server, BUYER, BOSS, "ghost@client.example")
    for address in (BUYER, BOSS):
        attendee = account(server, address)
        (request,) = list(attendee.inbox.all())
        assert isinstance(request, MeetingRequest)
        assert request.item_class == "IPM.Schedule.Meeting.Request"
        assert request.start == START and request.location == "Room 3, Agency"
        (mine,) = list(attendee.calendar.all())
        assert mine.id == request.associated_calendar_item_id.id
        assert (mine.subject, mine.my_response_type, mine.legacy_free_busy_status) == (
            "Campaign kickoff", "NoResponseReceived", "Tentative",
        )  # fmt: skip
        assert mine.item_class == "IPM.Appointment"
        assert mine.uid == server.mailbox(address).items("inbox")[0].uid
    organizer = server.mailbox(AE)
    (kept,) = organizer.items("calendar")
    assert kept.uid == server.mailbox(BUYER).items("calendar")[0].uid
    assert [a["response_type"] for a in kept.fields["RequiredAttendees"]] == ["Unknown"] * 3
    assert [i.item_class for i in organizer.items("sentitems")] == ["IPM.Schedule.Meeting.Request"]
    (bounce,) = organizer.items("inbox")
    assert bounce.item_class == "REPORT.IPM.Note.NDR" and b"ghost@client.example" in (
        bounce.mime or b""
    )


def test_send_only_to_all_keeps_no_copy_of_the_request(server: EwsServer) -> None:
    invite(server, BUYER, mode=SEND_ONLY_TO_ALL)
    assert server.mailbox(AE).items("sentitems") == []
    assert len(server.mailbox(BUYER).items("inbox")) == 1


def test_an_attendee_accepting_through_exchangelib_shows_as_accepted_to_the_organizer(
    server: EwsServer,
) -> None:
    meeting_id = invite(server, BUYER, BOSS)
    buyer = account(server, BUYER)
    (request,) = list(buyer.inbox.all())
    request.accept(body="See you there.")
    ae = account(server, AE)
    organizer_copy = ae.calendar.get(id=meeting_id)
    responses = {
        a.mailbox.email_address: a.response_type for a in organizer_copy.required_attendees
    }
    assert responses == {BUYER: "Accept", BOSS: "Unknown"}
    accepted = next(a for a in organizer_copy.required_attendees if a.response_type == "Accept")
    assert accepted.last_response_time is not None
    (answer,) = list(ae.inbox.all())
    assert isinstance(answer, MeetingResponse)
    assert (answer.item_class, answer.subject) == (
        "IPM.Schedule.Meeting.Resp.Pos", "Accepted: Campaign kickoff",
    )  # fmt: skip
    assert answer.author.email_address == BUYER
    (mine,) = list(buyer.calendar.all())
    assert (mine.my_response_type, mine.legacy_free_busy_status) == ("Accept", "Busy")
    assert list(buyer.inbox.all()) == []  # Exchange files an answered request away


def test_answers_given_in_the_mailbox_reach_the_organizer(server: EwsServer) -> None:
    meeting_id = invite(server, BUYER, BOSS)
    buyer, boss = server.mailbox(BUYER), server.mailbox(BOSS)
    buyer.respond(buyer.items("inbox")[0].item_id, "Tentative")
    boss.respond(boss.items("calendar")[0].item_id, "Decline")
    ae = account(server, AE)
    organizer_copy = ae.calendar.get(id=meeting_id)
    responses = {
        a.mailbox.email_address: a.response_type for a in organizer_copy.required_attendees
    }
    assert responses == {BUYER: "Tentative", BOSS: "Decline"}
    assert sorted(i.item_class for i in ae.inbox.all()) == [
        "IPM.Schedule.Meeting.Resp.Neg", "IPM.Schedule.Meeting.Resp.Tent",
    ]  # fmt: skip
    assert boss.items("calendar") == []  # a declined meeting leaves the calendar
    with pytest.raises(ValueError, match="Accept, Tentative or Decline"):
        buyer.respond(buyer.items("calendar")[0].item_id, "Maybe")


def test_a_moved_meeting_reaches_attendees_as_an_updated_request(server: EwsServer) -> None:
    meeting_id = invite(server, BUYER)
    server.mailbox(BUYER).respond(server.mailbox(BUYER).items("inbox")[0].item_id, "Accept")
    ae = account(server, AE)
    meeting = ae.calendar.get(id=meeting_id)
    meeting.start += dt.timedelta(hours=2)
    meeting.end += dt.timedelta(hours=2)
    meeting.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    buyer = account(server, BUYER)
    (update,) = list(buyer.inbox.all())
    assert isinstance(update, MeetingRequest)
    assert update.meeting_request_type == "FullUpdate"
    assert update.start == START + dt.timedelta(hours=2)
    (mine,) = list(buyer.calendar.all())
    assert mine.start == START + dt.timedelta(hours=2)
    assert mine.my_response_type == "NoResponseReceived"  # a new time asks again
    assert ae.calendar.get(id=meeting_id).appointment_sequence_number == 1


def test_a_cancelled_meeting_reaches_attendees_and_marks_their_copy(server: EwsServer) -> None:
    meeting_id = invite(server, BUYER, BOSS)
    ae = account(server, AE)
    ae.calendar.get(id=meeting_id).cancel()
    for address in (BUYER, BOSS):
        attendee = account(server, address)
        notices = [i for i in attendee.inbox.all() if isinstance(i, MeetingCancellation)]
        assert [(n.item_class, n.subject) for n in notices] == [
            ("IPM.Schedule.Meeting.Canceled", "Canceled: Campaign kickoff")
        ]
        (mine,) = list(attendee.calendar.all())
        assert mine.is_cancelled
    assert list(ae.calendar.all()) == []


def test_deleting_a_meeting_with_cancellations_tells_the_attendees(server: EwsServer) -> None:
    meeting_id = invite(server, BUYER)
    account(server, AE).calendar.get(id=meeting_id).delete(
        send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY
    )
    kinds = [i.item_class for i in server.mailbox(BUYER).items("inbox")]
    assert kinds == ["IPM.Schedule.Meeting.Request", "IPM.Schedule.Meeting.Canceled"]
    assert server.mailbox(AE).items("calendar") == []


def test_a_calendar_view_expands_a_daily_series_with_a_deleted_and_a_moved_occurrence(
    server: EwsServer,
) -> None:
    ae = account(server, AE)
    first = EWSDateTime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
    series = CalendarItem(
        account=ae,
        folder=ae.calendar,
        subject="Stand-up",
        start=first,
        end=first + dt.timedelta(minutes=30),
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=first.date(), number=5),
    )
    series.save()
    window = (first - dt.timedelta(days=1), first + dt.timedelta(days=10))
    occurrences = list(ae.calendar.view(*window))
    assert [o.start for o in occurrences] == [first + dt.timedelta(days=n) for n in range(5)]
    assert {o.type for o in occurrences} == {"Occurrence"}
    occurrences[1].delete()
    moved = occurrences[2]
    moved.start += dt.timedelta(hours=3)
    moved.end += dt.timedelta(hours=3)
    moved.save(update_fields=["start", "end"])
    after = list(ae.calendar.view(*window))
    assert [(o.start, o.type) for o in after] == [
        (first, "Occurrence"),
        (first + dt.timedelta(days=2, hours=3), "Exception"),
        (first + dt.timedelta(days=3), "Occurrence"),
        (first + dt.timedelta(days=4), "Occurrence"),
    ]
    master = ae.calendar.get(id=series.id)
    assert master.type == "RecurringMaster"
    assert [d.start for d in master.deleted_occurrences] == [first + dt.timedelta(days=1)]
    assert [o.original_start for o in master.modified_occurrences] == [first + dt.timedelta(days=2)]
    narrow = list(ae.calendar.view(first + dt.timedelta(days=2), first + dt.timedelta(days=3)))
    assert [o.type for o in narrow] == ["Exception"]


def test_a_calendar_view_expands_weekly_series_to_their_end_date_or_count(
    server: EwsServer,
) -> None:
    ae = account(server, AE)
    monday = EWSDateTime(2026, 12, 7, 14, 0, tzinfo=SHANGHAI)
    by_date = CalendarItem(
        account=ae, folder=ae.calendar, subject="Status call", start=monday,
        end=monday + dt.timedelta(hours=1),
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[1, 4]), start=monday.date(),
            end=(monday + dt.timedelta(days=14)).date(),
        ),
    )  # fmt: skip
    by_count = CalendarItem(
        account=ae, folder=ae.calendar, subject="Creative review", start=monday,
        end=monday + dt.timedelta(hours=2),
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=2, weekdays=[3]), start=monday.date(), number=3
        ),
    )  # fmt: skip
    by_date.save()
    by_count.save()
    seen = list(ae.calendar.view(monday - dt.timedelta(days=1), monday + dt.timedelta(days=60)))
    status = [o.start for o in seen if o.subject == "Status call"]
    reviews = [o.start for o in seen if o.subject == "Creative review"]
    days = [0, 3, 7, 10, 14]  # Mondays and Thursdays up to the end date, which is included
    assert status == [monday + dt.timedelta(days=n) for n in days]
    assert reviews == [monday + dt.timedelta(days=n) for n in (2, 16, 30)]


def test_the_organizers_calendar_sync_reports_an_answered_meeting_as_updated(
    server: EwsServer,
) -> None:
    meeting_id = invite(server, BUYER)
    ae = account(server, AE)
    assert [kind for kind, _ in ae.calendar.sync_items(only_fields=["subject"])] == ["create"]
    state = ae.calendar.item_sync_state
    server.mailbox(BUYER).respond(server.mailbox(BUYER).items("inbox")[0].item_id, "Accept")
    changes = list(ae.calendar.sync_items(sync_state=state, only_fields=["required_attendees"]))
    assert [(kind, item.id) for kind, item in changes] == [("update", meeting_id)]
    (attendee,) = changes[0][1].required_attendees
    assert attendee.response_type == "Accept"


def test_a_removed_location_reaches_attendees_as_an_update(server: EwsServer) -> None:
    meeting_id = invite(server, BUYER)
    ae = account(server, AE)
    meeting = ae.calendar.get(id=meeting_id)
    meeting.location = None
    meeting.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert any(b"DeleteItemField" in e.request for e in server.exchanges)
    (mine,) = list(account(server, BUYER).calendar.all())
    assert mine.location is None
    requests = [i for i in server.mailbox(BUYER).items("inbox") if not i.flag("IsOutOfDate")]
    assert [i.fields["MeetingRequestType"] for i in requests] == ["FullUpdate"]


def imip(method: str, event_lines: str) -> bytes:
    """An iMIP message (RFC 6047) carrying an iTIP ``method`` (RFC 5546), written by hand."""
    calendar = (
        f"BEGIN:VCALENDAR\r\nPRODID:-//client//EN\r\nVERSION:2.0\r\nMETHOD:{method}\r\n"
        f"BEGIN:VEVENT\r\n{event_lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return (
        f"From: someone@client.example\r\nTo: {AE}\r\nSubject: {method.title()}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/calendar; method={method}; charset=utf-8\r\n"
        f"\r\n{calendar}"
    ).encode()


def test_an_imip_reply_from_outside_changes_the_attendees_answer(server: EwsServer) -> None:
    meeting_id = invite(server, BUYER)
    uid = server.mailbox(AE).items("calendar")[0].uid
    reply = imip(
        "REPLY",
        f"UID:{uid}\r\nDTSTAMP:20261128T080000Z\r\nDTSTART:20261201T020000Z\r\n"
        f"ORGANIZER:mailto:{AE}\r\nATTENDEE;PARTSTAT=DECLINED:mailto:{BUYER}\r\n",
    )
    server.mailbox(AE).deliver_mime(reply)
    ae = account(server, AE)
    (attendee,) = ae.calendar.get(id=meeting_id).required_attendees
    assert attendee.response_type == "Decline"
    (answer,) = list(ae.inbox.all())
    assert isinstance(answer, MeetingResponse)
    assert answer.item_class == "IPM.Schedule.Meeting.Resp.Neg"
    assert answer.associated_calendar_item_id.id == meeting_id


def test_an_imip_request_from_outside_lands_as_a_request_and_a_meeting_until_cancelled(
    server: EwsServer,
) -> None:
    event = (
        "UID:client-weekly-1@client.example\r\nDTSTAMP:20261128T080000Z\r\n"
        "DTSTART;TZID=Asia/Shanghai:20261207T150000\r\nDTEND;TZID=Asia/Shanghai:20261207T160000\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3\r\nSUMMARY:Client weekly\r\nLOCATION:Client HQ\r\n"
        f"ORGANIZER;CN=Buyer:mailto:{BUYER}\r\nATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{AE}\r\n"
    )
    box = server.mailbox(AE)
    box.deliver_mime(imip("REQUEST", event))
    ae = account(server, AE)
    (request,) = list(ae.inbox.all())
    assert isinstance(request, MeetingRequest) and request.subject == "Client weekly"
    (meeting,) = list(ae.calendar.all())
    assert request.associated_calendar_item_id.id == meeting.id
    assert (meeting.organizer.email_address, meeting.my_response_type) == (
        BUYER, "NoResponseReceived",
    )  # fmt: skip
    first = EWSDateTime(2026, 12, 7, 15, 0, tzinfo=SHANGHAI)
    shown = list(ae.calendar.view(first - dt.timedelta(days=1), first + dt.timedelta(days=30)))
    assert [o.start for o in shown] == [first + dt.timedelta(weeks=n) for n in range(3)]
    box.deliver_mime(imip("CANCEL", "UID:client-weekly-1@client.example\r\nSEQUENCE:1\r\n"
                          "DTSTART;TZID=Asia/Shanghai:20261207T150000\r\n"))  # fmt: skip
    assert ae.calendar.get(id=meeting.id).is_cancelled
    assert [type(i).__name__ for i in ae.inbox.all()] == ["MeetingRequest", "MeetingCancellation"]
