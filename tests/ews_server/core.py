"""The server's state: mailboxes and the item registry, behind one lock, with the public
``Mailbox`` handle tests use to act as a mailbox's owner would in Outlook."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable

from tests.ews_server.store import (
    FOLDERS,
    Folder,
    StoredItem,
    decode_id,
    encode_id,
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Core:
    """Everything the request handlers share. All reads and changes happen under ``lock``."""

    def __init__(self, time_zone: str, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.time_zone = time_zone
        self._clock = clock or utc_now
        self.mailboxes: dict[str, Mailbox] = {}
        self.registry: dict[str, StoredItem] = {}
        self._serial = itertools.count(1)

    def now(self) -> dt.datetime:
        value = self._clock()
        if value.tzinfo is None:
            raise ValueError("the server's clock returned a naive datetime")
        return value.astimezone(dt.UTC).replace(microsecond=0)

    def new_item_id(self, mailbox: str) -> str:
        return encode_id("item", mailbox, str(next(self._serial)))

    def mailbox_of(self, email: str) -> Mailbox | None:
        return self.mailboxes.get(email.strip().lower())

    def place(self, item: StoredItem, folder: str) -> StoredItem:
        """Put a new item in ``folder`` of its mailbox."""
        box = self.mailboxes[item.mailbox]
        box.folders[folder].add(item)
        self.registry[item.item_id] = item
        return item

    def move(self, item: StoredItem, folder: str) -> None:
        box = self.mailboxes[item.mailbox]
        box.folders[item.folder].remove(item)
        box.folders[folder].add(item)

    def discard(self, item: StoredItem) -> None:
        box = self.mailboxes[item.mailbox]
        box.folders[item.folder].remove(item)
        self.registry.pop(item.item_id, None)

    def changed(self, item: StoredItem, kind: str = "update") -> None:
        """Record that ``item`` changed: a new change key, and an entry in its folder's log.
        An exception of a recurring series changes its master."""
        if item.master_id is not None:
            item.version += 1
            master = self.registry.get(item.master_id)
            if master is not None:
                self.changed(master)
            return
        if kind == "update":
            item.touch(self.now())
        else:
            item.version += 1
        box = self.mailboxes.get(item.mailbox)
        if box is not None and item.folder in box.folders:
            box.folders[item.folder].changed(item, kind)

    def folder_by_id(self, folder_id: str) -> tuple[Mailbox, Folder] | None:
        parts = decode_id(folder_id)
        if not parts or len(parts) != 3 or parts[0] != "folder":
            return None
        box = self.mailboxes.get(parts[1])
        if box is None or parts[2] not in box.folders:
            return None
        return box, box.folders[parts[2]]


class Mailbox:
    """One user's mailbox. The methods act as the user would in their own mail client."""

    def __init__(self, core: Core, email: str, password: str, name: str) -> None:
        self._core = core
        self.email = email.strip().lower()
        self.password = password
        self.name = name or self.email.split("@")[0]
        self.folders = {name: Folder(self.email, name) for name in FOLDERS}

    def items(self, folder: str) -> list[StoredItem]:
        """The items in ``folder`` (inbox, sentitems, calendar, drafts, deleteditems ...)."""
        with self._core.lock:
            if folder not in self.folders:
                raise KeyError(f"no folder {folder!r}; there are {sorted(self.folders)}")
            return list(self.folders[folder])

    def item(self, item_id: str) -> StoredItem:
        with self._core.lock:
            found = self._core.registry.get(item_id)
            if found is None or found.mailbox != self.email:
                raise KeyError(f"{self.email} has no item {item_id}")
            return found

    def deliver_mime(self, raw: bytes, folder: str = "inbox") -> str:
        """Deliver ``raw`` as if it arrived from outside; reports (multipart/report) become report
        items of the matching class. Returns the new item's id."""
        from tests.ews_server.transport import deliver_external

        with self._core.lock:
            return deliver_external(self._core, self, raw, folder).item_id

    def mark_read(self, item_id: str) -> None:
        """Mark an item read; if its sender asked for a read receipt, send it one."""
        from tests.ews_server.transport import set_read

        with self._core.lock:
            set_read(self._core, self.item(item_id), True, send_receipt=True)

    def respond(self, item_id: str, response: str) -> None:
        """Answer a meeting request (or the meeting in the calendar): Accept, Tentative, Decline."""
        from tests.ews_server.meetings import respond

        if response not in {"Accept", "Tentative", "Decline"}:
            raise ValueError(f"a response is Accept, Tentative or Decline, not {response!r}")
        with self._core.lock:
            respond(self._core, self, self.item(item_id), response, send=True, save_copy=True)

    def garble(self, item_id: str) -> None:
        """Make the item unreadable: GetItem answers ErrorCorruptData for it."""
        with self._core.lock:
            self.item(item_id).garbled = True

    def restore(self, item_id: str) -> None:
        with self._core.lock:
            self.item(item_id).garbled = False

    def __repr__(self) -> str:
        return f"Mailbox({self.email!r})"
