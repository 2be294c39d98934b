"""Meeting requests to a client (会议通知), sent for the AE from their own calendar.

An appointment the AE tags with a client's category, with none of that client's people among its
required attendees, is a meeting aeflow manages: it invites that client's contacts marked
``invite`` and the client's team, with a notice giving the time, the place, the attendees on both
sides, the agenda with the time of each topic, what to bring, and a polite request to be on time.
Appointments already in the calendar when aeflow was installed are left alone (unless it
catches up). Once invited, the meeting stays managed: a change of time, place, subject or agenda
sends an update (SEQUENCE raised), a cancellation (STATUS:CANCELLED or the event deleted) sends
a cancellation, and a meeting restored after its cancellation is invited again.

What was sent is read back from the keys alone (``invite:<uid>:<sequence>:<fingerprint>`` and
``uninvite:<uid>:<sequence>``), so a store rebuilt from Sent knows it too. An agenda that does
not fit the meeting holds the invitation back and tells the AE once per version of the meeting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rules.addresses import sendable
from rules.agenda import overrun, parse_agenda, parse_bring
from rules.context import meeting_context
from rules.model import Action, Attendee, Client, Meeting, Person, Role
from rules.planning import PlanState, key_part

INVITE = "invite"
UNINVITE = "uninvite"
AGENDA = "agenda"
# What a cancellation leaves in the history in place of a fingerprint.
CANCELLED = "cancelled"


@dataclass(frozen=True, order=True)
class SentInvitation:
    """One request or cancellation already sent for a meeting, as its key tells."""

    sequence: int
    fingerprint: str

    @property
    def cancelled(self) -> bool:
        return self.fingerprint == CANCELLED


def fingerprint(meeting: Meeting) -> str:
    """What an invitation states of a meeting: a change to any of it calls for an update."""
    topics = "\n".join(f"{t.title}|{t.minutes}" for t in parse_agenda(meeting.body))
    text = "\n".join(
        (
            meeting.start.astimezone(UTC).isoformat(),
            meeting.end.astimezone(UTC).isoformat(),
            meeting.subject,
            meeting.location,
            topics,
            "|".join(parse_bring(meeting.body)),
        )
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def invitation_key(uid: str, sequence: int, fingerprint: str) -> str:
    return f"{INVITE}:{key_part(uid)}:{sequence}:{fingerprint}"


def cancellation_key(uid: str, sequence: int) -> str:
    return f"{UNINVITE}:{key_part(uid)}:{sequence}"


def sent_history(done: frozenset[str]) -> dict[str, list[SentInvitation]]:
    """Requests and cancellations sent, by the meeting's UID as it appears in keys, oldest
    first."""
    found: dict[str, list[SentInvitation]] = {}
    for key in done:
        prefix, _, rest = key.partition(":")
        if prefix == INVITE:
            uid, _, tail = rest.partition(":")
            number, _, fp = tail.partition(":")
        elif prefix == UNINVITE:
            uid, _, number = rest.partition(":")
            fp = CANCELLED
        else:
            continue
        if number.isdigit() and fp:
            found.setdefault(uid, []).append(SentInvitation(int(number), fp))
    for history in found.values():
        history.sort()
    return found


def tagged_client(meeting: Meeting, clients: tuple[Client, ...]) -> Client | None:
    """The one client whose category tags the meeting, if exactly one does."""
    tags = {c.casefold() for c in meeting.categories}
    tagged = [c for c in clients if c.category and c.category.casefold() in tags]
    return tagged[0] if len(tagged) == 1 else None


def managed_client(
    meeting: Meeting, state: PlanState, history: Mapping[str, list[SentInvitation]]
) -> Client | None:
    """The client aeflow invites to ``meeting`` for the AE, or ``None`` when it is not one aeflow
    manages (someone else organises it, it recurs, the AE invited the client by hand)."""
    if meeting.all_day or meeting.occurrence_id:
        return None
    ae = state.ae.person.email
    if meeting.organizer is not None and meeting.organizer.email != ae:
        return None
    client = tagged_client(meeting, state.clients)
    if client is None:
        return None
    others = (c for c in state.clients if c is not client)
    if any(c.owns_address(a.person.email) for c in others for a in meeting.attendees):
        return None  # one client is never told about a meeting with another
    if key_part(meeting.uid) in history:
        return client
    seen = state.first_seen.get(meeting.key)
    if state.not_before is not None and seen is not None and seen <= state.not_before:
        # Already in the calendar when aeflow was installed: the AE never asked for a request.
        return None
    invited_by_hand = any(
        client.owns_address(a.person.email) and a.role in (Role.REQUIRED, Role.CHAIR)
        for a in meeting.attendees
    )
    return None if invited_by_hand else client


def invitees(meeting: Meeting, client: Client, ae: Person) -> tuple[Attendee, ...]:
    """Who a managed meeting invites: the client's contacts marked ``invite``, the client's
    team, and the attendees already on the appointment (optional ones stay optional)."""
    found: dict[str, Attendee] = {}
    for attendee in meeting.attendees:
        found.setdefault(attendee.person.email, replace(attendee, rsvp=True))
    for contact in client.contacts:
        if contact.invite:
            found.setdefault(contact.person.email, Attendee(contact.person, rsvp=True))
    for member in client.team:
        found.setdefault(member.email, Attendee(member, rsvp=True))
    found.pop(ae.email, None)
    # An address no server would take is left out (``rules.address_notes`` tells the AE), so
    # the others are invited.
    return tuple(a for a in found.values() if sendable(a.person.email))


def invitation_actions(state: PlanState, zone: ZoneInfo, now: datetime) -> Iterator[Action]:
    history = sent_history(state.done)
    ae = state.ae.person
    for meeting in state.meetings:
        client = managed_client(meeting, state, history)
        if client is None:
            continue
        sent = history.get(key_part(meeting.uid), [])
        last = sent[-1] if sent else None
        people = invitees(meeting, client, ae)
        if meeting.cancelled:
            if last is not None and not last.cancelled and meeting.start > now and people:
                sequence = last.sequence + 1
                key = cancellation_key(meeting.uid, sequence)
                kind = "invitation_cancel"
                yield _action(state, meeting, client, people, kind, now, zone, key, sequence)
            continue
        if meeting.start <= now or not people:
            continue
        fp = fingerprint(meeting)
        if last is not None and last.fingerprint == fp:
            continue
        over = overrun(parse_agenda(meeting.body), meeting.duration)
        if over:
            yield _agenda_problem(state, meeting, client, zone, now, fp, int(over.total_seconds()))
            continue
        sequence = max(meeting.sequence, last.sequence + 1 if last is not None else 0)
        key = invitation_key(meeting.uid, sequence, fp)
        yield _action(state, meeting, client, people, "invitation", now, zone, key, sequence)


def _action(
    state: PlanState,
    meeting: Meeting,
    client: Client,
    people: tuple[Attendee, ...],
    kind: str,
    now: datetime,
    zone: ZoneInfo,
    key: str,
    sequence: int,
) -> Action:
    ae = state.ae.person
    invited = replace(meeting, attendees=people)
    context = meeting_context(invited, client, zone, client.language, ae)
    context["bring"] = list(parse_bring(meeting.body))
    return Action(
        key=key,
        kind=kind,
        due=now,
        expires=meeting.start,
        recipients=tuple(a.person.email for a in people),
        client=client.name,
        language=client.language,
        data={
            "meeting": context,
            "client": {"name": client.name},
            "meeting_key": meeting.key,
            "update": kind == "invitation" and sequence > 0,
            "itip": {
                "method": "CANCEL" if kind == "invitation_cancel" else "REQUEST",
                "uid": meeting.uid,
                "sequence": sequence,
                "start": meeting.start.astimezone(UTC).isoformat(),
                "end": meeting.end.astimezone(UTC).isoformat(),
                "subject": meeting.subject,
                "location": meeting.location,
                "organizer": {"email": ae.email, "name": ae.name},
                "attendees": [
                    {"email": a.person.email, "name": a.person.name, "role": a.role.value}
                    for a in people
                ],
            },
        },
    )


def _agenda_problem(
    state: PlanState,
    meeting: Meeting,
    client: Client,
    zone: ZoneInfo,
    now: datetime,
    fp: str,
    over_seconds: int,
) -> Action:
    topics = parse_agenda(meeting.body)
    return Action(
        key=f"{AGENDA}:{key_part(meeting.uid)}:{fp}",
        kind="agenda_problem",
        due=now,
        expires=meeting.start,
        recipients=(state.ae.person.email,),
        client=client.name,
        language=state.ae.language,
        data={
            "meeting": meeting_context(meeting, client, zone, state.ae.language, state.ae.person),
            "client": {"name": client.name},
            "meeting_key": meeting.key,
            "topics_minutes": sum(t.minutes for t in topics),
            "meeting_minutes": int(meeting.duration.total_seconds() // 60),
            "over_minutes": over_seconds // 60,
        },
    )
