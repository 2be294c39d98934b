"""The policies the planner follows, as the configuration sets them. Pure values with defaults."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class ConfirmationPolicy:
    enabled: bool = True
    time: dt.time = dt.time(10, 0)
    min_lead: timedelta = timedelta(hours=2)
    check_time: dt.time = dt.time(16, 0)


@dataclass(frozen=True)
class ReceiptsPolicy:
    enabled: bool = True
    confirm_within: timedelta = timedelta(hours=4)
    escalate_after: timedelta = timedelta(days=1)
    lookback: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class MinutesPolicy:
    enabled: bool = True
    delay: timedelta = timedelta(minutes=10)
    reminder_after: timedelta = timedelta(hours=20)
    deadline: timedelta = timedelta(hours=24)
    working_hours: bool = False


@dataclass(frozen=True)
class WeeklyPolicy:
    enabled: bool = True
    time: dt.time = dt.time(16, 30)
    send_empty: bool = False


@dataclass(frozen=True)
class Policies:
    confirmation: ConfirmationPolicy = field(default_factory=ConfirmationPolicy)
    receipts: ReceiptsPolicy = field(default_factory=ReceiptsPolicy)
    minutes: MinutesPolicy = field(default_factory=MinutesPolicy)
    weekly: WeeklyPolicy = field(default_factory=WeeklyPolicy)
