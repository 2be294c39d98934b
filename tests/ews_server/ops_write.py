"""Changing items: CreateItem (messages, calendar items, meeting responses, cancellations),
UpdateItem, DeleteItem, SendItem, MoveItem."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import TYPE_CHECKING

from tests.ews_server import lookup, meetings, responses, transport
from tests.ews_server.ops_folders import folder_ids, resolve_folder
from tests.ews_server.recurrence import occurrence_at, zone
from tests.ews_server.render import TYPE_OF_KIND
from tests.ews_server.responses import EwsError
from tests.ews_server.store import StoredItem, clone_props, extended_key
from tests.ews_server.xml import (
    Element,
    copy,
    format_datetime,
    local,
    m,
    mailbox,
    mel,
    normalize_values,
    parse_bool,
    sub,
    t,
    tel,
)

if TYPE_CHECKING:
    from tests.ews_server.core import Mailbox
    from tests.ews_server.server import Handler, Request

RESPONSES = {"AcceptItem": "Accept", "TentativelyAcceptItem": "Tentative", "DeclineItem": "Decline"}
NO_ITEM = ("ItemId", "ParentFolderId", "MimeContent", "ExtendedProperty")


def parse_item(request: Request, element: Element, folder: str, box: Mailbox) -> StoredItem:
    """A new item of ``box``'s from a client's ``<t:Message>``, ``<t:CalendarItem>`` ..."""
    item = StoredItem(request.core.new_item_id(box.email), local(element), box.email, folder)
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = local(child)
        if name == "MimeContent":
            try:
                item.mime = base64.b64decode((child.text or "").encode(), validate=False)
            except binascii.Error as error:
                raise EwsError(
                    "ErrorMimeContentInvalid", f"MimeContent is not base64: {error}"
                ) from error
        elif name == "ExtendedProperty":
            item.extended[extended_key(child[0])] = copy(child)
        elif name not in NO_ITEM:
            item.props[name] = copy(child)
            normalize_values(item.props[name], request_zone(request), request.schemas.booleans)
    return item


def request_zone(request: Request) -> dt.tzinfo:
    return zone(request.time_zone, "UTC")


def _ids(item: StoredItem) -> Element:
    holder = mel("Items")
    kind = item.kind if item.kind in TYPE_OF_KIND else "Item"
    holder.append(tel(kind))
    holder[0].append(tel("ItemId", Id=item.item_id, ChangeKey=item.change_key))
    return holder


def create_item(request: Request) -> Element:
    element = request.element
    disposition = element.get("MessageDisposition") or "SaveOnly"
    invitations = element.get("SendMeetingInvitations") or "SendToNone"
    saved = element.find(m("SavedItemFolderId"))
    messages = []
    for entry in folder_ids(element.find(m("Items"))):
        try:
            # A folder of another mailbox (a delegate's) makes the item that mailbox's.
            box, folder = request.mailbox, None
            if saved is not None and len(saved):
                box, target = resolve_folder(request, saved[0])
                folder = target.name
            created = _create_one(request, box, entry, disposition, invitations, folder)
        except EwsError as error:
            messages.append(responses.error_message("CreateItem", error, "Items"))
            continue
        messages.append(responses.message("CreateItem", _ids(created) if created else mel("Items")))
    return responses.response("CreateItem", messages)


def _create_one(
    request: Request,
    box: Mailbox,
    entry: Element,
    disposition: str,
    invitations: str,
    folder: str | None,
) -> StoredItem | None:
    kind = local(entry)
    core = request.core
    if kind == "Message":
        item = parse_item(request, entry, folder or "drafts", box)
        if disposition == "SaveOnly":
            item.props.setdefault("ItemClass", tel("ItemClass", "IPM.Note"))
            item.set_text("IsDraft", "true")
            item.set_text("IsRead", "true")
            item.set_text("DateTimeCreated", format_datetime(core.now()))
            return core.place(item, folder or "drafts")
        save_to = (folder or "sentitems") if disposition == "SendAndSaveCopy" else None
        transport.submit(core, box, item, save_to)
        return None
    if kind == "CalendarItem":
        item = parse_item(request, entry, folder or "calendar", box)
        meetings.prepare_new(core, box, item, invitations)
        core.place(item, folder or "calendar")
        if "Recurrence" in item.props:
            lookup.series_summary(core, item)
        attendees = [a.email for a in item.attendees() if a.email != box.email]
        if invitations in {"SendOnlyToAll", "SendToAllAndSaveCopy"} and attendees:
            meetings.invite(
                core, box, item, attendees, request_type="NewMeetingRequest",
                save_copy=invitations == "SendToAllAndSaveCopy",
            )  # fmt: skip
        return item
    if kind in RESPONSES:
        reference = lookup.find(core, _reference(entry))
        return meetings.respond(
            core, box, reference, RESPONSES[kind],
            send=disposition != "SaveOnly", save_copy=disposition == "SendAndSaveCopy",
        )  # fmt: skip
    if kind == "CancelCalendarItem":
        reference = lookup.find(core, _reference(entry))
        meetings.cancel(core, box, reference, send=True, save_copy=disposition != "SendOnly")
        core.move(reference, "deleteditems")
        return None
    if kind in {"ReplyToItem", "ReplyAllToItem", "ForwardItem"}:
        return _reply(request, box, entry, disposition, folder)
    raise EwsError("ErrorInvalidOperation", f"the loopback server does not create {kind}")


def _reference(entry: Element) -> Element:
    found = entry.find(t("ReferenceItemId"))
    if found is None:
        raise EwsError("ErrorInvalidReferenceItem", "No ReferenceItemId.")
    return found


def _reply(
    request: Request, box: Mailbox, entry: Element, disposition: str, folder: str | None
) -> StoredItem | None:
    core = request.core
    original = lookup.find(core, _reference(entry))
    item = parse_item(request, entry, folder or "drafts", box)
    item.kind = "Message"
    item.props.pop("ReferenceItemId", None)
    new_body = item.props.pop("NewBodyContent", None)
    if new_body is not None:
        body = copy(new_body)
        body.tag = t("Body")
        item.props["Body"] = body
    prefix = "FW: " if local(entry) == "ForwardItem" else "RE: "
    item.props.setdefault("Subject", tel("Subject", prefix + original.subject))
    if "ToRecipients" not in item.props and local(entry) != "ForwardItem" and original.sender:
        item.props["ToRecipients"] = tel("ToRecipients")
        item.props["ToRecipients"].append(mailbox(original.sender))
    if original.message_id:
        item.set_text("InReplyTo", original.message_id)
        item.set_text("References", original.message_id)
    if disposition == "SaveOnly":
        return core.place(item, folder or "drafts")
    transport.submit(
        core, box, item, (folder or "sentitems") if disposition == "SendAndSaveCopy" else None
    )
    return None


def _apply(request: Request, item: StoredItem, updates: Element) -> tuple[bool, bool | None]:
    """Apply one ItemChange's updates; (whether anything but IsRead changed, new IsRead or None)."""
    other, read = False, None
    for update in updates:
        if not isinstance(update.tag, str):
            continue
        path, *rest = [child for child in update if isinstance(child.tag, str)]
        action = local(update)
        if local(path) == "ExtendedFieldURI":
            key = extended_key(path)
            if action == "DeleteItemField":
                item.extended.pop(key, None)
            else:
                found = rest[0].find(t("ExtendedProperty")) if rest else None
                if found is not None:
                    normalize_values(found, request_zone(request), request.schemas.booleans)
                if found is not None:
                    item.extended[key] = copy(found)
            other = True
            continue
        name = (path.get("FieldURI") or path.get("FieldIndex") or "").split(":")[-1]
        if action == "DeleteItemField":
            item.props.pop(name, None)
            other = True
            continue
        value = rest[0].find(t(name)) if rest else None
        if value is None:
            raise EwsError("ErrorInvalidPropertySet", f"no {name} in the update's item")
        normalize_values(value, request_zone(request), request.schemas.booleans)
        if name == "IsRead":
            read = parse_bool(value.text)
        elif action == "AppendToItemField" and name in item.props:
            for child in value:
                item.props[name].append(copy(child))
            other = True
        else:
            item.props[name] = copy(value)
            other = True
    return other, read


