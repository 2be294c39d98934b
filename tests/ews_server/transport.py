"""Sending and delivering between the server's mailboxes: copies to each recipient, NDRs for
addresses the server has no mailbox for, delivery receipts, read receipts, and mail arriving from
outside as MIME."""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from typing import TYPE_CHECKING

from tests.ews_server import mime
from tests.ews_server.store import StoredItem, clone_props, named_key
from tests.ews_server.xml import (
    Element,
    copy,
    format_datetime,
    mailbox_element,
    recipients_element,
    tel,
    ttext,
)

if TYPE_CHECKING:
    from tests.ews_server.core import Core, Mailbox

INTERNET_HEADERS = "InternetHeaders"
RECIPIENT_LISTS = ("ToRecipients", "CcRecipients", "BccRecipients")


def _pairs(element: Element | None) -> list[tuple[str, str]]:
    if element is None:
        return []
    pairs = []
    for box in element.iter("{*}Mailbox"):
        address = (ttext(box, "EmailAddress") or "").strip()
        if address:
            pairs.append((address, ttext(box, "Name") or ""))
    return pairs


def _header_properties(item: StoredItem) -> list[tuple[str, str]]:
    """Named properties in the InternetHeaders set travel as header fields, as in Exchange."""
    found = []
    guid = named_key(INTERNET_HEADERS, "")[0]
    for (property_set, name), element in item.extended.items():
        if property_set == guid and name.startswith("name:"):
            found.append((name[5:], ttext(element, "Value") or ""))
    return found


def _promote_headers(item: StoredItem, message: EmailMessage) -> None:
    """X- header fields of arriving MIME become InternetHeaders named properties."""
    for name, value in message.items():
        if not name.lower().startswith("x-"):
            continue
        uri = tel(
            "ExtendedFieldURI", DistinguishedPropertySetId=INTERNET_HEADERS, PropertyName=name
        )
        uri.set("PropertyType", "String")
        holder = tel("ExtendedProperty")
        holder.append(uri)
        holder.append(tel("Value", str(value)))
        item.extended.setdefault(named_key(INTERNET_HEADERS, name), holder)


def props_from_mime(item: StoredItem, raw: bytes) -> None:
    """Fill the properties a MIME message implies, leaving those already set alone."""
    message = mime.parse(raw)
    defaults: dict[str, Element] = {}
    defaults["Subject"] = tel("Subject", str(message.get("Subject", "")))
    text, kind = mime.text_body(message)
    defaults["Body"] = tel("Body", text, BodyType=kind)
    for header, name in (("To", "ToRecipients"), ("Cc", "CcRecipients"), ("Bcc", "BccRecipients")):
        pairs = mime.addresses(message, header)
        if pairs:
            defaults[name] = recipients_element(name, pairs)
    senders = mime.addresses(message, "From")
    if senders:
        defaults["From"] = mailbox_element("From", *senders[0])
        defaults["Sender"] = mailbox_element("Sender", *senders[0])
    if message.get("Message-ID"):
        defaults["InternetMessageId"] = tel("InternetMessageId", str(message["Message-ID"]).strip())
    if message.get("In-Reply-To"):
        defaults["InReplyTo"] = tel("InReplyTo", str(message["In-Reply-To"]).strip())
    if message.get("References"):
        defaults["References"] = tel("References", str(message["References"]).strip())
    for name, element in defaults.items():
        item.props.setdefault(name, element)
    # Clients send every flag, false by default, beside the MIME; the MIME asking for a
    # receipt is what the sender meant.
    if message.get("Disposition-Notification-To"):
        item.set_text("IsReadReceiptRequested", "true")
    if message.get("Return-Receipt-To"):
        item.set_text("IsDeliveryReceiptRequested", "true")
    _promote_headers(item, message)


def submit(core: Core, sender: Mailbox, item: StoredItem, save_to: str | None) -> None:
    """Send ``item`` (a new message of ``sender``'s): deliver it, bounce what cannot be delivered,
    and keep it in ``save_to`` (Sent Items) when asked."""
    now = core.now()
    if item.mime is not None:
        props_from_mime(item, item.mime)
    item.props.setdefault("ItemClass", tel("ItemClass", "IPM.Note"))
    item.props["From"] = mailbox_element("From", sender.email, sender.name)
    item.props["Sender"] = mailbox_element("Sender", sender.email, sender.name)
    message_id = item.message_id or mime.make_message_id(sender.email.split("@")[-1])
    item.set_text("InternetMessageId", message_id)
    for name in ("DateTimeSent", "DateTimeCreated", "DateTimeReceived", "LastModifiedTime"):
        item.set_text(name, format_datetime(now))
    item.set_text("IsRead", "true")
    item.set_text("IsDraft", "false")
    if item.mime is None:
        body = item.props.get("Body")
        item.mime = mime.compose(
            sender=(sender.email, sender.name),
            to=_pairs(item.props.get("ToRecipients")),
            cc=_pairs(item.props.get("CcRecipients")),
            bcc=_pairs(item.props.get("BccRecipients")),
            subject=item.subject,
            body=(body.text or "") if body is not None else "",
            body_type=(body.get("BodyType") or "Text") if body is not None else "Text",
            message_id=message_id,
            sent=now,
            headers=_header_properties(item),
            read_receipt=item.flag("IsReadReceiptRequested"),
            delivery_receipt=item.flag("IsDeliveryReceiptRequested"),
        )
    else:
        item.mime, _ = mime.ensure_message_id(item.mime, message_id)
    delivered, unknown = [], []
    seen: set[str] = set()
    for name in RECIPIENT_LISTS:
        for address in item.addresses(name):
            if address in seen:
                continue
            seen.add(address)
            box = core.mailbox_of(address)
            if box is None:
                unknown.append(address)
            else:
                deliver_copy(core, box, item)
                delivered.append(address)
    if unknown:
        report(core, sender, item, unknown, "failed")
    if delivered and item.flag("IsDeliveryReceiptRequested"):
        report(core, sender, item, delivered, "delivered")
    if save_to is not None:
        item.folder = save_to
        core.place(item, save_to)


