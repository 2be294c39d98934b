"""aeflow's local state: meetings seen, the outbox, deliveries, signals and sync states.

One JSON file per AE, read and written through TinyDB, which no other module imports. The mailbox is
the truth and this file is its index: a lost file is rebuilt from Sent Items, so the store's duty is
to never hand back half a write, never overwrite a file it cannot read, and never be shared by two
daemons. How the file is written is in ``aeflow.storage_file``; its layout and migrations are in
``aeflow.store_schema``.

Records are plain dicts of JSON values. A record put under a key always comes back with that key in
its ``key`` field; aware datetimes in a record are stored as ISO strings in UTC, naive ones are
refused. Records handed out are copies: changing one changes nothing until it is put back.

Writes go to disk one by one, or once per ``with store.batch():`` block (see ``StateStorage``). The
store is meant for one thread at a time, as the daemon runs its ticks one after another.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from tinydb import where

from aeflow import store_schema as schema
from aeflow.storage_file import (
    StateDatabase,
    StateLock,
    StateStorage,
    StoreCorruptError,
    StoreLockedError,
    StoreVersionError,
    keep_copy,
    read_state_file,
    remove_stale_temporaries,
    write_state_file,
)
from rules.errors import NaiveDateTimeError, StoreError
from rules.model import require_aware

__all__ = [
    "Record",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StoreVersionError",
]

logger = logging.getLogger(__name__)

Record = dict[str, Any]


class Store:
    """The state of one AE: ``Store.open(path)`` (a context manager), or ``Store.memory()``."""

    def __init__(self, storage: StateStorage, lock: StateLock | None) -> None:
        self._storage = storage
        self._lock = lock
        self._db = StateDatabase(storage=lambda: storage)
        self._ids: dict[str, dict[str, int]] = {}
        self._delivery_by_message_id: dict[str, str] = {}
        self._signal_message_ids: set[str] = set()
        self._by_meeting: dict[str, set[str]] = {}
        self._open: set[str] = set()
        self._outbox_status: dict[str, str] = {}
        document = storage.read()
        for table in schema.KEYED_TABLES:
            entries = document.get(table, {})
            self._ids[table] = {entry["key"]: int(doc_id) for doc_id, entry in entries.items()}
        for entry in document.get(schema.DELIVERIES, {}).values():
            self._index_delivery(entry["key"], entry)
        for entry in document.get(schema.SIGNALS, {}).values():
            self._index_signal(entry)
        for entry in document.get(schema.OUTBOX, {}).values():
            self._outbox_status[entry["key"]] = str(entry.get("status", ""))

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Lock and read the state file at ``path``, creating it (and its folder) when missing.

        An older file is upgraded after a copy of it is kept as ``<name>.schema-<N>.bak``. Raises
        ``StoreLockedError`` when another process has it open, ``StoreCorruptError`` when it is
        not what aeflow writes, ``StoreVersionError`` when a newer aeflow wrote it; in each case
        the file is left exactly as it was.
        """
        state_path = Path(path).absolute()
        try:
            state_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = f"cannot create the folder of {state_path}: {error.strerror}"
            raise StoreError(problem) from error
        lock = StateLock.acquire(state_path)
        try:
            remove_stale_temporaries(state_path)
            document = _load(state_path)
            return cls(StateStorage(state_path, document), lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def memory(cls) -> Store:
        """A store that keeps everything in memory and writes no file (tests, the demo)."""
        return cls(StateStorage(None, schema.empty_document()), None)

    @property
    def path(self) -> Path | None:
        return self._storage.path

    def close(self) -> None:
        """Write what is pending and release the lock. Closing twice is harmless."""
        try:
            self._storage.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Write the file once, when the outermost batch ends, even if its block raised."""
        with self._storage.batch():
            yield

    # --- small facts -----------------------------------------------------------------------------

    def meta_get(self, name: str) -> Any:
        return self._get_value(schema.META, name)

    def meta_set(self, name: str, value: object) -> None:
        if name == schema.SCHEMA:
            raise ValueError("the schema version belongs to the store; migrations change it")
        self._set_value(schema.META, name, value)

    def get_sync_state(self, name: str) -> str | None:
        state = self._get_value(schema.SYNC, name)
        return state if isinstance(state, str) else None

    def set_sync_state(self, name: str, state: str) -> None:
        if not isinstance(state, str):
            raise TypeError(f"a sync state is a string, got {type(state).__name__}")
        self._set_value(schema.SYNC, name, state)

    # --- meetings --------------------------------------------------------------------------------

    def upsert_meeting(self, key: str, record: Mapping[str, object]) -> None:
        self._put(schema.MEETINGS, key, _record(key, record))

    def remove_meeting(self, key: str) -> bool:
        """Forget a meeting; whether there was one."""
        return self._remove(schema.MEETINGS, key)

    def get_meeting(self, key: str) -> Record | None:
        return self._get(schema.MEETINGS, key)

    def meetings(self) -> list[Record]:
        return self._all(schema.MEETINGS)

    # --- outbox ----------------------------------------------------------------------------------

    def outbox_put(self, key: str, record: Mapping[str, object]) -> None:
        """Record an action's state; ``status`` (``sending``, ``sent``, ``skipped``) is required."""
        plain = _record(key, record)
        if not isinstance(plain.get("status"), str) or not plain["status"]:
            raise ValueError(f"outbox record {key!r} has no status")
        self._put(schema.OUTBOX, key, plain)
        self._outbox_status[key] = str(plain["status"])

    def outbox_keys(self, statuses: frozenset[str]) -> frozenset[str]:
        """The keys of the actions in any of ``statuses``, from an index (no record is copied)."""
        return frozenset(k for k, status in self._outbox_status.items() if status in statuses)

    def outbox_get(self, key: str) -> Record | None:
        return self._get(schema.OUTBOX, key)

    def outbox_by_status(self, status: str) -> list[Record]:
        found = self._db.table(schema.OUTBOX).search(where("status") == status)
        return [_copy(dict(document)) for document in found]

    def outbox_all(self) -> list[Record]:
        return self._all(schema.OUTBOX)

    # --- deliveries ------------------------------------------------------------------------------

    def delivery_put(self, key: str, record: Mapping[str, object]) -> None:
        """Record a sent mail and its recipients' status; findable by its ``message_id``."""
        plain = _record(key, record)
        previous = self._get(schema.DELIVERIES, key)
        if previous is not None:
            for old in _delivery_ids(previous):
                if self._delivery_by_message_id.get(old) == key:
                    del self._delivery_by_message_id[old]
            self._by_meeting.get(_meeting_uid(previous), set()).discard(key)
        self._put(schema.DELIVERIES, key, plain)
        self._index_delivery(key, plain)

    def delivery_get(self, key: str) -> Record | None:
        return self._get(schema.DELIVERIES, key)

    def deliveries(self) -> list[Record]:
        return self._all(schema.DELIVERIES)

    def open_deliveries(self) -> list[Record]:
        """Deliveries still tracked (``open`` true): closed ones cost a tick nothing."""
        return [self._get_doc(schema.DELIVERIES, key) for key in sorted(self._open)]

    def deliveries_for_meeting(self, uid: str) -> list[Record]:
        """Deliveries about any occurrence of the meeting series ``uid``."""
        keys = sorted(self._by_meeting.get(uid, ()))
        return [self._get_doc(schema.DELIVERIES, key) for key in keys]

    # --- meeting responses -----------------------------------------------------------------------

    def response_put(self, key: str, record: Mapping[str, object]) -> None:
        """An attendee's latest answer to a meeting, as a meeting response reported it."""
        self._put(schema.RESPONSES, key, _record(key, record))

    def responses(self) -> list[Record]:
        return self._all(schema.RESPONSES)

    # --- minutes ---

    def minutes_put(self, key: str, record: Mapping[str, object]) -> None:
        """Minutes taken in for a meeting, keyed ``<meeting key>|v<version>``."""
        self._put(schema.MINUTES, key, _record(key, record))

    def minutes_get(self, key: str) -> Record | None:
        return self._get(schema.MINUTES, key)

    def minutes_all(self) -> list[Record]:
        return self._all(schema.MINUTES)

    def minutes_note_put(self, key: str, record: Mapping[str, object]) -> None:
        self._put(schema.MINUTES_NOTES, key, _record(key, record))

    def minutes_notes(self) -> list[Record]:
        return self._all(schema.MINUTES_NOTES)

    def delivery_by_message_id(self, message_id: str) -> Record | None:
        """The delivery whose mail had this Message-ID (with or without angle brackets)."""
        normalised = _message_id(message_id)
        key = self._delivery_by_message_id.get(normalised) if normalised else None
        return self._get(schema.DELIVERIES, key) if key is not None else None

    # --- signals ---------------------------------------------------------------------------------

    def signal_add(self, record: Mapping[str, object]) -> bool:
        """Store a signal unless it is already stored; whether it was new.

        A signal's identity is its ``id`` when it has one (one inbound message may carry several
        signals, a DSN per recipient), else its ``message_id``, else a digest of its contents.
        """
        plain = _plain(record)
        key = _signal_key(plain)
        if key in self._ids[schema.SIGNALS]:
            return False
        self._put(schema.SIGNALS, key, _record(key, plain))
        self._index_signal(plain)
        return True

    def signal_seen(self, message_id: str) -> bool:
        """Whether a signal from the inbound message with this Message-ID (or this id) is stored."""
        normalised = _message_id(message_id)
        if normalised is not None and normalised in self._signal_message_ids:
            return True
        return message_id in self._ids[schema.SIGNALS]

    def signals(self) -> list[Record]:
        return self._all(schema.SIGNALS)

    # --- whole records, for the archive ---------------------------------------------------------

    def records(self, table: str) -> list[Record]:
        """Every record of a record table (``store_schema.RECORD_TABLES``), as copies."""
        _require_table(table)
        return self._all(table)

    def put_record(self, table: str, key: str, record: Mapping[str, object]) -> None:
        """Put a record as it came from another store (an archive keeps records as they were)."""
        _require_table(table)
        plain = _record(key, record)
        if table == schema.OUTBOX:
            self.outbox_put(key, plain)
        elif table == schema.DELIVERIES:
            self.delivery_put(key, plain)
        elif table == schema.SIGNALS:
            if key not in self._ids[schema.SIGNALS]:
                self._put(table, key, plain)
                self._index_signal(plain)
        else:
            self._put(table, key, plain)

    def remove_records(self, table: str, keys: Iterable[str]) -> int:
        """Remove records from a record table, the indexes with them; how many were there."""
        _require_table(table)
        removed = 0
        for key in keys:
            previous = self._get(table, key)
            if previous is None or not self._remove(table, key):
                continue
            removed += 1
            if table == schema.OUTBOX:
                self._outbox_status.pop(key, None)
            elif table == schema.DELIVERIES:
                for old in _delivery_ids(previous):
                    if self._delivery_by_message_id.get(old) == key:
                        del self._delivery_by_message_id[old]
                self._by_meeting.get(_meeting_uid(previous), set()).discard(key)
                self._open.discard(key)
            elif table == schema.SIGNALS:
                normalised = _message_id(previous.get("message_id"))
                if normalised is not None:
                    self._signal_message_ids.discard(normalised)
        return removed

    # --- the tables underneath -------------------------------------------------------------------

    def _put(self, table: str, key: str, document: Record) -> None:
        ids = self._ids[table]
        doc_id = ids.get(key)
        if doc_id is None:
            ids[key] = self._db.table(table).insert(document)
            return
        stored = self._db.table(table).get(doc_id=doc_id)
        if stored is not None and dict(stored) == document:
            return  # nothing changed: the file is not written again for it
        self._db.table(table).update(_replace_with(document), doc_ids=[doc_id])

    def _get(self, table: str, key: str) -> Record | None:
        doc_id = self._ids[table].get(key)
        if doc_id is None:
            return None
        document = self._db.table(table).get(doc_id=doc_id)
        return None if document is None else _copy(dict(document))

    def _remove(self, table: str, key: str) -> bool:
        doc_id = self._ids[table].pop(key, None)
        if doc_id is None:
            return False
        self._db.table(table).remove(doc_ids=[doc_id])
        return True

    def _all(self, table: str) -> list[Record]:
        return [_copy(dict(document)) for document in self._db.table(table).all()]

    def _get_value(self, table: str, name: str) -> Any:
        document = self._get(table, name)
        return None if document is None else document.get("value")

    def _set_value(self, table: str, name: str, value: object) -> None:
        _require_key(name)
        self._put(table, name, {"key": name, "value": _plain({"value": value})["value"]})

    def _index_delivery(self, key: str, record: Mapping[str, Any]) -> None:
        for normalised in _delivery_ids(record):
            self._delivery_by_message_id[normalised] = key
        uid = _meeting_uid(record)
        if uid:
            self._by_meeting.setdefault(uid, set()).add(key)
        if record.get("open"):
            self._open.add(key)
        else:
            self._open.discard(key)

    def _get_doc(self, table: str, key: str) -> Record:
        found = self._get(table, key)
        if found is None:  # the indexes are kept with every write; a miss is a bug
            raise KeyError(f"{table} has no record {key!r}")
        return found

    def _index_signal(self, record: Mapping[str, Any]) -> None:
        normalised = _message_id(record.get("message_id"))
        if normalised is not None:
            self._signal_message_ids.add(normalised)


def _load(path: Path) -> schema.Document:
    """Read, check and if need be upgrade the state file; write a fresh one when there is none."""
    raw = read_state_file(path)
    if raw is None:
        document = schema.empty_document()
        write_state_file(path, document)
        return document
    problem = schema.layout_problem(raw)
    if problem is not None:
        raise StoreCorruptError(path, problem)
    document = cast(schema.Document, raw)
    try:
        version = schema.version_of(document)
    except ValueError as error:
        raise StoreCorruptError(path, str(error)) from error
    current = schema.current_version()
    if version > current:
        raise StoreVersionError(path, version, current)
    if version < current:
        try:
            schema.migrate(document, version)
        except Exception as error:
            problem = f"it cannot be upgraded from state schema {version} ({error!r})"
            raise StoreCorruptError(path, problem) from error
    problem = schema.layout_problem(document) or schema.content_problem(document)
    if problem is not None:
        raise StoreCorruptError(path, problem)
    if version < current:
        kept = path.with_name(f"{path.name}.schema-{version}.bak")
        try:
            keep_copy(path, kept)
        except OSError as error:
            problem = f"cannot keep a copy of {path} before upgrading it: {error.strerror}"
            raise StoreError(problem) from error
        write_state_file(path, document)
        logger.info("upgraded %s from state schema %d to %d; kept %s", path, version, current, kept)
    return document


def _replace_with(document: Record) -> Callable[[MutableMapping[str, Any]], None]:
    def replace(stored: MutableMapping[str, Any]) -> None:
        stored.clear()
        stored.update(document)

    return replace


def _require_table(table: str) -> None:
    if table not in schema.RECORD_TABLES:
        raise ValueError(f"{table!r} is not a record table of the state")


def _require_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"a store key is a non-empty string, got {key!r}")


