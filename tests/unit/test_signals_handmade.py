"""Inbound-mail classification on cases built by hand from the specifications.

Each message here is written from a specification (named in the test) or from the shape real
Exchange and Outlook mail has on the wire, because the corpus has no example of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailer.signals import classify_message, parse_message, sanitise
from rules.errors import NaiveDateTimeError, UnreadableInput
from rules.model import Response, SignalKind

ARRIVED = datetime(2024, 5, 10, 9, 30, tzinfo=UTC)
SENT_ID = "<confirm-20240510-abc@agency.example.cn>"


def mail(text: str) -> bytes:
    """A message written with LF line ends, sent as CRLF as on the wire."""
    return text.lstrip("\n").replace("\n", "\r\n").encode("utf-8")


def test_a_plain_reply_answers_its_thread_newest_first() -> None:
    raw = mail(
        """
From: Li Wei <li.wei@client.example.com>
To: ae@agency.example.cn
Subject: RE: Brief for the spring campaign
Date: Fri, 10 May 2024 10:02:00 +0800
Message-ID: <reply-1@client.example.com>
In-Reply-To:   <confirm-20240510-abc@agency.example.cn>  (your message)
References: <first@agency.example.cn>
 <confirm-20240510-abc@agency.example.cn>

Received, thank you.
"""
    )
    (signal,) = classify_message(raw, received_at=ARRIVED)
    assert signal.kind is SignalKind.REPLY
    assert signal.kind.confirms_receipt
    assert signal.answers == (SENT_ID, "<first@agency.example.cn>")
    assert signal.recipient == "li.wei@client.example.com"
    assert signal.message_id == "<reply-1@client.example.com>"
    assert signal.at == datetime(2024, 5, 10, 2, 2, tzinfo=UTC)


def test_a_message_that_answers_nothing_is_a_plain_message() -> None:
    raw = mail(
        """
From: someone@client.example.com
Subject: Hello
Date: Fri, 10 May 2024 10:02:00 +0800

Hi.
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.MESSAGE
    assert signal.answers == ()


DSN_WITH_IN_REPLY_TO = """
From: Mail Delivery System <MAILER-DAEMON@mx.agency.example.cn>
To: ae@agency.example.cn
Subject: Undelivered Mail Returned to Sender
Date: Fri, 10 May 2024 09:31:00 +0800
Message-ID: <dsn-1@mx.agency.example.cn>
In-Reply-To: <confirm-20240510-abc@agency.example.cn>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered to one or more recipients.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.agency.example.cn
Arrival-Date: Fri, 10 May 2024 09:30:58 +0800

Final-Recipient: rfc822; wang.fang@client.example.com
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822; nobody@client.example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <nobody@client.example.com>: User unknown

--b1
Content-Type: message/rfc822

From: ae@agency.example.cn
To: nobody@client.example.com, wang.fang@client.example.com
Subject: Meeting confirmation
Message-ID: <confirm-20240510-abc@agency.example.cn>

Please confirm.
--b1--
"""


def test_a_bounce_with_in_reply_to_is_still_a_bounce_most_severe_first() -> None:
    # RFC 3464 report written by hand; the failed recipient comes before the delivered one.
    signals = classify_message(mail(DSN_WITH_IN_REPLY_TO), received_at=ARRIVED)
    assert [s.kind for s in signals] == [SignalKind.BOUNCE, SignalKind.DELIVERY_RECEIPT]
    bounce, delivered = signals
    assert bounce.recipient == "nobody@client.example.com"
    assert bounce.status == "5.1.1"
    assert "User unknown" in bounce.reason
    assert bounce.answers == (SENT_ID,)
    assert delivered.recipient == "wang.fang@client.example.com"
    assert not bounce.kind.confirms_receipt


def test_a_bounced_invitation_is_a_bounce_not_an_invitation() -> None:
    invitation = """From: ae@agency.example.cn
To: nobody@client.example.com
Subject: Invitation: Kick-off
Message-ID: <invite-1@agency.example.cn>
Content-Type: text/calendar; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
UID:kickoff-1@agency.example.cn
END:VEVENT
END:VCALENDAR
"""
    raw = DSN_WITH_IN_REPLY_TO.split("--b1\nContent-Type: message/rfc822")[0]
    raw += f"--b1\nContent-Type: message/rfc822\n\n{invitation}--b1--\n"
    kinds = [s.kind for s in classify_message(mail(raw))]
    assert SignalKind.MEETING_REQUEST not in kinds
    assert kinds[0] is SignalKind.BOUNCE


