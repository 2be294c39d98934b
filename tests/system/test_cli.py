"""The command line as a user meets it: real processes, real files, exit codes and output."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

from tests.conftest import REPO, require_corpus

INSPECT_KINDS = {
    "event",
    "itip-request",
    "itip-reply",
    "itip-cancel",
    "read-receipt",
    "delivery-receipt",
    "bounce",
    "auto-reply",
    "reply",
    "message",
    "unreadable",
}


def aeflow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "aeflow", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=300,
    )


def test_check_config_accepts_the_example_and_summarises_it() -> None:
    result = aeflow("check-config", "config.example.toml")
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout
    assert "Acme Beverages" in result.stdout
    assert "华东食品" in result.stdout
    assert "lihua.chen@agency.example" in result.stdout


def test_check_config_reports_five_mistakes_at_once_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        "[ae]\n"
        'name = "AE"\n'
        'email = "not-an-address"\n'  # 1
        'manager = "boss@agency.example"\n'
        'timezone = "Mars/Base"\n'  # 2
        'favourite = "tea"\n'  # 3
        "[policies.weekly]\n"
        'time = "4:30pm"\n'  # 4
        "[[clients]]\n"
        'name = "Acme"\n'
        'domains = ["acme.example"]\n'
        "[[clients.contacts]]\n"
        "decision_maker = true\n",  # 5: no email
        encoding="utf-8",
    )
    result = aeflow("check-config", str(config))
    assert result.returncode == 2
    for key in (
        "ae.email",
        "ae.timezone",
        "ae.favourite",
        "policies.weekly.time",
        "clients[1].contacts[1].email",
    ):
        assert f"  - {key}:" in result.stderr, key
    assert "5 problem(s)" in result.stderr
    assert "Traceback" not in result.stderr


def test_inspect_reads_every_corpus_calendar_without_a_traceback() -> None:
    folder = require_corpus("ics")
    files = sorted(p for p in folder.iterdir() if p.suffix in {".ics", ".eml"})
    result = aeflow("inspect", "--json", *map(str, files))
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["file"]).name for line in lines] == [p.name for p in files]
    assert {line["kind"] for line in lines} <= INSPECT_KINDS
    unreadable = [Path(line["file"]).name for line in lines if line["kind"] == "unreadable"]
    # The one file with a date no client accepts (DTSTART 2006717T080000Z) is refused, with why.
    assert unreadable == ["outlook11-invalid-boeing.ics"]
    assert result.returncode == 1
    by_name = {Path(line["file"]).name: line for line in lines}
    exchange = by_name["exchange2010-eastern-standard-time.ics"]
    assert exchange["events"][0]["timezone"] == "America/New_York"
    assert by_name["google-cancel.ics"]["kind"] == "itip-cancel"
    assert by_name["itip-email-teams-meeting-request.eml"]["kind"] == "itip-request"


def test_inspect_matches_the_exchange_read_receipt_to_its_original() -> None:
    folder = require_corpus("mdn")
    result = aeflow(
        "inspect",
        "--json",
        str(folder / "deltachat-exchange-read-receipt-de.eml"),
        str(folder / "deltachat-exchange-read-receipt-de.ORIGINAL.eml"),
    )
    receipt, original = (json.loads(line) for line in result.stdout.splitlines())
    assert receipt["kind"] == "read-receipt"
    assert original["message_id"] in receipt["answers"]
    assert result.returncode == 0


def test_inspect_gives_a_bounce_its_recipient_status_and_reason() -> None:
    folder = require_corpus("bounces")
    result = aeflow("inspect", "--json", str(folder / "lhost-postfix-01.eml"))
    (line,) = (json.loads(x) for x in result.stdout.splitlines())
    assert line["kind"] == "bounce"
    assert line["recipient"]
    assert line["status"].startswith("5.")
    assert line["reason"]


def test_inspect_reports_an_unreadable_file_with_its_reason_and_exits_1(tmp_path: Path) -> None:
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\x00\xff\x00 not mail")
    empty = tmp_path / "empty.ics"
    empty.write_bytes(b"")
    result = aeflow("inspect", str(junk), str(empty), str(tmp_path / "missing.eml"))
    assert result.returncode == 1
    assert result.stdout.count(": unreadable") == 3
    assert result.stdout.count("reason:") == 3
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_answer(flag: str) -> None:
    result = aeflow(flag)
    assert result.returncode == 0
    assert "aeflow" in result.stdout


def test_the_demo_week_shows_every_policy_acting_and_leaves_mail_that_opens(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo"
    result = aeflow("demo", "--dir", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    counts = json.loads(result.stdout.splitlines()[-1])
    for kind in (
        "confirmation",
        "decision_alert",
        "receipt_reminder",
        "call_note",
        "escalation",
        "bounce_alert",
        "minutes_prompt",
        "minutes",
        "minutes_reminder",
        "minutes_problem",
        "followup_reminder",
        "invitation",
        "weekly",
        "weekly_team",
    ):
        assert counts["sent"].get(kind, 0) >= 1, kind
    files = sorted((folder / "eml").glob("*.eml"))
    assert len(files) == counts["eml"] == sum(counts["sent"].values())
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["X-AEFlow-Key"]
        types = {part.get_content_type() for part in message.walk()}
        assert {"text/plain", "text/html"} <= types, path.name
        key = str(message["X-AEFlow-Key"])
        calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        # A meeting request carries its iTIP part; a weekly schedule its meetings, if any.
        expected = 1 if key.startswith(("invite:", "uninvite:")) else 0
        if key.startswith("weekly:"):
            expected = len(calendars)
            assert expected <= 1, path.name
        assert len(calendars) == expected, path.name
        for part in calendars:
            parsed = icalendar.Calendar.from_ical(part.get_content())
            assert str(parsed["METHOD"]) == part.get_param("method"), path.name
            assert parsed.walk("VEVENT"), path.name
        if key.startswith("weekly:"):
            # Each client's schedule never names the other client.
            other = "华东食品" if "acme" in str(message["To"]) else "Acme"
            text = message.get_body(("plain",)).get_content()
            assert other not in text, path.name
            assert all(other not in part.get_content() for part in calendars), path.name
    # The timeline, in words, and a config the other commands accept.
    text = aeflow("demo", "--dir", str(folder))
    assert text.returncode == 0, text.stderr
    assert "world      刘总 declines the weekly meeting" in text.stdout
    assert "decision_alert" in text.stdout
    assert "meeting(s) without minutes" in text.stdout  # the late minutes reached the manager
    assert "world      the AE books Thursday's pitch" in text.stdout
    assert "world      the AE moves Thursday's pitch" in text.stdout
    assert text.stdout.count("aeflow     invitation") == 2  # the request, then its update
    status = aeflow("status", "-c", str(folder / "aeflow.toml"))
    assert status.returncode == 0, status.stderr
    assert "Awaiting confirmation" in status.stdout
    planned = aeflow("plan", "-c", str(folder / "aeflow.toml"))
    assert planned.returncode == 0, planned.stderr


def test_a_second_sync_finds_nothing_new(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert aeflow("demo", "--dir", str(folder), "--json").returncode == 0
    aeflow("sync", "-c", str(folder / "aeflow.toml"))
    again = aeflow("sync", "-c", str(folder / "aeflow.toml"))
    assert again.returncode == 0, again.stderr
    assert "0 meetings new or changed, 0 removed, 0 signals, 0 problems" in again.stdout


def test_the_demo_will_not_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    result = aeflow("demo", "--dir", str(tmp_path))
    assert result.returncode == 2
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"


def test_a_second_sync_on_a_state_file_in_use_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert aeflow("demo", "--dir", str(folder), "--json").returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from aeflow.store import Store; "
            "s = Store.open(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(folder / "state" / "aeflow.json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = aeflow("sync", "-c", str(folder / "aeflow.toml"))
        assert result.returncode == 2
        assert "aeflow.json" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
