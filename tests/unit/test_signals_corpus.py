"""Inbound-mail classification against the real-world corpus (bounces, auto-replies, MDNs, iTIP).

The expectations below were written by reading each file and its MANIFEST.tsv description; the
failed recipients were checked by hand against the address the file itself names.
"""

from __future__ import annotations

import mailbox
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from mailer.signals import classify_message, parse_message
from rules.model import Signal, SignalKind
from tests.conftest import read_manifest, require_corpus

ARRIVED = datetime(2024, 5, 10, 9, 30, tzinfo=UTC)

B = SignalKind.BOUNCE
D = SignalKind.DELAYED
R = SignalKind.DELIVERY_RECEIPT
M = SignalKind.MESSAGE

# file -> (kind of each signal in order, failed recipient of each signal or None when unchecked)
EXPECTED_BOUNCES: dict[str, tuple[tuple[SignalKind, ...], tuple[str, ...] | None]] = {
    # An abuse complaint (RFC 5965) about a message, not a delivery failure.
    "arf-01.eml": ((M,), None),
    "bp-domino.unknown.msg": ((B,), ("recipient@example.net",)),
    "bp-iis-multiple-bounce.msg": (
        (B, B, B, B),
        (
            "bounced1@example.net",
            "bounced2@example.net",
            "bounced3@example.net",
            "bounced4@example.net",
        ),
    ),
    "bp-quota.msg": ((B,), ("a@b.c",)),
    "bp-surfcontrol-extra-newline.msg": ((B,), ("recipient@example.net",)),
    "bp-warning-8.msg": ((D,), ("fred.bloggs@alfred.b.c",)),
    "deltachat-dsn_relayed.eml": ((R,), ("anon_2@gmx.at",)),
    "deltachat-gmail_ndn.eml": ((B,), ("assidhfaaspocwaeofi@gmail.com",)),
    "deltachat-gmail_ndn_group.eml": ((B,), ("assidhfaaspocwaeofi@gmail.com",)),
    "deltachat-ndn_with_attachment.eml": ((B, B), ("bob@example.org", "bob2@example.net")),
    "deltachat-posteo_ndn.eml": ((B,), ("hanerthaertidiuea@gmx.de",)),
    "deltachat-testrun_ndn.eml": ((B,), ("hcksocnsofoejx@five.chat",)),
    "deltachat-yahoo_ndn.eml": ((B,), ("haeclirth.sinoenrat@yahoo.com",)),
    "dos-lhost-exchange2007-01.eml": ((B,), ("mikeneko@example.co.jp",)),
    # Original-Recipient is the address as sent; Final-Recipient is the server's internal name.
    "flufl-dsn_01.txt": ((B,), ("jimmymcegypt@go.com",)),
    "flufl-dsn_05.txt": ((D,), ("pkocmid@atlas.cz",)),
    "flufl-dsn_13.txt": ((B,), ("marcooherbst@cardinal.com",)),
    "flufl-dsn_15.txt": ((B,), ("horu@ccc-ces.com",)),
    "flufl-llnl_01.txt": ((B,), ("trotts1@llnl.gov",)),
    "flufl-microsoft_01.txt": ((B,), ("djbennett@ikon.com",)),
    # A list's "awaits moderator approval" notice dressed as a Non-Delivery report.
    "flufl-microsoft_03.txt": ((M,), None),
    "flufl-simple_13.txt": ((B,), ("dycusibreix@ademe.fr",)),
    # An auto-response to a moderation notice: not a bounce of anything we sent.
    "flufl-simple_20.txt": ((M,), None),
    # "Delivery attempts will continue to be made for 5 day(s)... do not resend": a warning.
    "flufl-simple_22.txt": ((D,), ("rlipton@prev.org",)),
    "flufl-sina_01.txt": ((B, B), ("alan_t18@sina.com", "boboman76@sina.com")),
    "flufl-smtp32_01.txt": ((B,), ("oliver@pcworld.com.ph",)),
    "flufl-yahoo_02.txt": ((B,), ("agarciamartiartu@yahoo.es",)),
    "lhost-amazonses-01.eml": ((B,), ("shironeko@example.co.jp",)),
    "lhost-amazonworkmail-01.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-apachejames-01.eml": ((B,), ("000000000000@vtext.example.com",)),
    "lhost-courier-01.eml": ((B,), ("kijitora@example.co.jp",)),
    "lhost-domino-01.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-dragonfly-01.eml": ((B,), ("pseudo-local-part@google.example.com",)),
    "lhost-exchange2007-01.eml": ((B,), ("mikeneko@example.co.jp",)),
    "lhost-exchange2007-03.eml": ((B,), ("kijitora@neko.example.com",)),
    "lhost-exim-01.eml": ((B,), ("kijitora@example.ed.jp",)),
    "lhost-gmail-01.eml": ((B,), ("userunknown@example.jp",)),
    "lhost-gmx-01.eml": ((B,), ("shironeko@example.jp",)),
    "lhost-googlegroups-01.eml": ((B,), ("libsisimai@googlegroups.com",)),
    "lhost-imailserver-01.eml": ((B,), ("kijitora@example.com",)),
    "lhost-mailru-01.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-mcafee-01.eml": ((B,), ("kijitora@example.co.jp",)),
    "lhost-mimecast-01.eml": ((B,), ("sabineko@neko.ef.example.org",)),
    "lhost-mxlogic-01.eml": ((B,), ("kijitora@example.co.jp",)),
    "lhost-notes-01.eml": ((B,), ("kijitora@u1.example.co.jp",)),
    "lhost-office365-01.eml": ((B,), ("kijitora@example.com",)),
    "lhost-office365-05.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-opensmtpd-01.eml": ((B,), ("apdugoaidugoaidugoaeiudggadi@gmail.com",)),
    "lhost-outlook-06.eml": ((D,), ("kijitora@example.com",)),
    "lhost-postfix-01.eml": ((B,), ("kijitora@example.org",)),
    "lhost-powermta-01.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-receivingses-01.eml": ((B,), ("userunknown@neko.example.jp",)),
    "lhost-sendgrid-01.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-sendmail-01.eml": ((B,), ("userunknown@bouncehammer.jp",)),
    "lhost-trendmicro-01.eml": ((B,), ("kijitora@example.co.jp",)),
    # Sendmail gave up after four days and returned the message: final, although the
    # transcript shows a 421 deferral.
    "lhost-v5sendmail-01.eml": ((B,), ("kijitora@example.com",)),
    "lhost-x2-01.eml": ((B,), ("kijitora@example.co.jp",)),
    "lhost-yandex-01.eml": ((B,), ("kijitora@example.jp",)),
    "lhost-zoho-01.eml": ((B,), ("kijitora@example.co.jp",)),
    "mac-lhost-postfix-01.eml": ((B,), ("kijitora@example.org",)),
    "rfc3464-01.eml": ((B,), ("userunknown@bouncehammer.jp",)),
    "rfc3464-07.eml": ((D,), ("kijitora@example.net",)),
    "rfc3464-39.eml": ((B,), ("kijitora@nyaan.example.net",)),
    "rhost-apple-01.eml": ((B,), ("kijitora@example.jp",)),
    "rhost-facebook-03.eml": ((B,), ("kijitora@facebook.com",)),
    "rhost-franceptt-01.eml": ((B,), ("pseudo-local-part-kijitora-nyaaan@orange.fr",)),
    "rhost-gsuite-01.eml": ((B,), ("kijitora@example.de",)),
    "rhost-messagelabs-01.eml": ((B,), ("kijitora@example.messagelabs.com",)),
    "rhost-microsoft-01.eml": ((B,), ("kijitora@example.com",)),
    "rhost-outlook-01.eml": ((B,), ("kijitora@example.jp",)),
    "rhost-outlook-06.eml": ((D,), ("kijitora@example.com",)),
    "rhost-tencent-01.eml": ((B,), ("nekochan@qq.example.cn",)),
    "rhost-zoho-01.eml": ((B,), ("kijitora@zoho.example.com",)),
    # Most severe first; the delayed recipient is reported by its Original-Recipient.
    "stalwart-dsn-mixed-failed-delivered-delayed.eml": (
        (B, D, R),
        ("foobar@example.org", "jdoe@example.org", "jane@example.org"),
    ),
    "stalwart-dsn-success-delivered.eml": ((R,), ("jane@example.org",)),
}

