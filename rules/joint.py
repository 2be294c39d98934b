"""Meetings with more than one client's people: aeflow sends no client mail about them, and
tells the AE so, once per meeting and time, so that the AE writes to each side by hand.

Until joint meetings are designed (a meeting both clients agreed to share), a confirmation,
a meeting request or minutes about such a meeting would tell one client about the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from rules.clients import joint, organized_for
from rules.context import meeting_context
from rules.model import Action
from rules.planning import PlanState, key_part, stamp

JOINT = "joint"


def joint_key(meeting_key: str, start: datetime) -> str:
    return f"{JOINT}:{key_part(meeting_key)}:{stamp(start)}"


def joint_meeting_notes(state: PlanState, zone: ZoneInfo, now: datetime) -> Iterator[Action]:
    ae = state.ae.person
    for meeting in state.meetings:
        if meeting.cancelled or meeting.all_day or meeting.start <= now:
            continue
        clients = joint(meeting, state.clients)
        if not clients or not any(organized_for(meeting, c, ae) for c in clients):
            continue
        yield Action(
            key=joint_key(meeting.key, meeting.start),
            kind="joint_meeting",
            due=now,
            expires=meeting.start,
            recipients=(ae.email,),
            client="",
            language=state.ae.language,
            data={
                "meeting": meeting_context(meeting, clients[0], zone, state.ae.language, ae),
                "clients": [c.name for c in clients],
                "meeting_key": meeting.key,
            },
        )
