"""Meeting requests end to end on the local backend: a vdir the AE edits, Maildirs, real iTIP."""

from __future__ import annotations

import email
import email.policy
import mailbox
from collections import Counter
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest

from aeflow.bootstrap import App, bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import write_config
from aeflow.demo_world import JANE, TOM, World, ics_time, local
from aeflow.engine import Engine
from aeflow.state import build_state, done_keys
from calendar_sync.vdir import VdirCalendar
from mailer.port import KEY_HEADER
from rules.model import Response
from tests.system.test_cli import aeflow

WORKDAYS = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
MONDAY = date(2026, 12, 7)
THURSDAY = date(2026, 12, 10)
UID = "pitch.test@agency.example"
NOTES = "1. Recap - 15 min\n2. Concepts - 45 min\nBring: samples"


def book_pitch(folder: Path) -> None:
    World(folder).write_event(
        "pitch.ics",
        uid=UID,
        start=ics_time(THURSDAY, "14:00"),
        end=ics_time(THURSDAY, "15:30"),
        summary="Acme creative pitch",
        location="Agency studio",
        description=NOTES,
        category="Client: Acme",
        organizer=False,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """aeflow installed on Monday at 08:00; then the AE books a pitch, tagged, inviting nobody."""
    write_config(tmp_path)
    World(tmp_path).calendar.mkdir()
    assert tick(tmp_path, local(MONDAY, "08:00")) == []
    book_pitch(tmp_path)
    return tmp_path


def open_app(folder: Path, now: datetime) -> tuple[App, FixedClock]:
    clock = FixedClock(now)
    return bootstrap(load_config(folder / "aeflow.toml"), clock), clock


def sent(folder: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(folder / "mail" / "sent", create=False)
    found = []
    for key in box.iterkeys():
        with box.get_file(key) as handle:
            found.append(email.message_from_binary_file(handle, policy=email.policy.default))
    return sorted(found, key=lambda m: str(m["Date"]))


def itip_of(message: EmailMessage) -> tuple[str, icalendar.Component]:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert part.get_param("method") == str(calendar["METHOD"])
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def tick(folder: Path, now: datetime, *, catch_up: bool = False) -> list[str]:
    app, _ = open_app(folder, now)
    try:
        return [s.action.key for s in Engine(app, catch_up=catch_up).tick().sent]
    finally:
        app.close()


def test_appointments_already_there_when_aeflow_is_installed_are_left_alone(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)
    World(tmp_path).calendar.mkdir()
    book_pitch(tmp_path)
    assert tick(tmp_path, local(MONDAY, "08:00")) == []
    assert tick(tmp_path, local(MONDAY, "09:00")) == []
    # Catching up sends what aeflow would have sent had it been running.
    (key,) = tick(tmp_path, local(MONDAY, "09:30"), catch_up=True)
    assert key.startswith(f"invite:{UID}:0:")


def test_a_tagged_appointment_goes_out_once_as_a_request_and_the_event_lists_the_invitees(
    workspace: Path,
) -> None:
    (key,) = tick(workspace, local(MONDAY, "09:00"))
    assert key.startswith(f"invite:{UID}:0:")
    assert tick(workspace, local(MONDAY, "09:30")) == []
    (message,) = sent(workspace)
    assert message[KEY_HEADER] == key
    assert {a.addr_spec for a in message["To"].addresses} == {
        JANE[1],
        TOM[1],
        "mei.zhang@agency.example",
    }
    assert message["Disposition-Notification-To"]  # a client mail asks for a receipt
    method, event = itip_of(message)
    assert method == "REQUEST" and str(event["UID"]) == UID and int(event["SEQUENCE"]) == 0
    assert str(event["ORGANIZER"]) == "mailto:xiaoming.wang@agency.example"
    assert all(a.params["PARTSTAT"] == "NEEDS-ACTION" for a in event["ATTENDEE"])
    notice = message.get_body(("plain",)).get_content()
    assert "14:00–14:15  Recap (15 min)" in notice and "samples" in notice
    written = icalendar.Calendar.from_ical((workspace / "calendar" / "pitch.ics").read_bytes())
    (vevent,) = written.walk("VEVENT")
    assert {str(a) for a in vevent["ATTENDEE"]} == {
        f"mailto:{JANE[1]}",
        f"mailto:{TOM[1]}",
        "mailto:mei.zhang@agency.example",
    }
    assert str(vevent["ORGANIZER"]) == "mailto:xiaoming.wang@agency.example"
    assert str(vevent["DESCRIPTION"]) == NOTES  # the AE's own lines are kept


def test_a_moved_meeting_sends_an_update_with_the_sequence_raised(workspace: Path) -> None:
    tick(workspace, local(MONDAY, "09:00"))
    World(workspace).edit_event(
        "pitch.ics", ics_time(THURSDAY, "14:00"), ics_time(THURSDAY, "16:00")
    )
    World(workspace).edit_event(
        "pitch.ics", ics_time(THURSDAY, "15:30"), ics_time(THURSDAY, "17:30")
    )
    (key,) = tick(workspace, local(MONDAY, "11:00"))
    assert key.startswith(f"invite:{UID}:1:")
    _, update = sent(workspace)
    assert "Updated meeting notice" in str(update["Subject"])
    _, event = itip_of(update)
    assert int(event["SEQUENCE"]) == 1 and str(event["UID"]) == UID
    assert event["DTSTART"].dt == local(THURSDAY, "16:00")
    written = (workspace / "calendar" / "pitch.ics").read_text(encoding="utf-8")
    assert "SEQUENCE:1" in written
    assert tick(workspace, local(MONDAY, "11:30")) == []


def test_an_acceptance_updates_the_response_and_confirms_the_request(workspace: Path) -> None:
    (key,) = tick(workspace, local(MONDAY, "09:00"))
    world = World(workspace)
    world.now = local(MONDAY, "10:00")
    world.respond(JANE, UID, "ACCEPTED", "Accepted")
    app, _ = open_app(workspace, local(MONDAY, "10:05"))
    try:
        Engine(app).tick()
        state = build_state(app, done_keys(app.store, {"sent"}), None)
        delivery = app.store.delivery_get(key)
    finally:
        app.close()
    (meeting,) = [m for m in state.meetings if m.uid == UID]
    jane = meeting.attendee(JANE[1])
    assert jane is not None and jane.response is Response.ACCEPTED
    assert delivery is not None
    statuses = {r["email"]: r["status"] for r in delivery["recipients"]}
    assert statuses[JANE[1]] == "confirmed" and statuses[TOM[1]] == "sent"
    shown = aeflow("status", "-c", str(workspace / "aeflow.toml"), "--now", "2026-12-07T10:10")
    assert shown.returncode == 0, shown.stderr
    assert "meeting request sent 12-07 Mon 09:00" in shown.stdout
    (jane_line,) = [line for line in shown.stdout.splitlines() if JANE[1] in line]
    assert "accepted" in jane_line


def test_a_deleted_meeting_sends_one_cancellation(workspace: Path) -> None:
    tick(workspace, local(MONDAY, "09:00"))
    (workspace / "calendar" / "pitch.ics").unlink()
    (key,) = tick(workspace, local(MONDAY, "12:00"))
    assert key == f"uninvite:{UID}:1"
    assert tick(workspace, local(MONDAY, "12:30")) == []
    cancel = sent(workspace)[-1]
    method, event = itip_of(cancel)
    assert method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert {str(a) for a in event["ATTENDEE"]} >= {f"mailto:{JANE[1]}", f"mailto:{TOM[1]}"}


def test_a_meeting_cancelled_in_the_calendar_sends_a_cancellation(workspace: Path) -> None:
    tick(workspace, local(MONDAY, "09:00"))
    World(workspace).edit_event("pitch.ics", "STATUS:CONFIRMED", "STATUS:CANCELLED")
    assert tick(workspace, local(MONDAY, "12:00")) == [f"uninvite:{UID}:1"]


def test_a_meeting_moved_beyond_the_horizon_is_not_cancelled(workspace: Path) -> None:
    tick(workspace, local(MONDAY, "09:00"))
    later = THURSDAY + timedelta(days=90)
    world = World(workspace)
    world.edit_event("pitch.ics", ics_time(THURSDAY, "14:00"), ics_time(later, "14:00"))
    world.edit_event("pitch.ics", ics_time(THURSDAY, "15:30"), ics_time(later, "15:30"))
    assert tick(workspace, local(MONDAY, "12:00")) == []
    assert len(sent(workspace)) == 1


def test_a_calendar_that_cannot_be_written_is_noted_again_at_the_next_start(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> bool:
        raise OSError(30, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(VdirCalendar, "record_invitation", refuse)
        (key,) = tick(workspace, local(MONDAY, "09:00"))
    assert "ATTENDEE" not in (workspace / "calendar" / "pitch.ics").read_text(encoding="utf-8")
    assert tick(workspace, local(MONDAY, "09:30")) == []  # the restart notes it, sends nothing
    assert "ATTENDEE" in (workspace / "calendar" / "pitch.ics").read_text(encoding="utf-8")
    assert Counter(str(m[KEY_HEADER]) for m in sent(workspace)) == Counter({key: 1})


def test_a_lost_state_file_is_rebuilt_and_the_calendar_still_learns_whom_it_invited(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> bool:
        raise OSError(30, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(VdirCalendar, "record_invitation", refuse)
        (key,) = tick(workspace, local(MONDAY, "09:00"))
    for path in (workspace / "state").iterdir():
        path.unlink()
    assert tick(workspace, local(MONDAY, "09:30")) == []
    text = (workspace / "calendar" / "pitch.ics").read_text(encoding="utf-8")
    assert f"mailto:{JANE[1]}" in text and "ORGANIZER" in text
    assert Counter(str(m[KEY_HEADER]) for m in sent(workspace)) == Counter({key: 1})


def test_invite_dry_run_prints_the_notice_and_recipients_and_books_nothing(
    workspace: Path,
) -> None:
    agenda = workspace / "agenda.toml"
    agenda.write_text(
        '[[topic]]\ntitle = "Brand review"\nminutes = 20\n'
        '[[topic]]\ntitle = "Media ideas"\nminutes = 25\nbring = []\n',
        encoding="utf-8",
    )
    before = sorted(p.name for p in (workspace / "calendar").iterdir())
    result = aeflow(
        "invite",
        "-c",
        str(workspace / "aeflow.toml"),
        "--client",
        "Acme",
        "--subject",
        "Media review",
        "--start",
        "2026-12-11T10:00",
        "--duration",
        "45m",
        "--agenda",
        str(agenda),
        "--optional",
        "guest@partner.example",
        "--dry-run",
        "--now",
        "2026-12-07T09:00",
    )
    assert result.returncode == 0, result.stderr
    assert "Media review" in result.stdout
    assert "10:00–10:20  Brand review (20 min)" in result.stdout
    assert "jane.doe@acme-bev.example" in result.stdout
    assert "Also invited: guest@partner.example" in result.stdout
    assert "nothing sent" in result.stdout
    assert sorted(p.name for p in (workspace / "calendar").iterdir()) == before
    assert not (workspace / "mail" / "sent").exists() or sent(workspace) == []


def test_invite_books_the_meeting_and_sends_its_request(workspace: Path) -> None:
    result = aeflow(
        "invite",
        "-c",
        str(workspace / "aeflow.toml"),
        "--client",
        "acme",
        "--subject",
        "Media review",
        "--start",
        "2026-12-11T10:00",
        "--end",
        "2026-12-11T11:00",
        "--location",
        "Acme HQ",
        "--now",
        "2026-12-07T09:00",
    )
    assert result.returncode == 0, result.stderr
    keys = [str(m[KEY_HEADER]) for m in sent(workspace)]
    assert sum(1 for k in keys if k.startswith("invite:")) == 2  # the pitch and this one
    booked = [p for p in (workspace / "calendar").iterdir() if p.name != "pitch.ics"]
    assert len(booked) == 1
    text = booked[0].read_text(encoding="utf-8")
    assert "CATEGORIES:Client: Acme" in text and "ATTENDEE" in text


def test_invite_refuses_an_agenda_longer_than_the_meeting_before_booking(
    workspace: Path,
) -> None:
    agenda = workspace / "agenda.md"
    agenda.write_text("1. Brand review - 40 min\n2. Media - 40 min\n", encoding="utf-8")
    result = aeflow(
        "invite",
        "-c",
        str(workspace / "aeflow.toml"),
        "--client",
        "Acme",
        "--subject",
        "Too much",
        "--start",
        "2026-12-11T10:00",
        "--duration",
        "1h",
        "--agenda",
        str(agenda),
        "--now",
        "2026-12-07T09:00",
    )
    assert result.returncode == 2
    assert "80 minutes" in result.stderr and "60" in result.stderr
    assert [p.name for p in (workspace / "calendar").iterdir()] == ["pitch.ics"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--client", "Nobody"), "no client named 'Nobody'"),
        (("--client", "Acme", "--duration", "soon"), "--duration"),
        (("--client", "Acme", "--start", "2026-12-01T10:00"), "in the past"),
    ],
)
def test_invite_explains_what_is_wrong(
    workspace: Path, args: tuple[str, ...], message: str
) -> None:
    base = {"--start": "2026-12-11T10:00"}
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    merged = {**base, **pairs}
    argv = [x for pair in merged.items() for x in pair]
    result = aeflow(
        "invite",
        "-c",
        str(workspace / "aeflow.toml"),
        "--subject",
        "S",
        *argv,
        "--now",
        "2026-12-07T09:00",
    )
    assert result.returncode == 2
    assert message in result.stderr
