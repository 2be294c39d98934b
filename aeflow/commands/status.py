"""``aeflow status`` and ``aeflow plan``: what stands, and what will happen when."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aeflow import quarantine
from aeflow.clock import parse_instant
from aeflow.commands.common import open_app
from aeflow.engine import SENDING_HELD, Engine
from aeflow.records import delivery_from_record, parse_iso
from aeflow.report import meeting_line
from aeflow.state import build_state
from mailer.signals import sanitise
from rules.clients import client_of_meeting
from rules.confirmation import confirmation_key
from rules.minutes import open_followups
from rules.planning import key_part

LOOK_AHEAD = timedelta(days=14)


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%m-%d %a %H:%M") if moment else "-"


def status(args: argparse.Namespace) -> int:
    app, zone = open_app(args)
    try:
        now = app.clock.now()
        engine = Engine(app)
        current = engine.plan_now(now)
        store = app.store
        # The meetings as the planner sees them: with the responses that came by mail.
        view = build_state(app, frozenset(), None, now)
        meetings = sorted(view.meetings, key=lambda m: m.start)
        # Read through the store's indexes: what is shown, not the whole history.
        keys = [confirmation_key(m) for m in meetings]
        outbox = {k: r for k in keys if (r := store.outbox_get(k)) is not None}
        deliveries = {
            k: delivery_from_record(r) for k in keys if (r := store.delivery_get(k)) is not None
        }
        requests: dict[str, dict[str, object]] = {}
        for meeting in meetings:
            for found in store.deliveries_for_meeting(meeting.uid):
                if found.get("kind") == "invitation" and found.get("meeting") == meeting.key:
                    latest = requests.get(meeting.key)
                    if latest is None or str(found["sent_at"]) > str(latest["sent_at"]):
                        requests[meeting.key] = found
        for still_open in store.open_deliveries():
            deliveries[str(still_open["key"])] = delivery_from_record(still_open)
        digests = [
            r
            for k in sorted(store.outbox_keys(frozenset({"sent"})))
            if k.startswith("digest:") and (r := store.outbox_get(k)) is not None
        ]
        held = store.meta_get(SENDING_HELD)
        aside = quarantine.listed(store)
    finally:
        app.close()
    if isinstance(held, dict):
        _print_held(held, len(current.due), zone)
    if aside:
        print(f"Set aside, not read ({len(aside)}; fix or remove each, and it is read again):")
        for where, why, since in aside[:20]:
            print(f"  {sanitise(where, 120)}: {sanitise(why, 240)} (since {_when(since, zone)})")
        if len(aside) > 20:
            print(f"  and {len(aside) - 20} more")
        print()
    planned = {a.key: a for a in (*current.due, *current.upcoming)}
    print(f"Client meetings in the next {LOOK_AHEAD.days} days (as of {_when(now, zone)}):")
    shown = 0
    for meeting in meetings:
        client = client_of_meeting(meeting, app.config.clients)
        if client is None or meeting.cancelled or not now <= meeting.start <= now + LOOK_AHEAD:
            continue
        shown += 1
        print("  " + meeting_line(meeting, app.config))
        request = requests.get(meeting.key)
        if request is not None:
            sequence = str(request["key"]).split(":")[-2]
            what = "meeting request" if sequence == "0" else f"meeting request update {sequence}"
            print(f"    {what} sent {_when(parse_iso(str(request['sent_at'])), zone)}")
        key = confirmation_key(meeting)
        record, delivery = outbox.get(key), deliveries.get(key)
        if record and record.get("status") == "sent":
            sent_at = parse_iso(str(record["sent_at"])) if record.get("sent_at") else None
            print(f"    confirmation sent {_when(sent_at, zone)}")
        elif key in planned:
            print(f"    confirmation due {_when(planned[key].due, zone)}")
        elif record:
            print(f"    confirmation {record.get('status')}: {record.get('reason', '')}")
        for attendee in meeting.attendees:
            state = delivery.status_of(attendee.person.email) if delivery else None
            tracked = "-"
            if state is not None:
                detail = state.detail.split("|")[0]
                tracked = f"{state.status.value} ({detail})" if detail else state.status.value
            print(
                f"    {sanitise(attendee.person.email, 60):<36} {attendee.response.value:<13} "
                f"{tracked}"
            )
    if not shown:
        print("  none")
    print("\nAwaiting confirmation:")
    waiting = 0
    chased = {m.key: confirmation_key(m) for m in meetings if not m.cancelled}
    clients = {c.name: c for c in app.config.clients}
    for delivery in deliveries.values():
        client = clients.get(delivery.client)
        if not delivery.open or client is None:
            continue
        if delivery.kind == "confirmation" and chased.get(delivery.meeting) != delivery.key:
            continue  # about a meeting that moved or was cancelled: no longer chased
        for recipient in delivery.recipients:
            if recipient.status.value not in ("sent", "delivered", "failed"):
                continue
            if not client.owns_address(recipient.email):
                continue  # colleagues copied on client mail are not chased
            waiting += 1
            tail = f"{key_part(delivery.key)}:{key_part(recipient.email)}"
            deadlines = [
                f"{label} {_when(planned[key].due, zone)}"
                for label, key in (
                    ("reminder", f"remind:{tail}"),
                    ("manager", f"escalate:{tail}"),
                )
                if key in planned
            ]
            print(
                f"  {delivery.key}  {sanitise(delivery.subject, 50)!r} -> {recipient.email} "
                f"[{recipient.status.value}] sent {_when(delivery.sent_at, zone)}"
                + (f"; {', '.join(deadlines)}" if deadlines else "")
            )
    if not waiting:
        print("  nothing")
    print("\nOpen follow-ups from the minutes:")
    followups = open_followups(view, now)
    for meeting, step, owner in followups:
        due = step.due.isoformat() if step.due else "no date"
        who = owner or step.owner or "no owner"
        print(f"  {due}  {sanitise(step.what, 60)}  [{sanitise(who, 40)}]  ({meeting.subject})")
    if not followups:
        print("  none")
    print("\nEscalations sent to the manager:")
    escalations = [r for r in digests if r.get("covers")]
    for record in escalations:
        print(
            f"  {record['key']}  {record.get('sent_at', '')[:16]}  covering {len(record['covers'])}"
        )
    if not escalations:
        print("  none")
    return 0


def _print_held(held: dict[str, object], due: int, zone: ZoneInfo) -> None:
    """The connection health the engine left: what a server refused, and what to fix."""

    def when(name: str) -> str:
        value = held.get(name)
        return _when(parse_iso(str(value)), zone) if value else "-"

    problem = sanitise(str(held.get("problem", "")), 400)
    fix = sanitise(str(held.get("what_to_fix", "")), 400)
    print(f"Sending is held: {problem}; {fix}" if fix else f"Sending is held: {problem}")
    print(
        f"  since {when('since')}, last tried {when('tried')}; {due} mail(s) due wait for it, "
        "none marked failed: they go at the first tick after the fix\n"
    )


def plan(args: argparse.Namespace) -> int:
    app, zone = open_app(args)
    try:
        now = app.clock.now()
        until = (
            parse_instant(args.until, app.config.ae.timezone)
            if args.until
            else now + timedelta(days=7)
        )
        current = Engine(app).plan_now(now)
    finally:
        app.close()
    print(f"Planned from {_when(now, zone)} to {_when(until, zone)}, if nothing changes:")
    rows = [*current.due, *(a for a in current.upcoming if a.due <= until)]
    for action in rows:
        when = "now" if action.due <= now else _when(action.due, zone)
        print(f"  {when:<16} {action.kind:<17} {action.key}  -> {', '.join(action.recipients)}")
    if not rows:
        print("  nothing")
    return 0
