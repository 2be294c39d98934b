"""Meeting requests: which appointments aeflow invites a client to, updates and cancellations."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from rules.invitations import fingerprint, invitation_key, sent_history
from rules.model import Action, Attendee, Delivery, DeliveryStatus, Meeting, Person, Role
from rules.planner import plan
from rules.policies import Policies
from tests.unit.planner_fixtures import (
    ACME,
    AE,
    JANE,
    LIU,
    MEI,
    TOM,
    at,
    delivery,
    meeting,
    state,
)

NOW = at(7, 15)  # Monday 7 December 2026, 15:00
AGENDA = "1. Brand review - 20 min\n2. Creative proposal - 30 min\nBring: last quarter's figures"


def appointment(**changes: object) -> Meeting:
    """What the AE puts in their calendar: tagged with Acme's category, nobody invited yet."""
    base = meeting(uid="appt-1", people=(), categories=("Client: Acme",), body=AGENDA)
    return replace(base, **{"organizer": None, **changes})  # type: ignore[arg-type]


def due(
    meetings: tuple[Meeting, ...],
    done: frozenset[str] = frozenset(),
    now: datetime = NOW,
    deliveries: tuple[Delivery, ...] = (),
) -> list[Action]:
    current = plan(now, state(meetings, deliveries=deliveries, done=done), Policies())
    return [
        a for a in current.due if a.kind in {"invitation", "invitation_cancel", "agenda_problem"}
    ]


def test_a_tagged_appointment_invites_the_clients_contacts_and_team_at_once() -> None:
    (action,) = due((appointment(),))
    assert action.kind == "invitation"
    assert action.key == invitation_key("appt-1", 0, fingerprint(appointment()))
    assert action.due == NOW and action.expires == appointment().start
    assert set(action.recipients) == {JANE.email, TOM.email, MEI.email}
    assert AE.email not in action.recipients
    itip = action.data["itip"]
    assert isinstance(itip, dict)
    assert itip["method"] == "REQUEST" and itip["sequence"] == 0 and itip["uid"] == "appt-1"
    assert itip["organizer"] == {"email": AE.email, "name": AE.name}
    context = action.data["meeting"]
    assert isinstance(context, dict)
    assert [t["start"] for t in context["agenda"]] == ["10:00", "10:20"]
    assert context["bring"] == ["last quarter's figures"]
    assert action.data["update"] is False


def test_a_contact_not_marked_invite_is_left_out() -> None:
    client = replace(
        ACME, contacts=(replace(ACME.contacts[0]), replace(ACME.contacts[1], invite=False))
    )
    current = state((appointment(),))
    current = replace(current, clients=(client, *current.clients[1:]))
    (action,) = [a for a in plan(NOW, current, Policies()).due if a.kind == "invitation"]
    assert TOM.email not in action.recipients and JANE.email in action.recipients


def test_an_optional_attendee_already_on_the_appointment_stays_optional() -> None:
    guest = Person("guest@partner.example", "Guest")
    (action,) = due((appointment(attendees=(Attendee(guest, Role.OPTIONAL),)),))
    itip = action.data["itip"]
    assert isinstance(itip, dict)
    roles = {a["email"]: a["role"] for a in itip["attendees"]}
    assert roles[guest.email] == "optional" and roles[JANE.email] == "required"


def test_once_sent_the_same_meeting_is_not_invited_again() -> None:
    (first,) = due((appointment(),))
    assert due((appointment(),), done=frozenset({first.key})) == []


def test_a_moved_meeting_sends_one_update_with_a_higher_sequence() -> None:
    (first,) = due((appointment(),))
    moved = appointment(start=at(10, 14), end=at(10, 15))
    (update,) = due((moved,), done=frozenset({first.key}))
    assert update.key == invitation_key("appt-1", 1, fingerprint(moved))
    assert update.data["update"] is True
    assert due((moved,), done=frozenset({first.key, update.key})) == []


def test_moving_a_meeting_back_still_sends_an_update() -> None:
    (first,) = due((appointment(),))
    moved = appointment(location="Agency, room 3")
    (second,) = due((moved,), done=frozenset({first.key}))
    (third,) = due((appointment(),), done=frozenset({first.key, second.key}))
    itip = third.data["itip"]
    assert isinstance(itip, dict) and itip["sequence"] == 2


def test_the_sequence_never_goes_below_the_calendars_own() -> None:
    (first,) = due((appointment(sequence=4),))
    itip = first.data["itip"]
    assert isinstance(itip, dict) and itip["sequence"] == 4


