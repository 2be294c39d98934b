"""Next week's schedule (下周工作安排), sent on the last working day of each week.

Before leaving on the last working day of a week (Monday to Sunday; a weekend day worked under
China's 调休 counts, so a worked Saturday is the last), at the policy's time, each client's
contacts marked ``weekly`` receive that client's meetings of next week, its open follow-ups and
its deadlines, in the client's language, with an iCalendar file of the meetings; the AE and every
client's team receive the whole week, client by client, with who has not confirmed yet. A schedule
expires when the next working week begins, at the local midnight of its first working day.

"Next week" runs from the coming Monday to the end of the week holding the next working day, so a
week that is all holiday (Spring Festival) is covered by the schedule sent before it, not lost.

A client's mail carries only that client's items: its meetings (as ``client_of_meeting`` decides),
the agency people attending them (never another client's people, even in a meeting tagged for
this client), and the next steps of the latest minutes of its own meetings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.clients import client_of_address, client_of_meeting
from rules.confirmation import client_meetings, confirmation_key
from rules.context import meeting_context, person
from rules.minutes import FollowUp, MinutesRecord
from rules.model import (
    Action,
    Client,
    Delivery,
    DeliveryStatus,
    Meeting,
    Response,
    normalise_email,
    require_aware,
)
from rules.planning import PlanState, key_part
from rules.policies import WeeklyPolicy
from rules.workdays import WorkingCalendar

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
# fmt: off
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# fmt: on


@dataclass(frozen=True)
class WeekPlan:
    """When one week's schedule goes, until when it may, and the days it covers.

    It covers ``[next_monday, end)``: next week, or longer when next week has no working day.
    ``working`` are the working days in it, in order (never empty).
    """

    monday: date
    send_day: date
    due: datetime
    expires: datetime
    next_monday: date
    end: date
    working: tuple[date, ...]

    def holds(self, day: date) -> bool:
        return self.next_monday <= day < self.end


def week_plan(workdays: WorkingCalendar, sending: time, monday: date) -> WeekPlan | None:
    """The schedule of the week starting ``monday``; None when that week has no working day."""
    send_day = workdays.last_working_day_of_week(monday)
    if send_day is None:
        return None
    first = workdays.next_working_day(send_day)
    end = first - timedelta(days=first.weekday()) + _WEEK
    days = (first + timedelta(days=n) for n in range((end - first).days))
    return WeekPlan(
        monday=monday,
        send_day=send_day,
        due=workdays.at(send_day, sending),
        expires=workdays.at(first, time(0)),
        next_monday=monday + _WEEK,
        end=end,
        working=tuple(d for d in days if workdays.is_working_day(d)),
    )


def weekly_key(client: Client, next_monday: date) -> str:
    return f"weekly:{key_part(client.name)}:{next_monday.isoformat()}"


def weekly_team_key(next_monday: date) -> str:
    return f"weekly-team:{next_monday.isoformat()}"


def weekly_actions(
    state: PlanState, policy: WeeklyPolicy, zone: ZoneInfo, now: datetime
) -> Iterator[Action]:
    """The schedules of the week holding ``now`` and of the week before (a missed one is then
    planned, and skipped as expired by the planner)."""
    if not policy.enabled:
        return
    today = require_aware("now", now).astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    owned = [(m, client_of_meeting(m, state.clients)) for m in state.meetings if not m.cancelled]
    steps = _latest_steps(state)
    for monday in (this_monday - _WEEK, this_monday):
        week = week_plan(state.workdays, policy.time, monday)
        if week is not None:
            yield from _week_actions(state, policy, zone, week, owned, steps)


def _week_actions(
    state: PlanState,
    policy: WeeklyPolicy,
    zone: ZoneInfo,
    week: WeekPlan,
    owned: list[tuple[Meeting, Client | None]],
    steps: dict[str, list[FollowUp]],
) -> Iterator[Action]:
    groups: list[dict[str, Any]] = []
    listed: list[Meeting] = []
    for client in state.clients:
        # All-day meetings count (a shoot or a launch day is part of the schedule).
        meetings = sorted(
            (m for m, owner in owned if owner == client and week.holds(_day(m.start, zone))),
            key=lambda m: (m.start, m.key),
        )
        own_steps = steps.get(client.name, [])
        if meetings or own_steps or policy.send_empty:
            mail = _client_action(state, client, meetings, own_steps, zone, week)
            if mail is not None:
                yield mail
        if meetings or own_steps:
            groups.append(_team_group(state, client, meetings, own_steps, zone, week))
            listed.extend(meetings)
    if groups or policy.send_empty:
        yield _team_action(state, groups, listed, zone, week)


# --- what a client has next week ------------------------------------------------------------------


def _day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _latest_steps(state: PlanState) -> dict[str, list[FollowUp]]:
    """Each client's next steps, from the latest minutes of each of its meetings."""
    latest: dict[str, MinutesRecord] = {}
    for record in state.minutes:
        if record.meeting not in latest or record.version > latest[record.meeting].version:
            latest[record.meeting] = record
    out: dict[str, list[FollowUp]] = {}
    for meeting, client in client_meetings(state):
        newest = latest.get(meeting.key)
        if newest is not None:
            out.setdefault(client.name, []).extend(newest.next_steps)
    return out


