"""The clock is passed in: the shell reads time here and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from rules.model import require_aware


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests and the demo: it reads what it was set to, and moves only when told."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware("FixedClock start", start).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware("FixedClock.set", moment).astimezone(UTC)
