"""Fuzzing the mail classifier: whatever bytes arrive in the inbox, ``classify_message`` gives a
non-empty tuple of well-formed signals or raises ``UnreadableInput``; no other exception, no
hang, bounded memory.

Two kinds of input: real mail from the corpus (receipts, bounces, automatic replies, iTIP
invitations) damaged as in ``test_fuzz_calendar`` plus the damage peculiar to mail (charsets
swapped for others and for bogus names, transfer encodings swapped, boundaries broken, headers
repeated thousands of times, NUL bytes, CR-only and LF-only line ends); and MIME trees built
from scratch with ``email.message.EmailMessage``: random content types (reports, receipts,
calendars, attached messages), nesting up to 30 deep, random charsets and transfer encodings,
encoded bodies broken on purpose.
"""

from __future__ import annotations

import base64
import quopri
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.message import EmailMessage, Message
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.signals import classify_message, parse_message
from rules.errors import UnreadableInput
from rules.model import Signal, SignalKind
from tests.reliability.test_fuzz_calendar import (
    CALL_SECONDS,
    EXAMPLES_RUN,
    MB,
    check_refusal,
    corpus_files,
    count,
    fuzz,
    mutated,
    mutation,
    run_bounded,
    within,
    written_calendar,
)

ZONES = (UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/Los_Angeles"))
ARRIVED = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
# What a message the classifier gave up on says (``classify_message``'s last guard): the code
# met something it did not foresee.
GAVE_UP = "cannot be classified"


def mail_seeds() -> tuple[bytes, ...]:
    files: list[bytes] = []
    for folder in ("mdn", "bounces", "autoreplies"):
        files += corpus_files(folder, (".eml", ".msg", ".mbox", ".txt"))
    return (*files, *corpus_files("ics", (".eml",)))


def check_signals(signals: object) -> tuple[Signal, ...]:
    assert isinstance(signals, tuple)
    assert signals, "classify_message never returns no signal"
    for signal in signals:
        assert isinstance(signal, Signal)
        assert isinstance(signal.kind, SignalKind)
        assert isinstance(signal.at, datetime)
        assert signal.at.tzinfo is not None and signal.at.utcoffset() is not None
        assert signal.message_id.startswith("<") and signal.message_id.endswith(">")
        for text, limit in ((signal.subject, 200), (signal.reason, 200), (signal.status, 20)):
            assert "\n" not in text and "\r" not in text and "\x00" not in text
            assert len(text) <= limit
        assert all(isinstance(answer, str) and answer for answer in signal.answers)
    assert len({s.message_id for s in signals}) == 1, "one message, one message id"
    return signals


def classify(raw: bytes, draw: st.DrawFn, source: str) -> tuple[Signal, ...] | UnreadableInput:
    """``classify_message`` under the hang guard; the signals, checked, or the refusal."""
    received_at = draw(st.sampled_from([None, ARRIVED]), label="received_at")
    zone = draw(st.sampled_from(ZONES), label="zone")
    try:
        signals = within(
            CALL_SECONDS,
            "classify_message",
            classify_message,
            raw,
            source=source,
            received_at=received_at,
            zone=zone,
        )
    except UnreadableInput as error:
        check_refusal(error, source)
        return error
    return check_signals(signals)


# --- damaged real mail --------------------------------------------------------------------------

CHARSETS = (
    "utf-8", "us-ascii", "gb2312", "gb18030", "gbk", "big5", "big5-hkscs", "iso-2022-jp",
    "shift_jis", "euc-kr", "utf-16", "utf-16-le", "utf-32", "utf-7", "koi8-r", "iso-8859-1",
    "windows-1252", "x-unknown", "bogus-charset", "unicode-1-1-utf-7", "ks_c_5601-1987",
    "x-mac-chinesesimp", "cp65001", "", "utf-8\x00", "\u202eutf-8", "a" * 300, "=?utf-8?q?x?=",
)  # fmt: skip
ENCODINGS = (
    "7bit", "8bit", "binary", "base64", "BASE64", "quoted-printable", "x-uuencode", "uuencode",
    "bogus", "", "base64; x=1", "quoted-printable\x00",
)  # fmt: skip
MAIL_INSERTIONS = (
    "\r\nContent-Type: multipart/mixed; boundary=x\r\n", "\r\n--x\r\n", "\r\n--\r\n",
    "\r\nContent-Transfer-Encoding: base64\r\n", "=?utf-8?b?5bey6K+7?=", "=?gb2312?b?0ba2wQ==?=",
    "=?x-bogus?q?=FF=FE?=", "\r\nMIME-Version: 1.0\r\n", "\r\n\r\n", ";;;;", "=\r\n", "=ZZ",
    "====", "\r\n From ", "\r\n>From ", "\r\nX-Spam: " + "x" * 2000 + "\r\n",
)  # fmt: skip


@st.composite
def damaged_mail(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real message after one to four faults, general (``mutation``) or peculiar to mail."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["general", "general", "charset", "encoding", "header", "insert"])
        )
        if kind == "charset" and b"charset=" in data.lower():
            charset = draw(st.sampled_from(CHARSETS)).encode("utf-8")
            data = re.sub(
                rb'(?i)charset="?[^";\s]*"?',
                b'charset="' + charset + b'"',
                data,
                count=draw(st.integers(0, 3)),
            )
        elif kind == "encoding" and b"content-transfer-encoding" in data.lower():
            encoding = draw(st.sampled_from(ENCODINGS)).encode("utf-8")
            data = re.sub(
                rb"(?i)(content-transfer-encoding:[ \t]*)\S*",
                rb"\g<1>" + encoding,
                data,
                count=draw(st.integers(0, 3)),
            )
        elif kind == "header":
            name = draw(
                st.sampled_from(
                    ["Received", "X-Header", "Subject", "From", "References", "Content-Type"]
                )
            )
            times = draw(st.sampled_from([2, 100, 3000]))
            value = draw(
                st.sampled_from(
                    ["from x by y; Mon, 1 Jan 2024 00:00:00 +0000", "v", "<a@b>", "text/plain"]
                )
            )
            data = f"{name}: {value}\r\n".encode() * times + data
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.sampled_from(MAIL_INSERTIONS)).encode("utf-8") + data[at:]
        else:
            data = draw(mutation(data, seeds))
    return data


