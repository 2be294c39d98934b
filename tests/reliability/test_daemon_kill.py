"""`aeflow run` as a real process, killed with SIGKILL at random moments while a week passes.

The daemon reads its clock from a file (the hidden ``--clock`` option), so the test moves time on
between restarts; its mailbox is slowed down (slow_aeflow.py) so that kills also land between a
mail's intent and its "sent" mark, not only between ticks. Every expected mail must be in Sent
exactly once (counted by X-AEFlow-Key) and
none may be missing: the expected set comes from a reference run of the same week, ticked in
process at the same moments without a single crash. A second run also deletes the state file at
random restarts: aeflow must rebuild it from Sent and still send nothing twice.
"""

from __future__ import annotations

import mailbox
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import demo_week, write_calendar, write_config
from aeflow.demo_world import World, ics_time, local
from mailer.port import COVERS_HEADER, KEY_HEADER
from tests.conftest import REPO

SLOW_AEFLOW = Path(__file__).with_name("slow_aeflow.py")
WORKDAYS = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
WEEK = demo_week(WORKDAYS, datetime(2026, 11, 27).date())
EVE = WORKDAYS.previous_working_day(WEEK[0])
STEP = timedelta(hours=2)
FIRST, LAST = local(EVE, "08:00"), local(WEEK[-1], "18:00")


def moments() -> list[datetime]:
    out, at = [], FIRST
    while at <= LAST:
        out.append(at)
        at += STEP
    return out


def busy_calendar(folder: Path) -> None:
    """Thirty more client meetings across the week, so that ticks send many mails at once and a
    kill lands between one mail's intent and its sending, not only between ticks; and five
    appointments aeflow sends meeting requests for."""
    world = World(folder)
    rng = random.Random(7)
    clients = [
        [("Jane Doe", "jane.doe@acme-bev.example"), ("Tom Lee", "tom.lee@acme-bev.example")],
        [("刘总", "liu@huadong-food.example"), ("赵婷", "ting.zhao@agency.example")],
    ]
    for number in range(30):
        day = WEEK[rng.randrange(5)]
        hour = rng.choice([9, 10, 11, 14, 15, 16])
        who = "\n".join(f"{n}|{e}|NEEDS-ACTION" for n, e in clients[number % 2])
        world.write_event(
            f"busy-{number}.ics",
            uid=f"busy-{number}.demo@agency.example",
            start=ics_time(day, f"{hour:02d}:00"),
            end=ics_time(day, f"{hour:02d}:45"),
            summary=f"Working session {number}",
            attendees=who,
        )

    # Appointments tagged with a client's category and nobody invited: each becomes a meeting
    # request, and the calendar file is written after it goes (a kill can land in between).
    for number in range(5):
        day = WEEK[1 + number % 4]
        world.write_event(
            f"tagged-{number}.ics",
            uid=f"tagged-{number}.demo@agency.example",
            start=ics_time(day, "17:00"),
            end=ics_time(day, "17:30"),
            summary=f"Acme check-in {number}",
            description="1. Progress - 15 min\n2. Next steps - 15 min",
            category="Client: Acme",
            organizer=False,
        )


def workspace(folder: Path) -> Path:
    write_calendar(World(folder), WEEK)
    busy_calendar(folder)
    config = write_config(folder)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'state = "state/aeflow.json"', 'state = "state/aeflow.json"\nsync_interval = "1s"'
        ),
        encoding="utf-8",
    )
    return config


def sent(folder: Path) -> tuple[Counter[str], set[str]]:
    """How often each key is in Sent, and the escalation keys the digests covered."""
    keys: Counter[str] = Counter()
    covered: set[str] = set()
    for message in mailbox.Maildir(folder / "mail" / "sent", create=False):
        keys[str(message[KEY_HEADER])] += 1
        covered.update(str(message.get(COVERS_HEADER, "")).split())
    return keys, covered


def comparable(keys: Counter[str], covered: set[str]) -> tuple[set[str], set[str]]:
    # A digest's key depends on which escalations came due in the same tick; what it covers
    # does not. Compare the covered keys, and every other key as it is.
    return {k for k in keys if not k.startswith("digest:")}, covered