def test_a_cancelled_meeting_sends_one_cancellation_and_a_restored_one_is_invited_again() -> None:
    (first,) = due((appointment(),))
    cancelled = appointment(cancelled=True)
    (cancel,) = due((cancelled,), done=frozenset({first.key}))
    assert cancel.kind == "invitation_cancel" and cancel.key == "uninvite:appt-1:1"
    itip = cancel.data["itip"]
    assert isinstance(itip, dict) and itip["method"] == "CANCEL"
    assert set(cancel.recipients) == {JANE.email, TOM.email, MEI.email}
    done = frozenset({first.key, cancel.key})
    assert due((cancelled,), done=done) == []
    (again,) = due((appointment(),), done=done)
    assert again.kind == "invitation" and again.key.startswith("invite:appt-1:2:")


def test_a_cancelled_meeting_never_invited_sends_nothing() -> None:
    assert due((appointment(cancelled=True),)) == []


def test_meetings_aeflow_does_not_manage_get_no_invitation() -> None:
    by_hand = appointment(attendees=(Attendee(JANE),))
    someone_elses = appointment(organizer=JANE)
    untagged = appointment(categories=())
    recurring = appointment(occurrence_id="2026-12-09T02:00:00+00:00")
    started = appointment(start=at(7, 14), end=at(7, 16))
    all_day = appointment(all_day=True)
    with_another_client = appointment(attendees=(Attendee(LIU, Role.OPTIONAL),))
    cases = (by_hand, someone_elses, untagged, recurring, started, all_day, with_another_client)
    for case in cases:
        assert due((case,)) == [], case


def test_an_invited_meeting_the_calendar_now_lists_attendees_for_stays_managed() -> None:
    (first,) = due((appointment(),))
    noted = appointment(attendees=(Attendee(JANE), Attendee(TOM), Attendee(MEI)), organizer=AE)
    assert due((noted,), done=frozenset({first.key})) == []
    moved = replace(noted, start=at(11, 10), end=at(11, 11))
    (update,) = due((moved,), done=frozenset({first.key}))
    assert update.data["update"] is True


def test_an_agenda_longer_than_the_meeting_tells_the_ae_and_holds_the_invitation() -> None:
    crowded = appointment(end=at(9, 10, 40))  # 40 minutes for 50 minutes of topics
    (problem,) = due((crowded,))
    assert problem.kind == "agenda_problem" and problem.recipients == (AE.email,)
    assert problem.data["over_minutes"] == 10
    assert due((crowded,), done=frozenset({problem.key})) == []
    (invitation,) = due((appointment(),), done=frozenset({problem.key}))
    assert invitation.kind == "invitation"


def test_the_history_is_read_back_from_the_keys_alone() -> None:
    keys = frozenset({"invite:u:0:aaa", "invite:u:1:bbb", "uninvite:u:2", "confirm:u:x"})
    history = sent_history(keys)["u"]
    assert [(h.sequence, h.cancelled) for h in history] == [(0, False), (1, False), (2, True)]


def test_a_superseded_invitation_is_not_chased_but_the_current_one_is() -> None:
    (first,) = due((appointment(),))
    moved = appointment(start=at(10, 14), end=at(10, 15))
    sent = replace(
        delivery(
            key=first.key,
            meeting="appt-1",
            sent_at=NOW - timedelta(days=1),
            statuses={JANE.email: DeliveryStatus.SENT},
        ),
        kind="invitation",
    )
    later = NOW + timedelta(hours=1)
    current = plan(
        later, state((moved,), deliveries=(sent,), done=frozenset({first.key})), Policies()
    )
    assert not [a for a in current.due if a.chain == first.key]
    chased = plan(
        later, state((appointment(),), deliveries=(sent,), done=frozenset({first.key})), Policies()
    )
    assert [a.kind for a in chased.due if a.chain == first.key] == ["receipt_reminder"]


def test_an_appointment_already_there_when_aeflow_was_installed_is_left_alone() -> None:
    installed = NOW - timedelta(days=1)
    before = replace(
        state((appointment(),), not_before=installed), first_seen={"appt-1": installed}
    )
    assert [a for a in plan(NOW, before, Policies()).due if a.kind == "invitation"] == []
    after = replace(before, first_seen={"appt-1": installed + timedelta(minutes=1)})
    assert [a.kind for a in plan(NOW, after, Policies()).due] == ["invitation"]
