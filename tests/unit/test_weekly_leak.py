"""No client's weekly schedule shows anything of another client (hypothesis).

Random calendars with several clients: random names, domains, categories, subjects, places and
people, meetings tagged for one client or two, attended by one client's people, by two clients'
people, by colleagues and strangers, some cancelled, some all day, some with minutes and next
steps. Every client mail planned is rendered, composed as the shell composes it (with its .ics
attachment) and read back from the wire; none may contain another client's name, domain or
category, the subject, place or UID of a meeting that is not its client's, the next steps of such
a meeting, or the name or address of anyone seen only in such meetings.

Every generated text is a token of its own (a role, an index, random letters), so that finding one
inside a mail can only mean it was put there.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_sync.ics_publish import publish_calendar
from mailer.compose import Attachment, compose
from mailer.render import RenderedMail, Renderer
from rules.clients import client_of_meeting
from rules.minutes import FollowUp, MinutesRecord
from rules.model import Action, Attendee, Client, Contact, Meeting, Person, Response
from rules.planning import AEInfo, PlanState
from rules.policies import WeeklyPolicy
from rules.weekly import weekly_actions
from tests.unit.planner_fixtures import SHANGHAI, WORKDAYS

AE = Person("ae@agency.example", "AeOwnName")
COLLEAGUES = tuple(
    Person(f"ag{i:02d}colleague@agency.example", f"Ag{i:02d}Colleague") for i in range(4)
)
MONDAY = datetime(2026, 12, 7, tzinfo=SHANGHAI)
RENDERER = Renderer()
LETTERS = st.text(alphabet="bcdfghjkmnpqrstvwxz", min_size=4, max_size=7)


@dataclass(frozen=True)
class World:
    state: PlanState
    people: dict[str, Person]  # every person by address, for the To header


@st.composite
def worlds(draw: st.DrawFn) -> World:
    counter = iter(range(10_000))

    def token(role: str) -> str:
        return f"{role}{next(counter):04d}{draw(LETTERS)}"

    cjk = st.sampled_from(["", "有限公司", "提案会", "会议室"])
    clients: list[Client] = []
    owned: list[list[Person]] = []  # each client's people: contacts and others at its domain
    for _ in range(draw(st.integers(2, 4))):
        domain = f"{token('dm')}.example"
        people = [
            Person(f"{token('pe')}@{domain}", token("Pn") + draw(cjk))
            for _ in range(draw(st.integers(1, 4)))
        ]
        contacts = tuple(
            Contact(p, decision_maker=draw(st.booleans()), weekly=draw(st.booleans()))
            for p in people[: draw(st.integers(0, len(people)))]
        )
        team = tuple(draw(st.lists(st.sampled_from(COLLEAGUES), max_size=2, unique=True)))
        clients.append(
            Client(
                token("Cl") + draw(cjk),
                domains=(domain,),
                category=token("Ct"),
                language=draw(st.sampled_from(["en", "zh-CN"])),
                contacts=contacts,
                team=team,
            )
        )
        owned.append(people)
    strangers = [Person(f"{token('st')}@elsewhere.example", token("Sn")) for _ in range(2)]
    meetings: list[Meeting] = []
    minutes: list[MinutesRecord] = []
    for _ in range(draw(st.integers(1, 10))):
        chosen = draw(st.lists(st.integers(0, len(clients) - 1), min_size=0, max_size=2))
        attendees = [
            p for c in chosen for p in draw(st.lists(st.sampled_from(owned[c]), min_size=1))
        ]
        attendees += draw(st.lists(st.sampled_from(COLLEAGUES + tuple(strangers)), max_size=3))
        start = MONDAY + timedelta(days=draw(st.integers(-7, 20)), hours=draw(st.integers(8, 19)))
        all_day = draw(st.integers(0, 5)) == 0
        if all_day:
            start = start.replace(hour=0)
        tags = draw(st.lists(st.sampled_from([c.category for c in clients]), max_size=2))
        meeting = Meeting(
            uid=token("ui"),
            subject=token("Sj") + draw(cjk),
            start=start,
            end=start + (timedelta(days=1) if all_day else timedelta(minutes=60)),
            all_day=all_day,
            location=token("Lc") + draw(cjk),
            organizer=AE,
            attendees=tuple(
                Attendee(p, response=draw(st.sampled_from(list(Response))))
                for p in dict.fromkeys([AE, *attendees])
            ),
            categories=tuple(dict.fromkeys(tags)),
            cancelled=draw(st.integers(0, 6)) == 0,
        )
        meetings.append(meeting)
        if draw(st.booleans()):
            steps = tuple(
                FollowUp(
                    token("Fw"),
                    token("Fo"),
                    draw(st.none() | st.dates(date(2026, 11, 20), date(2027, 1, 20))),
                )
                for _ in range(draw(st.integers(1, 3)))
            )
            minutes.append(MinutesRecord(meeting.key, 1, start, "", next_steps=steps))
    state = PlanState(
        ae=AEInfo(AE, "boss@agency.example", phone="+86 21 5555 0100", language="zh-CN"),
        clients=tuple(clients),
        meetings=tuple(meetings),
        deliveries=(),
        done=frozenset(),
        workdays=WORKDAYS,
        minutes=tuple(minutes),
    )
    everyone = [AE, *COLLEAGUES, *strangers, *(p for group in owned for p in group)]
    return World(state, {p.email: p for p in everyone})


def forbidden_for(client: Client, state: PlanState) -> set[str]:
    """Everything of the other clients, and of meetings that are not this client's (but for the
    client's own people, who may be written to, and anyone who also attends its meetings)."""
    out: set[str] = set()
    for other in state.clients:
        if other != client:
            out |= {other.name, other.category, *other.domains}
            out |= {x for c in other.contacts for x in (c.person.name, c.person.email)}
    theirs = [m for m in state.meetings if client_of_meeting(m, state.clients) != client]
    ours = [m for m in state.meetings if client_of_meeting(m, state.clients) == client]
    seen_in_ours = {a.person.email for m in ours for a in m.attendees} | {AE.email}
    for meeting in theirs:
        out |= {meeting.uid, meeting.subject, meeting.location}
        for attendee in meeting.attendees:
            email_ = attendee.person.email
            if email_ not in seen_in_ours and not client.owns_address(email_):
                out |= {attendee.person.email, attendee.person.name}
    keys = {m.key for m in theirs}
    for record in state.minutes:
        if record.meeting in keys:
            out |= {x for s in record.next_steps for x in (s.what, s.owner)}
    return {x for x in out if x}


