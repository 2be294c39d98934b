"""The engine on the local backend: exactly once across crashes, lost stores and restarts."""

from __future__ import annotations

import mailbox
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aeflow.bootstrap import App, bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import demo_week, write_calendar, write_config
from aeflow.demo_world import World, local
from aeflow.engine import Engine
from mailer.port import KEY_HEADER
from rules.errors import TransientError

WORKDAYS = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
WEEK = demo_week(WORKDAYS, datetime(2026, 11, 27).date())  # 30 Nov - 4 Dec 2026
EVE = WORKDAYS.previous_working_day(WEEK[0])  # Friday 27 Nov


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_calendar(World(tmp_path), WEEK)
    write_config(tmp_path)
    return tmp_path


def open_app(folder: Path, now: datetime) -> tuple[App, FixedClock]:
    clock = FixedClock(now)
    return bootstrap(load_config(folder / "aeflow.toml"), clock), clock


def sent_keys(folder: Path) -> Counter[str]:
    box = mailbox.Maildir(folder / "mail" / "sent", create=False)
    return Counter(str(m[KEY_HEADER]) for m in box)


def test_a_confirmation_goes_once_and_a_second_tick_sends_nothing(workspace: Path) -> None:
    app, clock = open_app(workspace, local(EVE, "08:00"))
    try:
        engine = Engine(app)
        assert engine.tick().sent == []
        clock.set(local(EVE, "10:00"))
        first = engine.tick()
        assert [s.action.kind for s in first.sent] == ["confirmation"]
        assert engine.tick().sent == []
    finally:
        app.close()
    assert list(sent_keys(workspace).values()) == [1]


def test_a_crash_before_the_send_sends_it_after_the_restart(workspace: Path) -> None:
    app, clock = open_app(workspace, local(EVE, "08:00"))
    try:
        engine = Engine(app)
        engine.tick()  # installed at 08:00; nothing is due yet
        clock.set(local(EVE, "10:00"))
        key = engine.tick(dry_run=True).would_send[0].key
        # What a crash between "intent written" and "handed to the mailbox" leaves behind.
        app.store.outbox_put(key, {"status": "sending", "kind": "confirmation"})
    finally:
        app.close()
    app, _ = open_app(workspace, local(EVE, "10:05"))
    try:
        report = Engine(app).tick()
    finally:
        app.close()
    assert [s.action.key for s in report.sent] == [key]
    assert sent_keys(workspace) == Counter({key: 1})


def test_a_crash_after_the_send_is_settled_from_sent_without_sending_again(
    workspace: Path,
) -> None:
    app, _ = open_app(workspace, local(EVE, "10:00"))
    try:
        engine = Engine(app)
        (sent,) = engine.tick().sent
        # What a crash between "handed to the mailbox" and "marked sent" leaves behind.
        app.store.outbox_put(sent.action.key, {"status": "sending", "kind": "confirmation"})
    finally:
        app.close()
    app, _ = open_app(workspace, local(EVE, "10:30"))
    try:
        report = Engine(app).tick()
        record = app.store.outbox_get(sent.action.key)
    finally:
        app.close()
    assert report.sent == []
    assert record is not None and record["status"] == "sent"
    assert sent_keys(workspace) == Counter({sent.action.key: 1})


def test_a_lost_store_is_rebuilt_from_sent_and_nothing_goes_twice(workspace: Path) -> None:
    app, clock = open_app(workspace, local(EVE, "10:00"))
    try:
        engine = Engine(app)
        engine.tick()
        clock.set(local(WEEK[0], "10:00"))
        engine.tick()
    finally:
        app.close()
    before = sent_keys(workspace)
    assert sum(1 for key in before if key.startswith("confirm:")) == 2
    for path in (workspace / "state").iterdir():
        path.unlink()
    app, clock = open_app(workspace, local(WEEK[0], "10:30"))
    try:
        engine = Engine(app)
        assert engine.tick().sent == []
        # Tracking goes on: the rebuilt deliveries are chased like the originals.
        clock.set(local(WEEK[0], "15:00"))
        later = engine.tick()
    finally:
        app.close()
    # Monday 10:00's confirmation to 刘总, rebuilt from Sent, is chased at 15:00.
    assert {(s.action.kind, s.action.recipients) for s in later.sent} >= {
        ("receipt_reminder", ("liu@huadong-food.example",))
    }
    counts = sent_keys(workspace)
    assert all(n == 1 for n in counts.values())
    assert set(before) <= set(counts)