# Files whose returned original (or X-Original-Message-ID) names the message that bounced.
RETURNED_ORIGINALS = {
    "deltachat-gmail_ndn.eml": (
        "<CABXKi8zruXJc_6e4Dr087H5wE7sLp+u250o0N2q5DdjF_r-8wg@mail.gmail.com>"
    ),
    "flufl-microsoft_01.txt": "<5.1.1.5.2.20021004224506.00bd9ff8@mail.chello.se>",
    "lhost-office365-01.eml": "<FFFFFFFF.EEEEEEEE@example.ed.jp>",
    "rhost-messagelabs-01.eml": "<000000000222.0000.0000000000000000202@NEKO.NYAAN>",
    "lhost-zoho-01.eml": "<14a3e1b4b5a.10b1a4c5610175.8588386083425091336@zoho.example.com>",
    "lhost-dragonfly-01.eml": "<66681288.e06d1.3824794@df.example.jp>",
}


def _classify(folder: Path, name: str) -> tuple[Signal, ...]:
    return classify_message((folder / name).read_bytes(), source=name, received_at=ARRIVED)


def test_every_bounce_corpus_file_has_an_expectation() -> None:
    folder = require_corpus("bounces")
    listed = {row["file"] for row in read_manifest("bounces")}
    present = {p.name for p in folder.iterdir() if p.name != "MANIFEST.tsv"}
    assert listed == present
    assert set(EXPECTED_BOUNCES) == listed