def update_item(request: Request) -> Element:
    element = request.element
    core = request.core
    suppress = parse_bool(element.get("SuppressReadReceipts"))
    disposition = element.get("MessageDisposition") or "SaveOnly"
    mode = element.get("SendMeetingInvitationsOrCancellations") or "SendToNone"
    messages = []
    changes = element.find(m("ItemChanges"))
    for change in changes if changes is not None else []:
        try:
            ident = next(child for child in change if isinstance(child.tag, str))
            item = lookup.find(core, ident)
            if item.master_id is not None and item.item_id not in core.registry:
                item = _as_exception(request, item)
            before = StoredItem(
                item.item_id, item.kind, item.mailbox, item.folder, clone_props(item.props)
            )
            other, read = _apply(request, item, change.find(t("Updates")))
            if other:
                core.changed(item)
            if read is not None:
                transport.set_read(core, item, read, send_receipt=not suppress)
            if item.master_id is not None:
                lookup.series_summary(core, core.registry[item.master_id])
            elif "Recurrence" in item.props:
                lookup.series_summary(core, item)
            if item.kind == "CalendarItem":
                meetings.updated(core, request.mailbox, item, before, mode)
            if item.kind == "Message" and disposition != "SaveOnly" and item.flag("IsDraft"):
                _send_draft(
                    request, item, "sentitems" if disposition == "SendAndSaveCopy" else None
                )
        except EwsError as error:
            messages.append(responses.error_message("UpdateItem", error, "Items"))
            continue
        answer = responses.message("UpdateItem", _ids(item))
        conflicts = sub(answer, m("ConflictResults"))
        sub(conflicts, t("Count"), "0")
        messages.append(answer)
    return responses.response("UpdateItem", messages)


