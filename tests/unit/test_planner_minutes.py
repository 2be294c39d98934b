"""Minutes within 24 hours: prompt, reminder, escalation, the minutes mail, follow-ups."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.minutes import FollowUp, MinutesNote, MinutesRecord, minutes_key, prompt_key
from rules.planner import plan
from rules.planning import PlanState
from rules.policies import MinutesPolicy, Policies
from tests.unit.planner_fixtures import AE, JANE, LIU, MANAGER, MEI, TOM, at, meeting, state

POLICIES = Policies()
BRIEF = meeting(start=at(9, 10), minutes=90)  # Wednesday 10:00-11:30


def due_kinds(result: object) -> list[str]:
    return sorted(a.kind for a in result.due)  # type: ignore[attr-defined]


def after_confirmation(world: PlanState) -> PlanState:
    """The world with every confirmation-side action already done: only minutes remain."""
    done = {a.key for a in plan(at(9, 11, 30), world, POLICIES).due}
    done |= {a.key for a in plan(at(9, 11, 30), world, POLICIES).upcoming}
    return replace(world, done=frozenset(k for k in done if not k.startswith("minutes")))


def records(*items: MinutesRecord) -> tuple[MinutesRecord, ...]:
    return items


def test_the_ae_is_asked_for_minutes_ten_minutes_after_the_meeting_ends() -> None:
    world = after_confirmation(state((BRIEF,)))
    assert "minutes_prompt" not in due_kinds(plan(at(9, 11, 39), world, POLICIES))
    (prompt,) = [a for a in plan(at(9, 11, 40), world, POLICIES).due if a.kind == "minutes_prompt"]
    assert prompt.key == prompt_key(BRIEF)
    assert prompt.recipients == (AE.email,)
    assert prompt.data["deadline"] == "2026-12-10 11:30"  # type: ignore[index]


def test_without_minutes_the_ae_is_reminded_at_20_hours_and_the_manager_hears_at_24() -> None:
    world = after_confirmation(state((BRIEF,)))
    world = replace(world, done=world.done | {prompt_key(BRIEF)})
    # 20 hours after 11:30 is 07:30 Thursday; mail to the AE waits for working time.
    assert plan(at(10, 7, 30), world, POLICIES).due == ()
    reminded = plan(at(10, 9), world, POLICIES)
    assert [a.kind for a in reminded.due] == ["minutes_reminder"]
    done = world.done | {a.key for a in reminded.due}
    (digest,) = plan(at(10, 11, 30), replace(world, done=done), POLICIES).due
    assert digest.kind == "escalation" and digest.recipients == (MANAGER,)
    assert digest.data["late_minutes"][0]["subject"] == "Campaign brief"  # type: ignore[index]
    assert digest.data["items"] == []  # type: ignore[index]


def test_working_hours_minutes_count_only_working_time() -> None:
    policies = replace(POLICIES, minutes=MinutesPolicy(working_hours=True))
    world = after_confirmation(state((BRIEF,)))
    upcoming = {a.kind: a.due for a in plan(at(9, 12), world, policies).upcoming}
    # 20 working hours from Wednesday 11:30: 5.5 that day (to 12:00, then 13:00-18:00), 8 on
    # Thursday, and the last 6.5 on Friday: 9:00-12:00, then 13:00-16:30.
    assert upcoming["minutes_reminder"] == at(11, 16, 30)


def test_minutes_taken_in_go_to_every_attendee_and_stop_the_chase() -> None:
    taken = MinutesRecord(
        meeting=BRIEF.key,
        version=1,
        submitted_at=at(9, 14),
        text="...",
        conclusions=("Go ahead",),
        next_steps=(FollowUp("Revise the key visual", "Mei Zhang", date(2026, 12, 14)),),
    )
    world = replace(after_confirmation(state((BRIEF,))), minutes=records(taken))
    result = plan(at(9, 14), world, POLICIES)
    (mail,) = [a for a in result.due if a.kind == "minutes"]
    assert mail.key == minutes_key(BRIEF)
    assert set(mail.recipients) == {JANE.email, TOM.email, MEI.email}
    assert mail.language == "en"
    assert mail.data["late"] is False  # type: ignore[index]
    later = plan(at(10, 12), replace(world, done=world.done | {mail.key}), POLICIES)
    assert not {"minutes_prompt", "minutes_reminder", "escalation"} & set(due_kinds(later))


def test_late_minutes_still_go_and_say_so_and_a_correction_is_a_new_version() -> None:
    late = MinutesRecord(meeting=BRIEF.key, version=1, submitted_at=at(10, 16), text="x")
    fixed = replace(late, version=2, submitted_at=at(10, 17))
    world = replace(after_confirmation(state((BRIEF,))), minutes=records(late, fixed))
    mails = [a for a in plan(at(10, 17), world, POLICIES).due if a.kind == "minutes"]
    assert [a.key for a in mails] == [minutes_key(BRIEF), minutes_key(BRIEF, 2)]
    assert [a.data["late"] for a in mails] == [True, True]  # type: ignore[index]
    assert [a.data["corrected"] for a in mails] == [False, True]  # type: ignore[index]


def test_an_agency_owner_is_reminded_the_working_day_before_a_next_step_is_due() -> None:
    steps = (
        FollowUp("Revise the key visual", "Mei", date(2026, 12, 14)),  # Monday
        FollowUp("Send the budget", "Tom Lee", date(2026, 12, 14)),  # the client's: not chased
        FollowUp("Book the studio", "Mei Zhang", None),  # no date: nothing to remind of
    )
    taken = MinutesRecord(BRIEF.key, 1, at(9, 14), "x", next_steps=steps)
    world = replace(after_confirmation(state((BRIEF,))), minutes=records(taken))
    world = replace(world, done=world.done | {minutes_key(BRIEF)})
    result = plan(at(11, 10), world, POLICIES)  # Friday 10:00, the working day before
    (reminder,) = [a for a in result.due if a.kind == "followup_reminder"]
    assert reminder.recipients == (MEI.email,)
    assert reminder.data["step"]["what"] == "Revise the key visual"  # type: ignore[index]


def test_a_reply_that_could_not_be_taken_in_is_explained_to_the_ae_at_once() -> None:
    note = MinutesNote("<r1@agency.example>", "Campaign brief", "Re: minutes", "empty", at(9, 23))
    world = replace(state(()), minutes_notes=(note,))
    (action,) = plan(at(9, 23), world, POLICIES).due  # 23:00: outside working time, still goes
    assert action.kind == "minutes_problem"
    assert action.recipients == (AE.email,)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([JANE, TOM, LIU, MEI]), min_size=1, max_size=4, unique=True),
    st.integers(0, 3),
)
def test_minutes_never_go_to_anyone_outside_the_meetings_attendees(
    people: list[object], version_count: int
) -> None:
    other = meeting(uid="other", start=at(9, 15), people=(LIU,))
    brief = meeting(start=at(9, 10), people=tuple(people))  # type: ignore[arg-type]
    taken = tuple(
        MinutesRecord(brief.key, v, at(9, 14) + timedelta(hours=v), "x")
        for v in range(1, version_count + 2)
    )
    world = replace(state((brief, other)), minutes=taken)
    attendees = {a.person.email for a in brief.attendees}
    for action in plan(at(12, 10), world, POLICIES).due:
        if action.kind == "minutes":
            assert set(action.recipients) <= attendees
            assert AE.email not in action.recipients


def test_a_friday_meetings_minutes_reminder_is_not_lost_to_the_weekend() -> None:
    friday = meeting(start=at(11, 15), minutes=60)  # Friday 11 December, 15:00-16:00
    world = after_confirmation(state((friday,)))
    world = replace(world, done=world.done | {prompt_key(friday)})
    friday_evening = plan(at(11, 16, 30), world, POLICIES).due
    world = replace(world, done=world.done | {a.key for a in friday_evening})
    # 20 and 24 hours after Friday 16:00 fall on Saturday: both come on Monday morning.
    monday = plan(at(14, 9), world, POLICIES)
    assert sorted(a.kind for a in monday.due) == ["escalation", "minutes_reminder"]
    assert monday.skipped == ()
