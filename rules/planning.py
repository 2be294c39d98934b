"""What the planner reads (``PlanState``) and returns (``Plan``), and helpers its policies share."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rules.model import Action, Client, Delivery, Meeting, Person

if TYPE_CHECKING:
    from rules.minutes import MinutesNote, MinutesRecord
from rules.workdays import WorkingCalendar


@dataclass(frozen=True)
class AEInfo:
    person: Person
    manager: str
    phone: str = ""
    language: str = "zh-CN"


@dataclass(frozen=True)
class PlanState:
    """Everything the planner may look at. It reads nothing else: no clock, no file, no network.

    ``deliveries`` are the open ones (someone still owes a confirmation, or a bounce is to be
    reported); ``done`` holds the keys already sent or skipped. Actions that came due before
    ``not_before`` are skipped (aeflow was not installed yet), unless it is ``None``; so are
    meeting requests for appointments ``first_seen`` by then.
    """

    ae: AEInfo
    clients: tuple[Client, ...]
    meetings: tuple[Meeting, ...]
    deliveries: tuple[Delivery, ...]
    done: frozenset[str]
    workdays: WorkingCalendar
    not_before: datetime | None = None
    minutes: tuple[MinutesRecord, ...] = ()
    minutes_notes: tuple[MinutesNote, ...] = ()
    # When aeflow first saw each meeting (by key), where it knows.
    first_seen: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    key: str
    kind: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The actions due now (oldest first), the ones given up, and when to look again."""

    due: tuple[Action, ...]
    skipped: tuple[Skipped, ...]
    next_wake: datetime | None
    upcoming: tuple[Action, ...] = field(default=())


# Kinds whose mail goes to a client: they leave only in working time, and ask for receipts.
CLIENT_KINDS = frozenset(
    {"confirmation", "receipt_reminder", "minutes", "invitation", "invitation_cancel", "weekly"}
)
# Kinds that go out the moment they are due, whatever the hour: the AE must know at once, and a
# meeting request or its cancellation is sent when the AE makes it, as their calendar would.
IMMEDIATE_KINDS = frozenset(
    {
        "decision_alert",
        "bounce_alert",
        "minutes_problem",
        "agenda_problem",
        "joint_meeting",
        "address_problem",
        "invitation",
        "invitation_cancel",
    }
)

_SAFE = re.compile(r"^[A-Za-z0-9._@+=/-]{1,64}$")


def key_part(text: str) -> str:
    """A piece of an action key: the text itself when short and plain, else a stable digest.

    Keys travel in a mail header and in log lines, so they hold no spaces, colons or control
    characters, and stay short.
    """
    if _SAFE.match(text):
        return text
    return "h" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def stamp(moment: datetime) -> str:
    """An instant as it appears in keys: UTC, to the minute (20261130T0200Z)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def add_working_time(workdays: WorkingCalendar, moment: datetime, span: timedelta) -> datetime:
    """``span``'s days count as working days (same wall time, that many working days on), its
    hours and minutes as working hours on top."""
    at = workdays.next_working_moment(moment)
    for _ in range(span.days):
        day = workdays.next_working_day(at.astimezone(workdays.zone).date())
        local = at.astimezone(workdays.zone)
        at = workdays.next_working_moment(workdays.at(day, local.time()))
    rest = span - timedelta(days=span.days)
    if rest > timedelta(0):
        at = workdays.add_working_hours(at, rest)
    return at
