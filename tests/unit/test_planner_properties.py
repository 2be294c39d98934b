"""Properties of the planner over random calendars, signals and clock steps (hypothesis).

A small world runs the pure planner the way the executor does: every due action is "sent" (its key
joins the done set; a confirmation becomes a tracked delivery), random signals come back, meetings
move, and the clock steps forward by random amounts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.clients import client_of_address
from rules.confirmation import confirmation_key
from rules.model import (
    Action,
    Attendee,
    Delivery,
    Meeting,
    Person,
    RecipientStatus,
    Response,
    Signal,
    SignalKind,
)
from rules.planner import plan
from rules.planning import CLIENT_KINDS
from rules.policies import Policies
from rules.tracking import apply_signal
from tests.unit.planner_fixtures import ACME, AE, HUADONG, JANE, LIU, MEI, TOM, at, state

POOL = (JANE, TOM, LIU, MEI, Person("stranger@elsewhere.example", "Stranger"))
START = at(7, 8)  # Monday 7 December 2026, 08:00 Shanghai
POLICIES = Policies()


@st.composite
def meetings(draw: st.DrawFn) -> tuple[Meeting, ...]:
    count = draw(st.integers(1, 6))
    out = []
    for index in range(count):
        day = draw(st.integers(0, 11))
        hour = draw(st.integers(8, 19))
        # Some appointments are tagged with Acme's category and invite nobody yet: aeflow
        # sends their meeting requests, updates and cancellations.
        tagged = draw(st.booleans())
        people = draw(
            st.lists(st.sampled_from(POOL), min_size=0 if tagged else 1, max_size=4, unique=True)
        )
        responses = draw(st.lists(st.sampled_from(list(Response)), min_size=len(people)))
        begin = START.replace(hour=hour) + timedelta(days=day)
        out.append(
            Meeting(
                uid=f"m{index}",
                subject=f"Meeting {index}",
                start=begin,
                end=begin + timedelta(minutes=draw(st.sampled_from([30, 60, 90]))),
                organizer=AE,
                attendees=tuple(
                    Attendee(p, response=r) for p, r in zip(people, responses, strict=False)
                ),
                cancelled=draw(st.booleans()) and draw(st.booleans()),
                categories=(ACME.category,) if tagged else (),
            )
        )
    return tuple(out)


steps = st.lists(st.integers(5, 300), min_size=20, max_size=80)  # minutes between ticks
world_events = st.lists(
    st.tuples(
        st.integers(0, 79),  # at which tick
        st.sampled_from(["read", "reply", "accept", "decline", "bounce", "move", "cancel"]),
        st.integers(0, 5),  # which meeting
        st.sampled_from(POOL),  # who
        st.integers(-3, 3),  # days to move by
    ),
    max_size=25,
)


class Run:
    """The executor's bookkeeping, in memory."""

    def __init__(self, calendar: tuple[Meeting, ...]) -> None:
        self.meetings = {m.uid: m for m in calendar}
        self.deliveries: dict[str, Delivery] = {}
        self.done: set[str] = set()
        self.executed: Counter[str] = Counter()
        self.log: list[tuple[datetime, Action]] = []

    def tick(self, now: datetime) -> None:
        world = state(
            tuple(self.meetings.values()),
            tuple(d for d in self.deliveries.values() if d.open),
            frozenset(self.done),
        )
        result = plan(now, world, POLICIES)
        due_keys = [a.key for a in result.due]
        assert len(due_keys) == len(set(due_keys)), "a key twice in one plan"
        for skipped in result.skipped:
            self.done.add(skipped.key)
        for action in result.due:
            check_action(action, now, self.meetings)
            assert action.key not in self.done, f"{action.key} planned again after it was done"
            self.executed[action.key] += 1
            self.log.append((now, action))
            self.done.add(action.key)
            self.done.update(action.covers)
            if action.kind == "confirmation":
                self.deliveries[action.key] = Delivery(
                    key=action.key,
                    kind="confirmation",
                    message_id=f"<{len(self.log)}@agency.example>",
                    sent_at=now,
                    recipients=tuple(RecipientStatus(r) for r in action.recipients),
                    client=action.client,
                    meeting=str(action.data["meeting_key"]),
                )

    def signal(self, now: datetime, kind: str, meeting: Meeting, who: Person) -> None:
        key = confirmation_key(meeting)
        delivery = self.deliveries.get(key)
        response = {"accept": Response.ACCEPTED, "decline": Response.DECLINED}.get(kind)
        if response is not None:
            attendees = tuple(
                replace(a, response=response, responded_at=now) if a.person == who else a
                for a in meeting.attendees
            )
            self.meetings[meeting.uid] = replace(meeting, attendees=attendees)
        if delivery is None:
            return
        signal_kind = {
            "read": SignalKind.READ_RECEIPT,
            "reply": SignalKind.REPLY,
            "bounce": SignalKind.BOUNCE,
        }.get(kind, SignalKind.MEETING_RESPONSE)
        updated = apply_signal(
            delivery,
            Signal(
                kind=signal_kind,
                at=now,
                sender=who.email,
                recipient=who.email,
                response=response,
                status="5.1.1" if kind == "bounce" else "",
            ),
        )
        if updated is not None:
            self.deliveries[key] = updated


