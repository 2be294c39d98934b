"""Meeting mail arriving from outside (iMIP, RFC 6047): what Exchange makes of a text/calendar
REQUEST, REPLY or CANCEL delivered to a mailbox. A request becomes a meeting request plus the
meeting in the calendar, a reply changes the answering attendee's ResponseType on the organizer's
meeting, a cancellation marks the meeting cancelled."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import icalendar

from tests.ews_server.invitations import RESPONSE_CLASS
from tests.ews_server.recurrence import DAY_NAMES, zone
from tests.ews_server.store import StoredItem
from tests.ews_server.xml import format_datetime, mailbox, mailbox_element, sub, t, tel

if TYPE_CHECKING:
    from tests.ews_server.core import Core, Mailbox

PARTSTAT = {"ACCEPTED": "Accept", "TENTATIVE": "Tentative", "DECLINED": "Decline"}
BYDAY = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def calendar_part(message: EmailMessage) -> tuple[str, Any] | None:
    """(METHOD, first VEVENT) of the message's text/calendar part, if it has one."""
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except ValueError:
            return None
        events = calendar.walk("VEVENT")
        method = str(calendar.get("METHOD") or part.get_param("method") or "").upper()
        if events and method:
            return method, events[0]
    return None


def _address(value: Any) -> str:
    return str(value or "").split(":", 1)[-1].strip().lower()


def _instant(value: Any, fallback: str) -> tuple[dt.datetime, bool]:
    """An iCalendar DTSTART/DTEND as UTC, and whether it was a date (all day)."""
    moment = value.dt
    if not isinstance(moment, dt.datetime):
        return dt.datetime.combine(moment, dt.time(), tzinfo=zone(None, fallback)), True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(None, fallback))
    return moment.astimezone(dt.UTC), False


def _recurrence(rule: Any, first: dt.date) -> Any | None:
    """A DAILY or WEEKLY RRULE as an EWS Recurrence; None for what it cannot express here."""
    frequency = (rule.get("FREQ") or [""])[0]
    if frequency not in {"DAILY", "WEEKLY"}:
        return None
    recurrence = tel("Recurrence")
    pattern = sub(recurrence, t(f"{frequency.title()}Recurrence"))
    sub(pattern, t("Interval"), str((rule.get("INTERVAL") or [1])[0]))
    if frequency == "WEEKLY":
        days = [BYDAY[str(day)[-2:]] for day in rule.get("BYDAY") or []] or [first.weekday()]
        sub(pattern, t("DaysOfWeek"), " ".join(DAY_NAMES[day] for day in sorted(set(days))))
    if rule.get("COUNT"):
        limits = sub(recurrence, t("NumberedRecurrence"))
        sub(limits, t("StartDate"), first.isoformat())
        sub(limits, t("NumberOfOccurrences"), str(rule["COUNT"][0]))
    elif rule.get("UNTIL"):
        until = rule["UNTIL"][0]
        limits = sub(recurrence, t("EndDateRecurrence"))
        sub(limits, t("StartDate"), first.isoformat())
        end = until.date() if isinstance(until, dt.datetime) else until
        sub(limits, t("EndDate"), end.isoformat())
    else:
        limits = sub(recurrence, t("NoEndRecurrence"))
        sub(limits, t("StartDate"), first.isoformat())
    return recurrence


