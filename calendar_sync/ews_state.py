"""What ``EwsCalendar`` remembers between syncs, as the opaque JSON string the engine stores.

``cursor`` is the EWS SyncFolderItems state of the calendar folder; ``window`` and ``zone`` are
what the known occurrences were computed for; ``keys`` holds the known occurrence keys with a
digest of each, grouped by series UID; ``items`` the ids of the items that carry known series (a
deletion names only an item id); ``broken`` the items that could not be read (read again at every
sync, their known occurrences kept); ``stale`` the series whose last view was incomplete and
``refresh`` whether the whole window must be viewed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rules.errors import Problem

_VERSION = 1


@dataclass
class EwsState:
    cursor: str | None = None
    window: list[str] = field(default_factory=list)
    zone: str = ""
    keys: dict[str, dict[str, str]] = field(default_factory=dict)  # uid -> {key: digest}
    items: dict[str, str] = field(default_factory=dict)  # item id -> uid
    broken: dict[str, str] = field(default_factory=dict)  # item id -> uid ("" unknown)
    stale: list[str] = field(default_factory=list)  # series to view again
    refresh: bool = False  # the whole window to view again

    def dump(self) -> str:
        data = {
            "version": _VERSION,
            "cursor": self.cursor,
            "window": self.window,
            "zone": self.zone,
            "keys": {uid: dict(sorted(keys.items())) for uid, keys in sorted(self.keys.items())},
            "items": dict(sorted(self.items.items())),
            "broken": dict(sorted(self.broken.items())),
            "stale": sorted(set(self.stale)),
            "refresh": self.refresh,
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


def load_state(state: str | None) -> tuple[EwsState, list[Problem]]:
    if state is None:
        return EwsState(), []
    try:
        data = json.loads(state)
        if data.get("version") != _VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        cursor = data["cursor"]
        return (
            EwsState(
                cursor=str(cursor) if cursor else None,
                window=[str(w) for w in data["window"]],
                zone=str(data["zone"]),
                keys={
                    str(u): {str(k): str(d) for k, d in ks.items()}
                    for u, ks in data["keys"].items()
                },
                items={str(i): str(u) for i, u in data["items"].items()},
                broken={str(i): str(u) for i, u in data["broken"].items()},
                stale=[str(u) for u in data["stale"]],
                refresh=bool(data["refresh"]),
            ),
            [],
        )
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        message = f"the saved sync state is unreadable ({error}); the calendar is read afresh"
        return EwsState(), [Problem("exchange calendar", message)]
