"""The in-memory mail store: folders, the items in them and each folder's change log.

Items keep their properties as the EWS elements themselves (``<t:Subject>``,
``<t:RequiredAttendees>`` ...), keyed by local name, so whatever a client wrote comes back as
written; the few properties the server reasons about (times, read flag, attendees) have accessors.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from tests.ews_server.xml import (
    Element,
    children_named,
    copy,
    format_datetime,
    mailbox_addresses,
    parse_bool,
    parse_datetime,
    t,
    tel,
    ttext,
)

# Distinguished folders every mailbox has: id, display name, folder class, EWS element.
FOLDERS: dict[str, tuple[str, str | None, str]] = {
    "root": ("Root", None, "Folder"),
    "msgfolderroot": ("Top of Information Store", "IPF.Note", "Folder"),
    "inbox": ("Inbox", "IPF.Note", "Folder"),
    "sentitems": ("Sent Items", "IPF.Note", "Folder"),
    "drafts": ("Drafts", "IPF.Note", "Folder"),
    "deleteditems": ("Deleted Items", "IPF.Note", "Folder"),
    "outbox": ("Outbox", "IPF.Note", "Folder"),
    "junkemail": ("Junk Email", "IPF.Note", "Folder"),
    "calendar": ("Calendar", "IPF.Appointment", "CalendarFolder"),
    "contacts": ("Contacts", "IPF.Contact", "ContactsFolder"),
    "tasks": ("Tasks", "IPF.Task", "TasksFolder"),
}
ITEM_HOLDING = ("inbox", "sentitems", "drafts", "deleteditems", "outbox", "junkemail", "calendar")


def encode_id(*parts: str) -> str:
    """An opaque identifier in the base64 dress Exchange gives its ids."""
    return base64.b64encode("\x1f".join(parts).encode()).decode()


def decode_id(value: str) -> list[str] | None:
    try:
        return base64.b64decode(value.encode(), validate=True).decode().split("\x1f")
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class Membership:
    """One stay of an item in a folder, as the folder's change log records it."""

    item_id: str
    entered: int
    left: int | None = None
    events: list[tuple[int, str]] = field(
        default_factory=list
    )  # (counter, "create"|"update"|"read")


@dataclass(eq=False)
class StoredItem:
    """An item as the server holds it. ``kind`` is the EWS element it is written as (Message,
    CalendarItem, MeetingRequest, MeetingResponse, MeetingCancellation)."""

    item_id: str
    kind: str
    mailbox: str
    folder: str
    props: dict[str, Element] = field(default_factory=dict)
    extended: dict[tuple[str, str], Element] = field(default_factory=dict)
    mime: bytes | None = None
    version: int = 1
    garbled: bool = False
    # A recurring master's exceptions by original start, and the original starts it no longer has.
    exceptions: dict[dt.datetime, StoredItem] = field(default_factory=dict)
    deleted_occurrences: set[dt.datetime] = field(default_factory=set)
    master_id: str | None = None  # set on an exception: the recurring master it belongs to
    receipt_sent: bool = False

    @property
    def change_key(self) -> str:
        return base64.b64encode(f"CK{self.version:06d}".encode()).decode()

    def text(self, name: str) -> str | None:
        element = self.props.get(name)
        return None if element is None else (element.text or "")

    def set_text(self, name: str, value: str) -> None:
        self.props[name] = tel(name, value)

    def time(self, name: str) -> dt.datetime | None:
        value = self.text(name)
        return parse_datetime(value) if value else None

    def flag(self, name: str) -> bool:
        return parse_bool(self.text(name))

    @property
    def item_class(self) -> str:
        return self.text("ItemClass") or ""

    @property
    def subject(self) -> str:
        return self.text("Subject") or ""

    @property
    def is_read(self) -> bool:
        return self.flag("IsRead")

    @property
    def message_id(self) -> str | None:
        return self.text("InternetMessageId")

    @property
    def uid(self) -> str | None:
        return self.text("UID")

    @property
    def start(self) -> dt.datetime | None:
        return self.time("Start")

    @property
    def end(self) -> dt.datetime | None:
        return self.time("End")

    def addresses(self, name: str) -> list[str]:
        return mailbox_addresses(self.props.get(name))

    @property
    def sender(self) -> str | None:
        found = self.addresses("From") or self.addresses("Sender")
        return found[0] if found else None

    @property
    def organizer(self) -> str | None:
        found = self.addresses("Organizer")
        return found[0] if found else None

    def attendees(self) -> list[Attendee]:
        found = []
        for kind in ("RequiredAttendees", "OptionalAttendees", "Resources"):
            for element in children_named(self.props.get(kind), "Attendee"):
                found.append(Attendee(element, kind))
        return found

    def extended_value(self, property_set: str, name: str) -> str | list[str] | None:
        """The value of the named extended property ``name`` in ``property_set`` (a GUID or a
        distinguished set name such as PublicStrings), or None."""
        element = self.extended.get(named_key(property_set, name))
        if element is None:
            return None
        single = element.find(t("Value"))
        if single is not None:
            return single.text or ""
        return [value.text or "" for value in element.iter(t("Value"))]

    @property
    def fields(self) -> dict[str, Any]:
        """The properties as plain values: text, booleans, aware datetimes, address lists, and
        attendees as dicts; for looking at in tests."""
        found: dict[str, Any] = {}
        for name, element in self.props.items():
            found[name] = plain_value(name, element)
        return found

    def __repr__(self) -> str:
        return (
            f"StoredItem({self.kind} {self.item_class!r} {self.subject!r} in "
            f"{self.mailbox}/{self.folder}, id={self.item_id})"
        )

    def touch(self, modified: dt.datetime) -> None:
        self.version += 1
        self.set_text("LastModifiedTime", format_time(modified))


