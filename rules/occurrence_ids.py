"""The id of one occurrence of a series: what the calendar and the mailbox both call it.

An occurrence is named by its original start (its RECURRENCE-ID, or the DTSTART the series gives
it) as an ISO 8601 instant in UTC, the ``isoformat()`` of an aware UTC datetime. The calendar
(``calendar_sync``) names the occurrences it expands this way and the mailbox (``mailer``) the
occurrence an attendee's answer is about: if the two differed, the answer would be matched to no
occurrence. So both call ``occurrence_id``, and a contract test holds them to it.

A value that carries no zone is the AE's: a floating time is read in the AE's zone (RFC 5545
3.3.5, form 1), and a date (an all-day occurrence) stands for its midnight there, which is when
the calendar shows that day to begin.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo


def occurrence_id(value: date | datetime, zone: tzinfo) -> str:
    """``value`` (a date, a floating or an aware date-time) as an ISO UTC instant; ``zone`` is
    the AE's, used for a date and for a floating time."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC).isoformat()
    return datetime.combine(value, time(), zone).astimezone(UTC).isoformat()
