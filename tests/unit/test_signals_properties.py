"""Properties of the inbound-mail classifier on arbitrary and mail-shaped hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.signals import classify_message, sanitise
from rules.errors import UnreadableInput
from rules.model import Signal

ARRIVED = datetime(2024, 5, 10, 9, 30, tzinfo=UTC)

HEADER_NAMES = [
    "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
    "Content-Type", "Content-Transfer-Encoding", "Return-Path", "Precedence", "X-Failed-Recipients",
    "X-Auto-Response-Suppress", "Received", "Content-Disposition", "X-MS-Exchange-Message-Is-Ndr",
]  # fmt: skip
FRAGMENTS = [
    "<a@b>", "<>", "=?utf-8?b?5bey6K+7?=", "=?x-unknown?q?=FF?=", "rfc822; x@y", "MAILER-DAEMON",
    "multipart/report; report-type=delivery-status; boundary=b", "text/calendar; method=REPLY",
    "message/delivery-status", "message/disposition-notification", "message/rfc822",
    "Action: failed", "Final-Recipient: rfc822;", "Status: 5.1.1", "Disposition: a/b; displayed",
    "BEGIN:VCALENDAR", "METHOD:REPLY", "BEGIN:VEVENT", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:",
    "RECURRENCE-ID;TZID=Nowhere:2024", "END:VEVENT", "--b", "--b--", "base64", "quoted-printable",
    "Undeliverable: ", "Automatic reply: ", "Read: ", "已读: ", "(comment", "\u202e", "\udcff",
    "Thu, 32 Foo 99999 25:61:00 +9999", "; charset=\"bogus-charset\"", "=\r\n", "\t",
]  # fmt: skip

piece = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20))
text_pieces = st.lists(piece, max_size=6).map("".join)


@st.composite
def mail_shaped(draw: st.DrawFn) -> bytes:
    headers = draw(
        st.lists(st.tuples(st.sampled_from(HEADER_NAMES), text_pieces), min_size=0, max_size=10)
    )
    lines = ["From: someone@example.com", *(f"{name}: {value}" for name, value in headers)]
    body_lines = draw(st.lists(text_pieces, max_size=15))
    text = "\r\n".join(lines) + "\r\n\r\n" + "\r\n".join(body_lines)
    return text.encode("utf-8", "surrogateescape")


def _check(signals: tuple[Signal, ...]) -> None:
    assert signals
    for signal in signals:
        assert isinstance(signal, Signal)
        for text in (signal.subject, signal.reason):
            assert "\n" not in text and "\r" not in text
            assert len(text) <= 200


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_signals_or_unreadable_input(raw: bytes) -> None:
    try:
        signals = classify_message(raw, source="fuzz")
    except UnreadableInput:
        return
    _check(signals)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mail_shaped(), st.none() | st.just(ARRIVED))
def test_mail_shaped_noise_is_always_classified(raw: bytes, received_at: datetime | None) -> None:
    # Every input here has a From header, so it is mail: the classifier must cope with whatever
    # else it holds, without falling back to "cannot be classified".
    _check(classify_message(raw, source="fuzz", received_at=received_at))


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=300))
def test_sanitised_text_is_one_bounded_line(text: str, limit: int) -> None:
    result = sanitise(text, limit)
    assert len(result) <= limit
    assert not any(ch in result for ch in "\r\n\x00\x1b\u2028\u2029\u202e")
    result.encode("utf-8")
