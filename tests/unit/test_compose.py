"""Composing MIME: the message parses back whole, names and subjects survive in Chinese, receipts
are asked for only when wanted, and nothing from outside can write a header."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.compose import Attachment, compose
from mailer.headers import sanitise
from mailer.render import RenderedMail, Renderer
from rules.model import Person
from tests.conftest import read_manifest, require_corpus
from tests.unit.test_render_golden import sample_context

AE = Person("wang.fang@agency.example.cn", "王芳")
LI_WEI = Person("li.wei@yunshan-foods.example.cn", "李伟")
EVIL = "\r\nBcc: evil@example.com"
# Chinese names as address books hold them: with titles, brackets, departments in English
CHINESE_NAMES = (
    "李伟",
    "欧阳明艳（市场总监）",
    "刘伟军 经理",
    "吴芳 (Marketing)",
    "司马涛 Director",
    "张敏",
    "赵洋（市场总监）",
    "黄娜艳 品牌部 高级经理",
)


@pytest.fixture(scope="module")
def mail() -> RenderedMail:
    return Renderer().render("confirmation", "zh-CN", sample_context("confirmation", "zh-CN"))


def parse(message: EmailMessage, *, smtp: bool = False) -> EmailMessage:
    """What a receiving mail client sees: the bytes on the wire read back."""
    raw = message.as_bytes(policy=policy.SMTP if smtp else message.policy)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_lines(message: EmailMessage, *, smtp: bool = True) -> list[bytes]:
    raw = message.as_bytes(policy=policy.SMTP if smtp else message.policy)
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].split(b"\n")


def test_a_mail_parses_back_into_its_text_and_html_parts(mail: RenderedMail) -> None:
    parsed = parse(compose(mail, sender=AE, to=[LI_WEI]))

    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert plain.get_content() == mail.text
    assert html.get_content() == mail.html
    assert parsed["Subject"] == mail.subject
    assert parsed["MIME-Version"] == "1.0"
    assert "MIME-Version" not in plain and "MIME-Version" not in html


@pytest.mark.parametrize("smtp", [False, True], ids=["lf", "crlf"])
def test_chinese_names_and_subjects_round_trip(mail: RenderedMail, smtp: bool) -> None:
    people = [
        Person(f"person{i}@yunshan-foods.example.cn", name) for i, name in enumerate(CHINESE_NAMES)
    ]

    parsed = parse(compose(mail, sender=AE, to=people[:5], cc=people[5:]), smtp=smtp)

    assert [a.display_name for a in parsed["To"].addresses] == list(CHINESE_NAMES[:5])
    assert [a.display_name for a in parsed["Cc"].addresses] == list(CHINESE_NAMES[5:])
    assert [a.addr_spec for a in parsed["To"].addresses] == [p.email for p in people[:5]]
    assert parsed["From"].addresses[0].display_name == "王芳"
    assert parsed["Subject"] == mail.subject


def test_an_english_name_with_specials_is_quoted_and_round_trips(mail: RenderedMail) -> None:
    name = 'Clarke, Emma "Em" (Northwind\\Shanghai)'

    parsed = parse(compose(mail, sender=AE, to=[Person("emma@northwind.example.com", name)]))

    (address,) = parsed["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "emma@northwind.example.com")


def test_receipts_are_asked_for_only_when_wanted(mail: RenderedMail) -> None:
    asked = parse(compose(mail, sender=AE, to=[LI_WEI], request_receipts=True))
    plain = parse(compose(mail, sender=AE, to=[LI_WEI]))

    assert asked["Disposition-Notification-To"] == "<wang.fang@agency.example.cn>"
    assert asked["Return-Receipt-To"] == "<wang.fang@agency.example.cn>"
    assert "Disposition-Notification-To" not in plain
    assert "Return-Receipt-To" not in plain
    for client_mail in (asked, plain):
        # the client's out-of-office replies are recorded, so nothing may suppress them
        assert "X-Auto-Response-Suppress" not in client_mail
        assert "Auto-Submitted" not in client_mail


def test_mail_to_the_ae_is_marked_automatic() -> None:
    alert = Renderer().render("bounce_alert", "zh-CN", sample_context("bounce_alert", "zh-CN"))

    parsed = parse(compose(alert, sender=AE, to=[AE], automated=True))

    assert parsed["Auto-Submitted"] == "auto-generated"
    assert "OOF" in parsed["X-Auto-Response-Suppress"]
    assert "Disposition-Notification-To" not in parsed


def test_message_id_and_date_are_left_to_the_backend_unless_given(mail: RenderedMail) -> None:
    bare = compose(mail, sender=AE, to=[LI_WEI])
    stamped = compose(
        mail,
        sender=AE,
        to=[LI_WEI],
        headers={"Message-ID": "<c1@agency.example.cn>", "Date": "Fri, 27 Nov 2026 16:00:00 +0800"},
    )

    assert "Message-ID" not in bare and "Date" not in bare
    parsed = parse(stamped)
    assert parsed["Message-ID"] == "<c1@agency.example.cn>"
    assert parsed["Date"].datetime.isoformat() == "2026-11-27T16:00:00+08:00"


def test_a_reply_carries_its_thread(mail: RenderedMail) -> None:
    parsed = parse(
        compose(
            mail,
            sender=AE,
            to=[LI_WEI],
            reply_to=Person("team@agency.example.cn", "客户服务部"),
            in_reply_to="<c1@agency.example.cn>",
            references=["<b0@agency.example.cn>", "<c1@agency.example.cn>"],
        )
    )

    assert parsed["In-Reply-To"] == "<c1@agency.example.cn>"
    assert parsed["References"] == "<b0@agency.example.cn> <c1@agency.example.cn>"
    assert parsed["Reply-To"].addresses[0].display_name == "客户服务部"


# --- hostile input ----------------------------------------------------------------------------


def test_a_line_break_in_a_subject_or_a_name_creates_no_header() -> None:
    hostile = RenderedMail(subject=f"会议确认{EVIL}", text="正文\n", html="<p>正文</p>\n")
    people = [Person("li.wei@yunshan-foods.example.cn", f"李伟{EVIL}"), Person("a@b.example", EVIL)]

    message = compose(hostile, sender=Person(AE.email, f"王芳{EVIL}"), to=people, cc=people[:1])
    parsed = parse(message, smtp=True)

    assert "Bcc" not in parsed
    assert not any(line.lower().startswith(b"bcc") for line in header_lines(message))
    assert parsed["Subject"] == "会议确认 Bcc: evil@example.com"
    assert [a.addr_spec for a in parsed["To"].addresses] == [p.email for p in people]
    assert parsed["To"].addresses[0].display_name == "李伟 Bcc: evil@example.com"


@given(name=st.text(max_size=11), subject=st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_name_and_subject_come_back_as_one_clean_line(name: str, subject: str) -> None:
    # A name of up to 11 characters fits one encoded word; longer ones are split into several,
    # which the standard library's address parser joins back with a space (RFC 2047 says the
    # reader should ignore that space; mail clients do).
    mail = RenderedMail(subject=subject, text="x\n", html="<p>x</p>\n")
    message = compose(mail, sender=AE, to=[Person("li.wei@example.com", name), LI_WEI])

    parsed = parse(message, smtp=True)

    assert set(parsed.keys()) == {"Subject", "From", "To", "MIME-Version", "Content-Type"}
    assert parsed["Subject"] == sanitise(subject, 200)
    assert [a.display_name for a in parsed["To"].addresses] == [sanitise(name, 200), "李伟"]


def test_every_header_line_is_folded_within_78_columns() -> None:
    long_mail = RenderedMail(
        subject="提案" * 150 + " Spring campaign " * 10 + "x" * 150, text="t\n", html="<p>h</p>\n"
    )
    people = [
        Person("a@example.com", "欧阳" * 150),
        Person("b@example.com", "Very Long English Name, " * 12),
        Person("c@example.com", "Unbreakable" * 18),
        Person("d@example.com", "=?utf-8?q?not_an_encoded_word?="),
    ]

    message = compose(long_mail, sender=AE, to=people, cc=people, request_receipts=True)

    assert max(len(line) for line in header_lines(message)) <= 78
    parsed = parse(message, smtp=True)
    # a name longer than one encoded word comes back with a space where the words meet: the
    # standard library's address parser does not join adjacent encoded words (RFC 2047 6.2)
    assert parsed["To"].addresses[2].display_name.replace(" ", "") == "Unbreakable" * 18
    assert parsed["To"].addresses[3].display_name == "=?utf-8?q?not_an_encoded_word?="


def test_an_address_too_long_to_fold_stays_within_998_bytes() -> None:
    # RFC 5322 2.1.1: 998 is the hard limit; 78 is where a line SHOULD break, and cannot here.
    # Serialised with the message's own policy, as smtplib and mailbox do: a policy that folds
    # long lines again would hand the line to the library's folder, which can lose an address.
    address = "d" * 60 + "@" + "e" * 60 + ".example.com"
    mail = RenderedMail(subject="提案", text="t\n", html="<p>h</p>\n")

    message = compose(mail, sender=AE, to=[Person(address, "张敏"), LI_WEI])

    long = [line for line in header_lines(message, smtp=False) if len(line) > 78]
    assert long and all(address.encode() in line and len(line) <= 998 for line in long)
    to = parse(message)["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [
        ("张敏", address),
        ("李伟", LI_WEI.email),
    ]


@pytest.mark.parametrize(
    "email",
    ["li.wei@example.com\r\nBcc: evil@example.com", "no-at-sign", "a b@example.com", "<a@b>@c.d"],
)
def test_an_address_that_is_not_one_is_refused(mail: RenderedMail, email: str) -> None:
    with pytest.raises(ValueError, match="not a mail address"):
        compose(mail, sender=AE, to=[Person(email, "x")])


def test_an_internationalised_domain_is_written_in_ascii(mail: RenderedMail) -> None:
    parsed = parse(compose(mail, sender=AE, to=[Person("info@例子.中国", "客服")]))

    assert parsed["To"].addresses[0].addr_spec == "info@xn--fsqu00a.xn--fiqs8s"


def test_a_non_ascii_local_part_is_refused(mail: RenderedMail) -> None:
    with pytest.raises(ValueError, match="not a mail address"):
        compose(mail, sender=AE, to=[Person("李伟@example.com")])


@pytest.mark.parametrize(
    "headers",
    [
        {"X-AEFlow-Key": "confirm:1\r\nBcc: evil@example.com"},
        {"X-Note": "a\nb"},
        {"Bcc: x\r\nX-A": "1"},
        {"Bcc": "evil@example.com"},
        {"Subject": "another subject"},
    ],
)
def test_headers_that_could_break_the_message_are_refused(
    mail: RenderedMail, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        compose(mail, sender=AE, to=[LI_WEI], headers=headers)


@pytest.mark.parametrize("bad", ["c1@agency.example.cn", "<c1>", "<a@b>\r\nBcc: x", "<a b@c>"])
def test_a_malformed_message_id_is_refused(mail: RenderedMail, bad: str) -> None:
    with pytest.raises(ValueError, match="not a message id"):
        compose(mail, sender=AE, to=[LI_WEI], in_reply_to=bad)


def test_a_mail_needs_a_recipient(mail: RenderedMail) -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        compose(mail, sender=AE, to=[])


# --- attachments ------------------------------------------------------------------------------


def test_an_invitation_attached_keeps_its_method_and_its_bytes(mail: RenderedMail) -> None:
    folder = require_corpus("ics")
    (row,) = [
        r for r in read_manifest("ics") if r["file"] == "exchange2010-request-romance-rsvps.ics"
    ]
    ics = (folder / row["file"]).read_bytes()

    parsed = parse(
        compose(mail, sender=AE, to=[LI_WEI], attachments=[Attachment.calendar(ics, "request")]),
        smtp=True,
    )

    assert parsed.get_content_type() == "multipart/mixed"
    body, invitation = parsed.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert invitation.get_content_type() == "text/calendar"
    assert invitation.get_param("method") == "REQUEST"
    assert invitation.get_content_charset() == "utf-8"
    assert invitation.get_filename() == "invite.ics"
    assert invitation.get_payload(decode=True) == ics


def test_an_attachment_name_cannot_carry_a_path_or_a_header(mail: RenderedMail) -> None:
    pdf = Attachment(f"../../报价单{EVIL}.pdf", b"%PDF-1.4\n", "application", "pdf")

    parsed = parse(compose(mail, sender=AE, to=[LI_WEI], attachments=[pdf]), smtp=True)

    (_, attached) = parsed.iter_parts()
    assert attached.get_filename() == ".. .. 报价单 Bcc: evil@example.com.pdf"
    assert attached.get_payload(decode=True) == b"%PDF-1.4\n"
    assert "Bcc" not in parsed
