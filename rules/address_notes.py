"""An attendee address no mail server would take ("tom lee@acme.example", "a@b@c"): the mail
about the meeting goes to everyone else, and the AE is told once per meeting and set of bad
addresses which ones were left out, so that one typo never holds a confirmation for the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from rules.addresses import sendable
from rules.clients import client_of_meeting, on_our_side, organized_for
from rules.context import meeting_context
from rules.model import Action
from rules.planning import PlanState, key_part

ADDRESS = "address"


def address_key(meeting_key: str, addresses: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(addresses)).encode()).hexdigest()[:12]
    return f"{ADDRESS}:{key_part(meeting_key)}:{digest}"


def address_notes(state: PlanState, zone: ZoneInfo, now: datetime) -> Iterator[Action]:
    ae = state.ae.person
    for meeting in state.meetings:
        if meeting.cancelled or meeting.all_day or meeting.start <= now:
            continue
        client = client_of_meeting(meeting, state.clients)
        if client is None or not organized_for(meeting, client, ae):
            continue
        bad = sorted(
            a.person.email
            for a in meeting.attendees
            if on_our_side(a.person.email, client, ae) and not sendable(a.person.email)
        )
        if not bad:
            continue
        yield Action(
            key=address_key(meeting.key, bad),
            kind="address_problem",
            due=now,
            expires=meeting.start,
            recipients=(ae.email,),
            client=client.name,
            language=state.ae.language,
            data={
                "meeting": meeting_context(meeting, client, zone, state.ae.language, ae),
                "client": {"name": client.name},
                "addresses": bad,
                "meeting_key": meeting.key,
            },
        )