def composed_text(action: Action, world: World) -> tuple[RenderedMail, str, str]:
    """The mail as the shell composes it, read back from its bytes, and its .ics unfolded."""
    context = {
        **action.data,
        "ae": {"name": AE.name, "email": AE.email, "phone": "+86 21 5555 0100"},
        "now_local": "2026-12-11 16:30",
    }
    rendered = RENDERER.render(action.kind, action.language, context)
    ics = publish_calendar(
        cast(list[dict[str, object]], action.data["events"]),
        prodid="-//aeflow//weekly schedule//EN",
        organizer_email=AE.email,
        name=rendered.subject,
        stamp=action.due,
    )
    message = compose(
        rendered,
        sender=AE,
        to=[world.people.get(r, Person(r)) for r in action.recipients],
        request_receipts=True,
        attachments=[Attachment.calendar(ics, "PUBLISH", "weekly.ics")],
    )
    wire = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    parts = [f"{name}: {value}" for name, value in wire.items()]
    for part in wire.walk():
        if not part.is_multipart():
            parts.append(str(part.get_content()))
    # Folding may split a token across lines (RFC 5545 3.1); read it unfolded.
    unfolded = ics.decode("utf-8").replace("\r\n ", "")
    return rendered, "\n".join(parts), unfolded


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(worlds(), st.integers(0, 13), st.booleans())
def test_no_clients_weekly_mail_shows_anything_of_another_client(
    world: World, day: int, send_empty: bool
) -> None:
    now = MONDAY + timedelta(days=day, hours=17)
    policy = WeeklyPolicy(send_empty=send_empty)
    actions = list(weekly_actions(world.state, policy, SHANGHAI, now))
    keys = [a.key for a in actions]
    assert len(keys) == len(set(keys))
    for action in actions:
        if action.kind != "weekly":
            continue
        (client,) = [c for c in world.state.clients if c.name == action.client]
        assert set(action.recipients) <= {c.person.email for c in client.contacts if c.weekly}
        rendered, wire, ics = composed_text(action, world)
        for meeting in cast(list[dict[str, str]], action.data["meetings"]):
            assert meeting["subject"] in rendered.text and meeting["subject"] in ics
        for text in (rendered.subject, rendered.text, rendered.html, wire, ics):
            leaked = sorted(x for x in forbidden_for(client, world.state) if x in text)
            assert not leaked, f"{action.key} shows {leaked}"
