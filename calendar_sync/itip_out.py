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

import icalendar

from rules.model import Role, require_aware

PRODID = "-//aeflow//aeflow meeting requests//EN"
METHODS = frozenset({"REQUEST", "CANCEL"})
_ICAL_ROLE = {
    Role.CHAIR.value: "CHAIR",
    Role.REQUIRED.value: "REQ-PARTICIPANT",
    Role.OPTIONAL.value: "OPT-PARTICIPANT",
    Role.NON_PARTICIPANT.value: "NON-PARTICIPANT",
}


def _address(person: Mapping[str, object], extra: Mapping[str, str]) -> icalendar.vCalAddress:
    email = str(person["email"])
    if any(ch in email for ch in "\r\n\0") or "@" not in email:
        raise ValueError(f"not an address for a calendar: {email!r}")
    address = icalendar.vCalAddress(f"mailto:{email}")
    name = str(person.get("name", "")).strip()
    if name:
        address.params["CN"] = icalendar.vText(" ".join(name.split()))
    for key, value in extra.items():
        address.params[key] = value
    return address


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
    start = datetime.fromisoformat(str(itip["start"]))
    end = datetime.fromisoformat(str(itip["end"]))
    require_aware("start", start)
    require_aware("end", end)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    event = icalendar.Event()
    event.add("UID", str(itip["uid"]))
    event.add("SEQUENCE", int(str(itip.get("sequence", 0))))
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("DTSTART", start.astimezone(UTC))
    event.add("DTEND", end.astimezone(UTC))
    event.add("SUMMARY", str(itip.get("subject", "")))
    location = str(itip.get("location", ""))
    if location:
        event.add("LOCATION", location)
    if description:
        event.add("DESCRIPTION", description)
    organizer = itip["organizer"]
    assert isinstance(organizer, Mapping)
    event.add("ORGANIZER", _address(organizer, {}))
    attendees = itip.get("attendees", [])
    assert isinstance(attendees, Sequence)
    for attendee in attendees:
        assert isinstance(attendee, Mapping)
        role = _ICAL_ROLE.get(str(attendee.get("role", "")), "REQ-PARTICIPANT")
        params = {"ROLE": role, "CUTYPE": "INDIVIDUAL"}
        if method == "REQUEST":
            params |= {"PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
        event.add("ATTENDEE", _address(attendee, params))
    event.add("STATUS", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    if method == "CANCEL":
        event.add("PRIORITY", 1)
    calendar.add_component(event)
    content: bytes = calendar.to_ical()
    return content
