"""The daemon: a clean stop on SIGTERM, and back-off that holds every job while a server is busy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aeflow.daemon import Daemon
from aeflow.demo_week import write_calendar, write_config
from aeflow.demo_world import World, local
from rules.errors import TransientError
from tests.conftest import REPO
from tests.system.test_engine import EVE, WEEK


def test_sigterm_lets_the_daemon_finish_and_exit_cleanly(tmp_path: Path) -> None:
    write_calendar(World(tmp_path), WEEK)
    config = write_config(tmp_path)
    clock = tmp_path / "clock.txt"
    clock.write_text(local(EVE, "10:00").isoformat(), encoding="utf-8")
    log = tmp_path / "daemon.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "aeflow", "run", "-c", str(config), "--clock", str(clock)],
            stderr=sink,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    try:
        deadline = time.monotonic() + 60
        while "tick done" not in log.read_text(encoding="utf-8", errors="replace"):
            assert process.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text(encoding="utf-8")
    assert "sent confirm:" in text  # it did its work before the signal
    assert "aeflow stopped after" in text
    assert "Traceback" not in text


class BusyEngine:
    """An engine whose backend is busy: every tick fails, asking to wait a minute."""

    def __init__(self) -> None:
        self.calls = 0
        self.app = None

    def tick(self, **_: object) -> object:
        self.calls += 1
        raise TransientError("server busy", retry_after=60)


def test_a_busy_backend_is_left_alone_until_the_back_off_is_over() -> None:
    engine = BusyEngine()
    daemon = Daemon(engine)  # type: ignore[arg-type]
    daemon._tick()
    assert engine.calls == 1
    blocked = daemon._blocked_until
    assert blocked is not None
    assert blocked - datetime.now(UTC) > timedelta(seconds=55)  # the server's retry_after
    for _ in range(3):  # the regular sync job fires meanwhile: it must not hurry the server
        daemon._tick()
    assert engine.calls == 1
    daemon._blocked_until = datetime.now(UTC) - timedelta(seconds=1)
    daemon._tick()
    assert engine.calls == 2
    assert daemon._failures == 2  # the next wait doubles
