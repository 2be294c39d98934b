"""Reading the people, tags and texts of an event into the domain model, and writing people
back (``cal_address``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import icalendar

from rules.model import Attendee, Person, Response, Role
from rules.text import clean_text

_ROLES = {
    "CHAIR": Role.CHAIR,
    "REQ-PARTICIPANT": Role.REQUIRED,
    "REQ_PARTICIPANT": Role.REQUIRED,  # Yahoo writes an underscore
    "OPT-PARTICIPANT": Role.OPTIONAL,
    "OPT_PARTICIPANT": Role.OPTIONAL,
    "NON-PARTICIPANT": Role.NON_PARTICIPANT,
    "NON_PARTICIPANT": Role.NON_PARTICIPANT,
}

_RESPONSES = {
    "NEEDS-ACTION": Response.NEEDS_ACTION,
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "DELEGATED": Response.DELEGATED,
}


# The other way, for what aeflow writes: each role and answer by its RFC 5545 name.
ICAL_ROLES = {role: name for name, role in _ROLES.items() if "_" not in name}
ICAL_RESPONSES = {response: name for name, response in _RESPONSES.items()}


def cal_address(email: str, name: str = "", params: Mapping[str, str] | None = None) -> Any:
    """An ORGANIZER or ATTENDEE value: ``mailto:`` the address, its CN and ``params``. An address
    that could break the line it is written on is a ``ValueError``."""
    if "@" not in email or any(ch in email for ch in "\r\n\0 "):
        raise ValueError(f"not an address for a calendar: {email!r}")
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name.strip():
        address.params["CN"] = icalendar.vText(" ".join(name.split()))
    for key, value in (params or {}).items():
        address.params[key] = value
    return address


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def param(value: Any, name: str) -> str:
    """A parameter of a property value, as one stripped string ("" when absent)."""
    params = getattr(value, "params", None) or {}
    found = params.get(name)
    if isinstance(found, (list, tuple)):
        found = found[0] if found else ""
    return str(found).strip() if found is not None else ""


# Text properties whose value is several lines; every other (SUMMARY, LOCATION, ...) is one.
MULTILINE_TEXT = frozenset({"DESCRIPTION", "COMMENT"})


def text(event: icalendar.Component, name: str) -> str:
    """A text property, cleaned (``rules.text.clean_text``); several lines of it are joined by
    newlines, or by spaces for a one-line property such as SUMMARY."""
    multiline = name.upper() in MULTILINE_TEXT
    joined = "\n".join(str(v) for v in _values(event.get(name)))
    return clean_text(joined, multiline=multiline).strip()


def address(value: Any) -> str:
    """The e-mail address of a calendar user: the EMAIL parameter, else the mailto: value."""
    email = param(value, "EMAIL")
    if email and "@" in email:
        return email.removeprefix("mailto:").removeprefix("MAILTO:")
    raw = str(value).strip()
    # Confluence writes its parameters into the value ("X-...=...;CN=...:mailto:a@b"); the
    # address is what follows the last mailto:.
    at = raw.lower().rfind("mailto:")
    if at >= 0:
        raw = raw[at + 7 :]
    return raw.strip() if "@" in raw else ""


def person(value: Any) -> Person | None:
    email = address(value)
    if not email:
        return None
    return Person(email=email, name=clean_text(param(value, "CN"), multiline=False).strip())


def attendees(event: icalendar.Component) -> tuple[Attendee, ...]:
    found: dict[str, Attendee] = {}
    for value in _values(event.get("ATTENDEE")):
        who = person(value)
        if who is None or who.email in found:
            continue
        found[who.email] = Attendee(
            person=who,
            role=_ROLES.get(param(value, "ROLE").upper(), Role.REQUIRED),
            response=_RESPONSES.get(param(value, "PARTSTAT").upper(), Response.NEEDS_ACTION),
            rsvp=param(value, "RSVP").upper() == "TRUE",
        )
    return tuple(found.values())


def categories(event: icalendar.Component) -> tuple[str, ...]:
    """Every category, from one or several CATEGORIES lines, comma lists split, in order."""
    seen: dict[str, None] = {}
    for value in _values(event.get("CATEGORIES")):
        items = getattr(value, "cats", None)
        for item in items if items is not None else str(value).split(","):
            name = str(item).strip()
            if name:
                seen.setdefault(name, None)
    return tuple(seen)


def sequence(event: icalendar.Component) -> int:
    try:
        return int(str(event.get("SEQUENCE", 0)).strip() or 0)
    except ValueError:
        return 0