def meeting_props(event: Any, fallback: str) -> dict[str, Any]:
    """The calendar item properties a VEVENT describes."""
    start, all_day = _instant(event["DTSTART"], fallback)
    end = _instant(event["DTEND"], fallback)[0] if event.get("DTEND") else start
    props: dict[str, Any] = {
        "ItemClass": tel("ItemClass", "IPM.Appointment"),
        "Subject": tel("Subject", str(event.get("SUMMARY", ""))),
        "Body": tel("Body", str(event.get("DESCRIPTION", "")), BodyType="Text"),
        "UID": tel("UID", str(event.get("UID", ""))),
        "Start": tel("Start", format_datetime(start)),
        "End": tel("End", format_datetime(end)),
        "IsAllDayEvent": tel("IsAllDayEvent", "true" if all_day else "false"),
        "IsMeeting": tel("IsMeeting", "true"),
        "AppointmentSequenceNumber": tel(
            "AppointmentSequenceNumber", str(event.get("SEQUENCE", 0))
        ),
    }
    if event.get("LOCATION"):
        props["Location"] = tel("Location", str(event["LOCATION"]))
    organizer = event.get("ORGANIZER")
    if organizer:
        name = str(organizer.params.get("CN", "")) if hasattr(organizer, "params") else ""
        props["Organizer"] = mailbox_element("Organizer", _address(organizer), name)
    attendees = event.get("ATTENDEE") or []
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        role = str(attendee.params.get("ROLE", "REQ-PARTICIPANT"))
        kind = "OptionalAttendees" if role == "OPT-PARTICIPANT" else "RequiredAttendees"
        holder = props.setdefault(kind, tel(kind))
        entry = sub(holder, t("Attendee"))
        entry.append(mailbox(_address(attendee), str(attendee.params.get("CN", ""))))
        sub(entry, t("ResponseType"), "Unknown")
    start_zone = getattr(event["DTSTART"].dt, "tzinfo", None)
    if event.get("RRULE"):
        local_first = event["DTSTART"].dt
        first = local_first.date() if isinstance(local_first, dt.datetime) else local_first
        recurrence = _recurrence(event["RRULE"], first)
        if recurrence is not None:
            props["Recurrence"] = recurrence
            props["CalendarItemType"] = tel("CalendarItemType", "RecurringMaster")
            zone_key = getattr(start_zone, "key", None)
            if zone_key:
                props["StartTimeZone"] = tel("StartTimeZone", Id=zone_key)
    return props


def process(core: Core, box: Mailbox, item: StoredItem, message: EmailMessage) -> None:
    """Make ``item`` (arriving, not yet placed) what Exchange files an iMIP message as."""
    from tests.ews_server import meetings

    found = calendar_part(message)
    if found is None:
        return
    method, event = found
    uid = str(event.get("UID", ""))
    item.set_text("UID", uid)
    target = meetings.find_by_uid(box, uid)
    if method == "REPLY":
        answers = event.get("ATTENDEE") or []
        answers = answers if isinstance(answers, list) else [answers]
        statuses = {_address(a): PARTSTAT.get(str(a.params.get("PARTSTAT", ""))) for a in answers}
        response = next((s for s in statuses.values() if s), None)
        if response is None:
            return
        item.kind = "MeetingResponse"
        item.set_text("ItemClass", RESPONSE_CLASS[response])
        item.set_text("ResponseType", response)
        if target is not None:
            for attendee in target.attendees():
                answer = statuses.get(attendee.email)
                if answer:
                    attendee.set_response(answer, core.now())
            core.changed(target)
    elif method == "REQUEST":
        props = meeting_props(event, core.time_zone)
        if target is None:
            target = StoredItem(core.new_item_id(box.email), "CalendarItem", box.email, "calendar")
            target.props = props
            core.place(target, "calendar")
        else:
            target.props.update(props)
            core.changed(target)
        target.set_text("MyResponseType", "NoResponseReceived")
        target.set_text("LegacyFreeBusyStatus", "Tentative")
        target.set_text("IsOrganizer", "false")
        item.kind = "MeetingRequest"
        item.props.update(
            {k: v for k, v in meeting_props(event, core.time_zone).items() if k != "Body"}
        )
        item.set_text("ItemClass", "IPM.Schedule.Meeting.Request")
        item.set_text("MeetingRequestType", "NewMeetingRequest")
        item.set_text("ResponseType", "NoResponseReceived")
    elif method == "CANCEL":
        item.kind = "MeetingCancellation"
        item.set_text("ItemClass", "IPM.Schedule.Meeting.Canceled")
        item.set_text("IsCancelled", "true")
        if target is not None:
            target.set_text("IsCancelled", "true")
            target.set_text("LegacyFreeBusyStatus", "Free")
            core.changed(target)
    else:
        return
    if target is not None:
        item.props["AssociatedCalendarItemId"] = tel(
            "AssociatedCalendarItemId", Id=target.item_id, ChangeKey=target.change_key
        )