@fuzz(300)
@given(st.data())
def test_damaged_real_mail_gives_well_formed_signals_or_is_refused(data: st.DataObject) -> None:
    raw = data.draw(damaged_mail(mail_seeds()), label="message")
    classify(raw, data.draw, "damaged.eml")
    count("damaged real mail")


@fuzz(150)
@given(st.data())
def test_damaged_real_mail_is_never_given_up_by_the_classifiers_last_guard(
    data: st.DataObject,
) -> None:
    # The last guard of classify_message turns an exception nobody foresaw into "cannot be
    # classified": the message is then skipped, a receipt or a bounce lost. Damaged mail that is
    # still mail must be classified, or refused for a reason that names what is wrong with it.
    raw = data.draw(damaged_mail(mail_seeds()), label="message")
    outcome = classify(raw, data.draw, "damaged.eml")
    if isinstance(outcome, UnreadableInput):
        assert GAVE_UP not in outcome.reason, outcome.reason
    count("damaged real mail, last guard")


def test_every_real_mail_of_the_corpus_is_classified() -> None:
    for raw in mail_seeds():
        signals = within(CALL_SECONDS, "classify_message", classify_message, raw, source="seed")
        check_signals(signals)


@fuzz(150)
@given(st.data())
def test_damaged_real_mail_is_parsed_or_refused(data: st.DataObject) -> None:
    raw = data.draw(mutated(mail_seeds()), label="message")
    try:
        message = within(CALL_SECONDS, "parse_message", parse_message, raw, "parsed.eml")
    except UnreadableInput as error:
        check_refusal(error, "parsed.eml")
        return
    assert isinstance(message, EmailMessage)
    assert len(message.keys()) > 0
    count("parse_message")


@fuzz(300)
@given(st.binary(max_size=4000), st.data())
def test_arbitrary_bytes_give_signals_or_are_refused(raw: bytes, data: st.DataObject) -> None:
    classify(raw, data.draw, "bytes.eml")
    count("arbitrary bytes")


# --- MIME trees built from scratch --------------------------------------------------------------

words = st.one_of(
    st.sampled_from(
        [
            "Delivery has failed to these recipients", "550 5.1.1 User unknown", "Out of Office",
            "Automatic reply", "I am out of the office until Monday", "Your message was read on",
            "Undeliverable:", "Mail delivery failed: returning message to sender", "已读:",
            "自动回复: 休假", "Read: ", "Accepted: Weekly sync", "Status: 5.2.2", "Action: failed",
            "Final-Recipient: rfc822; jane@acme.example", "Disposition: manual-action; displayed",
            "Original-Message-ID: <orig@agency.example>", "In-Reply-To: <orig@agency.example>",
            "wurde am 3.12.2026 gelesen", "1. Creative review - 30 min", "\u202e", "\x1b[31m",
            "=?utf-8?b?5bey6K+7?=", "\u2028", "\r", "\n", "\x00", "--", "begin 644 x.txt",
        ]
    ),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)  # fmt: skip