def _as_exception(request: Request, occurrence: StoredItem) -> StoredItem:
    """A changed occurrence becomes an exception its master keeps."""
    master = request.core.registry[occurrence.master_id or ""]
    original = occurrence.time("OriginalStart")
    found = occurrence_at(master, original, request.core.time_zone) if original else None
    if found is None:
        raise EwsError("ErrorItemNotFound", lookup.NOT_FOUND)
    return lookup.make_exception(request.core, master, found)


def _send_draft(request: Request, item: StoredItem, save_to: str | None) -> None:
    core = request.core
    core.discard(item)
    item.props.pop("IsDraft", None)
    transport.submit(core, request.mailbox, item, save_to)


def delete_item(request: Request) -> Element:
    element = request.element
    core = request.core
    delete_type = element.get("DeleteType") or "MoveToDeletedItems"
    cancellations = element.get("SendMeetingCancellations") or "SendToNone"
    messages = []
    for ident in folder_ids(element.find(m("ItemIds"))):
        try:
            item = lookup.find(core, ident)
            _delete(request, item, delete_type, cancellations)
        except EwsError as error:
            messages.append(responses.error_message("DeleteItem", error))
            continue
        messages.append(responses.message("DeleteItem"))
    return responses.response("DeleteItem", messages)


def _delete(request: Request, item: StoredItem, delete_type: str, cancellations: str) -> None:
    core = request.core
    if item.master_id is not None:
        master = core.registry[item.master_id]
        original = item.time("OriginalStart")
        if original is None:
            raise EwsError("ErrorItemNotFound", lookup.NOT_FOUND)
        master.deleted_occurrences.add(original)
        exception = master.exceptions.pop(original, None)
        if exception is not None:
            core.registry.pop(exception.item_id, None)
        lookup.series_summary(core, master)
        core.changed(master)
        return
    if item.kind == "CalendarItem" and item.flag("IsOrganizer") and cancellations != "SendToNone":
        meetings.cancel(
            core, request.mailbox, item, send=True, save_copy=cancellations.endswith("SaveCopy")
        )
    if delete_type == "MoveToDeletedItems" and item.folder != "deleteditems":
        core.move(item, "deleteditems")
    else:
        core.discard(item)


def send_item(request: Request) -> Element:
    element = request.element
    save = parse_bool(element.get("SaveItemToFolder"))
    target = element.find(m("SavedItemFolderId"))
    messages = []
    for ident in folder_ids(element.find(m("ItemIds"))):
        try:
            item = lookup.find(request.core, ident)
            folder = (
                resolve_folder(request, target[0])[1].name if target is not None else "sentitems"
            )
            _send_draft(request, item, folder if save else None)
        except EwsError as error:
            messages.append(responses.error_message("SendItem", error))
            continue
        messages.append(responses.message("SendItem"))
    return responses.response("SendItem", messages)


def move_item(request: Request) -> Element:
    element = request.element
    _, folder = resolve_folder(request, element.find(m("ToFolderId"))[0])
    messages = []
    for ident in folder_ids(element.find(m("ItemIds"))):
        try:
            item = lookup.find(request.core, ident)
            request.core.move(item, folder.name)
        except EwsError as error:
            messages.append(responses.error_message("MoveItem", error, "Items"))
            continue
        messages.append(responses.message("MoveItem", _ids(item)))
    return responses.response("MoveItem", messages)


OPERATIONS: dict[str, Handler] = {
    "CreateItem": create_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "SendItem": send_item,
    "MoveItem": move_item,
}
