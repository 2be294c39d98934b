"""Under systemd the daemon says it is ready, how each tick went, that it is alive, and that it
is stopping, through NOTIFY_SOCKET; outside systemd it says nothing and runs the same."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from aeflow.demo_week import write_calendar, write_config
from aeflow.demo_world import World, local
from aeflow.health import Notifier
from tests.conftest import REPO
from tests.system.test_engine import EVE, WEEK


def receive_until(sock: socket.socket, wanted: str, seen: list[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not any(wanted in message for message in seen):
        assert time.monotonic() < deadline, seen
        try:
            seen.append(sock.recv(4096).decode("utf-8"))
        except TimeoutError:
            continue


def test_the_daemon_tells_systemd_it_is_ready_how_it_is_and_that_it_stops(
    tmp_path: Path,
) -> None:
    write_calendar(World(tmp_path), WEEK)
    config = write_config(tmp_path)
    clock = tmp_path / "clock.txt"
    clock.write_text(local(EVE, "10:00").isoformat(), encoding="utf-8")
    address = str(tmp_path / "notify.sock")
    seen: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(0.5)
        process = subprocess.Popen(
            [sys.executable, "-m", "aeflow", "run", "-c", str(config), "--clock", str(clock)],
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO), "NOTIFY_SOCKET": address},
        )
        try:
            receive_until(sock, "READY=1", seen, 60)
            receive_until(sock, "STATUS=ok:", seen, 60)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            receive_until(sock, "STOPPING=1", seen, 10)
        finally:
            if process.poll() is None:
                process.kill()
    ticked = next(m for m in seen if "STATUS=ok:" in m)
    assert "WATCHDOG=1" in ticked and "sent" in ticked
    assert all("\n\n" not in m for m in seen)


def test_outside_systemd_nothing_is_sent_and_a_dead_socket_stops_nothing(tmp_path: Path) -> None:
    assert not Notifier({}).active
    Notifier({}).ready("x")  # no socket named: nothing happens
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})
    assert gone.active
    gone.status("ok")  # the manager went away: aeflow runs on
    gone.status("ok")
