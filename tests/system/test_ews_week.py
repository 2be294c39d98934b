"""The whole daemon on Exchange through the demo's week, with faults, against the loopback server.

First the demo's week runs on the local backend in this process: the engine ticks on a fixed clock
at each moment of ``moments()`` while ``aeflow.demo_world`` writes into the vdir and the Maildir.
What it sends is the reference. Then ``aeflow run`` runs as a real process on ``kind = "ews"``,
pointed at an ``EwsServer`` started here, its time read from a clock file the test moves on moment
by moment, while ``tests.ews_world`` acts out the same week through the server (exchangelib as the
AE and as the clients, the server's own hands for reading a mail). At each moment the test waits
for two whole ticks after the clock moved (the first may have begun before), lets the world act,
and waits for two more; so the world acts only when the daemon's time is already the world's.

Faults are injected along the way, each where it hits the daemon and not the world: ErrorServerBusy
with BackOffMilliseconds longer than the daemon's own first back-off on a send, an answer to a send
slower than the configured timeout (the server delivers the mail after the daemon gave up: the
retry must find it in Sent Items rather than send it again), a dropped connection on the
SyncFolderItems that would bring in a client's reply, and a bare 503. The daemon backs off (30 s
at least each time, the daemon's own first back-off: the test takes about three and a half
minutes, two of them waiting) and goes on.

Then every aeflow key must be in the AE's Sent Items exactly once, and in each recipient's
mailbox exactly once; what was sent, per kind (key, recipients, keys a digest covers), must be what
the local week sent; every request and answer must have been valid EWS; and the daemon's log must
show each back-off.

Left out of the demo's scenario, in both runs: Thursday's pitch, a tagged appointment aeflow
turns into a meeting request, with the six events about it (its booking and move, Jane's
acceptances, Tom's read receipts of the requests). Two of them cannot happen on Exchange: a
meeting request goes out from the AE's calendar item (SendToAllAndSaveCopy) and asks for no read
receipt, so Tom reading it sends none, and his request would be chased there and not here. And the
request's key lives on the calendar item, not on a copy in Sent Items, so it is not a mail this
test can count. tests/system/test_ews_invitations.py runs that path.

The Exchange way of some events, and what differs on purpose:

- 刘总 and 赵婷 answer the weekly meeting's request that Exchange sent when the AE made the meeting
  (a meeting response, not a mailed iTIP REPLY); the AE's item records their answers too.
- t.lee@acme-bev.example has no mailbox: the server files the NDR the moment aeflow writes to him,
  so the bounce alert may go at the tick of the confirmation rather than at the world's 10:05. Its
  key is the same; the event at 10:05 only checks that the NDR is there.
- A minutes note's key carries the Message-ID of the AE's reply, which each world makes anew; it
  is compared by kind and recipients.
- Exchange files a delivery receipt for every mail it delivers; a delivered mail is chased exactly
  like a sent one, so this changes nothing that is sent.
- aeflow's mail to the AE (prompts, notes, alerts) lands in the AE's own inbox too, where the
  local backend only files it in Sent; aeflow reads it there as plain mail, which answers nothing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.compose_action import KIND_OF_PREFIX
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import CONFIG, demo_week, events, ticks, write_calendar, write_config
from aeflow.demo_world import World, local
from aeflow.engine import Engine
from mailer.ews_session import KEY_PROPERTY, PROPERTY_SET
from mailer.port import COVERS_HEADER, KEY_HEADER
from tests.conftest import REPO, require_corpus
from tests.ews_server import EwsServer, Fault, StoredItem
from tests.ews_server.store import ITEM_HOLDING
from tests.ews_world import MAILBOXES, PASSWORD, EwsWorld, is_pitch_event
from tests.ews_world import events as ews_events

WORKDAYS = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
WEEK = demo_week(WORKDAYS, datetime(2026, 11, 27).date())  # 30 Nov - 4 Dec 2026
EVE = WORKDAYS.previous_working_day(WEEK[0])  # Friday 27 Nov
MON, TUE, WED = WEEK[0], WEEK[1], WEEK[2]
FIRST = local(EVE, "08:00")  # aeflow is installed, as in the demo
# The demo ticks every half hour; on these moments, with the world's own added, the local week
# sends the same mail (the test checks it) in a tenth of the ticks.
GRID = ("10:00", "12:00", "14:00", "16:30")
PASSWORD_ENV = "AEFLOW_TEST_EWS_WEEK_PASSWORD"
TIMEOUT = 5  # seconds the daemon waits for one answer
SLOW = 8.0  # the slow answer: longer than TIMEOUT, shorter than the daemon's first back-off
WAIT = 150.0  # the longest a moment may take: a back-off of 35 s and a few ticks

# Faults injected before the clock moves to a moment, and after the world acted at one.
BEFORE_MOMENT = {
    local(MON, "10:00"): Fault.server_busy(back_off_ms=35_000, operation="CreateItem"),
    local(TUE, "10:00"): Fault.slow(SLOW, operation="CreateItem"),
    local(WED, "10:00"): Fault.http_status(503),
}
AFTER_WORLD = {local(EVE, "11:00"): Fault.drop(operation="SyncFolderItems")}


def moments() -> list[datetime]:
    grid = {local(day, clock) for day in [EVE, *WEEK] for clock in GRID}
    return sorted({FIRST} | grid | {event.at for event in ews_events(WEEK, EVE)})


def demo_moments() -> list[datetime]:
    """The demo's own ticks: every half hour, and five minutes after each of the world's events."""
    return ticks(EVE, WEEK[-1], timedelta(minutes=30), [e.at for e in ews_events(WEEK, EVE)])


@dataclass(frozen=True, order=True)
class Mail:
    """What one sent mail was, as far as the comparison goes."""

    kind: str
    key: str
    recipients: tuple[str, ...]
    covers: tuple[str, ...] = ()


def mail(
    key: str, recipients: list[str] | tuple[str, ...], covers: list[str] | tuple[str, ...]
) -> Mail:
    prefix = key.split(":", 1)[0]
    if prefix == "minutes-note":
        # Keyed by the Message-ID of the AE's reply, which each world makes anew.
        key = "minutes-note:(the AE's reply)"
    who = tuple(sorted({r.lower() for r in recipients}))
    return Mail(KIND_OF_PREFIX.get(prefix, prefix), key, who, tuple(sorted(covers)))


def by_kind(mails: list[Mail]) -> dict[str, Counter[Mail]]:
    found: dict[str, Counter[Mail]] = {}
    for one in mails:
        found.setdefault(one.kind, Counter())[one] += 1
    return found


# --- the reference: the local backend, in process ------------------------------------------------


def local_week(folder: Path, at: list[datetime]) -> list[Mail]:
    """The demo's week without the pitch on the local backend, at each moment of ``at`` a tick;
    where the world acts at that moment, it acts after the tick and another tick follows."""
    folder.mkdir()
    world = World(folder)
    write_calendar(world, WEEK)
    config = write_config(folder)
    pending = [event for event in events(WEEK, EVE) if not is_pitch_event(event)]
    clock = FixedClock(at[0])
    app = bootstrap(load_config(config), clock)
    sent = []
    try:
        engine = Engine(app)
        for moment in at:
            clock.set(moment)
            sent += engine.tick().sent
            acted = False
            while pending and pending[0].at <= moment:
                event = pending.pop(0)
                world.now = event.at.astimezone(UTC)
                event.act(world)
                acted = True
            if acted:
                sent += engine.tick().sent
    finally:
        app.close()
    assert pending == []
    return [mail(s.action.key, s.action.recipients, s.action.covers) for s in sent]


# --- the daemon on Exchange ----------------------------------------------------------------------


def ews_config(folder: Path, url: str) -> Path:
    local_backend = (
        'kind = "local"\ncalendar = "calendar"\ninbox = "mail/inbox"\nsent = "mail/sent"\n'
        'state = "state/aeflow.json"\n'
    )
    exchange = (
        'kind = "ews"\nstate = "state/aeflow.json"\nsync_interval = "1s"\n\n'
        f'[backend.ews]\news_url = "{url}"\nauth = "basic"\npassword_env = "{PASSWORD_ENV}"\n'
        f'version = "Exchange2016"\ntimeout = {TIMEOUT}\n'
    )
    assert local_backend in CONFIG
    path = folder / "aeflow.toml"
    path.write_text(CONFIG.replace(local_backend, exchange), encoding="utf-8")
    return path


class Daemon:
    """``aeflow run --clock FILE`` as a real process, its log in a file."""

    def __init__(self, config: Path, clock: Path, log: Path) -> None:
        self.config, self.clock, self.log = config, clock, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), PASSWORD_ENV: PASSWORD}
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "aeflow.cli", "run"),
                    *("-c", str(self.config), "--clock", str(self.clock)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=sink,
                env=env,
                cwd=REPO,
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def ticks_done(self) -> int:
        return self.text().count("tick done")

    def set_time(self, moment: datetime) -> None:
        # Whole or not at all: the daemon reads the file at any moment.
        fresh = self.clock.with_suffix(".new")
        fresh.write_text(moment.isoformat(), encoding="utf-8")
        os.replace(fresh, self.clock)

    def wait_for_ticks(self, done: int) -> None:
        assert self.process is not None
        deadline = time.monotonic() + WAIT
        while self.ticks_done() < done:
            assert self.process.poll() is None, f"the daemon died:\n{self.text()[-4000:]}"
            assert time.monotonic() < deadline, f"no tick in {WAIT} s:\n{self.text()[-4000:]}"
            time.sleep(0.05)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def headers_of(item: StoredItem) -> dict[str, str]:
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(item.mime or b"")
    return {name: str(parsed.get(name, "")) for name in (KEY_HEADER, COVERS_HEADER)}


def sent_by_aeflow(server: EwsServer, ae: str) -> list[tuple[str, StoredItem]]:
    """(key, item) of every item in the AE's Sent Items carrying aeflow's key property."""
    found = []
    for item in server.mailbox(ae).items("sentitems"):
        key = item.extended_value(PROPERTY_SET, KEY_PROPERTY)
        if key is not None:
            found.append((str(key), item))
    return found


def received(server: EwsServer, email: str) -> Counter[str]:
    """How many copies of each aeflow mail ``email``'s mailbox holds, in any folder but Sent."""
    box = server.mailbox(email)
    keys: Counter[str] = Counter()
    for folder in ITEM_HOLDING:
        if folder != "sentitems":
            keys.update(headers_of(i)[KEY_HEADER] for i in box.items(folder) if i.mime)
    keys.pop("", None)
    return keys


