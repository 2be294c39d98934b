"""Meeting responses that arrived by mail, laid over what the calendar says.

The calendar may lag behind the inbox (a local vdir is not updated by the attendee's reply), so
the latest answer wins: a response by mail replaces the calendar's when it is newer, or when the
calendar has no time for its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from rules.model import Meeting, Response, normalise_email, require_aware


@dataclass(frozen=True)
class MailedResponse:
    uid: str
    occurrence_id: str  # "" for an answer to the whole series
    email: str
    response: Response
    at: datetime

    def __post_init__(self) -> None:
        require_aware("MailedResponse.at", self.at)
        object.__setattr__(self, "email", normalise_email(self.email))


def overlay(meetings: Iterable[Meeting], responses: Iterable[MailedResponse]) -> list[Meeting]:
    by_uid: dict[str, list[MailedResponse]] = {}
    for response in responses:
        by_uid.setdefault(response.uid, []).append(response)
    out = []
    for meeting in meetings:
        answers = by_uid.get(meeting.uid)
        if not answers:
            out.append(meeting)
            continue
        attendees = []
        for attendee in meeting.attendees:
            best = attendee
            for answer in answers:
                if answer.email != attendee.person.email:
                    continue
                if answer.occurrence_id and answer.occurrence_id != meeting.occurrence_id:
                    continue
                if best.responded_at is None or answer.at > best.responded_at:
                    best = replace(best, response=answer.response, responded_at=answer.at)
            attendees.append(best)
        out.append(replace(meeting, attendees=tuple(attendees)))
    return out
