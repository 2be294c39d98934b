"""Which client a meeting or an address belongs to, and whom aeflow may write to about it.

aeflow writes to a client about a meeting only when the meeting is with that one client (no
other client's people attend), the AE or that client organizes it, and only to the AE's side
(the agency's addresses, the client's team) and that client's people: never to an outsider an
event lists, never to one client about a meeting another client attends.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules.addresses import sendable
from rules.model import Client, Meeting, Person, email_domain


def client_of_address(address: str, clients: Sequence[Client]) -> Client | None:
    return next((c for c in clients if c.owns_address(address)), None)


def clients_in_meeting(meeting: Meeting, clients: Sequence[Client]) -> list[Client]:
    """Every client with at least one attendee in the meeting, in config order."""
    return [c for c in clients if any(c.owns_address(a.person.email) for a in meeting.attendees)]


def client_of_meeting(meeting: Meeting, clients: Sequence[Client]) -> Client | None:
    """The client a meeting is with: the one whose people attend, else the one whose category
    tags it. A meeting attended by two clients' people belongs to neither, whatever its category
    says: aeflow never writes to one client about a meeting another client attends (``joint``
    tells the AE why)."""
    attending = clients_in_meeting(meeting, clients)
    if len(attending) == 1:
        return attending[0]
    if len(attending) > 1:
        return None
    tagged = tagged_clients(meeting, clients)
    return tagged[0] if len(tagged) == 1 else None


def tagged_clients(meeting: Meeting, clients: Sequence[Client]) -> list[Client]:
    names = {x.casefold() for x in meeting.categories}
    return [c for c in clients if c.category and c.category.casefold() in names]


def joint(meeting: Meeting, clients: Sequence[Client]) -> list[Client]:
    """The clients of a meeting that has more than one client's people (or is tagged with one
    client and attended by another's); empty for a meeting with one client or none."""
    found = clients_in_meeting(meeting, clients)
    found += [c for c in tagged_clients(meeting, clients) if c not in found]
    return found if len(found) > 1 and clients_in_meeting(meeting, clients) else []


def organized_for(meeting: Meeting, client: Client, ae: Person) -> bool:
    """Whether the AE (or the AE's own appointment, which names no organizer) or ``client``
    organizes the meeting: only then does aeflow write about it to anyone."""
    organizer = meeting.organizer
    if organizer is None or not organizer.email:
        return True
    return organizer.email == ae.email or client.owns_address(organizer.email)


def on_our_side(address: str, client: Client, ae: Person) -> bool:
    """The AE's side (the agency's domain, the client's team) or ``client``'s people."""
    if client.owns_address(address):
        return True
    if email_domain(address) == email_domain(ae.email):
        return True
    return any(member.email == address for member in client.team)


def meeting_recipients(meeting: Meeting, client: Client, ae: Person) -> tuple[str, ...]:
    """Whom aeflow writes to about a client meeting: every attendee but the AE who is on the
    AE's side or the client's; an outsider the event lists gets nothing from aeflow, and an
    address no server would take is left out (``rules.address_notes`` tells the AE)."""
    return tuple(
        a.person.email
        for a in meeting.attendees
        if a.person.email != ae.email
        and on_our_side(a.person.email, client, ae)
        and sendable(a.person.email)
    )
