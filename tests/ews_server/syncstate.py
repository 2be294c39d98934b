"""SyncFolderItems: what changed in a folder since a client's sync state.

The state a client holds is an opaque token encoding the folder, the folder's change counter up to
which the client has everything (the watermark), and, while a sync is being paged, the versions of
the items already handed out beyond the watermark. From it and the folder's change log the server
tells, for every item, what the client knows and so what to report: Create, Update,
ReadFlagChange (only the read flag moved) or Delete.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from tests.ews_server.responses import EwsError
from tests.ews_server.store import Folder, Membership

GONE = -1  # handed out as deleted


@dataclass
class SyncState:
    folder_id: str
    watermark: int = 0
    handed_out: dict[str, int] = field(default_factory=dict)  # item id -> version (change counter)

    def encode(self) -> str:
        data = {"f": self.folder_id, "w": self.watermark, "h": self.handed_out}
        return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, token: str | None, folder: Folder) -> SyncState:
        if not token:
            return cls(folder.folder_id)
        invalid = EwsError(
            "ErrorInvalidSyncStateData",
            "Synchronization state data is corrupt or otherwise invalid.",
        )
        try:
            data = json.loads(base64.b64decode(token.encode(), validate=True))
            state = cls(
                str(data["f"]), int(data["w"]), {str(k): int(v) for k, v in data["h"].items()}
            )
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as error:
            raise invalid from error
        if state.folder_id != folder.folder_id or state.watermark > folder.counter:
            raise invalid
        return state


@dataclass(frozen=True)
class Change:
    kind: str  # Create | Update | ReadFlagChange | Delete
    item_id: str
    version: int  # the change counter the client will have for the item after this change


def _version_at(membership: Membership, counter: int) -> int:
    seen = [seq for seq, _ in membership.events if seq <= counter]
    return max(seen) if seen else 0


def _known(membership: Membership, state: SyncState) -> int | None:
    """The version of the item the client holds, or None when it does not know the item."""
    if membership.item_id in state.handed_out:
        version = state.handed_out[membership.item_id]
        return None if version == GONE else version
    w = state.watermark
    if membership.entered <= w and (membership.left is None or membership.left > w):
        return _version_at(membership, w)
    return None


def changes(folder: Folder, state: SyncState, ignore: set[str]) -> list[Change]:
    found: list[tuple[int, Change]] = []
    for membership in folder.log.values():
        if membership.item_id in ignore:
            continue
        known = _known(membership, state)
        present = membership.left is None
        current = _version_at(membership, folder.counter)
        if known is None and present:
            found.append((current, Change("Create", membership.item_id, current)))
        elif known is not None and not present:
            found.append((membership.left or 0, Change("Delete", membership.item_id, 0)))
        elif known is not None and present and current > known:
            later = [kind for seq, kind in membership.events if seq > known]
            kind = "ReadFlagChange" if all(k == "read" for k in later) else "Update"
            found.append((current, Change(kind, membership.item_id, current)))
    found.sort(key=lambda pair: pair[0])
    return [change for _, change in found]


def advance(folder: Folder, state: SyncState, given: list[Change], complete: bool) -> SyncState:
    """The state after the client has ``given``; collapsed to a bare watermark once complete."""
    if complete:
        return SyncState(folder.folder_id, folder.counter, {})
    handed_out = dict(state.handed_out)
    for change in given:
        handed_out[change.item_id] = GONE if change.kind == "Delete" else change.version
    return SyncState(folder.folder_id, state.watermark, handed_out)