def test_expectations_agree_with_the_manifest_descriptions() -> None:
    for row in read_manifest("bounces"):
        kinds = set(EXPECTED_BOUNCES[row["file"]][0])
        description = row["description"]
        if "DELIVERY RECEIPT" in description:
            assert kinds == {SignalKind.DELIVERY_RECEIPT}, row["file"]
        if re.search(r"not a bounce|NOT a real bounce|feedback-report", description):
            assert SignalKind.BOUNCE not in kinds, row["file"]
        if re.search(r"\(Delay\)|Delayed Mail|delay DSN|Delivery Delayed", description):
            assert kinds == {SignalKind.DELAYED}, row["file"]


@pytest.mark.parametrize("name", sorted(EXPECTED_BOUNCES))
def test_bounce_corpus_file_is_classified_as_expected(name: str) -> None:
    kinds, recipients = EXPECTED_BOUNCES[name]
    signals = _classify(require_corpus("bounces"), name)
    assert tuple(s.kind for s in signals) == kinds
    if recipients is not None:
        assert tuple(s.recipient for s in signals) == recipients
    for signal in signals:
        assert "\n" not in signal.reason and "\r" not in signal.subject
        assert not signal.kind.confirms_receipt or signal.kind is SignalKind.MEETING_RESPONSE


@pytest.mark.parametrize("name", sorted(RETURNED_ORIGINALS))
def test_a_bounce_answers_the_message_it_returns(name: str) -> None:
    signals = _classify(require_corpus("bounces"), name)
    assert signals[0].answers[0] == RETURNED_ORIGINALS[name]


def test_a_bounce_reports_the_enhanced_status_and_the_diagnostic() -> None:
    (signal,) = _classify(require_corpus("bounces"), "deltachat-gmail_ndn.eml")
    assert signal.status == "5.1.1"
    assert "does not exist" in signal.reason
    (office,) = _classify(require_corpus("bounces"), "lhost-office365-01.eml")
    assert office.status == "5.1.10"


def test_a_report_without_a_date_takes_the_arrival_time() -> None:
    signals = _classify(require_corpus("bounces"), "stalwart-dsn-success-delivered.eml")
    assert [s.at for s in signals] == [ARRIVED]


def test_the_bounce_date_comes_from_its_date_header() -> None:
    (signal,) = _classify(require_corpus("bounces"), "rfc3464-01.eml")
    assert signal.at == parsedate_to_datetime("Wed, 16 Oct 2013 14:15:35 +0900")


AUTOREPLY_FILES = [
    "bp-aol-vacation.msg",
    "bp-autoreply-thank-you.msg",
    "bp-polish-wp-autoreply.msg",
    "exim-autoreply-empty-subject.mbox",
    "soe-rfc3834-02.eml",
    "soe-rfc3834-03.eml",
    "soe-rfc3834-04.eml",
    "soe-rfc3834-06.eml",
]


def test_every_autoreply_corpus_file_is_covered() -> None:
    listed = {row["file"] for row in read_manifest("autoreplies")}
    handled = {
        *AUTOREPLY_FILES,
        "exim-autoreply-threading.mbox",
        "bp-boxbe-challenge-response.msg",
    }
    assert listed == handled


