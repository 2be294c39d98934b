"""Inputs set aside: each calendar file or message that could not be read, kept with why, so
that ``aeflow status`` lists them and the log says each one once, not at every sync.

Kept in the state's meta under ``quarantine``: at most ``LIMIT`` entries, each dropped ``KEEP``
after it was first seen, or as soon as its file is gone. A quiet sync writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aeflow.records import iso, parse_iso
from aeflow.store import Store
from rules.errors import Problem

QUARANTINE = "quarantine"
LIMIT = 200
KEEP = timedelta(days=30)


def _entries(store: Store) -> dict[str, dict[str, Any]]:
    found = store.meta_get(QUARANTINE)
    return dict(found) if isinstance(found, dict) else {}


def note(store: Store, problems: Iterable[Problem], now: datetime) -> list[Problem]:
    """Record the problems of one sync; the ones not seen before (to be logged), in order."""
    entries = _entries(store)
    new: list[Problem] = []
    for problem in problems:
        known = entries.get(problem.where)
        if known is not None and known.get("reason") == problem.message:
            continue
        entries[problem.where] = {"reason": problem.message, "since": iso(now)}
        new.append(problem)
    if new:
        kept = {
            where: entry
            for where, entry in entries.items()
            if now - parse_iso(str(entry["since"])) < KEEP
        }
        newest = sorted(kept.items(), key=lambda item: str(item[1]["since"]))[-LIMIT:]
        store.meta_set(QUARANTINE, dict(newest))
    return new


def listed(store: Store) -> list[tuple[str, str, datetime]]:
    """(where, why, since) of what is set aside, newest first; files since removed left out."""
    out = []
    for where, entry in _entries(store).items():
        if where.startswith("/") and not Path(where).exists() and not Path(where).is_symlink():
            continue
        out.append((where, str(entry.get("reason", "")), parse_iso(str(entry["since"]))))
    return sorted(out, key=lambda item: item[2], reverse=True)
