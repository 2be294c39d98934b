"""``aeflow run``: the background service (APScheduler 3.x).

Two jobs share one worker thread, so ticks never overlap: a sync at the configured interval, and a
one-shot wake-up at the plan's next due time (replaced after every tick). Both are coalesced: a
daemon that slept through several runs ticks once. A backend failure backs off (the server's
``retry_after`` when it gave one) and is retried; nothing is lost or repeated, because every send
goes through the engine's record-intent-then-send path. A server that refuses the login or the
connection (``BackendUnavailable``) backs off from a longer first wait, since every try is one
more failed login on the account, which a server may answer by locking it. SIGTERM and SIGINT let
the current action finish, then stop. Under systemd (``Type=notify``) the daemon says it is
ready, what it is doing after each tick or back-off (``STATUS``), and that it is alive
(``WATCHDOG``), so a hung tick is restarted by the service manager (``aeflow.health``).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aeflow.engine import Engine
from aeflow.health import Notifier
from rules.errors import AeflowError, BackendUnavailable, TransientError

log = logging.getLogger(__name__)

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_HELD_FIRST = timedelta(minutes=5)
BACKOFF_CAP = timedelta(minutes=15)


class Daemon:
    def __init__(self, engine: Engine, *, real_time: bool = True) -> None:
        self.engine = engine
        self.real_time = real_time
        self._stop = threading.Event()
        self._tick_lock = threading.Lock()
        self._failures = 0
        self._blocked_until: datetime | None = None
        self.ticks = 0
        self.health = Notifier()
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def run(self) -> int:
        """Start, tick at once, then serve until a signal asks to stop. The exit status."""
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)
        # The engine starts (settles interrupted sends against Sent) inside the first tick, so a
        # backend that is down at start-up is backed off and retried like any other failure.
        interval = self.engine.app.config.backend.sync_interval
        self.scheduler.add_job(
            self._tick, IntervalTrigger(seconds=max(1, int(interval.total_seconds()))), id="sync"
        )
        self.scheduler.add_job(self._tick, DateTrigger(run_date=datetime.now(UTC)), id="wake")
        log.info("aeflow is running; syncing every %s", interval)
        self.health.ready(f"starting: first sync (every {interval})")
        if self._stop.is_set():  # a signal came while starting up
            return 0
        try:
            self.scheduler.start()
        finally:
            with self._tick_lock:  # the tick under way, if any, finishes first
                pass
        self.health.stopping()
        log.info("aeflow stopped after %d ticks", self.ticks)
        return 0

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current action, then stopping", number)
        self._stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _tick(self) -> None:
        if self._stop.is_set():
            return
        with self._tick_lock:
            if self._stop.is_set():
                return
            if self._blocked_until is not None and datetime.now(UTC) < self._blocked_until:
                self.health.alive()  # waiting on purpose is not hanging
                return  # backing off: the regular sync job does not hurry a busy server
            self._blocked_until = None
            try:
                report = self.engine.tick(stop=self._stop.is_set)
            except BackendUnavailable as error:
                self._back_off(error, error.retry_after, BACKOFF_HELD_FIRST, "sending is held")
                return
            except TransientError as error:
                self._back_off(error, error.retry_after)
                return
            except OSError as error:
                self._back_off(error, None)
                return
            except AeflowError as error:
                log.error("tick failed: %s; trying again at the next sync", error)
                return
            self._failures = 0
            self.ticks += 1
            log.info(
                "tick done: %d sent, %d skipped, next wake %s",
                len(report.sent),
                len(report.skipped),
                report.next_wake.isoformat() if report.next_wake else "none",
            )
            wake = report.next_wake.isoformat(timespec="minutes") if report.next_wake else "none"
            problems = len(report.sync.problems) if report.sync is not None else 0
            self.health.status(
                f"ok: {datetime.now(UTC):%Y-%m-%d %H:%M}Z tick {self.ticks}, {len(report.sent)} "
                f"sent, {problems} inputs set aside; next due {wake}"
            )
            if report.next_wake is not None and not self._stop.is_set():
                self._wake_at(self._wall_time(report.next_wake))

    def _wall_time(self, due: datetime) -> datetime:
        """When, on the real clock, to wake for ``due`` on the engine's clock."""
        if self.real_time:
            return due
        # A simulated clock moves in steps the daemon cannot foresee: look again soon.
        return datetime.now(UTC) + timedelta(seconds=1)

    def _wake_at(self, when: datetime) -> None:
        if self.scheduler.running:
            self.scheduler.add_job(
                self._tick, DateTrigger(run_date=when), id="wake", replace_existing=True
            )

    def _back_off(
        self,
        error: Exception,
        retry_after: float | None,
        first: timedelta = BACKOFF_FIRST,
        what: str = "backend failure",
    ) -> None:
        self._failures += 1
        delay = min(first * 2 ** (self._failures - 1), BACKOFF_CAP)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        log.warning("%s (%s); retrying in %s", what, error, delay)
        self._blocked_until = datetime.now(UTC) + delay
        self.health.status(
            f"{what}: {error}; retrying at {self._blocked_until:%Y-%m-%d %H:%M}Z "
            f"(try {self._failures})"
        )
        self._wake_at(self._blocked_until)
