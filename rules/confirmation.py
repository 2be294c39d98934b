"""Day-before confirmation (提前一天确认) and the decision-maker check (主决策人, 建议延期).

Every client meeting ahead gets a confirmation to every attendee on the previous working day at
the policy's time. The key holds the meeting's start, so a moved meeting gets a new confirmation
and the old one is no longer planned; a cancelled meeting gets none; one booked after that moment
gets one at once while it is still ``min_lead`` ahead; one that has started, never.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rules.clients import client_of_meeting, meeting_recipients, organized_for
from rules.context import meeting_context, person
from rules.model import Action, Client, Delivery, DeliveryStatus, Meeting, Response
from rules.planning import PlanState, key_part, stamp
from rules.policies import ConfirmationPolicy

# The least time a decision-maker is given to answer a confirmation before silence is reported.
ANSWER_GRACE = timedelta(hours=1)


def confirmation_key(meeting: Meeting) -> str:
    return f"confirm:{key_part(meeting.key)}:{stamp(meeting.start)}"


def decision_key(meeting: Meeting) -> str:
    return f"decision:{key_part(meeting.key)}:{stamp(meeting.start)}"


def client_meetings(state: PlanState) -> Iterator[tuple[Meeting, Client]]:
    """Meetings that belong to one client, that the AE or that client organizes, and that have
    someone besides the AE on either side to write to (``rules.clients``)."""
    ae = state.ae.person
    for meeting in state.meetings:
        if meeting.cancelled or meeting.all_day:
            continue
        client = client_of_meeting(meeting, state.clients)
        if client is None or not organized_for(meeting, client, ae):
            continue
        if meeting_recipients(meeting, client, ae):
            yield meeting, client


def confirmation_actions(
    state: PlanState, policy: ConfirmationPolicy, zone: ZoneInfo
) -> Iterator[Action]:
    if not policy.enabled:
        return
    workdays = state.workdays
    for meeting, client in client_meetings(state):
        day_before = workdays.previous_working_day(meeting.start.astimezone(zone).date())
        recipients = meeting_recipients(meeting, client, state.ae.person)
        yield Action(
            key=confirmation_key(meeting),
            kind="confirmation",
            due=workdays.at(day_before, policy.time),
            expires=meeting.start - policy.min_lead,
            recipients=recipients,
            client=client.name,
            language=client.language,
            data={
                "meeting": meeting_context(meeting, client, zone, client.language, state.ae.person),
                "client": {"name": client.name},
                "meeting_key": meeting.key,
            },
        )


def _confirmations(state: PlanState) -> Mapping[str, Delivery]:
    """Confirmation deliveries by key: a meeting's is the one for its current start."""
    return {d.key: d for d in state.deliveries if d.kind == "confirmation"}


def decision_actions(
    state: PlanState, policy: ConfirmationPolicy, zone: ZoneInfo, now: datetime
) -> Iterator[Action]:
    """One alert per meeting occurrence when a decision-maker declined, or has neither accepted
    nor answered the confirmation by the check time on the previous working day."""
    if not policy.enabled:
        return
    workdays = state.workdays
    confirmations = _confirmations(state)
    for meeting, client in client_meetings(state):
        deciders = [
            a
            for a in meeting.attendees
            if (contact := client.contact(a.person.email)) is not None and contact.decision_maker
        ]
        if not deciders:
            continue
        delivery = confirmations.get(confirmation_key(meeting))
        people = []
        for attendee in deciders:
            status = delivery.status_of(attendee.person.email) if delivery else None
            declined = attendee.response is Response.DECLINED or (
                status is not None and status.status is DeliveryStatus.DECLINED
            )
            answered = attendee.response is Response.ACCEPTED or (
                status is not None
                and status.status is DeliveryStatus.CONFIRMED
                and status.detail in {"reply", "accepted"}
            )
            if declined:
                people.append({**person(attendee.person), "reason": "declined"})
            elif not answered:
                people.append({**person(attendee.person), "reason": "not-confirmed"})
        if not people:
            continue
        day_before = workdays.previous_working_day(meeting.start.astimezone(zone).date())
        check = workdays.at(day_before, policy.check_time)
        any_declined = any(p["reason"] == "declined" for p in people)
        if any_declined:
            due = min(now, check)  # a decline is news now
        elif delivery is None:
            continue  # silence means something only once they were asked to confirm
        else:
            # Silence counts from the check time, and never sooner than an hour after asking.
            due = max(check, delivery.sent_at + ANSWER_GRACE)
        yield Action(
            key=decision_key(meeting),
            kind="decision_alert",
            due=due,
            expires=meeting.start,
            recipients=(state.ae.person.email,),
            client=client.name,
            language=state.ae.language,
            data={
                "meeting": meeting_context(
                    meeting, client, zone, state.ae.language, state.ae.person
                ),
                "client": {"name": client.name},
                "people": people,
                "meeting_key": meeting.key,
            },
        )