def reference(folder: Path) -> tuple[set[str], set[str]]:
    """The week ticked in process, without a crash: what must be in Sent at the end."""
    from aeflow.engine import Engine

    config = workspace(folder)
    clock = FixedClock(FIRST)
    app = bootstrap(load_config(config), clock)
    try:
        engine = Engine(app, catch_up=True)
        for moment in moments():
            clock.set(moment)
            engine.tick()
    finally:
        app.close()
    keys, covered = sent(folder)
    assert all(count == 1 for count in keys.values())
    return comparable(keys, covered)


class Daemon:
    def __init__(self, config: Path, clock: Path, log: Path) -> None:
        self.config, self.clock, self.log = config, clock, log

    def start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    str(SLOW_AEFLOW),
                    "run",
                    "-c",
                    str(self.config),
                    "--clock",
                    str(self.clock),
                    # The tagged appointments are in the calendar before the first start.
                    "--catch-up",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                cwd=REPO,
            )

    def count(self, text: str) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text(encoding="utf-8", errors="replace").count(text)

    def ticks_done(self) -> int:
        return self.count("tick done")

    def kill_mid_send(self, rng: random.Random) -> None:
        """Start, and kill a few milliseconds after a mail has gone: the next is on its way."""
        sent_before, ticks_before = self.count("INFO aeflow.engine: sent "), self.ticks_done()
        process = self.start()
        deadline = time.monotonic() + 60
        try:
            while (
                self.count("INFO aeflow.engine: sent ") == sent_before
                and self.ticks_done() == ticks_before
                and time.monotonic() < deadline
                and process.poll() is None
            ):
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.08))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def run_until_a_tick(self) -> None:
        """Start, wait for one whole tick, then stop it the hard way too."""
        before = self.ticks_done()
        process = self.start()
        deadline = time.monotonic() + 60
        try:
            while self.ticks_done() == before:
                assert process.poll() is None, self.log.read_text(encoding="utf-8")[-3000:]
                assert time.monotonic() < deadline, "the daemon did not tick within 60 s"
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()


def crash_week(folder: Path, rng: random.Random, delete_state: bool) -> int:
    config = workspace(folder)
    clock = folder / "clock.txt"
    daemon = Daemon(config, clock, folder / "daemon.log")
    restarts = 0
    for index, moment in enumerate(moments()):
        clock.write_text(moment.isoformat(), encoding="utf-8")
        # A restart that dies at a random moment: before, during or after its tick.
        if delete_state and index > 6 and rng.random() < 0.25:
            for path in (folder / "state").glob("aeflow.json*"):
                path.unlink()
        if rng.random() < 0.5:
            daemon.kill_mid_send(rng)
        else:
            process = daemon.start()
            time.sleep(rng.uniform(0.05, 1.2))
            process.send_signal(signal.SIGKILL)
            process.wait()
        restarts += 1
        # Then one that gets to finish a tick, so time cannot skip a step by bad luck.
        daemon.run_until_a_tick()
        restarts += 1
    return restarts


@pytest.mark.slow
@pytest.mark.parametrize("delete_state", [False, True], ids=["kill", "kill-and-delete-state"])
def test_every_mail_is_sent_exactly_once_across_random_kills(
    tmp_path: Path, delete_state: bool
) -> None:
    expected = reference(tmp_path / "reference")
    assert len(expected[0]) >= 10  # the week is busy enough to mean something
    folder = tmp_path / "crashing"
    restarts = crash_week(folder, random.Random(20261127 + delete_state), delete_state)
    assert restarts >= 100
    # The log shows kills landing between a mail's intent and its "sent" mark, resolved
    # against Sent at the next start (printed for the record; the counts below are the proof).
    log = (folder / "daemon.log").read_text(encoding="utf-8", errors="replace")
    print(f"{restarts} restarts; {log.count('recovered ')} intents settled against Sent")
    keys, covered = sent(folder)
    twice = {k: n for k, n in keys.items() if n > 1}
    assert twice == {}, f"sent more than once: {twice}"
    got = comparable(keys, covered)
    assert got[0] == expected[0], (
        f"missing {sorted(expected[0] - got[0])}, unexpected {sorted(got[0] - expected[0])}"
    )
    assert got[1] == expected[1]
    assert sum(1 for k in expected[0] if k.startswith("invite:")) == 5
    if not delete_state:
        # Every request sent is noted in its calendar event, a kill between the two or not.
        for number in range(5):
            text = (folder / "calendar" / f"tagged-{number}.ics").read_text(encoding="utf-8")
            assert "mailto:jane.doe@acme-bev.example" in text, number
