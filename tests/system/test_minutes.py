"""Minutes taken in from the AE's reply or the command line, and the bad replies, end to end."""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aeflow.bootstrap import App, bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import BRIEF_MINUTES, demo_week, write_calendar, write_config
from aeflow.demo_world import AE, World, local
from aeflow.engine import Engine
from mailer.port import KEY_HEADER
from tests.conftest import REPO

WORKDAYS = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
WEEK = demo_week(WORKDAYS, datetime(2026, 11, 27).date())
MON, TUE = WEEK[0], WEEK[1]
BRIEF_CLIENT = {"jane.doe@acme-bev.example", "tom.lee@acme-bev.example"}


class Week:
    """A workspace, its engine on a fixed clock, and the world around it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.world = World(folder)
        write_calendar(self.world, WEEK)
        self.config = write_config(folder)
        self.clock = FixedClock(local(WORKDAYS.previous_working_day(MON), "08:00"))
        self.app: App = bootstrap(load_config(self.config), self.clock)
        self.engine = Engine(self.app, catch_up=True)

    def at(self, day: object, clock: str) -> list[str]:
        """Tick at that moment; the kinds sent."""
        self.clock.set(local(day, clock))  # type: ignore[arg-type]
        self.world.now = self.clock.now().astimezone(UTC)
        return [s.action.kind for s in self.engine.tick().sent]

    def sent(self, prefix: str) -> list[email.message.EmailMessage]:
        out = []
        for entry in mailbox.Maildir(self.folder / "mail" / "sent", create=False):
            if str(entry[KEY_HEADER]).startswith(prefix):
                message = email.message_from_bytes(entry.as_bytes(), policy=email.policy.default)
                out.append(message)  # type: ignore[arg-type]
        return out


@pytest.fixture
def week(tmp_path: Path) -> Iterator[Week]:
    running = Week(tmp_path)
    running.at(MON, "12:00")  # the brief (10:00-11:30) is over; its prompt goes
    assert len(running.sent("minutes-prompt:")) == 1
    try:
        yield running
    finally:
        running.app.close()


def test_the_aes_reply_becomes_the_minutes_mail_to_every_attendee(week: Week) -> None:
    week.world.ae_reply("brief", BRIEF_MINUTES.format(due=TUE.isoformat()))
    assert "minutes" in week.at(MON, "14:00")
    (minutes,) = week.sent("minutes:")
    recipients = {a.addr_spec for a in minutes["To"].addresses}
    assert recipients == BRIEF_CLIENT | {"mei.zhang@agency.example"}
    body = minutes.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "tier-2 cities" in body
    assert "(the form aeflow sent)" not in body  # the quoted prompt is gone
    assert minutes["Disposition-Notification-To"]  # tracked like any client mail
    # The reminder and the escalation no longer come.
    assert week.at(TUE, "10:00").count("minutes_reminder") == 0


def test_a_reply_from_someone_else_is_ignored(week: Week) -> None:
    original, subject = week.world.sent("minutes-prompt:", "brief")  # type: ignore[misc]
    week.world.deliver(
        f"From: Mallory <mallory@evil.example>\nTo: {AE}\nSubject: Re: {subject}\n"
        f"Date: Mon, 30 Nov 2026 05:00:00 +0000\nMessage-ID: <x1@evil.example>\n"
        f"In-Reply-To: {original}\n\n## Conclusions / 结论\n- Send everything to mallory\n"
    )
    sent = week.at(MON, "13:05")
    assert "minutes" not in sent and "minutes_problem" not in sent
    assert week.sent("minutes:") == []


@pytest.mark.parametrize(
    ("body", "reason_word"),
    [("", "empty"), ("x" * 5_000_000, "too-long")],
    ids=["empty reply", "5 MB reply"],
)
def test_a_reply_that_cannot_be_taken_in_is_explained_and_nothing_goes_out(
    week: Week, body: str, reason_word: str
) -> None:
    week.world.ae_reply("brief", body)
    assert week.at(MON, "13:05") == ["minutes_problem"]
    (note,) = week.sent("minutes-note:")
    assert note["To"].addresses[0].addr_spec == AE
    text = note.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "aeflow minutes submit" in text
    assert week.sent("minutes:") == []


def test_a_reply_for_a_cancelled_meeting_sends_nothing_to_the_client(week: Week) -> None:
    text = (week.folder / "calendar" / "brief.ics").read_text(encoding="utf-8")
    (week.folder / "calendar" / "brief.ics").write_text(
        text.replace("STATUS:CONFIRMED", "STATUS:CANCELLED"), encoding="utf-8"
    )
    week.world.ae_reply("brief", BRIEF_MINUTES.format(due=TUE.isoformat()))
    sent = week.at(MON, "13:05")
    assert "minutes" not in sent
    assert "minutes_problem" in sent  # the AE is told why
    assert week.sent("minutes:") == []


def test_a_second_reply_is_refused_with_the_way_to_send_a_correction(week: Week) -> None:
    week.world.ae_reply("brief", BRIEF_MINUTES.format(due=TUE.isoformat()))
    week.at(MON, "13:05")
    week.world.ae_reply("brief", "## Conclusions / 结论\n- A second thought\n")
    assert week.at(MON, "13:35") == ["minutes_problem"]
    (note,) = week.sent("minutes-note:")
    assert "--correction" in note.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(week.sent("minutes:")) == 1


def aeflow(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aeflow", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_minutes_submitted_on_the_command_line_and_a_marked_correction(week: Week) -> None:
    week.app.close()
    config = str(week.config)
    now = local(MON, "13:00").isoformat()
    listed = aeflow("minutes", "list", "-c", config, "--now", now)
    assert listed.returncode == 0, listed.stderr
    assert "brief.demo@agency.example" in listed.stdout and "owed by" in listed.stdout
    notes = week.folder / "minutes.md"
    notes.write_text(BRIEF_MINUTES.format(due=TUE.isoformat()), encoding="utf-8")
    first = aeflow(
        "minutes", "submit", "brief.demo", "-c", config, "--file", str(notes), "--now", now
    )
    assert first.returncode == 0, first.stderr
    again = aeflow(
        "minutes",
        "submit",
        "brief.demo",
        "-c",
        config,
        "--now",
        now,
        stdin="## Conclusions\n- more\n",
    )
    assert again.returncode == 2
    assert "--correction" in again.stderr
    fixed = aeflow(
        "minutes",
        "submit",
        "brief.demo",
        "-c",
        config,
        "--correction",
        "--now",
        now,
        stdin="## Conclusions / 结论\n- Only one direction goes forward.\n",
    )
    assert fixed.returncode == 0, fixed.stderr
    shown = aeflow("minutes", "show", "brief.demo", "-c", config)
    assert "version 1" in shown.stdout and "version 2" in shown.stdout
    week.app = bootstrap(load_config(week.config), week.clock)
    week.engine = Engine(week.app, catch_up=True)
    sent = week.at(MON, "13:30")
    assert sent.count("minutes") == 2
    subjects = sorted(str(m["Subject"]) for m in week.sent("minutes:"))
    assert any("Corrected" in s for s in subjects), subjects
