"""Folder operations and the other calls of a first contact: GetFolder, FindFolder, ResolveNames,
ConvertId."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.ews_server import responses
from tests.ews_server.core import Mailbox
from tests.ews_server.render import parse_shape, render_folder
from tests.ews_server.responses import EwsError
from tests.ews_server.store import Folder
from tests.ews_server.xml import (
    Element,
    local,
    m,
    mailbox,
    mel,
    sub,
    t,
    tel,
    ttext,
)

if TYPE_CHECKING:
    from tests.ews_server.server import Handler, Request


def resolve_folder(request: Request, element: Element) -> tuple[Mailbox, Folder]:
    """The folder a ``<t:FolderId>`` or ``<t:DistinguishedFolderId>`` names."""
    core = request.core
    if local(element) == "FolderId":
        found = core.folder_by_id(element.get("Id") or "")
        if found is None:
            raise EwsError(
                "ErrorFolderNotFound", "The specified folder could not be found in the store."
            )
        return found
    owner = request.mailbox
    address = ttext(element, "Mailbox", "EmailAddress")
    if address:
        named = core.mailbox_of(address)
        if named is None:
            raise EwsError("ErrorNonExistentMailbox", f"No mailbox with such address: {address}")
        owner = named
    name = element.get("Id") or ""
    if name not in owner.folders:
        raise EwsError(
            "ErrorFolderNotFound", "The specified folder could not be found in the store."
        )
    return owner, owner.folders[name]


def parent_of(box: Mailbox, folder: Folder) -> str | None:
    if folder.name == "root":
        return None
    if folder.name == "msgfolderroot":
        return box.folders["root"].folder_id
    return box.folders["msgfolderroot"].folder_id


def folder_ids(container: Element | None) -> list[Element]:
    return [
        child
        for child in (container if container is not None else [])
        if isinstance(child.tag, str)
    ]


def get_folder(request: Request) -> Element:
    shape = parse_shape(request.element.find(m("FolderShape")))
    messages = []
    for ident in folder_ids(request.element.find(m("FolderIds"))):
        try:
            box, folder = resolve_folder(request, ident)
        except EwsError as error:
            messages.append(responses.error_message("GetFolder", error, "Folders"))
            continue
        holder = mel("Folders")
        holder.append(render_folder(request.schemas, folder, shape, parent_of(box, folder)))
        messages.append(responses.message("GetFolder", holder))
    return responses.response("GetFolder", messages)


def _children(box: Mailbox, folder: Folder, deep: bool) -> list[Folder]:
    if folder.name == "root":
        top = box.folders["msgfolderroot"]
        return [top, *(_children(box, top, deep) if deep else [])]
    if folder.name == "msgfolderroot":
        return [f for name, f in box.folders.items() if name not in {"root", "msgfolderroot"}]
    return []


def find_folder(request: Request) -> Element:
    shape = parse_shape(request.element.find(m("FolderShape")))
    deep = request.element.get("Traversal") == "Deep"
    view = request.element.find(m("IndexedPageFolderView"))
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    messages = []
    for ident in folder_ids(request.element.find(m("ParentFolderIds"))):
        try:
            box, folder = resolve_folder(request, ident)
        except EwsError as error:
            messages.append(responses.error_message("FindFolder", error))
            continue
        found = _children(box, folder, deep)
        page = found[offset : offset + limit] if limit else found[offset:]
        root = mel("RootFolder")
        root.set("IndexedPagingOffset", str(offset + len(page)))
        root.set("TotalItemsInView", str(len(found)))
        root.set("IncludesLastItemInRange", "true" if offset + len(page) >= len(found) else "false")
        holder = sub(root, t("Folders"))
        for child in page:
            holder.append(render_folder(request.schemas, child, shape, parent_of(box, child)))
        messages.append(responses.message("FindFolder", root))
    return responses.response("FindFolder", messages)


def resolve_names(request: Request) -> Element:
    entry = request.element.findtext(m("UnresolvedEntry"), "").strip().lower()
    if entry.startswith("smtp:"):
        entry = entry[5:]
    matches = [
        box
        for box in request.core.mailboxes.values()
        if entry
        and (entry == box.email or entry in box.name.lower() or box.email.startswith(entry))
    ]
    if not matches:
        error = EwsError("ErrorNameResolutionNoResults", "No results were found.")
        return responses.response("ResolveNames", [responses.error_message("ResolveNames", error)])
    found = mel("ResolutionSet")
    found.set("TotalItemsInView", str(len(matches)))
    found.set("IncludesLastItemInRange", "true")
    for box in matches:
        resolution = sub(found, t("Resolution"))
        resolution.append(mailbox(box.email, box.name))
    message = responses.message("ResolveNames", found)
    if len(matches) > 1:
        message.set("ResponseClass", "Warning")
        message.find(m("ResponseCode")).text = "ErrorNameResolutionMultipleResults"
    return responses.response("ResolveNames", [message])


def convert_id(request: Request) -> Element:
    """Ids here have one form; ConvertId answers each with itself in the format asked for."""
    wanted = request.element.get("DestinationFormat") or "EwsId"
    messages = []
    for source in folder_ids(request.element.find(m("SourceIds"))):
        converted = tel("AlternateId", Format=wanted, Id=source.get("Id") or "")
        converted.set("Mailbox", source.get("Mailbox") or request.mailbox.email)
        holder = mel("AlternateId")
        for key, value in converted.attrib.items():
            holder.set(key, value)
        holder.set("{http://www.w3.org/2001/XMLSchema-instance}type", "t:AlternateIdType")
        messages.append(responses.message("ConvertId", holder))
    return responses.response("ConvertId", messages)


OPERATIONS: dict[str, Handler] = {
    "GetFolder": get_folder,
    "FindFolder": find_folder,
    "ResolveNames": resolve_names,
    "ConvertId": convert_id,
}
