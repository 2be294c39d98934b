"""One-line descriptions of meetings and signals for the command line. Untrusted text (subjects,
names, reasons) is sanitised: no control characters reach the terminal."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aeflow.config import Config
from mailer.signals import sanitise
from rules.clients import client_of_meeting
from rules.model import Meeting, Signal


def meeting_line(meeting: Meeting, config: Config) -> str:
    zone = ZoneInfo(config.ae.timezone)
    client = client_of_meeting(meeting, config.clients)
    if meeting.all_day:
        when = f"{meeting.start.astimezone(zone):%Y-%m-%d} (all day)"
    else:
        start, end = meeting.start.astimezone(zone), meeting.end.astimezone(zone)
        when = f"{start:%Y-%m-%d %a %H:%M}-{end:%H:%M}"
    who = f"client {client.name}" if client else "no client"
    place = f" @ {sanitise(meeting.location, 60)}" if meeting.location else ""
    people = f"{len(meeting.attendees)} attendees"
    return f"{when}  {sanitise(meeting.subject, 80)}{place}  [{who}, {people}]"


def describe_signal(signal: Signal) -> str:
    parts = [signal.kind.value]
    if signal.recipient:
        parts.append(f"for {signal.recipient}")
    elif signal.sender:
        parts.append(f"from {signal.sender}")
    if signal.response:
        parts.append(f"({signal.response.value})")
    if signal.status:
        parts.append(f"status {sanitise(signal.status, 40)}")
    if signal.answers:
        parts.append(f"answers {signal.answers[0]}")
    if signal.uid:
        parts.append(f"meeting {sanitise(signal.uid, 80)}")
    if signal.reason:
        parts.append(f"- {sanitise(signal.reason, 120)}")
    return " ".join(parts)
