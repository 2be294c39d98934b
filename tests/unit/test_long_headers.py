"""Headers built from a meeting's UID stay within RFC 5322's 998 octets a line, however long the
UID, and read back as the UID: a lost store is rebuilt from Sent by these headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from aeflow.clock import FixedClock
from mailer.compose import compose
from mailer.maildir import MaildirMailbox
from mailer.port import COVERS_HEADER, KEY_HEADER, MEETING_HEADER, MEETING_UID_HEADER
from mailer.render import RenderedMail
from rules.model import Person

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
AE = Person("wang.fang@agency.example", "王芳")
CLIENT = Person("li.wei@yunshan-foods.example.cn", "李伟")
LENGTHS = [300, 2_000]


def uid_of(length: int) -> str:
    """A UID as Outlook-like producers write them, one token without spaces."""
    domain = "@calendar.example.com"
    body = ("040000008200E00074C5B7101A82E008" * 100)[: length - len(domain)]
    return body + domain


def message_for(uid: str) -> tuple[EmailMessage, str, str]:
    meeting = f"{uid}/20260303T020000Z"
    key = f"confirm:{meeting}:20260303T020000Z"
    mail = RenderedMail(subject="会议确认", text="您好\n", html="<p>您好</p>\n")
    headers = {
        MEETING_HEADER: meeting,
        MEETING_UID_HEADER: uid,
        COVERS_HEADER: f"remind:{meeting}:1 remind:{meeting}:2",
    }
    return compose(mail, sender=AE, to=[CLIENT], headers=headers), meeting, key


def lines_of(data: bytes) -> list[bytes]:
    return data.replace(b"\r\n", b"\n").split(b"\n")


@pytest.mark.parametrize("length", LENGTHS)
def test_the_sent_copy_has_no_line_over_998_octets_and_is_found_by_its_uid(
    tmp_path: Path, length: int
) -> None:
    uid = uid_of(length)
    message, meeting, key = message_for(uid)
    box = MaildirMailbox(
        tmp_path / "Inbox", tmp_path / "Sent", "agency.example", clock=FixedClock(START).now
    )
    box.send(message, key)

    (copy,) = [p for p in (tmp_path / "Sent").rglob("*") if p.is_file()]
    assert max(len(line) for line in lines_of(copy.read_bytes())) <= 998
    # Found again after a restart, by a new mailbox reading Sent as a lost store is rebuilt.
    reopened = MaildirMailbox(
        tmp_path / "Inbox", tmp_path / "Sent", "agency.example", clock=FixedClock(START).now
    )
    record = reopened.find_sent(key)
    assert record is not None
    assert (record.key, record.meeting, record.meeting_uid) == (key, meeting, uid)
    assert record.covers == (f"remind:{meeting}:1", f"remind:{meeting}:2")
    (listed,) = reopened.sent_since(START - timedelta(days=1))
    assert listed.meeting_uid == uid


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("wire", ["own policy", "SMTP", "unfolded, as mailbox writes"])
def test_every_way_of_writing_the_message_keeps_lines_within_998_and_the_uid_whole(
    length: int, wire: str
) -> None:
    uid = uid_of(length)
    message, meeting, key = message_for(uid)
    message[KEY_HEADER] = key  # as a backend stamps it
    chosen = {
        "own policy": message.policy,
        "SMTP": policy.SMTP,
        "unfolded, as mailbox writes": message.policy.clone(max_line_length=0),
    }[wire]
    data = message.as_bytes(policy=chosen)

    assert max(len(line) for line in lines_of(data)) <= 998
    back = BytesParser(policy=policy.default).parsebytes(data)
    assert str(back[MEETING_UID_HEADER]) == uid
    assert str(back[MEETING_HEADER]) == meeting
    assert str(back[KEY_HEADER]) == key


def test_a_header_that_fits_a_line_is_written_unfolded_as_before() -> None:
    message, _, key = message_for(uid_of(120))
    message[KEY_HEADER] = key
    data = message.as_bytes(policy=message.policy.clone(max_line_length=0))
    assert f"{MEETING_UID_HEADER}: {uid_of(120)}".encode() in lines_of(data)
    assert f"{KEY_HEADER}: {key}".encode() in lines_of(data)
