"""Meeting requests on Exchange: the AE's own calendar item is made a meeting and saved with
SendToAllAndSaveCopy, so Exchange sends the requests itself, files a copy in Sent Items and keeps
the attendees' answers on the item, exactly as when the AE invites from Outlook.

Never the silent default (SendToNone): that would add the attendees without telling them.
The request's key is kept on the calendar item in a named property of aeflow's property set;
a request whose key the item already holds is not sent again, which makes a retry after a lost
answer or a crash safe. An update of an invited meeting is the same save (Exchange raises the
sequence number). The notice becomes the item's body, so the attendees read it in the request;
the AE's own notes (the agenda, what to bring) are kept beside it in another named property,
and read from there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from calendar_sync.ews_items import body_of, has_text_body
from rules.errors import UserError
from rules.model import Meeting

log = logging.getLogger(__name__)

# Fields of exchangelib's CalendarItem, registered with every account the shared session builds
# (mailer/ews_session.PROPERTIES): the key of the last request sent, and the AE's own notes.
_FIELD = "aeflow_invite_key"
NOTES_FIELD = "aeflow_notes"
# The view around the meeting's time that finds its item: a little wider than the meeting.
_MARGIN = timedelta(minutes=1)


class Connection(Protocol):
    @property
    def account(self) -> Any: ...

    def guard(self, what: str) -> Any: ...


def _item_of(account: Any, uid: str, start: datetime, end: datetime) -> Any | None:
    """The AE's calendar item with ``uid`` around ``start``-``end`` (a single meeting)."""
    from exchangelib import EWSDateTime

    view = account.calendar.view(
        start=EWSDateTime.from_datetime(start - _MARGIN),
        end=EWSDateTime.from_datetime(end + _MARGIN),
    ).only("id", "changekey", "uid", "type")
    found = [item for item in view if str(getattr(item, "uid", "") or "") == uid]
    if not found:
        return None
    fields = ["id", "changekey", "uid", "subject", "required_attendees", "optional_attendees"]
    body = "text_body" if has_text_body(account) else "body"
    (item,) = list(account.fetch([found[0]], only_fields=[*fields, body, _FIELD, NOTES_FIELD]))
    if isinstance(item, Exception):
        raise item
    return item


def send_invitation(
    connection: Connection, itip: Mapping[str, object], key: str, notice_html: str
) -> bool:
    """Invite the attendees ``itip`` names to the AE's item ``itip["uid"]``, with the notice as
    its body; ``False`` when the item already carries ``key`` (sent before), ``True`` when sent.

    A ``UserError`` when the item is not in the calendar around the meeting's time any more."""
    from exchangelib import Attendee, HTMLBody, Mailbox
    from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

    start = datetime.fromisoformat(str(itip["start"]))
    end = datetime.fromisoformat(str(itip["end"]))
    uid = str(itip["uid"])
    with connection.guard("sending a meeting request through Exchange"):
        account = connection.account
        item = _item_of(account, uid, start, end)
        if item is None:
            raise UserError(
                f"the meeting {uid!r} is not in the Exchange calendar at {start.isoformat()} "
                "any more; its request is not sent"
            )
        if str(getattr(item, _FIELD, "") or "") == key:
            log.info("the meeting request %s is already on its calendar item", key)
            return False
        people = itip.get("attendees", [])
        assert isinstance(people, Sequence)
        required: list[Any] = []
        optional: list[Any] = []
        for person in people:
            assert isinstance(person, Mapping)
            attendee = Attendee(
                mailbox=Mailbox(
                    email_address=str(person["email"]), name=str(person.get("name", "")) or None
                ),
                response_type="Unknown",
            )
            (optional if person.get("role") == "optional" else required).append(attendee)
        item.required_attendees = required or None
        item.optional_attendees = optional or None
        if not getattr(item, NOTES_FIELD, None):
            # The AE's own notes, before the notice takes the body's place: the agenda and what
            # to bring are read from them from now on.
            setattr(item, NOTES_FIELD, body_of(item))
        item.body = HTMLBody(notice_html)
        setattr(item, _FIELD, key)
        item.save(
            update_fields=["required_attendees", "optional_attendees", "body", _FIELD, NOTES_FIELD],
            send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY,
        )
    return True


def invitation_sent(connection: Connection, itip: Mapping[str, object], key: str) -> bool:
    start = datetime.fromisoformat(str(itip["start"]))
    end = datetime.fromisoformat(str(itip["end"]))
    with connection.guard("looking for a meeting request in Exchange"):
        item = _item_of(connection.account, str(itip["uid"]), start, end)
    return item is not None and str(getattr(item, _FIELD, "") or "") == key


def create_event(connection: Connection, meeting: Meeting) -> str:
    """Book ``meeting`` in the AE's Exchange calendar as an appointment, telling nobody yet."""
    from exchangelib import CalendarItem, EWSDateTime, Mailbox
    from exchangelib.items import SEND_TO_NONE
    from exchangelib.properties import Attendee

    with connection.guard("booking a meeting in Exchange"):
        account = connection.account
        optional = [
            Attendee(mailbox=Mailbox(email_address=a.person.email), response_type="Unknown")
            for a in meeting.attendees
        ]
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            uid=meeting.uid,
            subject=meeting.subject,
            start=EWSDateTime.from_datetime(meeting.start.astimezone(UTC)),
            end=EWSDateTime.from_datetime(meeting.end.astimezone(UTC)),
            location=meeting.location or None,
            body=meeting.body or None,
            categories=list(meeting.categories) or None,
            optional_attendees=optional or None,
        )
        item.save(send_meeting_invitations=SEND_TO_NONE)
    return f"the Exchange calendar of {account.primary_smtp_address}"
