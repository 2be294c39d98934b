"""Next week's schedule: when it goes, to whom, what it holds, and its calendar attachment.

The working days are the real ones of mainland China (``WorkingCalendar(country="CN")``), as
``test_workdays_china`` checks them against the State Council's notice for 2026: 中秋节 Friday
25 to Sunday 27 September; 国庆节 1 to 7 October with Saturday 10 October worked; 春节 15 to 23
February with Saturday 14 February worked; Sunday 20 September worked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest

from calendar_sync.ics import parse_calendar
from calendar_sync.ics_publish import publish_calendar
from rules.confirmation import confirmation_key
from rules.minutes import FollowUp, MinutesRecord
from rules.model import Action, DeliveryStatus, Person, Response
from rules.planning import PlanState
from rules.policies import WeeklyPolicy
from rules.weekly import weekly_actions, weekly_key, weekly_team_key
from tests.unit.planner_fixtures import (
    ACME,
    AE,
    HUADONG,
    JANE,
    LIU,
    MEI,
    SHANGHAI,
    TOM,
    at,
    delivery,
    meeting,
    state,
)

POLICY = WeeklyPolicy()
FRIDAY = at(11, 16, 30)  # Friday 11 December 2026; next week starts Monday 14 December
NEXT = at(15, 10)  # Tuesday 15 December 10:00


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def weekly(world: PlanState, now: datetime = FRIDAY, policy: WeeklyPolicy = POLICY) -> list[Action]:
    """The actions of the week holding ``now`` (the previous week's are left aside)."""
    local = now.astimezone(SHANGHAI).date()
    monday = local - timedelta(days=local.weekday())
    found = list(weekly_actions(world, policy, SHANGHAI, now))
    return [a for a in found if monday <= a.due.astimezone(SHANGHAI).date() < monday + timedelta(7)]


def one(actions: list[Action], kind: str, client: str = "") -> Action:
    (action,) = [a for a in actions if a.kind == kind and (not client or a.client == client)]
    return action


def listed(action: Action, field: str) -> list[dict[str, Any]]:
    """A list the action's data holds (its meetings, events, follow-ups, clients)."""
    return cast(list[dict[str, Any]], action.data[field])


def subjects(action: Action) -> list[str]:
    return [m["subject"] for m in listed(action, "meetings")]


# --- when -----------------------------------------------------------------------------------------


def test_an_ordinary_week_sends_on_friday_at_half_past_four_until_monday_begins() -> None:
    action = one(weekly(state((meeting(start=NEXT),))), "weekly")
    assert action.due == at(11, 16, 30)
    assert action.expires == at(14, 0)


def test_a_worked_saturday_is_the_last_working_day_of_its_week() -> None:
    # 国庆节 2026: Saturday 10 October is worked; the week after starts on Monday 12 October.
    world = state((meeting(start=shanghai(2026, 10, 13, 10)),))
    action = one(weekly(world, shanghai(2026, 10, 9, 12)), "weekly")
    assert action.due == shanghai(2026, 10, 10, 16, 30)
    assert action.expires == shanghai(2026, 10, 12)
    assert action.key == "weekly:Acme:2026-10-12"


def test_a_worked_sunday_is_the_last_working_day_of_its_week() -> None:
    world = state((meeting(start=shanghai(2026, 9, 22, 10)),))
    action = one(weekly(world, shanghai(2026, 9, 18, 12)), "weekly")
    assert action.due == shanghai(2026, 9, 20, 16, 30)
    assert action.expires == shanghai(2026, 9, 21)


def test_when_friday_is_a_holiday_the_schedule_goes_on_thursday() -> None:
    # 中秋节 2026 begins on Friday 25 September.
    world = state((meeting(start=shanghai(2026, 9, 29, 10)),))
    action = one(weekly(world, shanghai(2026, 9, 24, 9)), "weekly")
    assert action.due == shanghai(2026, 9, 24, 16, 30)
    assert action.expires == shanghai(2026, 9, 28)


def test_a_schedule_before_a_holiday_week_covers_the_week_after_it() -> None:
    # Saturday 14 February 2026 is worked; 春节 then runs to Monday 23 February.
    after = meeting(uid="after", start=shanghai(2026, 2, 25, 10))
    world = state((after,))
    action = one(weekly(world, shanghai(2026, 2, 13, 12)), "weekly")
    assert action.due == shanghai(2026, 2, 14, 16, 30)
    assert action.expires == shanghai(2026, 2, 24)
    assert action.key == "weekly:Acme:2026-02-16"
    assert subjects(action) == ["Campaign brief"]
    week = cast(dict[str, str], action.data["week"])
    assert (week["first"], week["last"]) == ("2026-02-24", "2026-02-28")


def test_a_week_without_working_days_sends_nothing() -> None:
    world = state((meeting(start=shanghai(2026, 2, 25, 10)),))
    assert weekly(world, shanghai(2026, 2, 18, 12)) == []
    assert weekly(world, shanghai(2026, 2, 18, 12), replace(POLICY, send_empty=True)) == []


def test_last_weeks_schedule_is_planned_too_so_a_missed_one_can_be_given_up() -> None:
    world = state((meeting(start=NEXT),))
    monday = at(14, 8)
    keys = {a.key: a for a in weekly_actions(world, POLICY, SHANGHAI, monday)}
    missed = keys["weekly:Acme:2026-12-14"]
    assert missed.expires is not None and missed.expires <= monday
    assert "weekly:Acme:2026-12-21" not in keys  # nothing next week yet: no mail
    assert "weekly-team:2026-12-21" not in keys


def test_the_key_names_the_client_and_next_weeks_monday_and_stays_put() -> None:
    first = one(weekly(state((meeting(start=NEXT),)), at(7, 9)), "weekly")
    moved = meeting(start=at(16, 15), subject="Moved brief")
    second = one(weekly(state((moved,)), FRIDAY), "weekly")
    assert first.key == second.key == weekly_key(ACME, date(2026, 12, 14))
    assert first.key == "weekly:Acme:2026-12-14"
    assert subjects(second) == ["Moved brief"]
    chinese = weekly_key(HUADONG, date(2026, 12, 14))
    assert chinese.startswith("weekly:h") and chinese.endswith(":2026-12-14")
    assert chinese.isascii()
    assert weekly_team_key(date(2026, 12, 14)) == "weekly-team:2026-12-14"


def test_a_disabled_policy_plans_nothing() -> None:
    world = state((meeting(start=NEXT),))
    assert list(weekly_actions(world, replace(POLICY, enabled=False), SHANGHAI, FRIDAY)) == []


# --- to whom, and what ----------------------------------------------------------------------------


def test_only_the_contacts_marked_weekly_receive_the_clients_schedule() -> None:
    world = state((meeting(start=NEXT), meeting(uid="hd", start=NEXT, people=(LIU,))))
    actions = weekly(world)
    mail = one(actions, "weekly")
    assert mail.recipients == (JANE.email,)
    assert mail.client == "Acme" and mail.language == "en"
    # 华东食品 has no contact marked weekly: no mail to it, but the team still sees its week.
    team = one(actions, "weekly_team")
    assert [g["name"] for g in listed(team, "clients")] == ["Acme", "华东食品"]


def test_the_schedule_holds_time_place_subject_and_who_comes_from_the_agency() -> None:
    mail = one(weekly(state((meeting(start=NEXT),))), "weekly")
    (entry,) = listed(mail, "meetings")
    assert entry["date"] == "2026-12-15" and entry["weekday"] == "Tuesday"
    assert (entry["start"], entry["end"], entry["location"]) == ("10:00", "11:00", "Acme HQ")
    assert entry["agency"] == [
        {"name": "Mei Zhang", "email": MEI.email},
        {"name": "王小明", "email": AE.email},
    ]
    assert "client_side" not in entry


def test_a_client_with_nothing_next_week_gets_nothing_unless_the_policy_says_so() -> None:
    assert weekly(state(())) == []
    actions = weekly(state(()), policy=replace(POLICY, send_empty=True))
    mail = one(actions, "weekly")
    assert mail.data["empty"] is True and mail.data["meetings"] == []
    assert mail.data["events"] == []
    assert one(actions, "weekly_team").data["empty"] is True


def test_a_cancelled_meeting_is_left_out() -> None:
    world = state((meeting(start=NEXT, cancelled=True), meeting(uid="m2", start=at(16, 10))))
    mail = one(weekly(world), "weekly")
    assert len(listed(mail, "meetings")) == 1
    assert [e["uid"] for e in listed(mail, "events")] == ["m2"]


def test_meetings_of_this_week_and_of_the_week_after_next_are_left_out() -> None:
    world = state(
        (
            meeting(uid="now", start=at(11, 17), subject="This week"),
            meeting(uid="next", start=at(20, 10), subject="Next Sunday"),
            meeting(uid="later", start=at(21, 10), subject="Week after next"),
        )
    )
    assert subjects(one(weekly(world), "weekly")) == ["Next Sunday"]


def test_an_all_day_meeting_is_listed_and_published_as_dates() -> None:
    day = meeting(uid="shoot", start=at(16, 0), minutes=24 * 60, all_day=True, subject="Shoot day")
    mail = one(weekly(state((day,))), "weekly")
    (entry,) = listed(mail, "meetings")
    assert entry["all_day"] is True and entry["last_date"] == ""
    (event,) = listed(mail, "events")
    assert (event["start_date"], event["end_date"]) == ("2026-12-16", "2026-12-17")


def test_a_meeting_tagged_for_one_client_with_another_clients_people_is_in_no_schedule() -> None:
    joint = meeting(start=NEXT, people=(JANE, LIU, MEI), categories=("Client: Acme",))
    for mail in weekly(state((joint,))):
        if mail.kind == "weekly":
            assert joint.subject not in str(mail.data)
            assert LIU.email not in str(mail.data) and "刘总" not in str(mail.data)
    for mail in weekly(state((joint,))):
        if mail.kind == "weekly_team":
            assert LIU.email not in str(mail.data)


def with_minutes(world: PlanState, *records: MinutesRecord) -> PlanState:
    return replace(world, minutes=records)


def test_open_follow_ups_and_deadlines_come_from_the_latest_minutes_of_the_clients_meetings() -> (
    None
):
    past = meeting(uid="past", start=at(8, 10))
    chinese = meeting(uid="hd", start=at(9, 10), people=(LIU,))
    steps = (
        FollowUp("Old wording", "Mei", date(2026, 12, 15)),
        FollowUp("Revise the key visual", "Mei", date(2026, 12, 16)),
        FollowUp("Send the quotation", "王小明", date(2026, 12, 10)),
        FollowUp("Confirm the retail partners", "Jane Doe", None),
        FollowUp("Plan the Q2 review", "Jane Doe", date(2027, 1, 20)),
    )
    world = with_minutes(
        state((past, chinese)),
        MinutesRecord("past", 1, at(8, 12), "", next_steps=steps[:1]),
        MinutesRecord("past", 2, at(8, 15), "", next_steps=steps[1:]),
        MinutesRecord("hd", 1, at(9, 12), "", next_steps=(FollowUp("华东的事", "刘总", None),)),
    )
    mail = one(weekly(world), "weekly", "Acme")
    assert mail.data["meetings"] == []
    assert mail.data["deadlines"] == [
        {"what": "Send the quotation", "owner": "王小明", "due": "2026-12-10", "overdue": True},
        {"what": "Revise the key visual", "owner": "Mei", "due": "2026-12-16", "overdue": False},
    ]
    assert [s["what"] for s in listed(mail, "followups")] == [
        "Plan the Q2 review",
        "Confirm the retail partners",
    ]
    assert "华东的事" not in str(mail.data)


# --- the team -------------------------------------------------------------------------------------


def test_the_team_mail_goes_to_the_ae_and_every_clients_team_once() -> None:
    other = replace(HUADONG, team=(MEI, Person("ops@agency.example", "Ops")))
    world = replace(state((meeting(start=NEXT),)), clients=(ACME, other))
    team = one(weekly(world), "weekly_team")
    assert team.recipients == (AE.email, MEI.email, "ops@agency.example")
    assert team.language == "zh-CN" and team.client == ""
    assert team.key == "weekly-team:2026-12-14"
    assert (team.due, team.expires) == (at(11, 16, 30), at(14, 0))


def test_the_team_mail_lists_who_has_not_confirmed() -> None:
    monday = meeting(
        uid="mon",
        start=at(14, 10),
        responses={JANE.email: Response.ACCEPTED, TOM.email: Response.TENTATIVE},
    )
    tuesday = meeting(uid="tue", start=NEXT, responses={JANE.email: Response.DECLINED})
    wednesday = meeting(uid="wed", start=at(16, 10))
    asked = delivery(
        key=confirmation_key(monday),
        meeting=monday.key,
        statuses={JANE.email: DeliveryStatus.SENT, TOM.email: DeliveryStatus.DELIVERED},
    )
    answered = confirmation_key(wednesday)  # sent, and closed: everyone in it confirmed
    world = state((monday, tuesday, wednesday), (asked,), done=frozenset({answered}))
    team = one(weekly(world), "weekly_team")
    (group,) = listed(team, "clients")
    waiting: dict[str, list[Any]] = {
        m["subject"] + m["date"]: m["unconfirmed"] for m in group["meetings"]
    }
    assert waiting["Campaign brief2026-12-14"] == [
        {
            "name": "Tom Lee",
            "email": TOM.email,
            "response": "tentative",
            "confirmation": "delivered",
        }
    ]
    assert waiting["Campaign brief2026-12-15"] == [
        {"name": "Jane Doe", "email": JANE.email, "response": "declined", "confirmation": ""},
        {"name": "Tom Lee", "email": TOM.email, "response": "needs-action", "confirmation": ""},
    ]
    assert waiting["Campaign brief2026-12-16"] == []


# --- the calendar attachment ----------------------------------------------------------------------


def test_the_published_calendar_reads_back_as_the_same_meetings() -> None:
    occurrence = meeting(
        uid="series@agency.example",
        start=at(15, 14),
        occurrence_id=at(15, 14).astimezone(UTC).isoformat(),
        subject="2027春季新品上市传播方案提案（第二轮）：主视觉、媒介排期与预算的最终确认",
        sequence=3,
    )
    single = meeting(uid="single", start=at(17, 9, 30), minutes=45, subject="Budget; review, 2")
    day = meeting(uid="day", start=at(18, 0), minutes=2 * 24 * 60, all_day=True, subject="Shoot")
    originals = (occurrence, single, day)
    mail = one(weekly(state(originals)), "weekly")
    data = publish_calendar(
        listed(mail, "events"),
        prodid="-//aeflow//weekly schedule//EN",
        organizer_email=AE.email,
        name="Next week's schedule",
        stamp=FRIDAY,
    )
    lines = data.split(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # the long subject was folded
    assert b"METHOD:PUBLISH" in lines and b"DTSTAMP:20261211T083000Z" in lines
    assert b"ATTENDEE" not in data
    parsed = parse_calendar(data, "weekly.ics", SHANGHAI)
    assert parsed.method == "PUBLISH" and parsed.problems == ()
    read = sorted((e.meeting for e in parsed.events), key=lambda m: m.start)
    for got, sent in zip(read, originals, strict=True):
        assert (got.uid, got.occurrence_id, got.subject, got.location) == (
            sent.uid,
            sent.occurrence_id,
            sent.subject,
            sent.location,
        )
        assert (got.start, got.end, got.sequence, got.all_day) == (
            sent.start,
            sent.end,
            sent.sequence,
            sent.all_day,
        )


def test_a_malformed_event_is_refused_with_a_clear_error() -> None:
    good = {"uid": "a", "subject": "x", "start": "2026-12-15T02:00:00+00:00"}
    with pytest.raises(ValueError, match=r"event 0 \('a'\).*no UTC offset"):
        publish_calendar(
            [{**good, "end": "2026-12-15T03:00:00"}], prodid="p", organizer_email="a@b.c", name=""
        )
    with pytest.raises(ValueError, match="ends before it starts"):
        publish_calendar(
            [{**good, "end": "2026-12-15T01:00:00+00:00"}],
            prodid="p",
            organizer_email="a@b.c",
            name="",
        )
