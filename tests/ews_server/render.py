"""Writing items and folders as EWS elements, holding the properties a request's shape asks for,
in the order the schema prescribes."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser

from tests.ews_server.schema import Schemas
from tests.ews_server.store import Folder, StoredItem, extended_key
from tests.ews_server.xml import (
    Element,
    copy,
    format_bool,
    local,
    sub,
    t,
    tchild,
    tel,
    ttext,
)

TYPE_OF_KIND = {
    "Item": "ItemType",
    "Message": "MessageType",
    "CalendarItem": "CalendarItemType",
    "MeetingMessage": "MeetingMessageType",
    "MeetingRequest": "MeetingRequestMessageType",
    "MeetingResponse": "MeetingResponseMessageType",
    "MeetingCancellation": "MeetingCancellationMessageType",
    "PostItem": "PostItemType",
}
DEFAULT_ITEM = {
    "ItemClass", "Subject", "Sensitivity", "DateTimeReceived", "Size", "Importance",
    "IsSubmitted", "IsDraft", "IsFromMe", "DateTimeSent", "DateTimeCreated", "DisplayTo",
    "DisplayCc", "HasAttachments", "From", "Sender", "IsRead", "ToRecipients", "CcRecipients",
    "InternetMessageId", "IsReadReceiptRequested", "IsDeliveryReceiptRequested", "Start", "End",
    "Location", "Organizer", "IsCancelled", "IsMeeting", "IsRecurring", "CalendarItemType",
    "MyResponseType", "LegacyFreeBusyStatus", "UID", "ResponseType", "AssociatedCalendarItemId",
}  # fmt: skip
DEFAULT_FOLDER = {"DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount", "FolderClass"}


@dataclass
class Shape:
    """What an ItemShape or FolderShape asks for."""

    base: str = "IdOnly"
    names: set[str] = field(default_factory=set)
    extended: list[Element] = field(default_factory=list)
    mime: bool = False
    body_type: str = "Best"

    def wants(self, name: str, default: set[str]) -> bool:
        if name in self.names:
            return True
        if self.base == "AllProperties":
            return name not in {"MimeContent"}
        return self.base == "Default" and name in default


def parse_shape(element: Element | None) -> Shape:
    if element is None:
        return Shape()
    shape = Shape(base=ttext(element, "BaseShape") or "IdOnly")
    shape.mime = (ttext(element, "IncludeMimeContent") or "").lower() == "true"
    shape.body_type = ttext(element, "BodyType") or "Best"
    additional = tchild(element, "AdditionalProperties")
    for uri in additional if additional is not None else []:
        if not isinstance(uri.tag, str):
            continue
        if local(uri) == "FieldURI":
            shape.names.add((uri.get("FieldURI") or "").split(":")[-1])
        elif local(uri) == "ExtendedFieldURI":
            shape.extended.append(uri)
    if "MimeContent" in shape.names:
        shape.mime = True
    return shape


def item_id(element_name: str, item: StoredItem) -> Element:
    return tel(element_name, Id=item.item_id, ChangeKey=item.change_key)


def _display(item: StoredItem, name: str) -> str:
    element = item.props.get(name)
    if element is None:
        return ""
    names = [ttext(box, "Name") or ttext(box, "EmailAddress") or "" for box in element]
    return "; ".join(n for n in names if n)


def _strip_html(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def render_item(schemas: Schemas, item: StoredItem, shape: Shape, folder_id: str) -> Element:
    """``item`` as its EWS element, with the properties ``shape`` asks for."""
    kind = item.kind if item.kind in TYPE_OF_KIND else "Item"
    parts: list[Element] = [item_id("ItemId", item)]
    if shape.wants("ParentFolderId", DEFAULT_ITEM) or shape.base != "IdOnly":
        parts.append(tel("ParentFolderId", Id=folder_id, ChangeKey="AQAAAA=="))
    if shape.mime and item.mime is not None:
        mime = tel("MimeContent", base64.b64encode(item.mime).decode(), CharacterSet="UTF-8")
        parts.append(mime)
    for name, element in item.props.items():
        if name in {"ItemId", "ParentFolderId", "MimeContent"}:
            continue
        if shape.wants(name, DEFAULT_ITEM):
            parts.append(_body_as(element, shape.body_type) if name == "Body" else copy(element))
    computed: dict[str, Callable[[], Element | None]] = {
        "Size": lambda: tel("Size", str(len(item.mime or b"") or 512)),
        "DisplayTo": lambda: tel("DisplayTo", _display(item, "ToRecipients")),
        "DisplayCc": lambda: tel("DisplayCc", _display(item, "CcRecipients")),
        "HasAttachments": lambda: tel("HasAttachments", format_bool("Attachments" in item.props)),
        "InternetMessageHeaders": lambda: _headers(item.mime),
        "IsAssociated": lambda: tel("IsAssociated", format_bool(False)),
        "TextBody": lambda: _text_body(item),
    }
    for name, make in computed.items():
        if name not in item.props and shape.wants(name, DEFAULT_ITEM):
            made = make()
            if made is not None:
                parts.append(made)
    for uri in shape.extended:
        stored = item.extended.get(extended_key(uri))
        if stored is None:
            continue
        answer = tel("ExtendedProperty")
        answer.append(copy(uri))
        for value in stored:
            if local(value) != "ExtendedFieldURI":
                answer.append(copy(value))
        parts.append(answer)
    return schemas.ordered(TYPE_OF_KIND[kind], tel(kind), parts)


def _headers(raw: bytes | None) -> Element | None:
    """The header fields of the item's MIME, as InternetMessageHeaders lists them."""
    if not raw:
        return None
    message = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    holder = tel("InternetMessageHeaders")
    for name, value in message.items():
        sub(holder, t("InternetMessageHeader"), " ".join(str(value).split()), HeaderName=name)
    return holder if len(holder) else None