def check_action(action: Action, now: datetime, meetings: dict[str, Meeting]) -> None:
    """What must hold of every action the planner says is due."""
    assert action.due <= now
    assert action.expires is None or now < action.expires, f"{action.key} after its expiry"
    if action.kind in CLIENT_KINDS:
        # Only addresses the meeting or the config names, and no other client's people.
        meeting_people = {a.person.email for m in meetings.values() for a in m.attendees}
        contacts = {c.person.email for c in (*ACME.contacts, *HUADONG.contacts)}
        contacts |= {p.email for p in (*ACME.team, *HUADONG.team)}
        for recipient in action.recipients:
            assert recipient in meeting_people | contacts
            owner = client_of_address(recipient, (ACME, HUADONG))
            # Another client's person hears only of a meeting they attend themselves (a joint
            # meeting its category gives to one client).
            about = meetings.get(str(action.data.get("meeting_key", "")).split("/")[0])
            attends = about is not None and about.attendee(recipient) is not None
            assert owner is None or owner.name == action.client or attends, (
                "one client told of another"
            )
    elif action.kind == "weekly_team":
        team = {p.email for p in (*ACME.team, *HUADONG.team)}
        assert set(action.recipients) <= {AE.email} | team
    else:
        assert action.recipients in ((AE.email,), ("boss@agency.example",))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meetings(), steps, world_events)
def test_no_key_twice_nothing_after_expiry_and_client_mail_stays_with_its_client(
    calendar: tuple[Meeting, ...],
    gaps: list[int],
    events: list[tuple[int, str, int, Person, int]],
) -> None:
    run = Run(calendar)
    now = START
    for index, gap in enumerate(gaps):
        now += timedelta(minutes=gap)
        for when, kind, which, who, days in events:
            if when != index:
                continue
            uid = f"m{which}"
            meeting = run.meetings.get(uid)
            if meeting is None:
                continue
            if kind == "move":
                shift = timedelta(days=days or 1)
                run.meetings[uid] = replace(
                    meeting, start=meeting.start + shift, end=meeting.end + shift
                )
            elif kind == "cancel":
                run.meetings[uid] = replace(meeting, cancelled=True)
            else:
                run.signal(now, kind, meeting, who)
        run.tick(now)
    assert all(count == 1 for count in run.executed.values())


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 4),  # the day of the meeting in the second week
    st.integers(9, 16),  # its hour
    st.integers(1, 4),  # days it moves later, after its confirmation went out
    st.sampled_from([15, 30, 60]),  # minutes between ticks
)
def test_a_meeting_moved_after_its_confirmation_gets_exactly_one_new_one(
    day: int, hour: int, later: int, every: int
) -> None:
    first = START.replace(hour=hour) + timedelta(days=7 + day)
    meeting = Meeting(
        uid="moving",
        subject="Review",
        start=first,
        end=first + timedelta(hours=1),
        organizer=AE,
        attendees=(Attendee(JANE), Attendee(TOM)),
    )
    run = Run((meeting,))
    now = START
    moved_at = None
    while now < first + timedelta(days=later + 1):
        now += timedelta(minutes=every)
        run.tick(now)
        if moved_at is None and confirmation_key(meeting) in run.done:
            moved_at = now
            shifted = timedelta(days=later)
            run.meetings["moving"] = replace(
                meeting, start=first + shifted, end=meeting.end + shifted
            )
    confirmations = [a for _, a in run.log if a.kind == "confirmation"]
    first_one, *new_ones = confirmations
    assert first_one.key == confirmation_key(meeting)
    assert len(new_ones) == 1, [a.key for a in confirmations]
    assert new_ones[0].key == confirmation_key(run.meetings["moving"])
