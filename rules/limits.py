"""How much of an outside field aeflow keeps: a calendar event or a mail may carry megabytes in
its subject or location, and whatever is kept travels into the state file and into every mail
that quotes it. Each field is cut where it enters, at a length no real meeting reaches, and the
adapter says once what it cut.
"""

from __future__ import annotations

from dataclasses import replace

from rules.model import Attendee, Meeting, Person

MAX_SUBJECT = 500
MAX_LOCATION = 500
MAX_NAME = 200
MAX_ADDRESS = 320  # RFC 5321: 64 octets of local part, @, 255 of domain
MAX_CATEGORY = 200
MAX_CATEGORIES = 50
MAX_BODY = 64 * 1024  # notes and agenda: ample for a page of topics
MAX_ATTENDEES = 500
ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters long, with an ellipsis where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _person(person: Person, cuts: set[str]) -> Person:
    if len(person.name) <= MAX_NAME:
        return person
    cuts.add("a name")
    return replace(person, name=cut(person.name, MAX_NAME))


def capped_meeting(meeting: Meeting) -> tuple[Meeting, tuple[str, ...]]:
    """``meeting`` with every outside field within its limit, and the names of what was cut."""
    cuts: set[str] = set()
    changes: dict[str, object] = {}
    for field, limit in (
        ("subject", MAX_SUBJECT),
        ("location", MAX_LOCATION),
        ("body", MAX_BODY),
    ):
        value = getattr(meeting, field)
        if len(value) > limit:
            changes[field] = cut(value, limit)
            cuts.add(f"the {field}")
    attendees = meeting.attendees
    if len(attendees) > MAX_ATTENDEES:
        attendees = attendees[:MAX_ATTENDEES]
        cuts.add(f"the attendees past the first {MAX_ATTENDEES}")
    kept = tuple(a for a in attendees if len(a.person.email) <= MAX_ADDRESS)
    if len(kept) < len(attendees):
        cuts.add("over-long addresses")
    people: tuple[Attendee, ...] = tuple(replace(a, person=_person(a.person, cuts)) for a in kept)
    if people != meeting.attendees:
        changes["attendees"] = people
    if meeting.organizer is not None:
        organizer = _person(meeting.organizer, cuts)
        if organizer is not meeting.organizer:
            changes["organizer"] = organizer
    categories = tuple(cut(c, MAX_CATEGORY) for c in meeting.categories[:MAX_CATEGORIES])
    if categories != meeting.categories:
        changes["categories"] = categories
        cuts.add("the categories")
    if not changes:
        return meeting, ()
    return replace(meeting, **changes), tuple(sorted(cuts))  # type: ignore[arg-type]


def cut_note(uid: str, cuts: tuple[str, ...]) -> str:
    return f"event {cut(uid, 80)!r} is over aeflow's limits; shortened: {', '.join(cuts)}"