def test_an_exchange_automatic_reply_with_in_reply_to_is_an_automatic_reply() -> None:
    raw = mail(
        """
From: Zhang Min <zhang.min@client.example.com>
To: ae@agency.example.cn
Subject: Automatic reply: Meeting confirmation
Date: Fri, 10 May 2024 09:31:00 +0800
Message-ID: <oof-1@client.example.com>
In-Reply-To: <confirm-20240510-abc@agency.example.cn>
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset="utf-8"

I am out of the office until Monday.
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.AUTO_REPLY
    assert not signal.kind.confirms_receipt
    assert signal.answers == (SENT_ID,)


def test_a_chinese_automatic_reply_subject_is_an_automatic_reply() -> None:
    raw = mail(
        """
From: zhang.min@client.example.com
Subject: =?utf-8?b?6Ieq5Yqo5Zue5aSNOiDkvJrorq7noa7orqQ=?=
In-Reply-To: <confirm-20240510-abc@agency.example.cn>

...
"""
    )
    (signal,) = classify_message(raw)
    assert signal.subject == "自动回复: 会议确认"
    assert signal.kind is SignalKind.AUTO_REPLY


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x00\x00", b"   \r\n\r\n", b"From nobody Mon Jan  1 00:00:00 2024\n"],
    ids=["empty", "nul-bytes", "blank", "mbox-line-only"],
)
def test_an_empty_input_is_unreadable(raw: bytes) -> None:
    with pytest.raises(UnreadableInput) as caught:
        classify_message(raw, source="inbox/new/1")
    assert caught.value.source == "inbox/new/1"


@pytest.mark.parametrize(
    "raw",
    [
        bytes(range(256)) * 4,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        b"just some words, no headers at all\nsecond line\n",
    ],
    ids=["all-bytes", "png", "prose"],
)
def test_bytes_that_are_no_mail_are_unreadable(raw: bytes) -> None:
    with pytest.raises(UnreadableInput, match="not a mail message"):
        classify_message(raw, source="inbox/new/2")


def _exchange_mdn(subject: str, human: str, disposition: str = "displayed") -> bytes:
    # The shape Exchange gives a read receipt (MS-OXOMSG REPORT.IPM.Note.IPNRN) when it converts
    # it to MIME: multipart/report, In-Reply-To, and no Original-Message-ID in the MDN part.
    return mail(
        f"""
From: Wang Fang <wang.fang@client.example.com>
To: ae@agency.example.cn
Subject: {subject}
Thread-Topic: Meeting confirmation
Date: Fri, 10 May 2024 11:00:00 +0800
Message-ID: <mdn-1@client.example.com>
In-Reply-To: <confirm-20240510-abc@agency.example.cn>
Content-Type: multipart/report; boundary="m1";
\treport-type=disposition-notification
MIME-Version: 1.0

--m1
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{human}

--m1
Content-Type: message/disposition-notification

Final-recipient: RFC822; wang.fang@client.example.com
Disposition: automatic-action/MDN-sent-automatically; {disposition}
X-MSExch-Correlation-Key: nf7/jgN6Qk+WzsrkY5s9WA==

--m1--
"""
    )


def test_an_exchange_read_receipt_is_a_read_receipt_for_its_in_reply_to() -> None:
    raw = _exchange_mdn(
        "Read: Meeting confirmation",
        "Your message\n\n   To: Wang Fang\n   Subject: Meeting confirmation\n\n"
        "was read on Friday, May 10, 2024 10:59:12 AM (UTC+08:00) Beijing.",
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.READ_RECEIPT
    assert signal.kind.confirms_receipt
    assert signal.answers == (SENT_ID,)
    assert signal.recipient == "wang.fang@client.example.com"


def test_a_chinese_exchange_read_receipt_is_a_read_receipt() -> None:
    raw = _exchange_mdn(
        "=?utf-8?b?5bey6K+7OiDkvJrorq7noa7orqQ=?=",
        "您的邮件\n\n   收件人: 王芳\n   主题: 会议确认\n\n已于 2024年5月10日 10:59:12 被阅读。",
    )
    (signal,) = classify_message(raw)
    assert signal.subject == "已读: 会议确认"
    assert signal.kind is SignalKind.READ_RECEIPT
    assert signal.answers == (SENT_ID,)


def test_a_deleted_disposition_is_not_read() -> None:
    raw = _exchange_mdn("Not read: Meeting confirmation", "Your message was deleted.", "deleted")
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.NOT_READ
    assert not signal.kind.confirms_receipt
    assert signal.answers == (SENT_ID,)


def test_a_dispatched_disposition_keeps_what_it_answers_but_confirms_nothing() -> None:
    (signal,) = classify_message(_exchange_mdn("Dispatched", "Forwarded.", "dispatched"))
    assert signal.kind is SignalKind.MESSAGE
    assert signal.answers == (SENT_ID,)


def _text_receipt(subject: str, body: str) -> bytes:
    return mail(
        f"""
From: Wang Fang <wang.fang@client.example.com>
To: ae@agency.example.cn
Subject: {subject}
Date: Fri, 10 May 2024 11:00:00 +0800
In-Reply-To: <confirm-20240510-abc@agency.example.cn>
Content-Type: text/plain; charset="utf-8"

{body}
"""
    )


def test_an_exchange_text_receipt_is_matched_by_in_reply_to() -> None:
    raw = _text_receipt(
        "Read: Meeting confirmation",
        "Your message\n\n  To: Wang Fang\n  Subject: Meeting confirmation\n\n"
        "was read on 10/05/2024 10:59.",
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.READ_RECEIPT
    assert signal.answers == (SENT_ID,)
    assert signal.recipient == "wang.fang@client.example.com"


def test_an_exchange_text_not_read_notice_is_not_read() -> None:
    raw = _text_receipt(
        "Not read: Meeting confirmation",
        "Your message ... was deleted without being read on 10/05/2024 10:59.",
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.NOT_READ


def test_a_read_subject_alone_does_not_make_a_receipt() -> None:
    raw = _text_receipt("Read: the attached brief, please", "Here is my feedback on the brief.")
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.REPLY


def _itip(method: str, partstat: str | None, subject: str, extra: str = "") -> bytes:
    # RFC 5546 section 3.2.3: an attendee's REPLY names the attendee once, with PARTSTAT.
    param = f";PARTSTAT={partstat}" if partstat else ""
    return mail(
        f"""
From: Li Wei <li.wei@client.example.com>
To: ae@agency.example.cn
Subject: {subject}
Date: Fri, 10 May 2024 12:00:00 +0800
Message-ID: <itip-1@client.example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="c1"

--c1
Content-Type: text/plain; charset="utf-8"

{subject}

--c1
Content-Type: text/calendar; charset="utf-8"; method={method}

BEGIN:VCALENDAR
PRODID:-//Example//Client//EN
VERSION:2.0
METHOD:{method}
BEGIN:VEVENT
UID:brief-20240514@agency.example.cn
DTSTAMP:20240510T040000Z
{extra}ORGANIZER:mailto:ae@agency.example.cn
ATTENDEE{param};CN=Li Wei:MAILTO:Li.Wei@client.example.com
END:VEVENT
END:VCALENDAR

--c1--
"""
    )


@pytest.mark.parametrize(
    ("partstat", "subject", "response"),
    [
        ("ACCEPTED", "Accepted: Client brief", Response.ACCEPTED),
        ("DECLINED", "Declined: Client brief", Response.DECLINED),
        ("TENTATIVE", "Tentative: Client brief", Response.TENTATIVE),
    ],
)
def test_a_meeting_reply_carries_the_attendees_answer(
    partstat: str, subject: str, response: Response
) -> None:
    (signal,) = classify_message(_itip("REPLY", partstat, subject))
    assert signal.kind is SignalKind.MEETING_RESPONSE
    assert signal.response is response
    assert signal.recipient == "li.wei@client.example.com"
    assert signal.uid == "brief-20240514@agency.example.cn"
    assert signal.occurrence_id == ""


def test_the_calendar_part_outranks_the_subject() -> None:
    (signal,) = classify_message(_itip("REPLY", "DECLINED", "Accepted: Client brief"))
    assert signal.response is Response.DECLINED


def test_a_chinese_subject_hints_only_when_partstat_is_missing() -> None:
    (signal,) = classify_message(_itip("REPLY", None, "已接受: 客户简报"))
    assert signal.response is Response.ACCEPTED


def test_a_reply_for_one_occurrence_names_it_as_a_utc_instant() -> None:
    extra = "RECURRENCE-ID;TZID=China Standard Time:20240514T093000\n"
    (signal,) = classify_message(_itip("REPLY", "ACCEPTED", "Accepted: Weekly", extra))
    assert signal.occurrence_id == "2024-05-14T01:30:00+00:00"


@pytest.mark.parametrize(
    ("method", "kind"),
    [("REQUEST", SignalKind.MEETING_REQUEST), ("CANCEL", SignalKind.MEETING_CANCEL)],
)
def test_requests_and_cancellations_carry_the_uid(method: str, kind: SignalKind) -> None:
    (signal,) = classify_message(_itip(method, "NEEDS-ACTION", "Client brief"))
    assert signal.kind is kind
    assert signal.uid == "brief-20240514@agency.example.cn"


def test_an_unreadable_calendar_part_falls_back_to_the_message_itself() -> None:
    # Cut off before END:VCALENDAR, as a truncated download would leave it.
    raw = _itip("REPLY", "ACCEPTED", "Accepted: Client brief").replace(b"END:VCALENDAR", b"")
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.MESSAGE


MINIMAL = """From: li.wei@client.example.com
Subject: Hello
{date}
Hi.
"""


def test_without_a_date_the_arrival_time_is_used() -> None:
    (signal,) = classify_message(mail(MINIMAL.format(date="")), received_at=ARRIVED)
    assert signal.at == ARRIVED


def test_without_a_date_or_arrival_the_received_header_is_used() -> None:
    raw = mail(
        "Received: from mx.example (mx.example [192.0.2.1])\n by mx.agency.example.cn;"
        " Fri, 10 May 2024 09:31:00 +0800\n" + MINIMAL.format(date="")
    )
    (signal,) = classify_message(raw)
    assert signal.at == datetime(2024, 5, 10, 9, 31, tzinfo=timezone(timedelta(hours=8)))


def test_with_no_time_at_all_the_epoch_is_used_and_said() -> None:
    (signal,) = classify_message(mail(MINIMAL.format(date="")))
    assert signal.at == datetime(1970, 1, 1, tzinfo=UTC)
    assert "no usable date" in signal.reason


def test_a_date_without_zone_is_taken_as_utc() -> None:
    raw = mail(MINIMAL.format(date="Date: Fri, 10 May 2024 09:31:00 -0000"))
    (signal,) = classify_message(raw)
    assert signal.at == datetime(2024, 5, 10, 9, 31, tzinfo=UTC)


def test_a_naive_arrival_time_is_rejected() -> None:
    with pytest.raises(NaiveDateTimeError):
        classify_message(mail(MINIMAL.format(date="")), received_at=datetime(2024, 5, 10))


def test_a_message_without_message_id_gets_a_stable_one() -> None:
    raw = mail(MINIMAL.format(date=""))
    first, second = classify_message(raw)[0], classify_message(raw)[0]
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@no-message-id.invalid>")


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"])
def test_line_endings_mbox_lines_and_nul_bytes_are_tolerated(ending: bytes) -> None:
    body = mail(DSN_WITH_IN_REPLY_TO).replace(b"\r\n", ending)
    raw = b"From MAILER-DAEMON Fri May 10 09:31:00 2024" + ending + body.replace(b"Your", b"Y\0our")
    kinds = [s.kind for s in classify_message(raw)]
    assert kinds == [SignalKind.BOUNCE, SignalKind.DELIVERY_RECEIPT]
    assert parse_message(raw)["Subject"] == "Undelivered Mail Returned to Sender"


def test_eight_bit_headers_are_read() -> None:
    raw = "From: 王芳 <wang.fang@client.example.com>\nSubject: 会议确认\n\nhi\n".encode()
    (signal,) = classify_message(raw)
    assert signal.sender == "wang.fang@client.example.com"
    assert signal.subject == "会议确认"


def test_an_injected_header_in_a_subject_is_flattened() -> None:
    raw = mail(
        "From: x@client.example.com\n"
        "Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@example.com?=\n\nhi\n"
    )
    (signal,) = classify_message(raw)
    assert signal.subject == "Hello Bcc: victim@example.com"


def test_sanitise_removes_line_breaks_and_control_characters() -> None:
    assert sanitise("a\r\nb\tc\x00d\u202ee\u2028f") == "a b c d e f"


def test_sanitise_truncates_to_the_limit() -> None:
    text = sanitise("x" * 500, limit=50)
    assert len(text) == 50
    assert text.endswith("…")
    assert sanitise("short", limit=0) == ""


def test_an_rfc_8098_receipt_answers_its_original_message_id_first() -> None:
    # RFC 8098 section 3: the MDN names the original in Original-Message-ID; In-Reply-To and
    # References are the weaker evidence that follows it, References newest first.
    raw = mail(
        """
From: wang.fang@client.example.com
Subject: Disposition notification
Date: Fri, 10 May 2024 11:00:00 +0800
In-Reply-To: <confirm-20240510-abc@agency.example.cn>
References: <older@agency.example.cn> <newer@agency.example.cn>
Content-Type: multipart/report; report-type=disposition-notification; boundary="m"

--m
Content-Type: text/plain

Displayed.
--m
Content-Type: message/disposition-notification

Reporting-UA: client.example.com; Mailer 1.0
Final-Recipient: rfc822;Wang.Fang@client.example.com
Original-Message-ID: < exact-original@agency.example.cn >
Disposition: manual-action/MDN-sent-manually; displayed
--m--
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.READ_RECEIPT
    assert signal.answers == (
        "<exact-original@agency.example.cn>",
        SENT_ID,
        "<newer@agency.example.cn>",
        "<older@agency.example.cn>",
    )
    assert signal.recipient == "wang.fang@client.example.com"


@pytest.mark.parametrize(
    ("extra_header", "subject"),
    [
        ("X-Autoreply: yes", "Re: Meeting confirmation"),
        ("X-Autorespond: Meeting confirmation", "Meeting confirmation"),
        ("Precedence: auto_reply", "Re: Meeting confirmation"),
        ("X-Mailer: Lotus Notes", "AUTO: Zhang Min is out of the office (returning 13/05/2024)"),
        ("Precedence: junk", "Away until Monday"),
    ],
)
def test_responder_habits_mark_an_automatic_reply(extra_header: str, subject: str) -> None:
    raw = mail(
        f"""
From: zhang.min@client.example.com
Subject: {subject}
{extra_header}
In-Reply-To: <confirm-20240510-abc@agency.example.cn>

I will reply when I am back.
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.AUTO_REPLY


@pytest.mark.parametrize(
    "extra_header", ["Auto-Submitted: no", "Precedence: bulk", "X-Auto-Response-Suppress: All"]
)
def test_headers_that_do_not_mean_automatic_leave_a_reply_a_reply(extra_header: str) -> None:
    raw = mail(
        f"""
From: zhang.min@client.example.com
Subject: Re: Meeting confirmation
{extra_header}
In-Reply-To: <confirm-20240510-abc@agency.example.cn>

Confirmed, see you then.
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.REPLY


def test_a_client_writing_about_a_failed_delivery_is_not_a_bounce() -> None:
    raw = mail(
        """
From: li.wei@client.example.com
Subject: Re: Delivery failure of the printed samples
In-Reply-To: <confirm-20240510-abc@agency.example.cn>

The courier says the parcel could not be delivered; can you resend it?
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.REPLY


def test_a_bounce_forwarded_by_a_person_is_not_a_bounce_of_ours() -> None:
    raw = mail(
        f"""
From: li.wei@client.example.com
To: ae@agency.example.cn
Subject: FW: my mail to our CFO
Date: Fri, 10 May 2024 12:00:00 +0800
Content-Type: multipart/mixed; boundary="f"

--f
Content-Type: text/plain

Do you have his new address?
--f
Content-Type: message/rfc822

{DSN_WITH_IN_REPLY_TO.strip()}
--f--
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.MESSAGE


def test_a_transcript_bounce_names_only_the_recipient_the_server_refused() -> None:
    # The shape of a sendmail transcript (RFC 5321 replies) in a bounce without a DSN part.
    raw = mail(
        """
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.client.example.com>
To: ae@agency.example.cn
Subject: Returned mail: see transcript for details
Date: Fri, 10 May 2024 09:31:00 +0800

   ----- Transcript of session follows -----
>>> RCPT To:<ok@client.example.com>
<<< 250 2.1.5 Ok
>>> RCPT To:<gone@client.example.com>
<<< 550 5.1.1 <gone@client.example.com>... User unknown

   ----- Original message follows -----
From: ae@agency.example.cn
To: ok@client.example.com, gone@client.example.com
Message-ID: <confirm-20240510-abc@agency.example.cn>
Subject: Meeting confirmation

Please confirm.
"""
    )
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.BOUNCE
    assert signal.recipient == "gone@client.example.com"
    assert signal.status == "5.1.1"
    assert signal.answers == (SENT_ID,)


def test_a_stray_line_before_the_headers_is_skipped() -> None:
    raw = b">From ae@agency.example.cn Fri May 10 09:00:00 2024\nFrom: li.wei@client.example.com\n"
    raw += b"Subject: Hello\nIn-Reply-To: <confirm-20240510-abc@agency.example.cn>\n\nHi.\n"
    (signal,) = classify_message(raw)
    assert signal.kind is SignalKind.REPLY
    assert parse_message(raw)["Subject"] == "Hello"
