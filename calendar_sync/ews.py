"""``EwsCalendar``: the calendar port over an Exchange calendar folder, through exchangelib.

A tick costs one SyncFolderItems call on the calendar folder (ids and item types only) when
nothing changed. A changed single event is read with GetItem; a changed recurring master is
expanded again through a calendar view (FindItem with a CalendarView) over the window, and only
that series' occurrences are read. EWS cannot restrict a calendar view to one series, so the view
lists the window's items by id and type, GetItem tells their series apart by UID, and only the
wanted series' occurrences are read in full. On the first sync, and when the window moves (the
engine moves it once a day), the whole window is viewed.

What the opaque state holds, and why, is told in ``calendar_sync.ews_state``.

This adapter does not import the mail side: it is handed a connection (``EwsConnection``), the
``mailer.ews_session.EwsSession`` that bootstrap builds once for both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from calendar_sync.ews_invite import (
    NOTES_FIELD,
    create_event,
    invitation_sent,
    send_invitation,
)
from calendar_sync.ews_items import (
    MASTER,
    MEETING_FIELDS,
    RECURRING_TYPES,
    SINGLE,
    has_text_body,
    is_stale_sync_state,
    item_label,
    meeting_from_item,
    plain,
    teach_windows_zones,
)
from calendar_sync.ews_state import EwsState, load_state
from calendar_sync.occurrences import digest, overlaps
from calendar_sync.port import CalendarChanges
from rules.errors import Problem
from rules.model import Attendee, Meeting, Person, require_aware

log = logging.getLogger(__name__)

_PAGE = 512  # SyncFolderItems changes per request: the most EWS allows
_CHUNK = 50  # items per GetItem request
# Occurrences one calendar view may return: Exchange expands series itself, and a mailbox with
# thousands of occurrences in the window must not cost a tick thousands of GetItem requests.
MAX_VIEW_ENTRIES = 10_000


class Unusable(Exception):
    """An item the server gave that makes no meeting (a time without a zone, say)."""


class EwsConnection(Protocol):
    """What the adapter needs of a session: the exchangelib account, and error translation."""

    @property
    def account(self) -> Any: ...

    def guard(self, what: str) -> AbstractContextManager[None]: ...


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


@dataclass
class _Tick:
    """What one sync gathers before the diff: fresh occurrences, and what went wrong."""

    meetings: dict[str, Meeting] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class EwsCalendar:
    """A ``CalendarBackend`` over the Exchange calendar of ``connection``'s account.

    ``zone`` is the user's zone: all-day events run from midnight to midnight in it, and it
    names the zone of events whose own zone the server does not say.
    """

    def __init__(self, connection: EwsConnection, zone: ZoneInfo) -> None:
        self.connection = connection
        self.zone = zone
        teach_windows_zones()

    # --- the sync --------------------------------------------------------------------------------

    def send_invitation(self, itip: Mapping[str, object], key: str, notice_html: str) -> bool:
        """A meeting request sent by Exchange from the AE's item (``calendar_sync.ews_invite``)."""
        return send_invitation(self.connection, itip, key, notice_html)

    def invitation_sent(self, itip: Mapping[str, object], key: str) -> bool:
        return invitation_sent(self.connection, itip, key)

    # --- writing (``CalendarWriter``) ---

    def create_event(self, meeting: Meeting) -> str:
        return create_event(self.connection, meeting)

    def record_invitation(
        self, uid: str, organizer: Person, attendees: Sequence[Attendee], sequence: int
    ) -> bool:
        """Nothing to do: Exchange keeps the attendees on the item it sent the request from."""
        return False

    def sync(self, state: str | None, start: datetime, end: datetime) -> CalendarChanges:
        require_aware("start", start)
        require_aware("end", end)
        old, problems = load_state(state)
        window = [_utc(start), _utc(end)]
        with self.connection.guard("reading the Exchange calendar"):
            changes, cursor, restarted = self._changes(old.cursor)
            if restarted:
                problems.append(
                    Problem(
                        "exchange calendar",
                        "the server no longer accepted the saved sync state; the window is read "
                        "afresh",
                    )
                )
            new = EwsState(
                cursor=cursor,
                window=window,
                zone=self.zone.key,
                keys={uid: dict(keys) for uid, keys in old.keys.items()},
                items=dict(old.items),
                broken=dict(old.broken),
                stale=list(old.stale),
                refresh=old.refresh,
            )
            tick = _Tick(problems=problems)
            full = (
                old.cursor is None
                or restarted
                or old.refresh
                or old.window != window
                or old.zone != self.zone.key
            )
            if full:
                self._view_window(new, tick, start, end)
            else:
                self._apply(changes, new, tick, start, end)
        return self._diff(old, new, tick)

    def _changes(self, cursor: str | None) -> tuple[list[tuple[str, Any]], str | None, bool]:
        """Every change since ``cursor`` and the new cursor; a rejected cursor starts afresh."""
        folder = self.connection.account.calendar
        try:
            return (*self._walk(folder, cursor), False)
        except Exception as error:
            if cursor is None or not is_stale_sync_state(error):
                raise
            log.warning("the calendar's saved sync state was refused; starting afresh")
            return (*self._walk(folder, None), True)

    @staticmethod
    def _walk(folder: Any, cursor: str | None) -> tuple[list[tuple[str, Any]], str | None]:
        # The folder object remembers the last cursor it saw; ours is the one that counts.
        folder.item_sync_state = cursor
        changes = list(
            folder.sync_items(sync_state=cursor, only_fields=["type"], max_changes_returned=_PAGE)
        )
        return changes, folder.item_sync_state

    # --- reading -------------------------------------------------------------------------------

    def _fetch(self, items: list[Any], fields: Iterable[str]) -> list[Any]:
        """GetItem for ``items``: each result is an item or the exception the server gave for it."""
        if not items:
            return []
        account = self.connection.account
        wanted = list(fields)
        if "text_body" in wanted and not has_text_body(account):
            wanted[wanted.index("text_body")] = "body"
        if "start" in wanted:
            wanted.append(NOTES_FIELD)  # the AE's notes, where aeflow made the body a notice
        results = account.fetch(
            ids=items, folder=account.calendar, only_fields=wanted, chunk_size=_CHUNK
        )
        if "start" not in wanted:
            return list(results)
        return [self._checked(result) for result in results]

    def _checked(self, result: Any) -> Any:
        """``result``, or why it makes no meeting: a bad item is unreadable, not a crash."""
        if isinstance(result, Exception) or result.type == MASTER:
            return result
        try:
            meeting_from_item(result, self.zone)
        except ValueError as error:
            return Unusable(str(error))
        return result

    def _view(self, start: datetime, end: datetime, tick: _Tick) -> list[Any]:
        from exchangelib import EWSDateTime

        calendar = self.connection.account.calendar
        view = calendar.view(
            start=EWSDateTime.from_datetime(start.astimezone(UTC)),
            end=EWSDateTime.from_datetime(end.astimezone(UTC)),
            max_items=MAX_VIEW_ENTRIES,
        )
        entries = list(view.only("type"))
        if len(entries) >= MAX_VIEW_ENTRIES:
            tick.problems.append(
                Problem(
                    "exchange calendar",
                    f"the calendar has more than {MAX_VIEW_ENTRIES:,} occurrences in the window; "
                    f"only the first {MAX_VIEW_ENTRIES:,} are read",
                )
            )
        return entries

    def _keep(self, item: Any, uid: str, start: datetime, end: datetime) -> Meeting | None:
        """The occurrence ``item`` as a meeting, when it is one in the window."""
        meeting = meeting_from_item(item, self.zone, uid=uid)
        if meeting.cancelled or not overlaps(meeting, start, end):
            return None
        return meeting

    def _problem(self, tick: _Tick, item_id: str, uid: str, error: BaseException) -> None:
        what = f"event {uid!r}" if uid else "an event"
        reason = str(error) if isinstance(error, Unusable) else type(error).__name__
        tick.problems.append(
            Problem(
                f"exchange calendar item {item_label(item_id)}",
                f"{what} cannot be read ({reason}); its known occurrences are kept, and it is "
                "read again at the next sync",
            )
        )
        # repr: the UID and the reason come from the server, and must not forge log lines
        log.warning("unreadable calendar item %s (%r): %r", item_label(item_id), uid, reason)

    # --- the whole window ----------------------------------------------------------------------

    def _view_window(self, new: EwsState, tick: _Tick, start: datetime, end: datetime) -> None:
        entries = self._view(start, end, tick)
        results = self._fetch(entries, MEETING_FIELDS)
        fresh: dict[str, dict[str, str]] = {}
        ids: dict[str, str] = {}
        unattributed = False
        broken: dict[str, str] = {}
        for entry, result in zip(entries, results, strict=True):
            item_id = str(entry.id)
            if isinstance(result, Exception):
                if _missing(result):
                    continue
                uid = new.items.get(item_id, "")
                self._problem(tick, item_id, uid, result)
                broken[item_id] = uid
                unattributed = unattributed or not uid
                continue
            uid = plain(result.uid)
            fresh.setdefault(uid, {})
            if entry.type == SINGLE:
                ids[item_id] = uid
            meeting = self._keep(result, uid, start, end)
            if meeting is not None:
                fresh[uid][meeting.key] = digest(meeting)
                tick.meetings[meeting.key] = meeting
        for uid in set(broken.values()) - {""}:
            fresh[uid] = new.keys.get(uid, {})
        if unattributed:
            # An unreadable occurrence of a series we cannot name: nothing known may be dropped.
            for uid, keys in new.keys.items():
                fresh.setdefault(uid, keys)
        # Master ids learnt from earlier changes stay useful while their series is in view.
        masters = {i: u for i, u in new.items.items() if u in fresh and i not in ids}
        new.keys = {uid: keys for uid, keys in fresh.items() if keys}
        new.items = {**masters, **ids}
        new.broken = broken
        new.stale = []
        new.refresh = unattributed

    # --- what changed ----------------------------------------------------------------------------

    def _apply(
        self,
        changes: list[tuple[str, Any]],
        new: EwsState,
        tick: _Tick,
        start: datetime,
        end: datetime,
    ) -> None:
        todo: dict[str, Any] = {}
        series_gone = False
        for kind, item in changes:
            if kind == "delete":
                item_id = str(item.id)
                todo.pop(item_id, None)
                new.broken.pop(item_id, None)
                uid = new.items.pop(item_id, None)
                if uid is None:
                    # Perhaps a series we know only by its occurrences; the view will tell.
                    series_gone = True
                elif uid not in new.items.values():
                    new.keys.pop(uid, None)
            elif kind in ("create", "update"):
                # Without its change key: the item may have changed again since the listing.
                todo[str(item.id)] = (str(item.id), None)
        for item_id in new.broken:
            todo.setdefault(item_id, (item_id, None))
        series: set[str] = set(new.stale)
        results = self._fetch(list(todo.values()), MEETING_FIELDS)
        for item_id, result in zip(list(todo), results, strict=True):
            known = new.items.get(item_id) or new.broken.pop(item_id, "")
            if isinstance(result, Exception):
                if not _missing(result):
                    self._problem(tick, item_id, known, result)
                    new.broken[item_id] = known
                continue
            uid = plain(result.uid)
            if known and known != uid:
                new.keys.pop(known, None)
            if result.type == MASTER:
                new.items[item_id] = uid
                series.add(uid)
                continue
            if result.type in RECURRING_TYPES:
                # An occurrence that was unreadable in an earlier view: its series is viewed again.
                series.add(uid)
                continue
            meeting = self._keep(result, uid, start, end)
            if meeting is None:
                new.keys.pop(uid, None)
                new.items.pop(item_id, None)
                continue
            new.keys[uid] = {meeting.key: digest(meeting)}
            new.items[item_id] = uid
            tick.meetings[meeting.key] = meeting
        if series or series_gone:
            self._view_series(new, tick, start, end, series, series_gone)

    def _view_series(
        self,
        new: EwsState,
        tick: _Tick,
        start: datetime,
        end: datetime,
        series: set[str],
        check_known: bool,
    ) -> None:
        """View the window again for ``series`` (and, with ``check_known``, every known series)."""
        entries = [e for e in self._view(start, end, tick) if e.type in RECURRING_TYPES]
        named = self._fetch(entries, ("uid",))
        wanted: list[Any] = []
        seen: set[str] = set()
        unnamed = False
        for entry, result in zip(entries, named, strict=True):
            if isinstance(result, Exception):
                unnamed = unnamed or not _missing(result)
                if not _missing(result):
                    self._problem(tick, str(entry.id), "", result)
                continue
            uid = plain(result.uid)
            seen.add(uid)
            if uid in series:
                wanted.append(entry)
        if unnamed:
            # We cannot tell which series the unreadable occurrences belong to: try next time.
            new.stale = sorted(series)
            return
        fresh: dict[str, dict[str, str]] = {uid: {} for uid in series}
        failed: set[str] = set()
        for entry, result in zip(wanted, self._fetch(wanted, MEETING_FIELDS), strict=True):
            if isinstance(result, Exception):
                if not _missing(result):
                    self._problem(tick, str(entry.id), "", result)
                    failed.add("*")
                continue
            uid = plain(result.uid)
            meeting = self._keep(result, uid, start, end)
            if meeting is not None:
                fresh.setdefault(uid, {})[meeting.key] = digest(meeting)
                tick.meetings[meeting.key] = meeting
        if failed:
            new.stale = sorted(series)
            return
        for uid, keys in fresh.items():
            if keys:
                new.keys[uid] = keys
            else:
                new.keys.pop(uid, None)
        if check_known:
            for uid in [u for u, keys in new.keys.items() if _is_series(keys) and u not in seen]:
                if uid not in new.broken.values():
                    del new.keys[uid]
        new.stale = []

    # --- the answer ------------------------------------------------------------------------------

    @staticmethod
    def _diff(old: EwsState, new: EwsState, tick: _Tick) -> CalendarChanges:
        before = {key: dig for keys in old.keys.values() for key, dig in keys.items()}
        after: dict[str, str] = {}
        for uid in sorted(new.keys):
            for key, dig in new.keys[uid].items():
                after.setdefault(key, dig)
        upserted = sorted(
            (
                m
                for key, m in tick.meetings.items()
                if key in after and before.get(key) != after[key]
            ),
            key=lambda m: (m.start, m.key),
        )
        removed = sorted(key for key in before if key not in after)
        return CalendarChanges(tuple(upserted), tuple(removed), tuple(tick.problems), new.dump())


def _missing(error: BaseException) -> bool:
    """The item went away between listing and reading: the next sync reports its deletion."""
    return type(error).__name__ in {"ErrorItemNotFound", "ErrorRecurrenceHasNoOccurrence"}


def _is_series(keys: dict[str, str]) -> bool:
    return any("/" in key for key in keys)
