"""Meetings between the server's mailboxes: invitations, responses, updates and cancellations.

The organizer's calendar item is the truth. Each invited mailbox gets a meeting request in its
inbox and a tentative copy of the meeting in its calendar (matched by UID); a response goes back to
the organizer's inbox and changes that attendee's ResponseType on the organizer's item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from tests.ews_server.invitations import (
    CARRIED,
    PARTSTAT,
    PREFIX,
    RESPONSE_CLASS,
    meeting_message,
    new_uid,
)
from tests.ews_server.responses import EwsError
from tests.ews_server.store import StoredItem, clone_props
from tests.ews_server.transport import report
from tests.ews_server.xml import (
    Element,
    format_datetime,
    mailbox_element,
    parse_datetime,
    tel,
)

if TYPE_CHECKING:
    from tests.ews_server.core import Core, Mailbox

CANCELED = "IPM.Schedule.Meeting.Canceled"
FREE_BUSY = {"Accept": "Busy", "Tentative": "Tentative", "Decline": "Free"}
TIME_FIELDS = {"Start", "End", "Recurrence", "IsAllDayEvent", "Location"}


def prepare_new(core: Core, organizer: Mailbox, item: StoredItem, invitations: str) -> None:
    """Fill what Exchange fills on a new calendar item of ``organizer``'s."""
    now = format_datetime(core.now())
    item.kind = "CalendarItem"
    item.props.setdefault("ItemClass", tel("ItemClass", "IPM.Appointment"))
    item.props.setdefault("UID", tel("UID", new_uid()))
    item.props.setdefault("LegacyFreeBusyStatus", tel("LegacyFreeBusyStatus", "Busy"))
    item.props["Organizer"] = mailbox_element("Organizer", organizer.email, organizer.name)
    attendees = item.attendees()
    for attendee in attendees:
        # Whatever a client claims, nobody has answered a meeting that is only now made.
        for stale in attendee.element.findall("{*}ResponseType") + attendee.element.findall(
            "{*}LastResponseTime"
        ):
            attendee.element.remove(stale)
        attendee.element.append(tel("ResponseType", "Unknown"))
    meeting = bool(attendees)
    item.set_text("IsMeeting", "true" if meeting else "false")
    item.set_text("IsCancelled", "false")
    item.set_text("IsRecurring", "false")
    item.set_text("IsOrganizer", "true")
    item.set_text("MyResponseType", "Organizer")
    item.set_text("AppointmentSequenceNumber", "0")
    item.set_text("AppointmentState", "1" if meeting else "0")
    item.set_text("CalendarItemType", "RecurringMaster" if "Recurrence" in item.props else "Single")
    item.set_text(
        "MeetingRequestWasSent", "true" if meeting and invitations != "SendToNone" else "false"
    )
    for name in ("DateTimeCreated", "LastModifiedTime", "DateTimeReceived"):
        item.set_text(name, now)


def invite(
    core: Core,
    organizer: Mailbox,
    item: StoredItem,
    attendees: list[str],
    *,
    request_type: str,
    save_copy: bool,
) -> None:
    """Send ``item``'s meeting request to ``attendees``: each known mailbox gets it in its inbox
    and the meeting in its calendar; the others bounce back to the organizer."""
    unknown = []
    for address in attendees:
        box = core.mailbox_of(address)
        if box is None:
            unknown.append(address)
            continue
        copy = attendee_copy(core, box, item, time_changed=request_type != "InformationalUpdate")
        for old in box.folders["inbox"]:
            if old.kind == "MeetingRequest" and old.uid == item.uid and not old.flag("IsOutOfDate"):
                old.set_text("IsOutOfDate", "true")
                core.changed(old)
        request = meeting_message(
            core,
            kind="MeetingRequest",
            item_class="IPM.Schedule.Meeting.Request",
            about=item,
            sender=organizer,
            owner=box.email,
            to=[address],
            subject=item.subject,
            method="REQUEST",
            statuses={},
        )
        request.props["AssociatedCalendarItemId"] = tel(
            "AssociatedCalendarItemId", Id=copy.item_id, ChangeKey=copy.change_key
        )
        for name, value in (
            ("MeetingRequestType", request_type),
            ("ResponseType", "NoResponseReceived"),
            ("MyResponseType", "NoResponseReceived"),
            ("IntendedFreeBusyStatus", "Busy"),
            ("IsResponseRequested", "true"),
            ("HasBeenProcessed", "true"),
            ("IsOutOfDate", "false"),
            ("IsDelegated", "false"),
            ("IsOrganizer", "false"),
        ):
            request.set_text(name, value)
        core.place(request, "inbox")
    if save_copy and attendees:
        sent = _as_message(core, organizer, item, attendees)
        sent.set_text("IsRead", "true")
        core.place(sent, "sentitems")
    if unknown:
        report(core, organizer, _as_message(core, organizer, item, unknown), unknown, "failed")