def format_time(value: dt.datetime) -> str:
    return format_datetime(value)


PROPERTY_SETS = {
    "meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "appointment": "00062002-0000-0000-c000-000000000046",
    "common": "00062008-0000-0000-c000-000000000046",
    "publicstrings": "00020329-0000-0000-c000-000000000046",
    "address": "00062004-0000-0000-c000-000000000046",
    "internetheaders": "00020386-0000-0000-c000-000000000046",
    "calendarassistant": "11000e07-b51b-40d6-af21-caa85edab1d0",
    "unifiedmessaging": "4442858e-a9e3-4e80-b900-317a210cc15b",
    "task": "00062003-0000-0000-c000-000000000046",
    "sharing": "00062040-0000-0000-c000-000000000046",
}


def _set_guid(value: str) -> str:
    return PROPERTY_SETS.get(value.strip().lower(), value.strip().strip("{}").lower())


def named_key(property_set: str, name: str) -> tuple[str, str]:
    return (_set_guid(property_set), f"name:{name}")


def extended_key(uri: Element) -> tuple[str, str]:
    """The identity of the property an ``<t:ExtendedFieldURI>`` names, however it is spelled:
    a distinguished set name or its GUID, a tag in hex or decimal."""
    tag = uri.get("PropertyTag")
    if tag is not None:
        return ("tag", str(int(tag, 0) if tag.lower().startswith("0x") else int(tag)))
    property_set = uri.get("DistinguishedPropertySetId") or uri.get("PropertySetId") or ""
    if uri.get("PropertyName") is not None:
        return (_set_guid(property_set), f"name:{uri.get('PropertyName')}")
    return (_set_guid(property_set), f"id:{int(uri.get('PropertyId') or '0', 0)}")


@dataclass
class Attendee:
    element: Element
    kind: str

    @property
    def email(self) -> str:
        found = mailbox_addresses(self.element)
        return found[0] if found else ""

    @property
    def response_type(self) -> str:
        return ttext(self.element, "ResponseType") or "Unknown"

    def set_response(self, response: str, when: dt.datetime) -> None:
        for name in ("ResponseType", "LastResponseTime"):
            old = self.element.find(t(name))
            if old is not None:
                self.element.remove(old)
        box = self.element.find(t("Mailbox"))
        response_element = tel("ResponseType", response)
        time_element = tel("LastResponseTime", format_time(when))
        if box is None:
            self.element.insert(0, response_element)
        else:
            box.addnext(response_element)
        response_element.addnext(time_element)


BOOLEAN = {
    "IsRead",
    "IsDraft",
    "IsReadReceiptRequested",
    "IsDeliveryReceiptRequested",
    "IsCancelled",
}
BOOLEAN |= {
    "IsMeeting",
    "IsRecurring",
    "IsAllDayEvent",
    "HasAttachments",
    "IsFromMe",
    "IsOrganizer",
}
TIMES = {"Start", "End", "DateTimeSent", "DateTimeReceived", "DateTimeCreated", "LastModifiedTime"}
TIMES |= {"OriginalStart", "AppointmentReplyTime", "DateTimeStamp"}
ADDRESSES = {
    "ToRecipients",
    "CcRecipients",
    "BccRecipients",
    "From",
    "Sender",
    "Organizer",
    "ReplyTo",
}


def plain_value(name: str, element: Element) -> Any:
    if name in BOOLEAN:
        return parse_bool(element.text)
    if name in TIMES and element.text:
        return parse_datetime(element.text)
    if name in ADDRESSES:
        return mailbox_addresses(element)
    if name in {"RequiredAttendees", "OptionalAttendees", "Resources"}:
        return [
            {
                "email": attendee.email,
                "response_type": attendee.response_type,
                "last_response_time": ttext(attendee.element, "LastResponseTime"),
            }
            for attendee in (Attendee(e, name) for e in children_named(element, "Attendee"))
        ]
    if name == "Categories":
        return [child.text or "" for child in element]
    if len(element):
        return etree.tostring(element, encoding="unicode")
    return element.text or ""


class Folder:
    """A distinguished folder: its items and the change log SyncFolderItems answers from."""

    def __init__(self, mailbox: str, name: str) -> None:
        display, folder_class, element = FOLDERS[name]
        self.name = name
        self.display_name = display
        self.folder_class = folder_class
        self.element = element
        self.folder_id = encode_id("folder", mailbox, name)
        self.items: dict[str, StoredItem] = {}
        self.counter = 0
        self.log: dict[str, Membership] = {}

    def add(self, item: StoredItem) -> None:
        self.counter += 1
        item.folder = self.name
        self.items[item.item_id] = item
        self.log[item.item_id] = Membership(
            item.item_id, self.counter, None, [(self.counter, "create")]
        )

    def changed(self, item: StoredItem, kind: str = "update") -> None:
        """Log a change of ``item`` ("update" or "read" for a read-flag change alone)."""
        membership = self.log.get(item.item_id)
        if membership is None or membership.left is not None:
            return
        self.counter += 1
        membership.events.append((self.counter, kind))

    def remove(self, item: StoredItem) -> None:
        if self.items.pop(item.item_id, None) is None:
            return
        self.counter += 1
        membership = self.log.get(item.item_id)
        if membership is not None:
            membership.left = self.counter

    def __iter__(self) -> Iterator[StoredItem]:
        return iter(list(self.items.values()))


def clone_props(props: dict[str, Element]) -> dict[str, Element]:
    return {name: copy(element) for name, element in props.items()}
