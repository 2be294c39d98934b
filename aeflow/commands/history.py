"""``aeflow history``: what was sent to whom, when, and what confirmed it, from the monthly
archives and the live state. Read-only: it takes no lock, so it runs beside the daemon."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aeflow import archive
from aeflow import store_schema as schema
from aeflow.config import load_config
from aeflow.records import parse_iso
from aeflow.storage_file import read_state_file
from mailer.signals import sanitise
from rules.errors import UserError


def _deliveries(path: Path) -> Iterator[dict[str, Any]]:
    document = read_state_file(path)
    if not isinstance(document, dict):
        return
    for entry in document.get(schema.DELIVERIES, {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("sent_at"), str):
            yield entry


def _since(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text!r} is not a date like 2026-09-01") from None


def collect(
    state: Path, client: str | None, since: date | None, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """The deliveries of the archive and the live state, oldest first, each once."""
    found: dict[str, dict[str, Any]] = {}
    folder = state.parent / archive.FOLDER
    paths = archive.month_files(folder)
    if since is not None:
        paths = [p for p in paths if p.stem >= f"{since:%Y-%m}"]
    for path in [*paths, state]:  # the live state last: its records are the newest word
        for entry in _deliveries(path):
            sent = parse_iso(str(entry["sent_at"]))
            if since is not None and sent.astimezone(zone).date() < since:
                continue
            if client and str(entry.get("client", "")).casefold() != client.casefold():
                continue
            found[str(entry["key"])] = entry
    return sorted(found.values(), key=lambda e: (str(e["sent_at"]), str(e["key"])))


def _recipient(entry: dict[str, Any], zone: ZoneInfo) -> dict[str, str]:
    at = entry.get("at")
    when = parse_iso(at).astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else ""
    return {
        "email": str(entry.get("email", "")),
        "status": str(entry.get("status", "")),
        "by": str(entry.get("detail", "")).split("|")[0],
        "at": when,
    }


@dataclass(frozen=True)
class Sent:
    sent_at: str
    kind: str
    client: str
    subject: str
    key: str
    open: bool
    recipients: list[dict[str, str]]


def history(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    zone = ZoneInfo(config.ae.timezone)
    rows = [
        Sent(
            sent_at=parse_iso(str(entry["sent_at"])).astimezone(zone).isoformat(timespec="minutes"),
            kind=str(entry.get("kind", "")),
            client=str(entry.get("client", "")),
            subject=str(entry.get("subject", "")),
            key=str(entry["key"]),
            open=bool(entry.get("open")),
            recipients=[_recipient(r, zone) for r in entry.get("recipients", [])],
        )
        for entry in collect(config.backend.state, args.client, _since(args.since), zone)
    ]
    if args.json:
        print(json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("nothing sent" + (f" to {args.client}" if args.client else "") + " in that time")
        return 0
    for row in rows:
        when = datetime.fromisoformat(row.sent_at).strftime("%Y-%m-%d %H:%M")
        print(
            f"{when}  {sanitise(row.client, 40) or '-'}  {row.kind}  "
            f"{sanitise(row.subject, 80)!r}" + ("  (still tracked)" if row.open else "")
        )
        for r in row.recipients:
            how = f" by {r['by']}" if r["by"] else ""
            at = f" {r['at']}" if r["at"] and r["status"] != "sent" else ""
            print(f"    {sanitise(r['email'], 60):<36} {r['status']}{how}{at}")
    return 0