def _record(key: str, record: Mapping[str, object]) -> Record:
    _require_key(key)
    plain = _plain(record)
    stated = plain.pop("key", key)
    if stated != key:
        raise ValueError(f"record says its key is {stated!r} but is put under {key!r}")
    return {"key": key, **plain}


def _plain(record: Mapping[str, object]) -> Record:
    """A copy of ``record`` made of JSON values only; datetimes become ISO strings in UTC."""
    try:
        text = json.dumps(record, default=_json_value, allow_nan=False, ensure_ascii=False)
        # A lone surrogate (from badly decoded mail) would make every later write of the file fail.
        text.encode("utf-8")
    except NaiveDateTimeError:
        raise
    except TypeError as error:
        raise TypeError(f"a store record must hold JSON values only: {error}") from error
    except ValueError as error:
        raise ValueError(f"a store record must hold JSON values only: {error}") from error
    plain = json.loads(text)
    if not isinstance(plain, dict):
        raise TypeError(f"a store record is a mapping, got {type(record).__name__}")
    return plain


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return require_aware("a stored time", value).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _delivery_ids(record: Mapping[str, Any]) -> list[str]:
    """Every Message-ID a delivery answers to: its own and its reminders'."""
    values = [record.get("message_id"), *(record.get("reminder_ids") or [])]
    return [n for n in (_message_id(v) for v in values) if n is not None]


def _meeting_uid(record: Mapping[str, Any]) -> str:
    """The series UID of the meeting a delivery is about ("" when none)."""
    uid = record.get("meeting_uid")
    return uid if isinstance(uid, str) else ""


def _message_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    normalised = value.strip().strip("<>").strip()
    return normalised or None


def _signal_key(record: Record) -> str:
    identity = record.get("id")
    if isinstance(identity, str) and identity:
        return identity
    message_id = _message_id(record.get("message_id"))
    if message_id is not None:
        return message_id
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