body_texts = st.lists(words, max_size=12).map(" ".join)
LEAF_TYPES = (
    "text/plain", "text/plain", "text/html", "text/calendar", "application/ics",
    "text/x-vcalendar", "message/delivery-status", "message/global-delivery-status",
    "message/disposition-notification", "message/feedback-report", "text/rfc822-headers",
    "application/octet-stream", "image/png", "text/markdown", "x/y", "text", "",
    "multipart/mixed", "message/rfc822",
)  # fmt: skip
MULTIPART_TYPES = (
    "multipart/mixed", "multipart/alternative", "multipart/related", "multipart/signed",
    "multipart/report; report-type=delivery-status",
    "multipart/report; report-type=disposition-notification",
    "multipart/report; report-type=feedback-report", "multipart/report", "multipart/bogus",
)  # fmt: skip


RECIPIENT_FIELDS = ("rfc822; jane@acme.example", "rfc822;", "x400; /C=x/", "", "jane")
ORIGINAL_IDS = ("<orig@agency.example>", "", "<>", "orig")
DISPOSITIONS = (
    "manual-action/MDN-sent-manually; displayed", "automatic-action; deleted", "x; y", "",
    "displayed",
)  # fmt: skip
ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded", "x", "")
STATUSES = ("5.1.1", "4.4.7", "2.0.0", "9.9.9", "5", "x", "")


@st.composite
def report_fields(draw: st.DrawFn, kind: str) -> str:
    """The fields of a delivery-status or disposition-notification part, values drawn."""
    recipient = draw(st.sampled_from(RECIPIENT_FIELDS))
    if "disposition" in kind:
        fields = [
            f"Reporting-UA: {draw(words)}",
            f"Final-Recipient: {recipient}",
            f"Original-Message-ID: {draw(st.sampled_from(ORIGINAL_IDS))}",
            f"Disposition: {draw(st.sampled_from(DISPOSITIONS))}",
        ]
    else:
        fields = [f"Reporting-MTA: dns; {draw(words)}", ""]
        for _ in range(draw(st.integers(0, 3))):
            fields += [
                f"Final-Recipient: {recipient}",
                f"Action: {draw(st.sampled_from(ACTIONS))}",
                f"Status: {draw(st.sampled_from(STATUSES))}",
                f"Diagnostic-Code: smtp; {draw(words)}",
                "",
            ]
    return "\r\n".join(draw(st.permutations(fields)))


def new_part() -> EmailMessage:
    # Headers stored as given: the default policy parses each value on assignment, and the
    # stdlib's address parser fails on some the fuzzing sends on purpose (``From: <>``).
    return EmailMessage(policy=policy.compat32)