def _as_message(core: Core, organizer: Mailbox, item: StoredItem, to: list[str]) -> StoredItem:
    """The request as the bounce quotes it."""
    return meeting_message(
        core, kind="MeetingRequest", item_class="IPM.Schedule.Meeting.Request", about=item,
        sender=organizer, owner=organizer.email, to=to, subject=item.subject, method="REQUEST",
        statuses={},
    )  # fmt: skip


def find_by_uid(box: Mailbox, uid: str | None) -> StoredItem | None:
    for item in box.folders["calendar"]:
        if item.kind == "CalendarItem" and item.uid == uid:
            return item
    return None


def attendee_copy(core: Core, box: Mailbox, item: StoredItem, time_changed: bool) -> StoredItem:
    """The meeting in an attendee's calendar, made or brought up to date from the organizer's."""
    existing = find_by_uid(box, item.uid)
    # Only the meeting's own properties travel; the organizer's bookkeeping (or, when made from
    # a request, the message's) stays behind.
    props = {name: value for name, value in clone_props(item.props).items() if name in CARRIED}
    props["ItemClass"] = tel("ItemClass", "IPM.Appointment")
    props["IsMeeting"] = tel("IsMeeting", "true")
    if existing is None:
        copy = StoredItem(core.new_item_id(box.email), "CalendarItem", box.email, "calendar", props)
        copy.extended = dict(item.extended)
        copy.set_text("MyResponseType", "NoResponseReceived")
        copy.set_text("LegacyFreeBusyStatus", "Tentative")
        copy.set_text("IsOrganizer", "false")
        copy.set_text("AppointmentState", "3")
        for name in ("DateTimeCreated", "DateTimeReceived", "LastModifiedTime"):
            copy.set_text(name, format_datetime(core.now()))
        return core.place(copy, "calendar")
    keep: dict[str, Element] = {
        name: existing.props[name]
        for name in ("MyResponseType", "LegacyFreeBusyStatus")
        if name in existing.props
    }
    existing.props = props
    existing.props.update(keep)
    existing.set_text("IsOrganizer", "false")
    existing.set_text("AppointmentState", "3")
    if time_changed:
        existing.set_text("MyResponseType", "NoResponseReceived")
        existing.set_text("LegacyFreeBusyStatus", "Tentative")
    core.changed(existing)
    return existing


def respond(
    core: Core, box: Mailbox, item: StoredItem, response: str, *, send: bool, save_copy: bool
) -> StoredItem:
    """``box`` answers the meeting ``item`` (its meeting request or its calendar copy) with
    Accept, Tentative or Decline. Returns the attendee's calendar item."""
    if item.kind not in {"MeetingRequest", "CalendarItem"}:
        raise EwsError("ErrorInvalidReferenceItem", "The reference item is not a meeting request.")
    calendar_item = find_by_uid(box, item.uid)
    if calendar_item is None:
        calendar_item = attendee_copy(core, box, item, time_changed=True)
    if calendar_item.flag("IsOrganizer"):
        raise EwsError("ErrorCalendarIsOrganizerForAccept", "The organizer cannot respond.")
    now = core.now()
    calendar_item.set_text("MyResponseType", response)
    calendar_item.set_text("LegacyFreeBusyStatus", FREE_BUSY[response])
    calendar_item.set_text("AppointmentReplyTime", format_datetime(now))
    core.changed(calendar_item)
    for request in box.folders["inbox"]:
        if request.kind == "MeetingRequest" and request.uid == item.uid:
            core.move(request, "deleteditems")
    if send:
        _send_response(core, box, calendar_item, response, save_copy)
    if response == "Decline":
        core.move(calendar_item, "deleteditems")
    return calendar_item


def _send_response(
    core: Core, box: Mailbox, item: StoredItem, response: str, save_copy: bool
) -> None:
    organizer_address = item.organizer or ""
    organizer = core.mailbox_of(organizer_address)
    statuses = {box.email: PARTSTAT[response]}
    answer = meeting_message(
        core, kind="MeetingResponse", item_class=RESPONSE_CLASS[response], about=item, sender=box,
        owner=organizer.email if organizer else box.email, to=[organizer_address],
        subject=PREFIX[response] + item.subject, method="REPLY", statuses=statuses,
    )  # fmt: skip
    answer.set_text("ResponseType", response)
    if organizer is None:
        report(core, box, answer, [organizer_address], "failed")
        return
    organizer_item = find_by_uid(organizer, item.uid)
    if organizer_item is not None:
        answer.props["AssociatedCalendarItemId"] = tel(
            "AssociatedCalendarItemId",
            Id=organizer_item.item_id,
            ChangeKey=organizer_item.change_key,
        )
        for attendee in organizer_item.attendees():
            if attendee.email == box.email:
                attendee.set_response(response, core.now())
        core.changed(organizer_item)
    core.place(answer, "inbox")
    if save_copy:
        kept = StoredItem(core.new_item_id(box.email), "MeetingResponse", box.email, "sentitems")
        kept.props = clone_props(answer.props)
        kept.props.pop("AssociatedCalendarItemId", None)
        kept.set_text("IsRead", "true")
        kept.mime = answer.mime
        core.place(kept, "sentitems")


