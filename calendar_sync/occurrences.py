"""What every calendar adapter needs to tell changes apart: windows and content digests."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime

from rules.model import Meeting


def overlaps(meeting: Meeting, start: datetime, end: datetime) -> bool:
    """Whether ``meeting`` falls in ``[start, end)``; a zero-length one by its start."""
    if meeting.end == meeting.start:
        return start <= meeting.start < end
    return meeting.start < end and meeting.end > start


def digest(meeting: Meeting) -> str:
    """A short fingerprint of everything in the occurrence: equal digests, nothing changed."""
    fields = dataclasses.asdict(meeting)
    # Instants, not wall clocks: the same meeting read in another zone is not a change.
    fields["start"] = meeting.start.timestamp()
    fields["end"] = meeting.end.timestamp()
    text = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
