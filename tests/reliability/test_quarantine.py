"""A bad input is reported once, set aside in a list that aeflow status shows, and the rest goes
on; a removed file leaves the list."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aeflow.cli import main
from tests.reliability.test_exit_codes import workspace
from tests.system.test_invitations import MONDAY


def test_a_broken_file_is_logged_once_listed_by_status_and_forgotten_when_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = workspace(tmp_path)
    broken = tmp_path / "calendar" / "broken.ics"
    broken.write_text("BEGIN:VCALENDAR\r\nBEGIN:VEV")
    with caplog.at_level(logging.WARNING, logger="aeflow.sync"):
        assert main(["tick", "-c", str(config), "--now", f"{MONDAY}T09:00"]) == 1
        assert main(["tick", "-c", str(config), "--now", f"{MONDAY}T09:05"]) == 1
    said = [r for r in caplog.records if "broken.ics" in r.getMessage()]
    assert len(said) == 1
    capsys.readouterr()
    assert main(["status", "-c", str(config), "--now", f"{MONDAY}T09:10"]) == 0
    out = capsys.readouterr().out
    assert "Set aside, not read (1;" in out and "broken.ics" in out
    # The rest went on: the brief's meeting request was sent.
    assert "meeting request sent" in out
    broken.unlink()
    assert main(["status", "-c", str(config), "--now", f"{MONDAY}T09:15"]) == 0
    assert "Set aside" not in capsys.readouterr().out
