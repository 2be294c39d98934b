"""Which client a meeting or an address belongs to."""

from __future__ import annotations

from collections.abc import Sequence

from rules.model import Client, Meeting


def client_of_address(address: str, clients: Sequence[Client]) -> Client | None:
    return next((c for c in clients if c.owns_address(address)), None)


def clients_in_meeting(meeting: Meeting, clients: Sequence[Client]) -> list[Client]:
    """Every client with at least one attendee in the meeting, in config order."""
    return [c for c in clients if any(c.owns_address(a.person.email) for a in meeting.attendees)]


def client_of_meeting(meeting: Meeting, clients: Sequence[Client]) -> Client | None:
    """The client a meeting is with: the one whose people attend, else the one whose category
    tags it. A meeting attended by two clients' people belongs to neither (aeflow will not write to
    one client about a meeting another client attends), unless its category names one of them."""
    attending = clients_in_meeting(meeting, clients)
    tagged = [
        c
        for c in clients
        if c.category and c.category.casefold() in {x.casefold() for x in meeting.categories}
    ]
    if len(attending) == 1:
        return attending[0]
    if len(attending) > 1:
        chosen = [c for c in tagged if c in attending]
        return chosen[0] if len(chosen) == 1 else None
    return tagged[0] if len(tagged) == 1 else None