def _split_steps(
    steps: list[FollowUp], week: WeekPlan
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Deadlines (due by the end of the covered days, overdue ones too) and the other open
    follow-ups (no date yet, or due later), each in date order."""
    deadlines: list[tuple[date, str, dict[str, object]]] = []
    later: list[tuple[date, str, dict[str, object]]] = []
    for step in steps:
        entry: dict[str, object] = {
            "what": step.what,
            "owner": step.owner,
            "due": step.due.isoformat() if step.due else "",
            "overdue": step.due is not None and step.due < week.send_day,
        }
        if step.due is not None and step.due < week.end:
            deadlines.append((step.due, step.what, entry))
        else:
            later.append((step.due or date.max, step.what, entry))
    deadlines.sort(key=lambda item: item[:2])
    later.sort(key=lambda item: item[:2])
    return [e for *_, e in deadlines], [e for *_, e in later]


def _entry(
    state: PlanState, meeting: Meeting, client: Client, zone: ZoneInfo, language: str
) -> dict[str, Any]:
    """A meeting as the schedule shows it; another client's people are never named in it."""
    context = meeting_context(meeting, client, zone, language, state.ae.person)
    agency: list[dict[str, str]] = []
    client_side: list[dict[str, str]] = []
    for attendee in context["attendees"]:  # type: ignore[attr-defined]
        who = {"name": attendee["name"], "email": attendee["email"]}
        if attendee["side"] == "client":
            client_side.append(who)
        elif client_of_address(attendee["email"], state.clients) is None:
            agency.append(who)
    last_day, start_day = _day(meeting.end - _DAY, zone), _day(meeting.start, zone)
    return {
        "subject": meeting.subject,
        "date": context["date"],
        "weekday": context["weekday"],
        "start": context["start"],
        "end": context["end"],
        "timezone": context["timezone"],
        "location": meeting.location,
        "all_day": meeting.all_day,
        "last_date": last_day.isoformat() if meeting.all_day and last_day > start_day else "",
        "agency": agency,
        "client_side": client_side,
    }


def _event(meeting: Meeting, zone: ZoneInfo) -> dict[str, object]:
    """A meeting as plain values for ``calendar_sync.ics_publish.publish_calendar``."""
    start, end = meeting.start.astimezone(zone), meeting.end.astimezone(zone)
    recurrence_date = ""
    if meeting.all_day and meeting.occurrence_id:
        try:
            original = datetime.fromisoformat(meeting.occurrence_id)
        except ValueError:
            original = None
        if original is not None and original.tzinfo is not None:
            recurrence_date = original.astimezone(zone).date().isoformat()
    return {
        "uid": meeting.uid,
        "occurrence_id": meeting.occurrence_id,
        "subject": meeting.subject,
        "location": meeting.location,
        "start": meeting.start.astimezone(UTC).isoformat(),
        "end": meeting.end.astimezone(UTC).isoformat(),
        "sequence": meeting.sequence,
        "all_day": meeting.all_day,
        "start_date": start.date().isoformat() if meeting.all_day else "",
        "end_date": max(end.date(), start.date() + _DAY).isoformat() if meeting.all_day else "",
        "recurrence_date": recurrence_date,
    }


def _week_labels(
    week: WeekPlan, meetings: list[Meeting], zone: ZoneInfo, language: str
) -> dict[str, str]:
    """The days the schedule speaks of: its working days, widened to its meetings' days."""
    days = [*week.working[:1], *week.working[-1:]]
    days += [_day(m.start, zone) for m in meetings]
    first, last = min(days), max(days)
    with_year = first.year != last.year
    return {
        "monday": week.next_monday.isoformat(),
        "first": first.isoformat(),
        "last": last.isoformat(),
        "from": _day_label(first, language, with_year),
        "to": _day_label(last, language, with_year),
    }


def _day_label(day: date, language: str, with_year: bool) -> str:
    if language == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日" if with_year else f"{day.month}月{day.day}日"
    label = f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{label} {day.year}" if with_year else label


# --- the mails ------------------------------------------------------------------------------------


def _client_action(
    state: PlanState,
    client: Client,
    meetings: list[Meeting],
    steps: list[FollowUp],
    zone: ZoneInfo,
    week: WeekPlan,
) -> Action | None:
    """The client's own schedule, to its contacts marked weekly; None when none is marked."""
    recipients = tuple(dict.fromkeys(c.person.email for c in client.contacts if c.weekly))
    if not recipients:
        return None
    language = client.language
    deadlines, followups = _split_steps(steps, week)
    entries = [_entry(state, m, client, zone, language) for m in meetings]
    for entry in entries:
        del entry["client_side"]  # the client knows its own people; the mail names ours
    return Action(
        key=weekly_key(client, week.next_monday),
        kind="weekly",
        due=week.due,
        expires=week.expires,
        recipients=recipients,
        client=client.name,
        language=language,
        data={
            "client": {"name": client.name},
            "week": _week_labels(week, meetings, zone, language),
            "meetings": entries,
            "deadlines": deadlines,
            "followups": followups,
            "events": [_event(m, zone) for m in meetings],
            "empty": not (meetings or steps),
        },
    )


def _team_group(
    state: PlanState,
    client: Client,
    meetings: list[Meeting],
    steps: list[FollowUp],
    zone: ZoneInfo,
    week: WeekPlan,
) -> dict[str, Any]:
    language = state.ae.language
    deadlines, followups = _split_steps(steps, week)
    confirmations = {d.key: d for d in state.deliveries if d.kind == "confirmation"}
    entries = []
    for meeting in meetings:
        entry = _entry(state, meeting, client, zone, language)
        entry["unconfirmed"] = _unconfirmed(state, meeting, client, confirmations)
        entries.append(entry)
    return {
        "name": client.name,
        "meetings": entries,
        "deadlines": deadlines,
        "followups": followups,
    }


def _unconfirmed(
    state: PlanState, meeting: Meeting, client: Client, confirmations: dict[str, Delivery]
) -> list[dict[str, str]]:
    """The client's attendees who have not confirmed: neither accepted the meeting nor confirmed
    its confirmation mail (a decline, either way, is always listed).

    The planner sees only open deliveries: a confirmation whose key is done and that is no
    longer open was answered by everyone it went to.
    """
    key = confirmation_key(meeting)
    delivery = confirmations.get(key)
    answered = delivery is None and key in state.done
    out = []
    for attendee in meeting.attendees:
        if not client.owns_address(attendee.person.email):
            continue
        status = delivery.status_of(attendee.person.email) if delivery else None
        mailed = status.status if status is not None else None
        if attendee.response is Response.DECLINED or mailed is DeliveryStatus.DECLINED:
            response = Response.DECLINED.value
        elif (
            attendee.response is Response.ACCEPTED or mailed is DeliveryStatus.CONFIRMED or answered
        ):
            continue
        else:
            response = attendee.response.value
        out.append(
            {
                **person(attendee.person),
                "response": response,
                "confirmation": mailed.value if mailed is not None else "",
            }
        )
    return out


def _team_action(
    state: PlanState,
    groups: list[dict[str, Any]],
    meetings: list[Meeting],
    zone: ZoneInfo,
    week: WeekPlan,
) -> Action:
    ae = state.ae
    members = [ae.person.email, *(m.email for c in state.clients for m in c.team)]
    recipients = tuple(dict.fromkeys(normalise_email(m) for m in members))
    return Action(
        key=weekly_team_key(week.next_monday),
        kind="weekly_team",
        due=week.due,
        expires=week.expires,
        recipients=recipients,
        client="",
        language=ae.language,
        data={
            "week": _week_labels(week, meetings, zone, ae.language),
            "clients": groups,
            "empty": not groups,
        },
    )
