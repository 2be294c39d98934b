"""Exchange report items and meeting responses as signals: the MIME decides, the item fills gaps.

Real MIME from the corpus is filed as the report item Exchange would make of it; the cases the
corpus lacks (a report rendered as a plain note, a response without its iTIP part) are written by
hand after MS-OXOMSG (report message classes) and RFC 5546 (iTIP REPLY), as each test says.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from exchangelib.items import MeetingResponse
from exchangelib.util import to_xml

from mailer.ews import item_facts
from mailer.ews_reports import ItemFacts, item_signals, report_kind, response_of_class
from mailer.signals import classify_message
from rules.errors import UnreadableInput
from rules.model import Response, SignalKind
from tests.conftest import require_corpus

ARRIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ORIGINAL_ID = "<d5904dc344eeb5deaf9bb44603f0c716@posteo.de>"
SENT_ID = "<confirm-7@agency.example>"


def corpus(folder: str, name: str) -> bytes:
    return (require_corpus(folder) / name).read_bytes()


def facts(item_class: str, **values: object) -> ItemFacts:
    return ItemFacts(item_class=item_class, received_at=ARRIVED, **values)  # type: ignore[arg-type]


def plain_note(subject: str = "Report", extra: str = "") -> bytes:
    # How Exchange renders some report items over EWS: a note, no report part (MS-OXOMSG
    # 2.2.2.x report classes carry the meaning; the MIME does not).
    return (
        "From: Li Na <li.na@client.example>\r\nTo: ae@agency.example\r\n"
        f"Subject: {subject}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0800\r\n"
        f"Message-ID: <report-1@client.example>\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nYour message was read.\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("item_class", "kind"),
    [
        ("REPORT.IPM.Note.IPNRN", SignalKind.READ_RECEIPT),
        ("REPORT.IPM.Note.IPNNRN", SignalKind.NOT_READ),
        ("REPORT.IPM.Note.DR", SignalKind.DELIVERY_RECEIPT),
        ("REPORT.IPM.Note.NDR", SignalKind.BOUNCE),
        ("Report.IPM.Schedule.Meeting.Request.NDR", SignalKind.BOUNCE),
        ("IPM.Note", None),
        ("IPM.Note.Rules.OofTemplate.Microsoft", None),
    ],
)
def test_a_report_class_says_which_signal_it_is(item_class: str, kind: SignalKind | None) -> None:
    assert report_kind(item_class) is kind


def test_meeting_response_classes_carry_the_answer() -> None:
    assert response_of_class("IPM.Schedule.Meeting.Resp.Pos") is Response.ACCEPTED
    assert response_of_class("ipm.schedule.meeting.resp.tent") is Response.TENTATIVE
    assert response_of_class("IPM.Schedule.Meeting.Resp.Neg") is Response.DECLINED
    assert response_of_class("IPM.Schedule.Meeting.Request") is None


def test_exchanges_read_receipt_filed_as_a_report_item_answers_the_original() -> None:
    raw = corpus("mdn", "deltachat-exchange-read-receipt-de.eml")
    (receipt,) = item_signals(raw, facts("REPORT.IPM.Note.IPNRN"), "inbox item 1")
    assert receipt.kind is SignalKind.READ_RECEIPT
    assert receipt.recipient == "bob@example.net"
    assert receipt.answers[0] == ORIGINAL_ID


def test_a_report_whose_mime_names_no_original_takes_the_link_from_the_item() -> None:
    # Exchange 2007's NDR carries the failed recipient but neither the original nor its id.
    raw = corpus("bounces", "lhost-exchange2007-01.eml")
    assert classify_message(raw)[0].answers == ()
    linked = facts("REPORT.IPM.Note.NDR", original_message_id=SENT_ID)
    (bounce,) = item_signals(raw, linked, "inbox item 2")
    assert (bounce.kind, bounce.recipient, bounce.answers) == (
        SignalKind.BOUNCE,
        "mikeneko@example.co.jp",
        (SENT_ID,),
    )


def test_a_success_report_filed_as_a_delivery_report_keeps_what_the_mime_says() -> None:
    raw = corpus("bounces", "deltachat-dsn_relayed.eml")
    signals = item_signals(raw, facts("REPORT.IPM.Note.DR"), "inbox item 3")
    assert signals == classify_message(raw, source="inbox item 3", received_at=ARRIVED)


@pytest.mark.parametrize(
    ("item_class", "kind", "recipient"),
    [
        ("REPORT.IPM.Note.IPNRN", SignalKind.READ_RECEIPT, "li.na@client.example"),
        ("REPORT.IPM.Note.IPNNRN", SignalKind.NOT_READ, "li.na@client.example"),
        ("REPORT.IPM.Note.DR", SignalKind.DELIVERY_RECEIPT, ""),
        ("REPORT.IPM.Note.NDR", SignalKind.BOUNCE, ""),
    ],
)
def test_a_report_rendered_as_a_plain_note_is_read_from_its_class_and_links(
    item_class: str, kind: SignalKind, recipient: str
) -> None:
    linked = facts(item_class, in_reply_to=SENT_ID, references="<invite-7@agency.example>")
    (signal,) = item_signals(plain_note(), linked, "inbox item 4")
    assert (signal.kind, signal.recipient) == (kind, recipient)
    assert signal.answers == (SENT_ID, "<invite-7@agency.example>")
    assert signal.message_id == "<report-1@client.example>"
    assert item_class in signal.reason


def test_a_subject_never_links_a_report_to_anything() -> None:
    (signal,) = item_signals(
        plain_note("Read: Confirmation"), facts("REPORT.IPM.Note.IPNRN"), "inbox item 5"
    )
    assert signal.kind is SignalKind.READ_RECEIPT and signal.answers == ()


def test_a_meeting_response_without_its_itip_part_is_read_from_the_real_item() -> None:
    # A real Exchange 2016 MeetingResponse (a tentative answer proposing a new time); its MIME is
    # not in the recording, so a note stands for it, written as Exchange sends one without iTIP.
    raw_xml = (require_corpus("ews") / "ewsjava-GetMeetingResponse.xml").read_bytes()
    types = "{http://schemas.microsoft.com/exchange/services/2006/types}"
    item = MeetingResponse.from_xml(to_xml(raw_xml).find(f".//{types}MeetingResponse"), None)
    found = item_facts(item)
    assert found.item_class == "IPM.Schedule.Meeting.Resp.Tent"
    assert found.received_at == datetime(2019, 1, 31, 10, 40, 4, tzinfo=UTC)
    note = (
        "From: test user 2 <testuser2@example.com>\r\nTo: testuser1@example.com\r\n"
        "Subject: New Time Proposed: something 2\r\n"
        "Message-ID: <26311bb61ca44b14a9a0cc6da3c20594@example.com>\r\n"
        f"In-Reply-To: {SENT_ID}\r\n\r\n\r\n"
    ).encode()
    (signal,) = item_signals(note, found, "inbox item 6")
    assert (signal.kind, signal.response) == (SignalKind.MEETING_RESPONSE, Response.TENTATIVE)
    assert (signal.recipient, signal.answers) == ("testuser2@example.com", (SENT_ID,))
    assert signal.at == found.received_at


def test_a_meeting_responses_itip_reply_decides_over_its_class() -> None:
    # An iTIP REPLY after RFC 5546 section 3.2.3, filed under a class that says otherwise.
    reply = (
        b"From: li.na@client.example\r\nTo: ae@agency.example\r\nSubject: Accepted: Review\r\n"
        b"Date: Mon, 02 Mar 2026 10:00:00 +0800\r\nMessage-ID: <reply-1@client.example>\r\n"
        b"Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n"
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
        b"UID:brand-review-7\r\nDTSTAMP:20260302T020000Z\r\nDTSTART:20260303T020000Z\r\n"
        b"ATTENDEE;PARTSTAT=DECLINED:mailto:li.na@client.example\r\n"
        b"ORGANIZER:mailto:ae@agency.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (signal,) = item_signals(reply, facts("IPM.Schedule.Meeting.Resp.Pos"), "inbox item 7")
    assert (signal.kind, signal.response, signal.uid) == (
        SignalKind.MEETING_RESPONSE,
        Response.DECLINED,
        "brand-review-7",
    )


def test_an_ordinary_message_is_classified_exactly_as_a_local_file_is() -> None:
    raw = corpus("autoreplies", "soe-rfc3834-02.eml")
    expected = classify_message(raw, source="inbox item 8", received_at=ARRIVED)
    assert item_signals(raw, facts("IPM.Note"), "inbox item 8") == expected


def test_content_that_is_not_mail_is_unreadable() -> None:
    with pytest.raises(UnreadableInput, match="not a mail message"):
        item_signals(b"the middle of a body\r\n\r\nregards\r\n", facts("IPM.Note"), "item 9")