def cancel(
    core: Core, organizer: Mailbox, item: StoredItem, *, send: bool, save_copy: bool
) -> None:
    """The organizer cancels ``item``: attendees get a cancellation and their copy is marked
    cancelled; the organizer's item leaves the calendar."""
    if not item.flag("IsOrganizer") and item.organizer not in (None, organizer.email):
        raise EwsError("ErrorCalendarIsNotOrganizer", "Only the organizer can cancel a meeting.")
    item.set_text("IsCancelled", "true")
    if send:
        notify_cancelled(core, organizer, item, [a.email for a in item.attendees()], save_copy)


def notify_cancelled(
    core: Core, organizer: Mailbox, item: StoredItem, attendees: list[str], save_copy: bool
) -> None:
    unknown = []
    subject = "Canceled: " + item.subject
    for address in attendees:
        box = core.mailbox_of(address)
        if box is None:
            unknown.append(address)
            continue
        notice = meeting_message(
            core, kind="MeetingCancellation", item_class=CANCELED, about=item,
            sender=organizer, owner=box.email, to=[address], subject=subject, method="CANCEL",
            statuses={},
        )  # fmt: skip
        notice.set_text("IsCancelled", "true")
        copy = find_by_uid(box, item.uid)
        if copy is not None:
            copy.set_text("IsCancelled", "true")
            copy.set_text("Subject", subject)
            copy.set_text("LegacyFreeBusyStatus", "Free")
            copy.set_text("AppointmentState", "7")
            core.changed(copy)
            notice.props["AssociatedCalendarItemId"] = tel(
                "AssociatedCalendarItemId", Id=copy.item_id, ChangeKey=copy.change_key
            )
        core.place(notice, "inbox")
    if save_copy and attendees:
        sent = meeting_message(
            core, kind="MeetingCancellation", item_class=CANCELED, about=item,
            sender=organizer, owner=organizer.email, to=attendees, subject=subject, method="CANCEL",
            statuses={},
        )  # fmt: skip
        sent.set_text("IsRead", "true")
        core.place(sent, "sentitems")
    if unknown:
        report(core, organizer, _as_message(core, organizer, item, unknown), unknown, "failed")


def updated(
    core: Core, organizer: Mailbox, item: StoredItem, before: StoredItem, mode: str
) -> None:
    """After the organizer changed ``item`` (``before`` is how it was): tell attendees as ``mode``
    (SendMeetingInvitationsOrCancellations) says."""
    _carry_responses(item, before)
    if (
        mode != "SendToNone"
        and item.flag("IsOrganizer")
        and not item.flag("IsMeeting")
        and item.attendees()
    ):
        # An appointment given attendees and sent becomes a meeting, as when Outlook does it.
        item.set_text("IsMeeting", "true")
        item.set_text("AppointmentState", "1")
        item.set_text("MeetingRequestWasSent", "true")
    if mode == "SendToNone" or not item.flag("IsMeeting") or item.master_id is not None:
        return
    old = {a.email for a in before.attendees()}
    new = [a.email for a in item.attendees()]
    removed = sorted(old - set(new))
    changed_time = any(_text(item, name) != _text(before, name) for name in TIME_FIELDS)
    sequence = int(item.text("AppointmentSequenceNumber") or "0") + 1
    item.set_text("AppointmentSequenceNumber", str(sequence))
    if mode.startswith("SendToChanged"):
        targets = [address for address in new if address not in old or changed_time]
    else:
        targets = new
    save_copy = mode.endswith("SaveCopy")
    if targets:
        kind = "FullUpdate" if changed_time else "InformationalUpdate"
        invite(core, organizer, item, targets, request_type=kind, save_copy=save_copy)
    if removed:
        notify_cancelled(core, organizer, item, removed, save_copy)


def _carry_responses(item: StoredItem, before: StoredItem) -> None:
    """Attendee lists a client writes back keep the answers the server recorded."""
    if not item.flag("IsOrganizer"):
        return
    known = {a.email: a for a in before.attendees()}
    for attendee in item.attendees():
        previous = known.get(attendee.email)
        for stale in attendee.element.findall("{*}ResponseType") + attendee.element.findall(
            "{*}LastResponseTime"
        ):
            attendee.element.remove(stale)
        if previous is not None and previous.element.find("{*}LastResponseTime") is not None:
            when = parse_datetime(previous.element.findtext("{*}LastResponseTime") or "")
            attendee.set_response(previous.response_type, when)
        else:
            attendee.element.append(
                tel("ResponseType", previous.response_type if previous else "Unknown")
            )


def _text(item: StoredItem, name: str) -> str:
    element = item.props.get(name)
    return "" if element is None else etree.tostring(element, encoding="unicode")
