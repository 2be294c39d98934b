"""Whom aeflow writes to about a meeting: one client's meetings only, organized by the AE or that
client, and only to the AE's side and that client's people."""

from __future__ import annotations

from dataclasses import replace

from rules.model import Person
from rules.planner import plan
from rules.policies import Policies
from tests.unit.planner_fixtures import AE, JANE, LIU, MEI, TOM, at, meeting, state

POLICIES = Policies()
OUTSIDER = Person("mallory@evil.example", "Mallory")
DAY_BEFORE = at(8, 10)  # the confirmation of a meeting on Wednesday 9 December is due now


def client_mail(actions: object) -> list[object]:
    kinds = {"confirmation", "invitation", "minutes", "weekly", "receipt_reminder"}
    return [a for a in actions if a.kind in kinds]  # type: ignore[attr-defined]


def test_a_meeting_tagged_for_one_client_with_another_clients_contact_gets_no_client_mail() -> None:
    joint = meeting(people=(JANE, LIU, MEI), categories=("Client: Acme",))
    current = plan(DAY_BEFORE, state((joint,)), POLICIES)
    assert client_mail(current.due) == []
    (note,) = [a for a in current.due if a.kind == "joint_meeting"]
    assert note.recipients == (AE.email,)
    assert note.data["clients"] == ["Acme", "华东食品"]
    assert LIU.email not in note.recipients and JANE.email not in note.recipients


def test_the_ae_hears_of_a_joint_meeting_once_per_time_it_is_at() -> None:
    joint = meeting(people=(JANE, LIU))
    (note,) = [a for a in plan(DAY_BEFORE, state((joint,)), POLICIES).due]
    again = plan(at(8, 11), state((joint,), done=frozenset({note.key})), POLICIES)
    assert [a for a in again.due if a.kind == "joint_meeting"] == []
    moved = replace(joint, start=at(10, 10), end=at(10, 11))
    later = plan(at(8, 11), state((moved,), done=frozenset({note.key})), POLICIES)
    assert [a.kind for a in later.due] == ["joint_meeting"]


def test_an_event_an_outsider_organizes_gets_no_confirmation_from_the_ae() -> None:
    theirs = replace(meeting(people=(JANE, TOM, OUTSIDER)), organizer=OUTSIDER)
    current = plan(DAY_BEFORE, state((theirs,)), POLICIES)
    assert client_mail(current.due) == []


def test_an_event_the_client_organizes_is_confirmed_to_our_side_and_the_client_only() -> None:
    theirs = replace(meeting(people=(JANE, TOM, MEI, OUTSIDER)), organizer=JANE)
    (confirmation,) = client_mail(plan(DAY_BEFORE, state((theirs,)), POLICIES).due)
    assert set(confirmation.recipients) == {JANE.email, TOM.email, MEI.email}  # type: ignore[attr-defined]


def test_an_outsider_on_the_aes_own_meeting_is_not_written_to() -> None:
    ours = meeting(people=(JANE, OUTSIDER))
    (confirmation,) = client_mail(plan(DAY_BEFORE, state((ours,)), POLICIES).due)
    assert confirmation.recipients == (JANE.email,)  # type: ignore[attr-defined]
