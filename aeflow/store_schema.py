"""The shape of the state file, its schema version, and the migrations between versions.

The file is what TinyDB writes: ``{table: {document id: document}}``, every level a JSON object.
Each document of a keyed table carries its unique ``key``; the small tables (``_meta``, ``sync``)
hold ``{"key": name, "value": value}``. ``_meta`` holds ``schema``, the version of this layout.

A migration is a function that takes a document at version N and changes it in place to version
N + 1; ``MIGRATIONS[N]`` is that function, so the current version is ``len(MIGRATIONS)``. The runner
records the new version after each step, so a migration only reshapes data.

Everything here works on plain JSON values: no file, no TinyDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

META = "_meta"
SYNC = "sync"
MEETINGS = "meetings"
OUTBOX = "outbox"
DELIVERIES = "deliveries"
SIGNALS = "signals"
RESPONSES = "responses"
MINUTES = "minutes"
MINUTES_NOTES = "minutes_notes"

# Tables whose documents are records keyed by ``key``, and those holding one value per name.
RECORD_TABLES = (MEETINGS, OUTBOX, DELIVERIES, SIGNALS, RESPONSES, MINUTES, MINUTES_NOTES)
VALUE_TABLES = (META, SYNC)
KEYED_TABLES = RECORD_TABLES + VALUE_TABLES

SCHEMA = "schema"

Document = dict[str, Any]
Migration = Callable[[Document], None]


def _create_meta(document: Document) -> None:
    """0 -> 1: a file without a ``_meta`` table (as a bare TinyDB writes it) gets one."""
    set_value(document, META, SCHEMA, 1)


def _live_and_archive(document: Document) -> None:
    """1 -> 2: the file holds live state only; what is closed moves to monthly archives. The
    layout is the same: the engine's first daily archive pass, due at once on an upgraded file
    (it has no ``archived_on``), moves the history out. A file at 2 is refused by an aeflow that
    would not know that its history is elsewhere."""
    document.setdefault(META, {})


MIGRATIONS: list[Migration] = [_create_meta, _live_and_archive]


def current_version() -> int:
    """The schema version this aeflow writes (read at call time, so tests can add migrations)."""
    return len(MIGRATIONS)


def empty_document() -> Document:
    document: Document = {}
    set_value(document, META, SCHEMA, current_version())
    return document


def find_value(document: Document, table: str, name: str) -> tuple[bool, Any]:
    """Whether ``table`` holds ``name``, and its value."""
    for entry in document.get(table, {}).values():
        if entry.get("key") == name:
            return True, entry.get("value")
    return False, None


def set_value(document: Document, table: str, name: str, value: Any) -> None:
    """Set ``name`` in a value table of a raw document, adding the table or entry if missing."""
    entries: dict[str, Any] = document.setdefault(table, {})
    for entry in entries.values():
        if entry.get("key") == name:
            entry["value"] = value
            return
    next_id = max((int(doc_id) for doc_id in entries), default=0) + 1
    entries[str(next_id)] = {"key": name, "value": value}


def version_of(document: Document) -> int:
    """The schema version of a document; 0 when it has no ``_meta`` record.

    Raises ``ValueError`` when the recorded version is not a whole number.
    """
    found, version = find_value(document, META, SCHEMA)
    if not found:
        return 0
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"its schema version is {version!r}, not a whole number")
    return version


def migrate(document: Document, version: int) -> None:
    """Bring ``document`` from ``version`` to the current version, one step at a time, in place."""
    for step in range(version, current_version()):
        MIGRATIONS[step](document)
        set_value(document, META, SCHEMA, step + 1)


def layout_problem(document: Any) -> str | None:
    """What makes ``document`` something other than a TinyDB file, or ``None`` when it is one."""
    if not isinstance(document, dict):
        return f"its top level is a JSON {_json_kind(document)}, not an object of tables"
    for table, entries in document.items():
        if not isinstance(entries, dict):
            return f"table {table!r} is a JSON {_json_kind(entries)}, not an object of documents"
        for doc_id, entry in entries.items():
            if not doc_id.isdigit():
                return f"table {table!r} has a document id {doc_id!r} that is not a number"
            if not isinstance(entry, dict):
                return f"document {table}/{doc_id} is a JSON {_json_kind(entry)}, not an object"
    return None


def content_problem(document: Document) -> str | None:
    """What in a current-version document the store could not use, or ``None``."""
    for table in KEYED_TABLES:
        seen: set[str] = set()
        for doc_id, entry in document.get(table, {}).items():
            key = entry.get("key")
            where = f"document {table}/{doc_id}"
            if not isinstance(key, str) or not key:
                return f"{where} has no key"
            if key in seen:
                return f"{where} repeats the key {key!r}"
            seen.add(key)
            if table in VALUE_TABLES and "value" not in entry:
                return f"{where} ({key!r}) has no value"
            if table == OUTBOX and not isinstance(entry.get("status"), str):
                return f"{where} ({key!r}) has no status"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
