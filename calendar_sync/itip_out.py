"""Meeting requests and cancellations as iTIP objects (RFC 5546), for a text/calendar part.

One VEVENT per object, written in UTC (every calendar client converts it to its user's zone, and
no VTIMEZONE has to be trusted), with what RFC 5546 section 3.2 asks of the organizer:

- REQUEST: ORGANIZER, DTSTAMP, DTSTART, SUMMARY, UID and SEQUENCE; one ATTENDEE per invitee with
  ``PARTSTAT=NEEDS-ACTION`` and ``RSVP=TRUE``, so Outlook, Google and Apple offer Accept/Decline.
  An update keeps the UID and raises the SEQUENCE.
- CANCEL: the same UID, a higher SEQUENCE, ``STATUS:CANCELLED`` and the attendees it is sent to.

``DESCRIPTION`` carries the notice's plain text, so a client that shows only the event still shows
the agenda.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from calendar_sync.ics_fields import ICAL_ROLES, cal_address
from calendar_sync.ics_publish import new_calendar, vevent
from rules.model import Role, require_aware

PRODID = "-//aeflow//aeflow meeting requests//EN"
METHODS = frozenset({"REQUEST", "CANCEL"})


def _person(value: object) -> tuple[str, str]:
    assert isinstance(value, Mapping)
    return str(value["email"]), str(value.get("name", ""))


def itip_calendar(itip: Mapping[str, object], *, stamp: datetime, description: str = "") -> bytes:
    """The iCalendar bytes (CRLF, folded) of the request or cancellation ``itip`` describes.

    ``itip`` holds plain values, as the invitation policy puts them in an action: method, uid,
    sequence, start and end (ISO instants), subject, location, organizer (email, name) and
    attendees (email, name, role). ``stamp`` is when the object is made (DTSTAMP).
    """
    require_aware("stamp", stamp)
    method = str(itip["method"]).upper()
    if method not in METHODS:
        raise ValueError(f"aeflow sends no iTIP {method!r}; only {sorted(METHODS)}")
    for field in ("start", "end"):
        require_aware(field, datetime.fromisoformat(str(itip[field])))
    email, name = _person(itip["organizer"])
    event = vevent(
        {
            "uid": str(itip["uid"]),
            "subject": str(itip.get("subject", "")),
            "location": str(itip.get("location", "")),
            "start": str(itip["start"]),
            "end": str(itip["end"]),
            "sequence": int(str(itip.get("sequence", 0))),
        },
        email,
        stamp.astimezone(UTC),
    )
    event["ORGANIZER"] = cal_address(email, name)
    if description:
        event.add("DESCRIPTION", description)
    attendees = itip.get("attendees", [])
    assert isinstance(attendees, Sequence)
    for attendee in attendees:
        assert isinstance(attendee, Mapping)
        role = Role(str(attendee.get("role", Role.REQUIRED.value)))
        params = {"ROLE": ICAL_ROLES[role], "CUTYPE": "INDIVIDUAL"}
        if method == "REQUEST":
            params |= {"PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
        event.add("ATTENDEE", cal_address(*_person(attendee), params))
    event.add("STATUS", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    if method == "CANCEL":
        event.add("PRIORITY", 1)
    calendar = new_calendar(method, PRODID)
    calendar.add_component(event)
    content: bytes = calendar.to_ical()
    return content
