"""The clock is passed in: the shell reads time here and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
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


class FileClock:
    """A clock that reads the instant from a file at every call (ISO 8601 with an offset).

    For rehearsals and tests that run the real daemon through a simulated week; a file that
    cannot be read raises, so a typo never turns into the real time by accident.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        text = self.path.read_text(encoding="utf-8").strip()
        return require_aware(f"the time in {self.path}", datetime.fromisoformat(text)).astimezone(
            UTC
        )


# The years a --now or --until may name.
FIRST_YEAR, LAST_YEAR = 1971, 9000


def parse_instant(text: str, zone: str) -> datetime:
    """A moment given on the command line: ISO 8601, in ``zone`` when it has no offset."""
    from zoneinfo import ZoneInfo

    from rules.errors import UserError

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"{text!r} is not a time like 2026-11-30T10:00 or 2026-11-30T10:00+08:00"
        ) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        # A year past these leaves no room for the windows and deadlines aeflow computes.
        raise UserError(
            f"{text!r} is not a time aeflow works in: the year must be from "
            f"{FIRST_YEAR} to {LAST_YEAR}"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)
