"""``VdirCalendar``: the calendar port over a vdir, a folder of ``.ics`` files.

This is the layout vdirsyncer and khal keep: one event (or one series with its overrides) per
file, named freely, with dotfiles used for temporary and metadata files. Any other file is
ignored. Only regular files are read, up to a size cap (``calendar_sync.files``): anything else
named ``*.ics`` (a FIFO, a directory, a dangling symlink, a file over the cap) is reported once
and left alone.

The sync state records, per file, its ``(mtime_ns, size)`` stamp and the occurrence keys it gave
with a digest of each occurrence's content, and the window it was computed for. A file whose stamp
has not changed is not read again, unless the window (or the user's zone) changed: then every file
is expanded again, and only what differs is reported. It also records each file refused by the
reader with its stamp (file type, mtime, size, and the cap), so that it is reported once and not
at every sync; it is looked at again when any of these change.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from calendar_sync.files import ICS_LIMIT, RefusedFile, read_regular
from calendar_sync.ics import expand, parse_calendar
from calendar_sync.occurrences import digest
from calendar_sync.port import CalendarChanges
from calendar_sync.vdir_write import (
    new_event_file,
    record_invitation,
    remove_stale_temporaries,
)
from rules.errors import Problem, UnreadableInput
from rules.model import Attendee, Meeting, Person, require_aware

log = logging.getLogger(__name__)

_VERSION = 1


@dataclass
class _FileEntry:
    stamp: list[int]
    keys: dict[str, str] = field(default_factory=dict)
    # The file's events by UID: True when cancelled. ``None`` in a state saved before this was
    # kept: such a file is read again.
    events: dict[str, bool] | None = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"stamp": self.stamp, "keys": dict(sorted(self.keys.items()))}
        if self.events is not None:
            data["events"] = dict(sorted(self.events.items()))
        return data


@dataclass
class _State:
    window: list[str] = field(default_factory=list)
    zone: str = ""
    files: dict[str, _FileEntry] = field(default_factory=dict)
    # Files the reader refused, by name: the stamp they had when that was reported.
    refused: dict[str, list[int]] = field(default_factory=dict)

    def dump(self) -> str:
        files = {name: entry.dump() for name, entry in sorted(self.files.items())}
        data: dict[str, Any] = {
            "version": _VERSION,
            "window": self.window,
            "zone": self.zone,
            "files": files,
        }
        if self.refused:
            data["refused"] = dict(sorted(self.refused.items()))
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _load(state: str | None, where: str) -> tuple[_State, list[Problem]]:
    if state is None:
        return _State(), []
    try:
        data = json.loads(state)
        if data.get("version") != _VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        files = {
            name: _FileEntry(
                [int(x) for x in entry["stamp"]],
                dict(entry["keys"]),
                {str(k): bool(v) for k, v in entry["events"].items()}
                if "events" in entry
                else None,
            )
            for name, entry in data["files"].items()
        }
        refused = {
            str(name): [int(x) for x in stamp] for name, stamp in data.get("refused", {}).items()
        }
        return _State(list(data["window"]), str(data["zone"]), files, refused), []
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        message = f"the saved sync state is unreadable ({error}); every event is read afresh"
        return _State(), [Problem(where, message)]


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class VdirCalendar:
    """A ``CalendarBackend`` reading a vdir; see the module docstring for what it remembers.

    An unreadable file is reported in ``problems`` at every sync until it is fixed or removed; one
    that is not read at all (not a regular file, or over ``max_bytes``) is reported once, until it
    changes. Either way the occurrences it gave before stay as they were (neither removed nor
    reported again).
    """

    def __init__(self, path: Path, default_zone: ZoneInfo, max_bytes: int = ICS_LIMIT) -> None:
        self.path = Path(path)
        self.default_zone = default_zone
        self.max_bytes = max_bytes

    def _files(self) -> list[Path]:
        # Every entry named *.ics, whatever it is: the reader refuses what is not a regular
        # file, and says so, rather than this listing passing over it in silence.
        return sorted(
            p
            for p in self.path.iterdir()
            if not p.name.startswith(".") and p.name.lower().endswith(".ics")
        )

    def _read(
        self, path: Path, start: datetime, end: datetime
    ) -> tuple[list[Meeting], dict[str, bool], list[Problem]]:
        data = read_regular(path, self.max_bytes, "[backend] max_ics_bytes")
        parsed = parse_calendar(data, str(path), self.default_zone)
        if parsed.problems and not parsed.events:
            # Damage that left no event standing (a truncated file) must not delete its meetings.
            raise UnreadableInput(str(path), "; ".join(p.message for p in parsed.problems))
        events = {e.uid: e.cancelled for e in parsed.events if not e.recurrence_id}
        problems = list(parsed.problems)
        return expand(parsed, start, end, problems), events, problems

    # --- writing (``CalendarWriter``) ---

    def create_event(self, meeting: Meeting) -> str:
        return str(new_event_file(self.path, meeting, datetime.now(UTC)))

    def record_invitation(
        self, uid: str, organizer: Person, attendees: Sequence[Attendee], sequence: int
    ) -> bool:
        return record_invitation(self.path, uid, organizer, attendees, sequence)

    def sync(self, state: str | None, start: datetime, end: datetime) -> CalendarChanges:
        require_aware("start", start)
        require_aware("end", end)
        old, problems = _load(state, str(self.path))
        window = [_utc(start), _utc(end)]
        same_window = old.window == window and old.zone == self.default_zone.key
        try:
            files = self._files()
        except OSError as error:
            # A folder that went away (an unmounted disk) must not read as "every meeting deleted".
            message = f"the calendar folder cannot be read ({error.strerror or error})"
            return CalendarChanges(
                (), (), (*problems, Problem(str(self.path), message)), old.dump()
            )
        new = _State(window, self.default_zone.key)
        if not same_window:  # once a day: what a killed write left behind goes
            remove_stale_temporaries(self.path, time.time())
        fresh: dict[tuple[str, str], Meeting] = {}
        for path in files:
            previous = old.files.get(path.name)
            try:
                info = _stat(path)
                stamp = [info.st_mtime_ns, info.st_size]
                refusal = [stat.S_IFMT(info.st_mode), *stamp, self.max_bytes]
                if old.refused.get(path.name) == refusal:
                    # refused and reported before, and unchanged since: not said again
                    new.refused[path.name] = refusal
                    if previous is not None:
                        new.files[path.name] = previous
                    continue
                if (
                    previous is not None
                    and previous.stamp == stamp
                    and same_window
                    and previous.events is not None
                ):
                    new.files[path.name] = previous
                    continue
                meetings, events, file_problems = self._read(path, start, end)
            except RefusedFile as error:
                kept = " (its meetings are kept as they were)" if previous is not None else ""
                problems.append(Problem(str(path), f"{error.reason}{kept}"))
                log.warning("calendar file not read %s: %r", path, error.reason)
                new.refused[path.name] = refusal
                if previous is not None:
                    new.files[path.name] = previous
                continue
            except (UnreadableInput, OSError) as error:
                reason = error.reason if isinstance(error, UnreadableInput) else str(error)
                kept = " (its meetings are kept as they were)" if previous is not None else ""
                # Reported at every sync while it lasts; the engine logs it once (quarantine).
                problems.append(Problem(str(path), f"{reason}; fix or remove the file{kept}"))
                if previous is not None:
                    new.files[path.name] = previous
                continue
            problems.extend(file_problems)
            entry = _FileEntry(stamp, events=events)
            for meeting in meetings:
                entry.keys[meeting.key] = digest(meeting)
                fresh[(path.name, meeting.key)] = meeting
            new.files[path.name] = entry
        before = {key: dig for entry in old.files.values() for key, dig in entry.keys.items()}
        owners: dict[str, str] = {}
        after: dict[str, str] = {}
        for name, entry in new.files.items():
            for key, dig in entry.keys.items():
                if key in owners:
                    problems.append(
                        Problem(
                            str(self.path / name),
                            f"event {key!r} is also in {owners[key]}; the copy in "
                            f"{owners[key]} is used, remove one of them",
                        )
                    )
                    continue
                owners[key], after[key] = name, dig
        upserted = sorted(
            (
                meeting
                for (name, key), meeting in fresh.items()
                if owners.get(key) == name and before.get(key) != after[key]
            ),
            key=lambda m: (m.start, m.key),
        )
        removed = sorted(key for key in before if key not in after)
        known: dict[str, bool] = {}
        for entry in new.files.values():
            known.update(entry.events or {})
        gone = tuple(key for key in removed if _gone(key, known))
        return CalendarChanges(tuple(upserted), tuple(removed), tuple(problems), new.dump(), gone)


def _stat(path: Path) -> os.stat_result:
    """The file's stat, or the link's own when it is a symlink that leads nowhere."""
    try:
        return path.stat()
    except OSError:
        if not path.is_symlink():
            raise
        return path.lstat()


def _gone(key: str, events: dict[str, bool]) -> bool:
    """Whether the event of occurrence ``key`` is cancelled or no longer in any file."""
    uid = key if key in events or "/" not in key else key.rsplit("/", 1)[0]
    return events.get(uid, True)