def encode_body(text: str, charset: str, encoding: str, broken: str) -> str:
    """``text`` in ``charset`` (UTF-8 when it is no charset), under ``encoding``, broken as
    ``broken`` says; returned as the str ``set_payload`` takes (raw bytes surrogate-escaped)."""
    try:
        data = text.encode(charset, errors="replace")
    except (LookupError, ValueError):
        data = text.encode("utf-8", errors="surrogatepass")
    kind = encoding.lower()
    if kind.startswith("base64"):
        encoded = base64.encodebytes(data)
        if broken == "cut":
            encoded = encoded[: len(encoded) // 2 + 1]
        elif broken == "junk":
            encoded = encoded.replace(b"A", b"*").replace(b"=", b"")
        elif broken == "one-line":
            encoded = encoded.replace(b"\n", b"") + b"==="
    elif kind.startswith("quoted-printable"):
        encoded = quopri.encodestring(data)
        if broken == "cut":
            encoded = encoded.rstrip(b"\n") + b"="
        elif broken == "junk":
            encoded = encoded + b"=ZZ=\xff=4"
        elif broken == "one-line":
            encoded = encoded.replace(b"=\n", b"=\r")
    else:
        encoded = data
    return encoded.decode("ascii", errors="surrogateescape")


def _header_safe(value: str) -> str:
    # EmailMessage refuses line breaks in a header value; the damaged-mail tests cover those.
    return " ".join(value.replace("\x00", " ").splitlines())


@st.composite
def leaf(draw: st.DrawFn) -> EmailMessage:
    ctype = draw(st.sampled_from(LEAF_TYPES))
    part = new_part()
    charset = draw(st.sampled_from(CHARSETS))
    params = ""
    if draw(st.booleans()):
        params += (
            f'; charset="{_header_safe(charset)}"'
            if draw(st.booleans())
            else f"; charset={_header_safe(charset)}"
        )
    if ctype in ("text/calendar", "application/ics", "text/x-vcalendar"):
        params += "; method=" + draw(
            st.sampled_from(["REPLY", "REQUEST", "CANCEL", "COUNTER", "reply", "", "X"])
        )
        text = draw(written_calendar()).decode("utf-8", errors="replace")
        if draw(st.booleans()):
            text = text.replace("METHOD:", "X-OLD-METHOD:").replace(
                "BEGIN:VCALENDAR", "BEGIN:VCALENDAR\r\nMETHOD:REPLY", 1
            )
    elif "delivery-status" in ctype or "disposition" in ctype:
        text = draw(report_fields(ctype))
    elif ctype == "text/html":
        text = f"<html><body><p>{draw(body_texts)}</p><blockquote>{draw(body_texts)}</blockquote>"
    else:
        text = draw(body_texts)
    if ctype == "message/rfc822":
        inner = new_part()
        inner["From"] = "orig@agency.example"
        inner["Message-ID"] = "<orig@agency.example>"
        inner["Subject"] = _header_safe(draw(words))
        inner.set_payload(encode_body(text, "utf-8", "8bit", ""))
        part["Content-Type"] = ctype
        part.set_payload([inner])
        return part
    part["Content-Type"] = ctype + params if ctype else "; charset=utf-8"
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding:
        part["Content-Transfer-Encoding"] = _header_safe(encoding)
    if draw(st.integers(0, 3)) == 0:
        part["Content-Disposition"] = draw(
            st.sampled_from(["attachment; filename=m.txt", "inline", "attachment", "x; y="])
        )
    broken = draw(st.sampled_from(["", "", "cut", "junk", "one-line"]))
    part.set_payload(encode_body(text, charset, encoding, broken))
    return part


@st.composite
def multipart(draw: st.DrawFn, children: Sequence[EmailMessage]) -> EmailMessage:
    part = new_part()
    # Never an empty boundary: the generator would make one up at random (the damaged-mail
    # tests cover empty ones).
    boundary = draw(st.sampled_from(["b1", "b2", "=_Part_0", "-", "--", "b1 b2", "x" * 200, "b1"]))
    part["Content-Type"] = f'{draw(st.sampled_from(MULTIPART_TYPES))}; boundary="{boundary}"'
    part.set_payload(list(children))
    return part


def wrapped(draw: st.DrawFn, part: EmailMessage) -> EmailMessage:
    """``part`` one level deeper: inside a multipart, or as the body of an attached message."""
    if draw(st.booleans()):
        return draw(multipart([part]))
    if "From" not in part:
        part["From"] = "inner@agency.example"
    outer = new_part()
    outer["Content-Type"] = "message/rfc822"
    outer.set_payload([part])
    return outer


mime_trees = st.recursive(
    leaf(),
    lambda children: st.lists(children, min_size=1, max_size=4).flatmap(multipart),
    max_leaves=10,
)

DATES = (
    "Mon, 07 Dec 2026 09:30:00 +0800", "Thu, 32 Foo 99999 25:61:00 +9999", "", "yesterday",
    "Mon, 07 Dec 2026 09:30:00 (EDT) -0400", "Mon, 07 Dec 1926 09:30:00 +0000",
)  # fmt: skip
TOP_HEADERS: dict[str, st.SearchStrategy[str]] = {
    "To": st.sampled_from(["xiaoming.wang@agency.example", "", "undisclosed-recipients:;", "a@b"]),
    "Subject": words,
    "Date": st.sampled_from(DATES),
    "Message-ID": st.sampled_from(["<m1@acme.example>", "", "<>", "m1@x", f"<{'x' * 2000}@y>"]),
    "In-Reply-To": st.sampled_from(["<orig@agency.example>", "<a@b> <c@d>", "(comment)", ""]),
    "References": st.sampled_from(["<orig@agency.example>", "<a@x> " * 99, "<a@x"]),
    "Auto-Submitted": st.sampled_from(["auto-replied", "auto-generated", "no", "auto-notified; x"]),
    "X-Autoreply": st.just("yes"),
    "Precedence": st.sampled_from(["bulk", "junk", "auto_reply", "list"]),
    "Return-Path": st.sampled_from(["<>", "<MAILER-DAEMON@x.example>", "<jane@acme.example>"]),
    "X-Failed-Recipients": st.sampled_from(["jane@acme.example", ""]),
    "X-MS-Exchange-Message-Is-Ndr": st.just(""),
    "Received": st.sampled_from(["from x by y; Mon, 07 Dec 2026 09:30:00 +0000", "from x", "; 99"]),
    "MIME-Version": st.sampled_from(["1.0", "2.0", ""]),
}  # fmt: skip


def serialised(msg: Message, newline: bytes, encode_words: bool) -> bytes:
    """The bytes of ``msg`` as written by a mailer that does what it is told: the headers as
    set (non-ASCII ones as raw UTF-8 or as RFC 2047 words), the bodies as they are, the parts
    between their boundaries. (The ``email`` generator would repair or refuse what the fuzzing
    is there to send: bogus charsets over 8-bit bodies, report parts that are not field blocks.)
    """
    head = b""
    for name, value in msg.raw_items():
        text = str(value)
        if encode_words and not text.isascii():
            text = Header(text, "utf-8").encode()
        head += f"{name}: {text}".encode("utf-8", errors="surrogateescape") + newline
    # The payload as set: get_payload() would re-decode an 8-bit body in its charset.
    payload = msg._payload
    if isinstance(payload, list):
        parts = [serialised(p, newline, encode_words) for p in payload]
        boundary = msg.get_boundary()
        if boundary is None:  # an attached message
            body = b"".join(parts)
        else:
            dashes = b"--" + boundary.encode("utf-8")
            body = b"".join(newline + dashes + newline + p for p in parts)
            body += newline + dashes + b"--" + newline
    else:
        body = re.sub(rb"\r\n|\r|\n", newline, str(payload).encode("ascii", "surrogateescape"))
    return head + newline + body


SENDERS = (
    "jane@acme.example", "MAILER-DAEMON@mx.example", "Jane <jane@acme.example>", "<>",
    "postmaster@x.example", "=?utf-8?b?5byg5LiJ?= <zhang@x.example>",
)  # fmt: skip


@st.composite
def mime_message(draw: st.DrawFn) -> bytes:
    """A message built with EmailMessage: a random MIME tree, nested up to 30 deep, under
    random top-level headers (some repeated thousands of times), serialised with CRLF, LF or
    CR line ends."""
    tree = draw(mime_trees)
    for _ in range(draw(st.sampled_from([0, 0, 1, 3, 30]))):
        tree = wrapped(draw, tree)
    top = tree
    top["From"] = draw(st.sampled_from(SENDERS))
    repeated = b""
    for name in draw(st.lists(st.sampled_from(sorted(TOP_HEADERS)), max_size=8, unique=True)):
        value = _header_safe(draw(TOP_HEADERS[name]))
        top[name] = value
        # EmailMessage allows one Date, Subject, ...: the repeats go in front as raw lines.
        times = draw(st.sampled_from([0, 0, 0, 1, 1000]))
        repeated += f"{name}: {value}\r\n".encode("utf-8", errors="surrogateescape") * times
    ending = draw(st.sampled_from([b"\r\n", b"\n"]))
    raw = repeated + serialised(top, ending, encode_words=draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:
        raw = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    return raw


@fuzz(300)
@given(st.data())
def test_mime_trees_built_from_scratch_are_classified(data: st.DataObject) -> None:
    # Every such message has a From header and is mail: the classifier must read it, whatever
    # its parts, charsets and encodings, without refusing it.
    raw = data.draw(mime_message(), label="message")
    outcome = classify(raw, data.draw, "built.eml")
    assert not isinstance(outcome, UnreadableInput), outcome.reason
    count("MIME trees")


@fuzz(200)
@given(st.data())
def test_damaged_mime_trees_give_well_formed_signals_or_are_refused(data: st.DataObject) -> None:
    raw = data.draw(mime_message(), label="message")
    for _ in range(data.draw(st.integers(1, 3), label="faults")):
        raw = data.draw(mutation(raw, [raw]), label="fault")
    classify(raw, data.draw, "built.eml")
    count("damaged MIME trees")


# --- hostile sizes: each shape once, in a child process with bounded memory -------------------


def read_hostile_mail(raw: bytes) -> None:
    """The child's work for one hostile message: the whole contract."""
    try:
        signals = within(CALL_SECONDS, "classify_message", classify_message, raw, source="big.eml")
    except UnreadableInput as error:
        check_refusal(error, "big.eml")
        return
    check_signals(signals)


HEAD = b"From: jane@acme.example\r\nTo: ae@agency.example\r\nMessage-ID: <big@acme.example>\r\n"


def _nested(depth: int) -> bytes:
    body = b"hello\r\n"
    for level in range(depth):
        boundary = b"b%d" % level
        head = b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
        body = head + b"--" + boundary + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
    return HEAD + body


def _attached(depth: int) -> bytes:
    return HEAD + b"Content-Type: message/rfc822\r\n\r\nFrom: a@b\r\n" * depth + b"\r\nhi\r\n"


def _headers(line: bytes, times: int) -> bytes:
    return HEAD + line * times + b"\r\nhello\r\n"


def _body(head: bytes, body: bytes) -> bytes:
    return HEAD + head + b"\r\n" + body


def _dsn(recipients: int, address: bytes = b"a@b.example") -> bytes:
    head = b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"
    report = b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
    field = b"Final-Recipient: rfc822; " + address + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
    return _body(head, report + field * recipients + b"--b--\r\n")


def _parts(count: int, newline: bytes = b"\r\n") -> bytes:
    part = b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n"
    raw = _body(b"Content-Type: multipart/mixed; boundary=b\r\n", part * count + b"--b--\r\n")
    return raw.replace(b"\r\n", newline)


RECEIVED = b"Received: from x by y; Mon, 7 Dec 2026 09:30:00 +0000\r\n"
REFERENCES = b"References: " + b" ".join(b"<r%d@x.example>" % i for i in range(100_000)) + b"\r\n"
HOSTILE_MAIL: dict[str, Callable[[], bytes]] = {
    "100k headers": lambda: _headers(b"X-Header: value\r\n", 100_000),
    "20k received headers": lambda: _headers(RECEIVED, 20_000),
    "2 MB subject of encoded words": lambda: _headers(
        b"Subject: " + b"=?utf-8?q?x?= " * 150_000 + b"\r\n", 1
    ),
    "2 MB subject of words": lambda: _headers(b"Subject: " + b"word " * 400_000 + b"\r\n", 1),
    "2 MB to header": lambda: _headers(b"To: " + b"a@b.example, " * 150_000 + b"\r\n", 1),
    "100k references": lambda: _headers(REFERENCES, 1),
    "3 MB header line without spaces": lambda: _headers(b"X-Long: " + b"x" * (3 * MB) + b"\r\n", 1),
    "1000 nested multiparts": lambda: _nested(1000),
    "5000 nested attached messages": lambda: _attached(5000),
    "10k parts": lambda: _parts(10_000),
    # found by test_damaged_mime_trees_...: the cap on MIME parts counted LF-ended boundary
    # lines only (160k parts took 85 s with CR line ends, 0.2 s with LF)
    "160k parts with CR-only line ends": lambda: _parts(160_000, newline=b"\r"),
    "20 MB body on one line": lambda: _body(b"", b"x" * (20 * MB)),
    "10 MB base64 on one line": lambda: _body(
        b"Content-Transfer-Encoding: base64\r\n", base64.b64encode(b"x" * (7 * MB))
    ),
    "5 MB of quoted-printable soft breaks": lambda: _body(
        b"Content-Transfer-Encoding: quoted-printable\r\n", b"=\r\n" * (MB + MB // 2)
    ),
    "a report of 50k recipients": lambda: _dsn(50_000),
    # found by test_damaged_mime_trees_...: each recipient without an address made the
    # classifier read the whole message again (4.6 s for 400 of them, 18.5 s for 800)
    "a report of 3000 recipients without an address": lambda: _dsn(3000, address=b""),
    "1 MB of CR only": lambda: HEAD.replace(b"\r\n", b"\r") + b"\r" * MB + b"hi",
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_MAIL))
def test_a_hostile_message_is_classified_within_bounded_memory(shape: str, tmp_path: Path) -> None:
    raw = HOSTILE_MAIL[shape]()
    peak = run_bounded(f"{__name__}.read_hostile_mail", raw, tmp_path, shape)
    print(f"{shape}: {len(raw) / MB:.1f} MB read with a peak of {peak} MB")


def test_zz_print_how_many_examples_the_mail_fuzzing_ran(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capsys.disabled():
        for name, total in sorted(EXAMPLES_RUN.items()):
            print(f"\nfuzz examples run: {name}: {total}", end="")
    assert all(total > 0 for total in EXAMPLES_RUN.values())