@pytest.mark.parametrize("name", AUTOREPLY_FILES)
def test_an_automatic_reply_is_recorded_and_confirms_nothing(name: str) -> None:
    (signal,) = _classify(require_corpus("autoreplies"), name)
    assert signal.kind is SignalKind.AUTO_REPLY
    assert not signal.kind.confirms_receipt


def test_every_message_of_an_exim_autoreply_mbox_is_an_automatic_reply() -> None:
    path = require_corpus("autoreplies") / "exim-autoreply-threading.mbox"
    messages = [m.as_bytes() for m in mailbox.mbox(path, create=False)]
    assert len(messages) == 10
    for raw in messages:
        (signal,) = classify_message(raw, source=path.name, received_at=ARRIVED)
        assert signal.kind is SignalKind.AUTO_REPLY


def test_an_automatic_reply_keeps_what_it_answers() -> None:
    (signal,) = _classify(require_corpus("autoreplies"), "soe-rfc3834-03.eml")
    assert signal.answers == ("<25203A4E-F90F-4A14-BF51-3E7B9D39BE8E@libsisimai.org>",)
    assert signal.recipient == "kijitora@apple.example.com"


def test_a_challenge_response_is_neither_a_bounce_nor_a_confirmation() -> None:
    signals = _classify(require_corpus("autoreplies"), "bp-boxbe-challenge-response.msg")
    assert signals
    for signal in signals:
        assert signal.kind is SignalKind.AUTO_REPLY
        assert not signal.kind.confirms_receipt
    assert signals[0].recipient == "bloggs.fred@googlemail.com"


def test_the_exchange_read_receipt_answers_the_original_it_was_asked_by() -> None:
    folder = require_corpus("mdn")
    original = parse_message(
        (folder / "deltachat-exchange-read-receipt-de.ORIGINAL.eml").read_bytes()
    )
    original_id = str(original["Message-ID"]).strip()
    (signal,) = _classify(folder, "deltachat-exchange-read-receipt-de.eml")
    assert signal.kind is SignalKind.READ_RECEIPT
    assert original_id in signal.answers
    assert signal.recipient == "bob@example.net"


def test_the_original_that_asked_for_a_receipt_is_not_one() -> None:
    (signal,) = _classify(require_corpus("mdn"), "deltachat-exchange-read-receipt-de.ORIGINAL.eml")
    assert signal.kind is SignalKind.MESSAGE


def test_the_rfc_example_mdn_is_a_read_receipt_for_its_original_message_id() -> None:
    (signal,) = _classify(require_corpus("mdn"), "rfc3798-example-mdn.eml")
    assert signal.kind is SignalKind.READ_RECEIPT
    assert signal.answers[0] == "<199509192301.23456@example.org>"
    assert signal.recipient == "joe_recipient@example.com"
    assert signal.at == datetime(1995, 9, 20, 4, 19, tzinfo=UTC)


def test_a_processed_disposition_is_not_taken_for_a_read() -> None:
    # RFC 8098 3.2.6.3: "processed" means a client handled it, not that anyone read it.
    (signal,) = _classify(require_corpus("mdn"), "deltachat-mdn-without-original-message-id.eml")
    assert signal.kind is SignalKind.MESSAGE
    assert not signal.kind.confirms_receipt
    assert signal.recipient == "bob@example.net"
    assert "processed" in signal.reason


EXPECTED_ITIP_UIDS = {
    "itip-email-google-meet-request.eml": "65m17hsdolmotv3kvmrtg40ont@google.com",
    "itip-email-icloud-request-french.eml": "65BEB44C-9B9F-4DE3-BA5F-8153629CA077",
    "itip-email-teams-meeting-request.eml": (
        "056000008200E00074C5B7101A82E008000000001AF84C64CBC8D601000000000000000010000000"
        "403B5AC10A0EB444A947D2B499A4B98C"
    ),
}


def test_every_itip_mail_in_the_corpus_has_an_expected_uid() -> None:
    folder = require_corpus("ics")
    assert {p.name for p in folder.glob("itip-email-*.eml")} == set(EXPECTED_ITIP_UIDS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ITIP_UIDS))
def test_an_itip_invitation_mail_is_a_meeting_request(name: str) -> None:
    (signal,) = _classify(require_corpus("ics"), name)
    assert signal.kind is SignalKind.MEETING_REQUEST
    assert signal.uid == EXPECTED_ITIP_UIDS[name]
    assert signal.occurrence_id == ""
