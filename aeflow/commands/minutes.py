"""``aeflow minutes submit|list|show``: minutes owed, taken in, and sent."""

from __future__ import annotations

import argparse
import sys
from zoneinfo import ZoneInfo

from aeflow.commands.common import open_app
from aeflow.minutes_intake import find_meeting, store_minutes, versions
from aeflow.records import meeting_from_record, parse_iso
from mailer.signals import sanitise
from rules.clients import client_of_meeting
from rules.errors import UserError
from rules.minutes import minutes_key, prompt_key


def submit(args: argparse.Namespace) -> int:
    if args.file:
        try:
            text = args.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read {args.file}: {error}") from None
    else:
        if sys.stdin.isatty():
            print("Type the minutes, then Ctrl-D:", file=sys.stderr)
        text = sys.stdin.read()
    app, _ = open_app(args)
    try:
        meeting = find_meeting(app, args.meeting)
        record = store_minutes(
            app, meeting, text, app.clock.now(), "command line", correction=args.correction
        )
    finally:
        app.close()
    what = "a corrected version" if record["version"] > 1 else "the minutes"
    print(
        f"Taken in {what} of {meeting.subject!r} ({len(record['conclusions'])} conclusions, "
        f"{len(record['next_steps'])} next steps). They go to every attendee at the next tick "
        "in working time (`aeflow tick` to send now)."
    )
    return 0


def list_owed(args: argparse.Namespace) -> int:
    app, zone = open_app(args)
    try:
        now = app.clock.now()
        policy = app.config.policies.minutes
        rows = []
        for record in app.store.meetings():
            meeting = meeting_from_record(record)
            if meeting.cancelled or meeting.end > now:
                continue
            if client_of_meeting(meeting, app.config.clients) is None:
                continue
            taken = versions(app, meeting.key)
            sent = app.store.outbox_get(minutes_key(meeting))
            prompt = app.store.outbox_get(prompt_key(meeting))
            deadline = meeting.end + policy.deadline
            late = bool(taken) and parse_iso(str(taken[0]["submitted_at"])) > deadline
            if sent and sent.get("status") == "sent":
                state = f"sent {_local(sent.get('sent_at'), zone)}" + (" (LATE)" if late else "")
            elif taken:
                state = "taken in, goes at the next tick"
            else:
                overdue = " LATE" if now > deadline else ""
                asked = " (prompt sent)" if prompt and prompt.get("status") == "sent" else ""
                state = f"owed by {deadline.astimezone(zone):%m-%d %H:%M}{overdue}{asked}"
            rows.append((meeting.start, meeting, state))
    finally:
        app.close()
    print("Client meetings that have ended, and their minutes:")
    for _, meeting, state in sorted(rows, key=lambda r: r[0]):
        when = meeting.start.astimezone(zone).strftime("%m-%d %H:%M")
        print(f"  {when}  {sanitise(meeting.subject, 50):<40} {state}")
        print(f"         key: {meeting.key}")
    if not rows:
        print("  none")
    return 0


def show(args: argparse.Namespace) -> int:
    app, zone = open_app(args)
    try:
        meeting = find_meeting(app, args.meeting)
        taken = versions(app, meeting.key)
    finally:
        app.close()
    if not taken:
        print(f"No minutes taken in yet for {meeting.subject!r}.")
        return 0
    for record in taken:
        print(
            f"== version {record['version']} ({record.get('source', '')}, "
            f"{_local(record.get('submitted_at'), zone)})"
        )
        for title, items in (
            ("Conclusions", record.get("conclusions", [])),
            ("Open questions", record.get("questions", [])),
        ):
            if items:
                print(f"{title}:")
                for item in items:
                    print(f"  - {item}")
        steps = record.get("next_steps", [])
        if steps:
            print("Next steps:")
            for step in steps:
                print(f"  - {step['what']} | {step['owner'] or '?'} | {step['due'] or '?'}")
        if not record.get("structured", True):
            print(record.get("text", ""))
    return 0


def _local(value: object, zone: ZoneInfo) -> str:
    if not value:
        return "-"
    return parse_iso(str(value)).astimezone(zone).strftime("%m-%d %H:%M")
