"""Finding the item an id names: plain items, occurrences of recurring series (by occurrence id
or by OccurrenceItemId's master and index) and a recurring master from one of its occurrences."""

from __future__ import annotations

import datetime as dt

from tests.ews_server.core import Core
from tests.ews_server.recurrence import (
    Occurrence,
    first_and_last,
    occurrence_at,
    occurrence_by_index,
)
from tests.ews_server.responses import EwsError
from tests.ews_server.store import StoredItem, clone_props, decode_id, encode_id
from tests.ews_server.xml import Element, format_datetime, local, tel

NOT_FOUND = "The specified object was not found in the store."
SERIES_ONLY = {"Recurrence", "ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence"}
SERIES_ONLY |= {"LastOccurrence"}


def occurrence_id(master: StoredItem, original_start: dt.datetime) -> str:
    return encode_id("occ", master.item_id, str(int(original_start.timestamp())))


def occurrence_item(core: Core, master: StoredItem, occurrence: Occurrence) -> StoredItem:
    """The occurrence as an item: its exception when it has one, else a view of the master."""
    exception = master.exceptions.get(occurrence.original_start)
    if exception is not None:
        return exception
    item = StoredItem(
        item_id=occurrence_id(master, occurrence.original_start),
        kind="CalendarItem",
        mailbox=master.mailbox,
        folder=master.folder,
        props={k: v for k, v in clone_props(master.props).items() if k not in SERIES_ONLY},
        extended=dict(master.extended),
        version=master.version,
        master_id=master.item_id,
    )
    item.set_text("Start", format_datetime(occurrence.start))
    item.set_text("End", format_datetime(occurrence.end))
    item.set_text("OriginalStart", format_datetime(occurrence.original_start))
    item.set_text("CalendarItemType", "Occurrence")
    item.set_text("IsRecurring", "true")
    return item


def make_exception(core: Core, master: StoredItem, occurrence: Occurrence) -> StoredItem:
    """Turn an occurrence into an exception the master keeps (before it is changed)."""
    exception = occurrence_item(core, master, occurrence)
    if exception.item_id not in core.registry:
        exception.set_text("CalendarItemType", "Exception")
        master.exceptions[occurrence.original_start] = exception
        core.registry[exception.item_id] = exception
    return exception


def find(core: Core, ident: Element) -> StoredItem:
    """The item an ``<t:ItemId>``, ``<t:OccurrenceItemId>``, ``<t:RecurringMasterItemId>`` or
    ``<t:ReferenceItemId>`` names; ErrorItemNotFound otherwise."""
    kind = local(ident)
    if kind == "OccurrenceItemId":
        master = _plain(core, ident.get("RecurringMasterId") or "")
        found = occurrence_by_index(master, int(ident.get("InstanceIndex") or "0"), core.time_zone)
        if found is None or found.original_start in master.deleted_occurrences:
            raise EwsError(
                "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
                "Occurrence index is out of recurrence range.",
            )
        return occurrence_item(core, master, found)
    if kind == "RecurringMasterItemId":
        item = by_id(core, ident.get("OccurrenceId") or "")
        return _plain(core, item.master_id) if item.master_id else item
    return by_id(core, ident.get("Id") or "")


def by_id(core: Core, item_id: str) -> StoredItem:
    if item_id in core.registry:
        return core.registry[item_id]
    parts = decode_id(item_id)
    if parts and len(parts) == 3 and parts[0] == "occ":
        master = _plain(core, parts[1])
        original = dt.datetime.fromtimestamp(int(parts[2]), dt.UTC)
        if original in master.deleted_occurrences:
            raise EwsError("ErrorItemNotFound", NOT_FOUND)
        found = occurrence_at(master, original, core.time_zone)
        if found is None:
            raise EwsError("ErrorItemNotFound", NOT_FOUND)
        return occurrence_item(core, master, found)
    if parts is None:
        raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
    raise EwsError("ErrorItemNotFound", NOT_FOUND)


def _plain(core: Core, item_id: str) -> StoredItem:
    found = core.registry.get(item_id)
    if found is None:
        raise EwsError("ErrorItemNotFound", NOT_FOUND)
    return found


def series_summary(core: Core, master: StoredItem) -> None:
    """Refresh the master's FirstOccurrence / LastOccurrence / ModifiedOccurrences /
    DeletedOccurrences elements."""
    for name in ("ModifiedOccurrences", "DeletedOccurrences", "FirstOccurrence", "LastOccurrence"):
        master.props.pop(name, None)
    first, last = first_and_last(master, core.time_zone)
    for name, found in (("FirstOccurrence", first), ("LastOccurrence", last)):
        if found is not None:
            shown = occurrence_item(core, master, found)
            entry = tel(name)
            entry.append(tel("ItemId", Id=shown.item_id, ChangeKey=shown.change_key))
            entry.append(tel("Start", shown.text("Start") or ""))
            entry.append(tel("End", shown.text("End") or ""))
            entry.append(tel("OriginalStart", format_datetime(found.original_start)))
            master.props[name] = entry
    if master.exceptions:
        holder = tel("ModifiedOccurrences")
        for original, exception in sorted(master.exceptions.items()):
            entry = tel("Occurrence")
            entry.append(tel("ItemId", Id=exception.item_id, ChangeKey=exception.change_key))
            entry.append(tel("Start", exception.text("Start") or format_datetime(original)))
            entry.append(tel("End", exception.text("End") or format_datetime(original)))
            entry.append(tel("OriginalStart", format_datetime(original)))
            holder.append(entry)
        master.props["ModifiedOccurrences"] = holder
    if master.deleted_occurrences:
        holder = tel("DeletedOccurrences")
        for original in sorted(master.deleted_occurrences):
            entry = tel("DeletedOccurrence")
            entry.append(tel("Start", format_datetime(original)))
            holder.append(entry)
        master.props["DeletedOccurrences"] = holder
