"""Exit codes as the README says, and words instead of tracebacks: 1 when some input could not
be read or a mail could not be sent (a full disk under Sent), 2 for what to fix first (a --now
in year 9999); nothing lost, and the mail goes once after the fix."""

from __future__ import annotations

import errno
import mailbox
from collections import Counter
from pathlib import Path

import pytest

from aeflow import storage_file
from aeflow.cli import main
from aeflow.demo_week import write_config
from aeflow.demo_world import World, ics_time
from mailer.maildir import MaildirMailbox
from tests.system.test_invitations import MONDAY, NOTES, THURSDAY

TUESDAY_TEN = "2026-12-08T10:00"


def workspace(tmp_path: Path) -> Path:
    config = write_config(tmp_path)
    world = World(tmp_path)
    world.calendar.mkdir()
    assert main(["tick", "-c", str(config), "--now", f"{MONDAY}T08:00"]) == 0
    world.write_event(
        "brief.ics",
        uid="brief@agency.example",
        start=ics_time(THURSDAY.replace(day=9), "14:00"),
        end=ics_time(THURSDAY.replace(day=9), "15:00"),
        summary="Brief",
        location="Studio",
        description=NOTES,
        category="Client: Acme",
        organizer=True,
    )
    return config


def test_an_unreadable_calendar_file_makes_tick_exit_1_and_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = workspace(tmp_path)
    (tmp_path / "calendar" / "broken.ics").write_text("BEGIN:VCALENDAR\r\nBEGIN:VEV")
    assert main(["tick", "-c", str(config), "--now", f"{MONDAY}T09:00"]) == 1
    assert "broken.ics" in capsys.readouterr().out


def test_years_at_the_ends_of_the_calendar_are_refused_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = workspace(tmp_path)
    for year in ("9999-12-31T23:00", "0001-01-01T01:00"):
        assert main(["tick", "-c", str(config), "--now", year]) == 2
        err = capsys.readouterr().err
        assert "the year must be from 1971 to 9000" in err and "Traceback" not in err
    (tmp_path / "calendar" / "far.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:far@x\r\n"
        "DTSTART;VALUE=DATE:99991231\r\nSUMMARY:far\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert main(["tick", "-c", str(config), "--now", f"{MONDAY}T09:00"]) == 1
    captured = capsys.readouterr()
    assert "far.ics" in captured.out and "out of the range" in captured.out
    assert "Traceback" not in captured.err


def test_a_full_disk_under_sent_is_said_in_words_and_the_mail_goes_once_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = workspace(tmp_path)

    def full(self: MaildirMailbox, *args: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "mail" / "sent"))

    with monkeypatch.context() as patch:
        patch.setattr(MaildirMailbox, "send", full)
        assert main(["tick", "-c", str(config), "--now", TUESDAY_TEN]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free some space" in err
    assert "Traceback" not in err
    assert main(["tick", "-c", str(config), "--now", "2026-12-08T10:05"]) == 0
    assert main(["tick", "-c", str(config), "--now", "2026-12-08T10:10"]) == 0
    keys = [str(m["X-AEFlow-Key"]) for m in mailbox.Maildir(tmp_path / "mail" / "sent")]
    confirmations = [k for k in keys if k.startswith("confirm:")]
    assert len(confirmations) == 1, keys


def test_a_read_only_state_folder_is_said_in_words_and_nothing_goes_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state file refuses its n-th write of a tick, for every n: before the send (nothing
    leaves) or after it (the mail left, its mark did not). Either way the next tick finds the
    truth in Sent, and every mail goes exactly once."""
    real = storage_file._replace_with_bytes
    outcomes = set()
    for allowed in range(6):
        folder = tmp_path / f"refused-after-{allowed}"
        folder.mkdir()
        config = workspace(folder)
        writes = {"n": 0}

        def read_only(
            path: Path, data: bytes, writes: dict[str, int] = writes, n: int = allowed
        ) -> None:
            writes["n"] += 1
            if writes["n"] > n:
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            real(path, data)

        with monkeypatch.context() as patch:
            patch.setattr(storage_file, "_replace_with_bytes", read_only)
            code = main(["tick", "-c", str(config), "--now", TUESDAY_TEN])
        err = capsys.readouterr().err
        if code == 0:
            continue  # the tick needed fewer writes than this
        assert code == 2
        assert "Read-only file system" in err and "previous contents are intact" in err
        assert "Traceback" not in err
        outcomes.add(len(mailbox.Maildir(folder / "mail" / "sent")) > 0)
        assert main(["tick", "-c", str(config), "--now", "2026-12-08T10:05"]) == 0
        assert main(["tick", "-c", str(config), "--now", "2026-12-08T10:10"]) == 0
        keys = Counter(str(m["X-AEFlow-Key"]) for m in mailbox.Maildir(folder / "mail" / "sent"))
        assert keys and set(keys.values()) == {1}, (allowed, keys)
        assert any(k.startswith("invite:") for k in keys)
    assert outcomes == {False, True}  # refused before the send, and after it