def deliver_copy(core: Core, box: Mailbox, item: StoredItem, folder: str = "inbox") -> StoredItem:
    """The copy of a sent ``item`` that lands in ``box``."""
    now = core.now()
    props = clone_props(item.props)
    props.pop("BccRecipients", None)
    received = StoredItem(
        item_id=core.new_item_id(box.email),
        kind=item.kind,
        mailbox=box.email,
        folder=folder,
        props=props,
        extended={key: copy(value) for key, value in item.extended.items()},
        mime=mime.without_bcc(item.mime) if item.mime is not None else None,
    )
    received.set_text("IsRead", "false")
    received.set_text("DateTimeReceived", format_datetime(now))
    received.props["ReceivedBy"] = mailbox_element("ReceivedBy", box.email, box.name)
    return core.place(received, folder)


def _report_item(core: Core, owner: Mailbox, raw: bytes, item_class: str) -> StoredItem:
    item = StoredItem(core.new_item_id(owner.email), "Message", owner.email, "inbox", mime=raw)
    props_from_mime(item, raw)
    now = format_datetime(core.now())
    item.set_text("ItemClass", item_class)
    item.set_text("IsRead", "false")
    for name in ("DateTimeReceived", "DateTimeSent", "DateTimeCreated", "LastModifiedTime"):
        item.set_text(name, now)
    return core.place(item, "inbox")


def report(
    core: Core, sender: Mailbox, original: StoredItem, recipients: list[str], action: str
) -> StoredItem:
    """An NDR (``failed``) or delivery receipt (``delivered``) in ``sender``'s inbox."""
    raw = mime.delivery_status(
        original=original.mime or b"",
        original_id=original.message_id or "",
        recipients=recipients,
        action=action,
        to=mime.format_address(sender.email, sender.name),
        sent=core.now(),
        message_id=mime.make_message_id(mime.REPORTING_MTA),
    )
    item_class = "REPORT.IPM.Note.NDR" if action == "failed" else "REPORT.IPM.Note.DR"
    return _report_item(core, sender, raw, item_class)


def set_read(core: Core, item: StoredItem, value: bool, send_receipt: bool) -> None:
    if item.is_read == value:
        return
    item.set_text("IsRead", "true" if value else "false")
    core.changed(item, "read")
    if not (value and send_receipt and item.flag("IsReadReceiptRequested")) or item.receipt_sent:
        return
    if item.item_class.upper().startswith("REPORT."):
        return
    item.receipt_sent = True
    sender = core.mailbox_of(item.sender or "")
    reader = core.mailboxes[item.mailbox]
    if sender is None:
        return
    raw = mime.disposition(
        original=item.mime or b"",
        original_id=item.message_id or "",
        reader=(reader.email, reader.name),
        to=mime.format_address(sender.email, sender.name),
        sent=core.now(),
        message_id=mime.make_message_id(reader.email.split("@")[-1]),
    )
    _report_item(core, sender, raw, "REPORT.IPM.Note.IPNRN")


def deliver_external(core: Core, box: Mailbox, raw: bytes, folder: str) -> StoredItem:
    """``raw`` arriving from outside into ``folder`` of ``box``."""
    if folder not in box.folders:
        raise KeyError(f"no folder {folder!r}")
    message = mime.parse(raw)
    item_class = mime.report_class(message) or "IPM.Note"
    item = StoredItem(core.new_item_id(box.email), "Message", box.email, folder, mime=raw)
    props_from_mime(item, raw)
    if item_class.startswith("REPORT.") and "InReplyTo" not in item.props:
        answered = mime.original_message_id(message)
        if answered:
            item.set_text("InReplyTo", answered)
    now = format_datetime(core.now())
    item.set_text("ItemClass", item_class)
    item.set_text("IsRead", "false")
    item.set_text("DateTimeReceived", now)
    item.set_text("DateTimeCreated", now)
    item.set_text("LastModifiedTime", now)
    if item_class == "IPM.Note":
        from tests.ews_server import itip  # it builds on meetings, which builds on this module

        itip.process(core, box, item, message)
    sent = _date(str(message.get("Date", "")))
    if sent is not None:
        item.set_text("DateTimeSent", format_datetime(sent))
    return core.place(item, folder)


def _date(value: str) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None
