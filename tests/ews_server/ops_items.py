"""Reading items: GetItem, FindItem (paging, CalendarView, restrictions, sort), SyncFolderItems."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.ews_server import lookup, responses, syncstate
from tests.ews_server.ops_folders import folder_ids, resolve_folder
from tests.ews_server.recurrence import expand
from tests.ews_server.render import Shape, parse_shape, render_item
from tests.ews_server.responses import EwsError
from tests.ews_server.restriction import matches, sort_key
from tests.ews_server.store import StoredItem
from tests.ews_server.xml import Element, m, mel, parse_datetime, sub, t, tel

if TYPE_CHECKING:
    from tests.ews_server.core import Core
    from tests.ews_server.server import Handler, Request


def folder_id_of(core: Core, item: StoredItem) -> str:
    if item.master_id is not None:
        master = core.registry.get(item.master_id)
        if master is not None:
            item = master
    box = core.mailboxes.get(item.mailbox)
    return box.folders[item.folder].folder_id if box is not None else ""


def render(request: Request, item: StoredItem, shape: Shape) -> Element:
    return render_item(request.schemas, item, shape, folder_id_of(request.core, item))


def get_item(request: Request) -> Element:
    shape = parse_shape(request.element.find(m("ItemShape")))
    messages = []
    for ident in folder_ids(request.element.find(m("ItemIds"))):
        try:
            item = lookup.find(request.core, ident)
            if item.garbled:
                raise EwsError("ErrorCorruptData", "The item is corrupt and cannot be read.")
        except EwsError as error:
            messages.append(responses.error_message("GetItem", error, "Items"))
            continue
        holder = mel("Items")
        holder.append(render(request, item, shape))
        messages.append(responses.message("GetItem", holder))
    return responses.response("GetItem", messages)


def _calendar_view(request: Request, items: list[StoredItem], view: Element) -> list[StoredItem]:
    start = parse_datetime(view.get("StartDate") or "")
    end = parse_datetime(view.get("EndDate") or "")
    found: list[StoredItem] = []
    for item in items:
        if item.kind != "CalendarItem":
            continue
        if "Recurrence" in item.props:
            for occurrence, _ in expand(item, start, end, request.core.time_zone):
                found.append(lookup.occurrence_item(request.core, item, occurrence))
        elif item.start and item.end and item.start < end and item.end > start:
            found.append(item)
    found.sort(key=lambda entry: (entry.start or start, entry.item_id))
    return found


def find_item(request: Request) -> Element:
    element = request.element
    shape = parse_shape(element.find(m("ItemShape")))
    messages = []
    for ident in folder_ids(element.find(m("ParentFolderIds"))):
        try:
            _, folder = resolve_folder(request, ident)
            items = _select(request, list(folder))
        except EwsError as error:
            messages.append(responses.error_message("FindItem", error))
            continue
        root = mel("RootFolder")
        page, offset = _page(element, items, root)
        root.set("TotalItemsInView", str(len(items)))
        root.set("IncludesLastItemInRange", "true" if offset + len(page) >= len(items) else "false")
        holder = sub(root, t("Items"))
        for item in page:
            holder.append(render(request, item, shape))
        messages.append(responses.message("FindItem", root))
    return responses.response("FindItem", messages)


def _select(request: Request, items: list[StoredItem]) -> list[StoredItem]:
    """The items of a folder a FindItem's view, restriction, query and order leave, in order."""
    element = request.element
    if element.get("Traversal", "Shallow") != "Shallow":
        return []  # nothing here is soft-deleted or associated
    calendar = element.find(m("CalendarView"))
    if calendar is not None:
        items = _calendar_view(request, items, calendar)
    restriction = element.find(m("Restriction"))
    if restriction is not None:
        try:
            items = [item for item in items if matches(restriction, item)]
        except ValueError as error:
            raise EwsError("ErrorUnsupportedQueryFilter", str(error)) from error
    query = (element.findtext(m("QueryString")) or "").lower().split()
    if query:
        # AQS is far richer; every word appearing in the subject or body is what is kept here.
        items = [
            i for i in items if all(w in f"{i.subject} {i.text('Body')}".lower() for w in query)
        ]
    order = element.find(m("SortOrder"))
    if order is not None and calendar is None:
        for field_order in reversed(list(order)):
            descending = field_order.get("Order") == "Descending"
            items.sort(key=sort_key(field_order), reverse=descending)
    return items