def ews_week(folder: Path) -> tuple[list[Mail], str]:
    """The week on Exchange: what aeflow sent, once each (asserted here), and the daemon's log."""
    folder.mkdir()
    clock = FixedClock(FIRST)
    pending = ews_events(WEEK, EVE)
    with EwsServer(clock=clock.now) as server:
        world = EwsWorld(server, clock)
        world.open_mailboxes()
        world.write_calendar(WEEK)
        daemon = Daemon(ews_config(folder, server.url), folder / "clock.txt", folder / "daemon.log")
        daemon.set_time(FIRST)
        daemon.start()
        try:
            for moment in moments():
                done = daemon.ticks_done()
                if moment in BEFORE_MOMENT:
                    server.inject(BEFORE_MOMENT[moment])
                clock.set(moment)
                daemon.set_time(moment)
                daemon.wait_for_ticks(done + 2)
                assert server.pending_faults() == [], f"no request of the daemon met it at {moment}"
                if pending and pending[0].at == moment:
                    while pending and pending[0].at == moment:
                        pending.pop(0).act(world)
                    done = daemon.ticks_done()
                    if moment in AFTER_WORLD:
                        server.inject(AFTER_WORLD[moment])
                    daemon.wait_for_ticks(done + 2)
                    assert server.pending_faults() == []
            assert pending == []
            assert daemon.stop() == 0
        finally:
            daemon.kill()
            world.close()
        ae = MAILBOXES[0][1]
        sent = sent_by_aeflow(server, ae)
        copies = {email: received(server, email) for _, email in MAILBOXES}
        server.assert_valid()
        assert server.unsupported == []
    # Exactly once: in Sent Items, and in the mailbox of each recipient who has one.
    twice = {k: n for k, n in Counter(key for key, _ in sent).items() if n > 1}
    assert twice == {}, f"in Sent Items more than once: {twice}"
    for email, keys in copies.items():
        assert {k: n for k, n in keys.items() if n > 1} == {}, f"{email} got mail twice: {keys}"
    mails = []
    for key, item in sent:
        recipients = [
            address
            for name in ("ToRecipients", "CcRecipients", "BccRecipients")
            for address in item.addresses(name)
        ]
        for address in recipients:
            if address in copies:
                assert copies[address][key] == 1, f"{address} did not get {key}"
        mails.append(mail(key, recipients, headers_of(item)[COVERS_HEADER].split()))
    return mails, daemon.text()


