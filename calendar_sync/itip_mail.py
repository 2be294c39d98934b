"""The calendar inside an iTIP invitation e-mail (RFC 6047), for ``parse_calendar``.

Invitations carry the calendar as a ``text/calendar`` part (often inside multipart/alternative),
sometimes again as an ``application/ics`` attachment; the ``text/calendar`` part is the one the
sender's client means, so it wins.
"""

from __future__ import annotations

import email
import email.policy
from email.message import Message

from rules.errors import UnreadableInput

_CALENDAR_TYPES = ("text/calendar", "application/ics")


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return b""
    charset = part.get_content_charset() or "utf-8"
    if charset.lower().replace("_", "-") in ("utf-8", "us-ascii", "ascii"):
        return data
    try:
        # iCalendar is UTF-8; a part declared in another charset is re-encoded.
        return data.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return data


def calendar_part(message: bytes, source: str) -> bytes:
    """The iCalendar bytes of an invitation e-mail; ``UnreadableInput`` when it carries none."""
    try:
        parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    except Exception as error:  # the stdlib parser is lenient; this is a last resort
        raise UnreadableInput(source, f"not a readable e-mail message: {error}") from error
    for wanted in _CALENDAR_TYPES:
        for part in parsed.walk():
            if part.get_content_type() == wanted:
                data = _payload(part)
                if data.strip():
                    return data
    raise UnreadableInput(source, "the message has no text/calendar part")