def _page(element: Element, items: list[StoredItem], root: Element) -> tuple[list[StoredItem], int]:
    indexed = element.find(m("IndexedPageItemView"))
    fractional = element.find(m("FractionalPageItemView"))
    calendar = element.find(m("CalendarView"))
    if indexed is not None:
        limit = int(indexed.get("MaxEntriesReturned") or 0) or len(items)
        offset = int(indexed.get("Offset") or 0)
        if indexed.get("BasePoint") == "End":
            offset = max(0, len(items) - offset - limit)
        page = items[offset : offset + limit]
        root.set("IndexedPagingOffset", str(offset + len(page)))
        return page, offset
    if fractional is not None:
        limit = int(fractional.get("MaxEntriesReturned") or 0) or len(items)
        numerator = int(fractional.get("Numerator") or 0)
        denominator = max(1, int(fractional.get("Denominator") or 1))
        offset = len(items) * numerator // denominator
        page = items[offset : offset + limit]
        root.set("NumeratorOffset", str(offset + len(page)))
        root.set("AbsoluteDenominator", str(len(items)))
        return page, offset
    if calendar is not None:
        limit = int(calendar.get("MaxEntriesReturned") or 0) or len(items)
        return items[:limit], 0
    root.set("IndexedPagingOffset", str(len(items)))
    return items, 0


def sync_folder_items(request: Request) -> Element:
    element = request.element
    shape = parse_shape(element.find(m("ItemShape")))
    target = next(iter(folder_ids(element.find(m("SyncFolderId")))), None)
    try:
        if target is None:
            raise EwsError("ErrorFolderNotFound", "No folder to synchronize.")
        _, folder = resolve_folder(request, target)
        state = syncstate.SyncState.decode(element.findtext(m("SyncState")), folder)
    except EwsError as error:
        # Exchange answers a refused sync with an empty state, which clients read before the code.
        refused = responses.error_message("SyncFolderItems", error)
        sub(refused, m("SyncState"), "")
        sub(refused, m("IncludesLastItemInRange"), "true")
        return responses.response("SyncFolderItems", [refused])
    ignore = {ident.get("Id") or "" for ident in folder_ids(element.find(m("Ignore")))}
    limit = max(1, int(element.findtext(m("MaxChangesReturned")) or "512"))
    pending = syncstate.changes(folder, state, ignore)
    given = pending[:limit]
    complete = len(given) == len(pending)
    new_state = syncstate.advance(folder, state, given, complete)
    answer = responses.message("SyncFolderItems")
    sub(answer, m("SyncState"), new_state.encode())
    sub(answer, m("IncludesLastItemInRange"), "true" if complete else "false")
    changes = sub(answer, m("Changes"))
    for change in given:
        entry = sub(changes, t(change.kind))
        if change.kind == "Delete":
            entry.append(tel("ItemId", Id=change.item_id, ChangeKey=""))
            del entry[0].attrib["ChangeKey"]
            continue
        item = folder.items[change.item_id]
        if change.kind == "ReadFlagChange":
            entry.append(tel("ItemId", Id=item.item_id, ChangeKey=item.change_key))
            entry.append(tel("IsRead", "true" if item.is_read else "false"))
            continue
        entry.append(render(request, item, shape))
    return responses.response("SyncFolderItems", [answer])


OPERATIONS: dict[str, Handler] = {
    "GetItem": get_item,
    "FindItem": find_item,
    "SyncFolderItems": sync_folder_items,
}