@pytest.mark.slow
def test_the_daemon_on_exchange_sends_the_local_weeks_mail_once_each_through_faults(
    tmp_path: Path,
) -> None:
    require_corpus("ews")  # the server checks every request against the schemas there
    # The two worlds act out the same events at the same moments.
    local_events = [e for e in events(WEEK, EVE) if not is_pitch_event(e)]
    assert len(events(WEEK, EVE)) - len(local_events) == 6  # the pitch's six
    assert [(e.at, e.describe) for e in ews_events(WEEK, EVE)] == [
        (e.at, e.describe) for e in local_events
    ]
    reference = local_week(tmp_path / "local", moments())
    assert Counter(reference) == Counter(local_week(tmp_path / "demo", demo_moments()))
    expected = by_kind(reference)
    mails, log = ews_week(tmp_path / "exchange")
    got = by_kind(mails)
    print("mails per kind:", {kind: sum(n.values()) for kind, n in sorted(got.items())})
    assert sorted(got) == sorted(expected)
    for kind in expected:
        assert got[kind] == expected[kind], (
            f"{kind}: missing {sorted((expected[kind] - got[kind]).elements())}, "
            f"unexpected {sorted((got[kind] - expected[kind]).elements())}"
        )
    assert sum(len(c) for c in expected.values()) >= 40  # the week means something
    # Each fault was met with a back-off, and the daemon went on.
    backoffs = [line for line in log.splitlines() if "backend failure" in line]
    assert any("ErrorServerBusy" in line and "0:00:35" in line for line in backoffs), backoffs
    assert any(re.search("sending.*(timed out|did not answer)", x) for x in backoffs), backoffs
    assert any(re.search("reading.*could not be reached", x) for x in backoffs), backoffs
    assert any("HTTP 503" in line for line in backoffs), backoffs
    # The send whose answer came too late had gone: the retry found it instead of sending it again.
    assert "is already in Sent Items; not sent again" in log
    assert "Traceback" not in log and "tick failed" not in log
