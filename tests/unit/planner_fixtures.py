"""Building blocks for planner tests: two clients, an AE in Shanghai, meetings and deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rules.model import (
    Attendee,
    Client,
    Contact,
    Delivery,
    DeliveryStatus,
    Meeting,
    Person,
    RecipientStatus,
    Response,
)
from rules.planning import AEInfo, PlanState
from rules.workdays import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
AE = Person("ae@agency.example", "王小明")
MANAGER = "boss@agency.example"
JANE = Person("jane@acme.example", "Jane Doe")
TOM = Person("tom@acme.example", "Tom Lee")
LIU = Person("liu@huadong.example", "刘总")
MEI = Person("mei@agency.example", "Mei Zhang")
ACME = Client(
    "Acme",
    domains=("acme.example",),
    category="Client: Acme",
    language="en",
    contacts=(Contact(JANE, decision_maker=True, weekly=True), Contact(TOM)),
    team=(MEI,),
)
HUADONG = Client(
    "华东食品",
    domains=("huadong.example",),
    language="zh-CN",
    contacts=(Contact(LIU, decision_maker=True),),
)
WORKDAYS = WorkingCalendar(SHANGHAI, country="CN")


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    """A moment in December 2026 (a month without public holidays in China), Shanghai time."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def meeting(
    uid: str = "m1",
    start: datetime | None = None,
    minutes: int = 60,
    people: tuple[Person, ...] = (JANE, TOM, MEI),
    responses: dict[str, Response] | None = None,
    **extra: object,
) -> Meeting:
    begin = start or at(9, 10)  # Wednesday 9 December 10:00
    responses = responses or {}
    return Meeting(
        uid=uid,
        subject=str(extra.pop("subject", "Campaign brief")),
        start=begin,
        end=begin + timedelta(minutes=minutes),
        location="Acme HQ",
        organizer=AE,
        attendees=tuple(
            Attendee(p, response=responses.get(p.email, Response.NEEDS_ACTION)) for p in people
        ),
        **extra,  # type: ignore[arg-type]
    )


def delivery(
    key: str = "confirm:m1:x",
    sent_at: datetime | None = None,
    statuses: dict[str, DeliveryStatus] | None = None,
    client: str = "Acme",
    **extra: object,
) -> Delivery:
    statuses = statuses or {JANE.email: DeliveryStatus.SENT, TOM.email: DeliveryStatus.SENT}
    return Delivery(
        key=key,
        kind="confirmation",
        message_id=f"<{key}@agency.example>",
        sent_at=sent_at or at(8, 10),
        recipients=tuple(RecipientStatus(e, s) for e, s in statuses.items()),
        client=client,
        subject="Meeting confirmation",
        **extra,  # type: ignore[arg-type]
    )


def state(
    meetings: tuple[Meeting, ...] = (),
    deliveries: tuple[Delivery, ...] = (),
    done: frozenset[str] = frozenset(),
    not_before: datetime | None = None,
) -> PlanState:
    return PlanState(
        ae=AEInfo(AE, MANAGER, phone="+86 21 5555 0100", language="zh-CN"),
        clients=(ACME, HUADONG),
        meetings=meetings,
        deliveries=deliveries,
        done=done,
        workdays=WORKDAYS,
        not_before=not_before,
    )
