"""Day-before confirmation and the decision-maker check, as the planner decides them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rules.confirmation import confirmation_key
from rules.model import DeliveryStatus, RecipientStatus, Response
from rules.planner import plan
from rules.policies import Policies
from tests.unit.planner_fixtures import (
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

POLICIES = Policies()


def kinds(actions: object) -> list[str]:
    return [a.kind for a in actions]  # type: ignore[attr-defined]


def test_a_confirmation_is_due_at_ten_on_the_previous_working_day() -> None:
    brief = meeting(start=at(9, 14))  # Wednesday 14:00
    early = plan(at(8, 9, 59), state((brief,)), POLICIES)
    assert early.due == ()
    assert early.next_wake == at(8, 10)
    due = plan(at(8, 10), state((brief,)), POLICIES)
    (confirmation,) = [a for a in due.due if a.kind == "confirmation"]
    assert confirmation.key == confirmation_key(brief)
    assert confirmation.key == "confirm:m1:20261209T0600Z"
    assert set(confirmation.recipients) == {JANE.email, TOM.email, MEI.email}
    assert AE.email not in confirmation.recipients
    assert confirmation.language == "en"
    assert confirmation.data["meeting"]["start"] == "14:00"  # type: ignore[index]


def test_a_monday_meeting_is_confirmed_on_friday() -> None:
    monday = meeting(start=at(14, 10))
    friday = plan(at(11, 10, 5), state((monday,)), POLICIES)
    assert "confirmation" in kinds(friday.due)
    thursday = plan(at(10, 17), state((monday,)), POLICIES)
    assert thursday.next_wake == at(11, 10)


def test_the_confirmation_moves_with_a_rescheduled_meeting() -> None:
    original = meeting(start=at(9, 14))
    sent = confirmation_key(original)
    moved = replace(original, start=at(11, 14), end=at(11, 15))
    after = plan(at(8, 11), state((moved,), done=frozenset({sent})), POLICIES)
    assert after.due == ()
    assert after.next_wake == at(10, 10)
    (again,) = [a for a in plan(at(10, 10), state((moved,), done=frozenset({sent})), POLICIES).due]
    assert again.key != sent
    assert again.key == confirmation_key(moved)


def test_a_cancelled_meeting_gets_no_confirmation() -> None:
    cancelled = meeting(start=at(9, 14), cancelled=True)
    result = plan(at(8, 10), state((cancelled,)), POLICIES)
    assert result.due == ()
    assert result.next_wake is None


def test_a_meeting_booked_late_is_confirmed_at_once_while_it_is_far_enough_ahead() -> None:
    today = meeting(start=at(9, 15))
    morning = plan(at(9, 9, 30), state((today,)), POLICIES)
    assert kinds(morning.due) == ["confirmation"]
    too_late = plan(at(9, 13, 30), state((today,)), POLICIES)  # less than 2h before
    assert too_late.due == ()
    assert [s.reason for s in too_late.skipped if s.kind == "confirmation"] == ["expired"]


def test_a_meeting_that_has_started_is_never_confirmed() -> None:
    started = meeting(start=at(9, 10))
    result = plan(at(9, 10, 30), state((started,)), POLICIES)
    assert "confirmation" not in kinds(result.due)


def test_a_confirmation_due_before_working_hours_waits_for_them() -> None:
    early = replace(POLICIES, confirmation=replace(POLICIES.confirmation, time=at(1, 7).time()))
    brief = meeting(start=at(9, 14))
    assert plan(at(8, 7, 30), state((brief,)), early).due == ()
    (sent,) = plan(at(8, 9), state((brief,)), early).due
    assert sent.due == at(8, 9)


def test_nothing_that_came_due_before_installation_is_sent() -> None:
    brief = meeting(start=at(9, 14))
    result = plan(at(8, 11), state((brief,), not_before=at(8, 10, 30)), POLICIES)
    assert result.due == ()
    assert [s.reason for s in result.skipped if s.kind == "confirmation"] == [
        "came due before aeflow was installed"
    ]


def test_a_meeting_without_a_client_is_left_alone() -> None:
    internal = meeting(people=(MEI,), subject="Team sync")
    assert plan(at(8, 10), state((internal,)), POLICIES).due == ()


def test_a_decision_maker_who_declined_is_reported_at_once() -> None:
    brief = meeting(start=at(9, 14), responses={JANE.email: Response.DECLINED})
    result = plan(at(7, 15), state((brief,)), POLICIES)  # two days ahead
    (alert,) = [a for a in result.due if a.kind == "decision_alert"]
    assert alert.recipients == (AE.email,)
    assert alert.language == "zh-CN"
    assert alert.data["people"] == [  # type: ignore[index]
        {"name": "Jane Doe", "email": JANE.email, "reason": "declined"}
    ]


def test_a_silent_decision_maker_is_reported_at_the_check_time() -> None:
    brief = meeting(start=at(9, 14))
    key = confirmation_key(brief)
    asked = delivery(key=key, meeting=brief.key, sent_at=at(8, 10))
    world = state((brief,), (asked,), done=frozenset({key}))
    before = plan(at(8, 15, 59), world, POLICIES)
    assert "decision_alert" not in kinds(before.due)  # (reminders are due by now: 4 working hours)
    assert [a.due for a in before.upcoming if a.kind == "decision_alert"] == [at(8, 16)]
    (alert,) = [a for a in plan(at(8, 16), world, POLICIES).due if a.kind == "decision_alert"]
    assert alert.data["people"][0]["reason"] == "not-confirmed"  # type: ignore[index]


def test_silence_is_not_reported_before_the_confirmation_has_gone_out() -> None:
    brief = meeting(start=at(9, 14))
    assert "decision_alert" not in kinds(plan(at(8, 16, 30), state((brief,)), POLICIES).due)
    late = delivery(key=confirmation_key(brief), meeting=brief.key, sent_at=at(8, 15, 45))
    world = state((brief,), (late,), done=frozenset({confirmation_key(brief)}))
    waiting = plan(at(8, 16, 30), world, POLICIES)
    assert waiting.due == ()
    assert [a.due for a in waiting.upcoming if a.kind == "decision_alert"] == [at(8, 16, 45)]


def test_a_decision_maker_who_accepted_or_replied_needs_no_alert() -> None:
    accepted = meeting(start=at(9, 14), responses={JANE.email: Response.ACCEPTED})
    done = frozenset({confirmation_key(accepted)})
    assert plan(at(8, 16), state((accepted,), done=done), POLICIES).due == ()
    silent = meeting(start=at(9, 14))
    replied = delivery(
        key=confirmation_key(silent),
        meeting=silent.key,
        statuses={JANE.email: DeliveryStatus.CONFIRMED},
    )
    replied = replace(
        replied, recipients=(RecipientStatus(JANE.email, DeliveryStatus.CONFIRMED, detail="reply"),)
    )
    assert "decision_alert" not in kinds(
        plan(at(8, 16), state((silent,), (replied,), done=done), POLICIES).due
    )


def test_a_read_receipt_alone_does_not_count_as_the_decision_maker_coming() -> None:
    silent = meeting(start=at(9, 14))
    read = delivery(key=confirmation_key(silent), meeting=silent.key)
    read = replace(
        read,
        recipients=(RecipientStatus(JANE.email, DeliveryStatus.CONFIRMED, detail="read-receipt"),),
    )
    done = frozenset({confirmation_key(silent)})
    result = plan(at(8, 16), state((silent,), (read,), done=done), POLICIES)
    assert kinds(result.due) == ["decision_alert"]


def test_a_chinese_client_meeting_is_confirmed_in_chinese() -> None:
    weekly = meeting(uid="hd", start=at(9, 14), people=(LIU,), subject="周例会")
    (action,) = plan(at(8, 10), state((weekly,)), POLICIES).due
    assert action.language == "zh-CN"
    assert action.client == "华东食品"
    assert action.data["meeting"]["weekday"] == "星期三"  # type: ignore[index]


def test_the_next_wake_is_the_earliest_future_action() -> None:
    first = meeting(uid="a", start=at(10, 14))
    second = meeting(uid="b", start=at(9, 14))
    result = plan(at(7, 18), state((first, second)), POLICIES)
    assert result.next_wake == at(8, 10)
    assert [a.key for a in result.upcoming][:1] == [confirmation_key(second)]
    assert result.upcoming[0].due - at(7, 18) == timedelta(hours=16)


def test_an_answer_to_a_moved_meetings_old_notice_does_not_count_for_the_new_time() -> None:
    old = meeting(start=at(10, 14))
    moved = replace(old, start=at(9, 14), end=at(9, 15))  # moved a day earlier
    answered_old = replace(
        delivery(key=confirmation_key(old), meeting=old.key, sent_at=at(9, 10)),
        recipients=(RecipientStatus(JANE.email, DeliveryStatus.CONFIRMED, detail="reply"),),
    )
    silent_new = delivery(key=confirmation_key(moved), meeting=moved.key, sent_at=at(8, 10))
    for order in ((answered_old, silent_new), (silent_new, answered_old)):
        world = state((moved,), order, done=frozenset({confirmation_key(moved)}))
        alerts = [a for a in plan(at(8, 16), world, POLICIES).due if a.kind == "decision_alert"]
        assert len(alerts) == 1
