"""Control characters from outside (ESC, NEL, the bidi overrides and isolates, the line and
paragraph separators, C0, DEL and C1) are taken out where untrusted text enters, so none reaches
a client's mail: not its text, its HTML or its calendar part. U+2028 would otherwise show a
forged ``Bcc:`` line in an agenda; U+202E would turn "evil.example" around."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import load_config
from aeflow.demo_week import write_config
from aeflow.demo_world import JANE, TOM, World, ics_time, local
from aeflow.engine import Engine
from calendar_sync.ics import parse_calendar
from mailer.minutes_text import parse_minutes, read_reply
from rules.text import clean_text
from tests.system.test_invitations import MONDAY, THURSDAY

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
C0 = [chr(c) for c in range(0x20) if chr(c) not in "\t\n"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
SEPARATORS = ["\u2028", "\u2029"]
UNWANTED = set(BIDI + C0 + C1 + SEPARATORS + ["\x7f"])
ESC, NEL, RLO = "\x1b", "\x85", "\u202e"


# --- the one cleaning function ----------------------------------------------------------------


def test_separators_are_line_breaks_in_notes_and_spaces_in_a_subject() -> None:
    forged = "Agenda: recap\u2028Bcc: x@evil.example\u2029Done"
    assert clean_text(forged, multiline=True) == "Agenda: recap\nBcc: x@evil.example\nDone"
    assert clean_text(forged, multiline=False) == "Agenda: recap Bcc: x@evil.example Done"


def test_escapes_bidi_controls_and_c0_c1_controls_are_removed() -> None:
    text = f"{ESC}[31mRed{ESC}[0m {RLO}elpmaxe.live{NEL}x\x00\x07\x7f\x9b{BIDI[-1]}"
    assert clean_text(text, multiline=True) == "[31mRed[0m elpmaxe.livex"


def test_tabs_line_feeds_and_ordinary_text_are_kept() -> None:
    text = "品牌回顾\t30 分钟\nTier-2 cities — é ü 😀 \u200d"
    assert clean_text(text, multiline=True) == text
    assert clean_text("a\r\nb\rc", multiline=True) == "a\nb\nc"
    assert clean_text("a\r\nb\nc", multiline=False) == "a b c"


@given(st.text(), st.booleans())
def test_no_unwanted_character_survives_cleaning(text: str, multiline: bool) -> None:
    cleaned = clean_text(text, multiline=multiline)
    assert not UNWANTED.intersection(cleaned)
    assert "\r" not in cleaned
    assert multiline or "\n" not in cleaned
    assert clean_text(cleaned, multiline=multiline) == cleaned


# --- where untrusted text enters --------------------------------------------------------------

HOSTILE_SUMMARY = f"Acme {ESC}[2J pitch{RLO}gpj.exe\u2028Bcc: x@evil.example{NEL}\x7f"
HOSTILE_LOCATION = f"Studio{BIDI[0]} 3\u2029{chr(0x9B)}floor{chr(0x2066)}"
HOSTILE_NOTES = (
    f"1. Recap - 15 min\u2028Bcc: x@evil.example\n2. Concepts - 45 min{ESC}]0;pwned\x07\n"
    f"Bring: samples{RLO}{chr(0x2069)}\x01\x1f"
)
# A parameter with a C0 control in it is refused by icalendar, and the attendee with it.
HOSTILE_NAME = f"Jane{RLO} Doe\u2028Bcc: x@evil.example{NEL}{chr(0x2067)}"


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def test_a_calendar_event_is_read_without_the_characters() -> None:
    data = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:hostile@x.example\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20261210T060000Z\r\nDTEND:20261210T073000Z\r\n"
        f"SUMMARY:{_ics_text(HOSTILE_SUMMARY)}\r\nLOCATION:{_ics_text(HOSTILE_LOCATION)}\r\n"
        f"DESCRIPTION:{_ics_text(HOSTILE_NOTES)}\r\n"
        f'ATTENDEE;CN="{HOSTILE_NAME}":mailto:{JANE[1]}\r\n'
        f"ORGANIZER;CN=Wang{RLO}:mailto:xiaoming.wang@agency.example\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    (event,) = parse_calendar(data, "hostile.ics", ZoneInfo("Asia/Shanghai")).events
    meeting = event.meeting
    assert meeting.subject == "Acme [2J pitchgpj.exe Bcc: x@evil.example"
    assert meeting.location == "Studio 3 floor"
    assert meeting.body == (
        "1. Recap - 15 min\nBcc: x@evil.example\n2. Concepts - 45 min]0;pwned\nBring: samples"
    )
    assert meeting.attendees[0].person.name == "Jane Doe Bcc: x@evil.example"
    assert meeting.organizer is not None and meeting.organizer.name == "Wang"


def test_a_minutes_reply_is_read_without_the_characters() -> None:
    raw = (
        "From: AE <ae@agency.example>\r\nTo: ae@agency.example\r\nSubject: Re: minutes\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"## Conclusions\r\n- Go with concept B{RLO}{ESC}[8m\u2028Bcc: x@evil.example\r\n"
    ).encode()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    reply = read_reply(message)
    assert not UNWANTED.intersection(reply.text)
    minutes = parse_minutes(reply.text)
    assert minutes.conclusions == ("Go with concept B[8m", "Bcc: x@evil.example")
    assert not UNWANTED.intersection(parse_minutes(f"## Conclusions\n- a{NEL}{ESC}b").text)


# --- end to end: the event becomes a request and a confirmation -------------------------------


def _sent(folder: Path) -> list[EmailMessage]:
    found = []
    for entry in mailbox.Maildir(folder / "mail" / "sent", create=False):
        message = email.message_from_bytes(entry.as_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _tick(folder: Path, now: object) -> list[str]:
    app = bootstrap(load_config(folder / "aeflow.toml"), FixedClock(now))  # type: ignore[arg-type]
    try:
        return [s.action.key for s in Engine(app).tick().sent]
    finally:
        app.close()


@pytest.mark.parametrize("invited", [False, True], ids=["aeflow invites", "already invited"])
def test_an_event_full_of_control_characters_gives_client_mail_without_them(
    tmp_path: Path, invited: bool
) -> None:
    write_config(tmp_path)
    world = World(tmp_path)
    world.calendar.mkdir()
    assert _tick(tmp_path, local(MONDAY, "08:00")) == []
    world.write_event(
        "pitch.ics",
        uid="hostile.pitch@agency.example",
        start=ics_time(THURSDAY, "14:00"),
        end=ics_time(THURSDAY, "15:30"),
        summary=_ics_text(HOSTILE_SUMMARY),
        location=_ics_text(HOSTILE_LOCATION),
        description=HOSTILE_NOTES,
        category="Client: Acme",
        organizer=invited,
    )
    if invited:  # written here: the demo's helper would split the name at U+2028
        attendees = "".join(
            f'ATTENDEE;CN="{name}";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:{address}\r\n'
            for name, address in ((HOSTILE_NAME, JANE[1]), TOM)
        )
        world.edit_event("pitch.ics", "END:VEVENT", attendees + "END:VEVENT")
    keys = _tick(tmp_path, local(MONDAY, "09:00"))
    keys += _tick(tmp_path, local(THURSDAY, "10:00") - timedelta(days=1))
    assert any(k.startswith("confirm:") for k in keys), keys
    assert invited or any(k.startswith("invite:") for k in keys), keys
    kinds = []
    for message in _sent(tmp_path):
        assert "Bcc" not in message
        assert not UNWANTED.intersection(str(message["Subject"]))
        for part in message.walk():
            if part.get_content_maintype() == "text":
                content = part.get_content()
                kinds.append(part.get_content_type())
                assert "gpj.exe" in content  # the text is there, without what surrounded it
                assert not UNWANTED.intersection(content), (part.get_content_type(), content)
    assert {"text/plain", "text/html"} <= set(kinds)
    assert invited or "text/calendar" in kinds
