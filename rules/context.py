"""What the templates are given: plain values, already localised (weekday names, clock times)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rules.agenda import parse_agenda, schedule
from rules.model import Client, Meeting, Person, email_domain

WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh-CN": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def person(p: Person) -> dict[str, str]:
    return {"name": p.name or p.email, "email": p.email}


def _side(email: str, client: Client, ae: Person) -> str:
    """Whose side an attendee is on: the client's, the agency's (the AE's domain or the client's
    team), or a guest's (a partner, a supplier)."""
    if client.owns_address(email):
        return "client"
    if email_domain(email) == email_domain(ae.email) or any(m.email == email for m in client.team):
        return "agency"
    return "guest"


def meeting_context(
    meeting: Meeting, client: Client, zone: ZoneInfo, language: str, ae: Person
) -> dict[str, object]:
    start, end = meeting.start.astimezone(zone), meeting.end.astimezone(zone)
    names = WEEKDAYS.get(language, WEEKDAYS["en"])
    agenda = [
        {
            "title": t.title,
            "minutes": t.minutes,
            "start": t.start.astimezone(zone).strftime("%H:%M"),
            "end": t.end.astimezone(zone).strftime("%H:%M"),
        }
        for t in schedule(parse_agenda(meeting.body), meeting.start)
    ]
    attendees = [
        {
            "name": a.person.name or a.person.email,
            "email": a.person.email,
            "side": _side(a.person.email, client, ae),
        }
        for a in meeting.attendees
    ]
    if all(a["email"] != ae.email for a in attendees):
        attendees.append({"name": ae.name or ae.email, "email": ae.email, "side": "agency"})
    return {
        "subject": meeting.subject,
        "date": start.strftime("%Y-%m-%d"),
        "weekday": names[start.weekday()],
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "timezone": str(zone),
        "location": meeting.location,
        "attendees": attendees,
        "agenda": agenda,
    }