def test_nothing_due_before_installation_is_sent_unless_catching_up(workspace: Path) -> None:
    app, _ = open_app(workspace, local(WEEK[0], "11:00"))
    try:
        report = Engine(app).tick()
    finally:
        app.close()
    # Monday 10:00's confirmation of Tuesday's meeting came due before aeflow started: skipped.
    assert report.sent == []
    assert any(s.reason == "came due before aeflow was installed" for s in report.skipped)
    other = workspace.parent / "other"
    other.mkdir()
    write_calendar(World(other), WEEK)
    write_config(other)
    app, _ = open_app(other, local(WEEK[0], "11:00"))
    try:
        caught_up = Engine(app, catch_up=True).tick()
    finally:
        app.close()
    assert [s.action.kind for s in caught_up.sent] == ["confirmation"]


def test_a_dry_run_sends_nothing_and_records_no_action(workspace: Path) -> None:
    app, _ = open_app(workspace, local(EVE, "10:00"))
    try:
        engine = Engine(app)
        report = engine.tick(dry_run=True)
        assert [a.kind for a in report.would_send] == ["confirmation"]
        assert app.store.outbox_all() == []
    finally:
        app.close()
    assert sent_keys(workspace) == Counter()


def test_a_broken_template_holds_its_action_and_the_rest_go_on(workspace: Path) -> None:
    overrides = workspace / "my-templates" / "en"
    overrides.mkdir(parents=True)
    (overrides / "confirmation.txt.j2").write_text("{{ meeting.subject ", encoding="utf-8")
    config = (workspace / "aeflow.toml").read_text(encoding="utf-8")
    (workspace / "aeflow.toml").write_text(
        config + '\n[templates]\nfolder = "my-templates"\n', encoding="utf-8"
    )
    app, clock = open_app(workspace, local(EVE, "10:00"))
    try:
        engine = Engine(app)
        report = engine.tick()
        assert report.sent == []
        assert len(report.held) == 1 and "confirmation" in report.held[0][1]
        clock.set(local(WEEK[0], "10:00"))  # the Chinese client's meeting uses zh-CN: not broken
        assert [s.action.kind for s in engine.tick().sent] == ["confirmation"]
    finally:
        app.close()


class FlakyMail:
    """A mailbox whose first send fails as a busy server (or a full disk) would."""

    def __init__(self, real: object, error: Exception | None = None) -> None:
        self.real = real
        self.failures = 1
        self.error = error or TransientError("server busy", retry_after=30)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def send(self, message: object, key: str) -> str:
        if self.failures:
            self.failures -= 1
            raise self.error
        return self.real.send(message, key)  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize(
    "error",
    [TransientError("server busy", retry_after=30), OSError(28, "No space left on device")],
    ids=["busy server", "full disk"],
)
def test_a_transient_failure_leaves_the_action_to_the_next_tick(
    workspace: Path, error: Exception
) -> None:
    app, clock = open_app(workspace, local(EVE, "10:00"))
    app.mail = FlakyMail(app.mail, error)  # type: ignore[assignment]
    try:
        engine = Engine(app)
        with pytest.raises(type(error)):
            engine.tick()
        clock.set(local(EVE, "10:01") + timedelta(seconds=30))
        assert [s.action.kind for s in engine.tick().sent] == ["confirmation"]
    finally:
        app.close()
    assert list(sent_keys(workspace).values()) == [1]