def _body_as(element: Element, body_type: str) -> Element:
    body = copy(element)
    if body_type == "Text" and body.get("BodyType") == "HTML":
        body.set("BodyType", "Text")
        body.text = _strip_html(body.text or "")
    return body


def _text_body(item: StoredItem) -> Element | None:
    body = item.props.get("Body")
    if body is None:
        return None
    text = body.text or ""
    if body.get("BodyType") == "HTML":
        text = _strip_html(text)
    return tel("TextBody", text, BodyType="Text")


def render_folder(schemas: Schemas, folder: Folder, shape: Shape, parent_id: str | None) -> Element:
    parts: list[Element] = [tel("FolderId", Id=folder.folder_id, ChangeKey="AQAAAA==")]
    wanted = {
        "ParentFolderId": lambda: tel("ParentFolderId", Id=parent_id or "", ChangeKey="AQAAAA=="),
        "FolderClass": lambda: tel("FolderClass", folder.folder_class or ""),
        "DisplayName": lambda: tel("DisplayName", folder.display_name),
        "TotalCount": lambda: tel("TotalCount", str(len(folder.items))),
        "ChildFolderCount": lambda: tel("ChildFolderCount", str(_child_count(folder))),
        "UnreadCount": lambda: tel("UnreadCount", str(_unread(folder))),
        "DistinguishedFolderId": lambda: tel("DistinguishedFolderId", folder.name),
        "EffectiveRights": _rights,
    }
    for name, make in wanted.items():
        if name == "ParentFolderId" and parent_id is None:
            continue
        if name == "FolderClass" and folder.folder_class is None:
            continue
        if shape.wants(name, DEFAULT_FOLDER):
            parts.append(make())
    type_name = {
        "CalendarFolder": "CalendarFolderType",
        "ContactsFolder": "ContactsFolderType",
        "TasksFolder": "TasksFolderType",
    }.get(folder.element, "FolderType")
    return schemas.ordered(type_name, tel(folder.element), parts)


def _child_count(folder: Folder) -> int:
    return {"root": 1, "msgfolderroot": 9}.get(folder.name, 0)


def _unread(folder: Folder) -> int:
    return sum(1 for item in folder.items.values() if not item.is_read)


def _rights() -> Element:
    rights = tel("EffectiveRights")
    for name in ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete", "Modify"):
        sub(rights, t(name), "true")
    sub(rights, t("Read"), "true")
    sub(rights, t("ViewPrivateItems"), "true")
    return rights
