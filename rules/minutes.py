"""Minutes within 24 hours of every client meeting (会议记录), and the next steps they promise.

After a client meeting ends (plus ``delay``) the AE gets a form to reply to. Until minutes have
been taken in, the AE is reminded at ``reminder_after`` and the manager hears at ``deadline``
(wall-clock hours, or working hours when the policy says so). Minutes, once in, go to every
attendee as a tracked client mail (late ones too); a correction goes as a marked new version.
Each next step with an agency owner and a due date reminds its owner on the working day before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.clients import meeting_recipients
from rules.confirmation import client_meetings
from rules.context import local_text, meeting_context
from rules.model import Action, Client, Meeting, Person, normalise_email, require_aware
from rules.planning import PlanState, key_part, stamp
from rules.policies import MinutesPolicy

# The prompt stays useful for a week: an AE may reply late, and late minutes still go out.
PROMPT_LIFE = timedelta(days=7)
# Long enough to outlast China's longest holiday (Spring Festival, National Day).
ESCALATION_LIFE = timedelta(days=14)
FOLLOWUP_TIME = time(10, 0)


@dataclass(frozen=True)
class FollowUp:
    what: str
    owner: str  # a name or an address, as the AE wrote it
    due: date | None


@dataclass(frozen=True)
class MinutesRecord:
    """Minutes taken in for one meeting occurrence; ``version`` 2 and on are corrections."""

    meeting: str
    version: int
    submitted_at: datetime
    text: str
    conclusions: tuple[str, ...] = ()
    next_steps: tuple[FollowUp, ...] = ()
    questions: tuple[str, ...] = ()
    structured: bool = True

    def __post_init__(self) -> None:
        require_aware("MinutesRecord.submitted_at", self.submitted_at)


@dataclass(frozen=True)
class MinutesNote:
    """A reply to a prompt that could not be taken in; the AE is told why, once."""

    id: str
    meeting_subject: str
    reply_subject: str
    reason: str
    at: datetime
    command: str = ""

    def __post_init__(self) -> None:
        require_aware("MinutesNote.at", self.at)


def minutes_key(meeting: Meeting, version: int = 1) -> str:
    base = f"minutes:{key_part(meeting.key)}:{stamp(meeting.start)}"
    return base if version == 1 else f"{base}:v{version}"


def prompt_key(meeting: Meeting) -> str:
    return f"minutes-prompt:{key_part(meeting.key)}:{stamp(meeting.start)}"


def _after(state: PlanState, policy: MinutesPolicy, moment: datetime, span: timedelta) -> datetime:
    if policy.working_hours:
        return state.workdays.add_working_hours(moment, span)
    return moment + span


def _context(
    meeting: Meeting, client: Client, zone: ZoneInfo, language: str, ae: Person
) -> dict[str, Any]:
    context: dict[str, Any] = meeting_context(meeting, client, zone, language, ae)
    responses = {a.person.email: a.response.value for a in meeting.attendees}
    for attendee in context["attendees"]:
        attendee["response"] = responses.get(attendee["email"], "accepted")
    return context


def minutes_actions(
    state: PlanState, policy: MinutesPolicy, zone: ZoneInfo, now: datetime
) -> Iterator[Action]:
    if not policy.enabled:
        return
    ae = state.ae
    taken: dict[str, list[MinutesRecord]] = {}
    for record in state.minutes:
        taken.setdefault(record.meeting, []).append(record)
    for meeting, client in client_meetings(state):
        records = sorted(taken.get(meeting.key, []), key=lambda r: r.version)
        deadline = _after(state, policy, meeting.end, policy.deadline)
        for_ae = _context(meeting, client, zone, ae.language, ae.person)
        base = {"client": {"name": client.name}, "meeting_key": meeting.key}
        if not records:
            yield Action(
                key=prompt_key(meeting),
                kind="minutes_prompt",
                due=meeting.end + policy.delay,
                expires=meeting.end + PROMPT_LIFE,
                recipients=(ae.person.email,),
                client=client.name,
                language=ae.language,
                data={**base, "meeting": for_ae, "deadline": local_text(deadline, zone)},
            )
            yield Action(
                key=f"minutes-remind:{key_part(meeting.key)}:{stamp(meeting.start)}",
                kind="minutes_reminder",
                due=_after(state, policy, meeting.end, policy.reminder_after),
                # A deadline on a weekend or holiday still gets its reminder, on the next
                # working morning just before the escalation.
                expires=state.workdays.next_working_moment(deadline) + timedelta(hours=1),
                recipients=(ae.person.email,),
                client=client.name,
                language=ae.language,
                data={
                    **base,
                    "meeting": for_ae,
                    "deadline": local_text(deadline, zone),
                    "prompt_subject": meeting.subject,
                },
            )
            yield Action(
                key=f"minutes-late:{key_part(meeting.key)}:{stamp(meeting.start)}",
                kind="escalation",
                due=deadline,
                expires=meeting.end + ESCALATION_LIFE,
                recipients=(ae.manager,),
                client=client.name,
                language=ae.language,
                data={
                    "late": {
                        "client": client.name,
                        "subject": meeting.subject,
                        "date": for_ae["date"],
                        "deadline": local_text(deadline, zone),
                    }
                },
            )
            continue
        recipients = meeting_recipients(meeting, client, ae.person)
        for record in records:
            yield Action(
                key=minutes_key(meeting, record.version),
                kind="minutes",
                due=record.submitted_at,
                expires=None,
                recipients=recipients,
                client=client.name,
                language=client.language,
                data={
                    **base,
                    "meeting": _context(meeting, client, zone, client.language, ae.person),
                    "conclusions": list(record.conclusions),
                    "next_steps": [_step(s) for s in record.next_steps],
                    "questions": list(record.questions),
                    "text": record.text,
                    "structured": record.structured,
                    "corrected": record.version > 1,
                    "version": record.version,
                    "late": record.submitted_at > deadline,
                },
            )
        yield from _followups(state, meeting, client, records[-1], zone, for_ae)


def _step(step: FollowUp) -> dict[str, str]:
    return {"what": step.what, "owner": step.owner, "due": step.due.isoformat() if step.due else ""}


def owner_address(owner: str, client: Client, ae: Person) -> str:
    """The agency colleague a next step names (by address or by name), or "" for anyone else."""
    wanted = owner.strip().casefold()
    if not wanted:
        return ""
    colleagues = (ae, *client.team)
    for person in colleagues:
        if normalise_email(owner) == person.email:
            return person.email
    for person in colleagues:
        name = person.name.casefold()
        if name and (name == wanted or name.split()[0] == wanted):
            return person.email
    return ""


def _followups(
    state: PlanState,
    meeting: Meeting,
    client: Client,
    record: MinutesRecord,
    zone: ZoneInfo,
    for_ae: dict[str, Any],
) -> Iterator[Action]:
    workdays = state.workdays
    for step in record.next_steps:
        owner = owner_address(step.owner, client, state.ae.person)
        if not owner or step.due is None:
            continue
        digest = hashlib.sha256(f"{step.what}|{owner}|{step.due}".encode()).hexdigest()[:12]
        day_before = workdays.previous_working_day(step.due)
        yield Action(
            key=f"followup:{key_part(meeting.key)}:{digest}",
            kind="followup_reminder",
            due=workdays.at(day_before, FOLLOWUP_TIME),
            expires=workdays.at(step.due, time(23, 59)),
            recipients=(owner,),
            client=client.name,
            language=state.ae.language,
            data={"step": _step(step), "meeting": for_ae, "client": {"name": client.name}},
        )


def note_actions(state: PlanState) -> Iterator[Action]:
    for note in state.minutes_notes:
        yield Action(
            key=f"minutes-note:{key_part(note.id)}",
            kind="minutes_problem",
            due=note.at,
            expires=note.at + PROMPT_LIFE,
            recipients=(state.ae.person.email,),
            language=state.ae.language,
            data={
                "reason": note.reason,
                "meeting_subject": note.meeting_subject,
                "reply_subject": note.reply_subject,
                "limit_kb": 200,
                "command": note.command,
            },
        )


def open_followups(state: PlanState, now: datetime) -> list[tuple[Meeting, FollowUp, str]]:
    """Next steps still ahead (for ``aeflow status``): meeting, step, the owner's address."""
    latest: dict[str, MinutesRecord] = {}
    for record in state.minutes:
        if record.meeting not in latest or record.version > latest[record.meeting].version:
            latest[record.meeting] = record
    out = []
    for meeting, client in client_meetings(state):
        newest = latest.get(meeting.key)
        if newest is None:
            continue
        for step in newest.next_steps:
            if step.due is None or step.due >= now.astimezone(state.workdays.zone).date():
                out.append((meeting, step, owner_address(step.owner, client, state.ae.person)))
    return out
