"""Taking minutes in: from the AE's reply to a prompt, or from ``aeflow minutes submit``.

What is taken in is stored; the planner then sends it (the minutes mail to every attendee) and
stops the reminders. A reply that cannot be taken in becomes a note to the AE saying why and what
to do; nothing goes to the client by mistake. A reply from anyone but the AE is ignored (and
logged): inbound mail never decides who aeflow writes to. A reply is the AE's only when its From
names the AE and nobody else: one that lists the AE among other addresses (anyone can write
that) is refused with a note to the AE, like any other reply that cannot be taken in.
"""

from __future__ import annotations

import logging
import shlex
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aeflow.bootstrap import App
from aeflow.records import iso, meeting_from_record
from mailer.headers import header_addresses
from mailer.minutes_text import is_empty_minutes, parse_minutes, read_reply
from mailer.signals import sanitise
from rules.clients import client_of_meeting
from rules.errors import UnreadableInput, UserError
from rules.model import Meeting, Signal, SignalKind, normalise_email

log = logging.getLogger(__name__)

LIMIT = 200_000  # characters of minutes text; a longer reply is refused, not cut
PROMPT_PREFIX = "minutes-prompt:"


def versions(app: App, meeting_key: str) -> list[dict[str, Any]]:
    found = [r for r in app.store.minutes_all() if r.get("meeting") == meeting_key]
    return sorted(found, key=lambda r: int(r.get("version", 1)))


def submit_command(app: App, meeting_key: str, correction: bool = False) -> str:
    flag = " --correction" if correction else ""
    return (
        f"aeflow minutes submit {shlex.quote(meeting_key)} "
        f"-c {shlex.quote(str(app.config.source))} --file minutes.md{flag}"
    )


def find_meeting(app: App, wanted: str) -> Meeting:
    """The meeting a user names: its key, or a prefix of its key, or its exact subject."""
    records = app.store.meetings()
    exact = [r for r in records if r["key"] == wanted]
    if not exact:
        exact = [r for r in records if str(r["key"]).startswith(wanted)] or [
            r for r in records if r.get("subject") == wanted
        ]
    if len(exact) != 1:
        hint = "no meeting" if not exact else f"{len(exact)} meetings"
        raise UserError(
            f"{hint} matches {wanted!r}; `aeflow minutes list -c FILE` shows the keys to use"
        )
    return meeting_from_record(exact[0])


def store_minutes(
    app: App, meeting: Meeting, text: str, now: datetime, source: str, correction: bool
) -> dict[str, Any]:
    """Keep minutes for ``meeting``; the planner sends them. Raises ``UserError`` when refused."""
    if meeting.cancelled:
        raise UserError(f"{meeting.subject!r} was cancelled; no minutes are sent for it")
    if client_of_meeting(meeting, app.config.clients) is None:
        raise UserError(f"{meeting.subject!r} is not a client meeting; aeflow sends no minutes")
    if len(text) > LIMIT:
        raise UserError(f"the minutes are {len(text)} characters long; the limit is {LIMIT}")
    today = now.astimezone(app.zone).date()
    minutes = parse_minutes(text, today=today)
    if is_empty_minutes(minutes):
        raise UserError("the minutes are empty: write the conclusions and next steps first")
    earlier = versions(app, meeting.key)
    if earlier and not correction:
        raise UserError(
            f"minutes for {meeting.subject!r} were already taken in "
            f"({earlier[-1].get('submitted_at', '')}); to send a corrected version, run "
            f"`{submit_command(app, meeting.key, correction=True)}`"
        )
    version = (int(earlier[-1]["version"]) + 1) if earlier else 1
    record = {
        "meeting": meeting.key,
        "version": version,
        "submitted_at": iso(now),
        "source": source,
        "text": minutes.text,
        "structured": minutes.structured,
        "conclusions": list(minutes.conclusions),
        "questions": list(minutes.questions),
        "next_steps": [
            {"what": s.what, "owner": s.owner, "due": s.due.isoformat() if s.due else ""}
            for s in minutes.next_steps
        ],
    }
    app.store.minutes_put(f"{meeting.key}|v{version}", record)
    late = now > meeting.end + app.config.policies.minutes.deadline
    log.info(
        "minutes v%d for %s taken in from %s%s",
        version,
        sanitise(meeting.key, 120),
        source,
        " (late: after the deadline)" if late else "",
    )
    return record


def take_reply(app: App, signal: Signal) -> None:
    """A reply to a minutes prompt: take it in, or tell the AE why not."""
    if signal.kind is not SignalKind.REPLY:
        return
    # Only the prompts are read, through the store's index of sent keys: not every record.
    store = app.store
    sent_prompts = (
        store.outbox_get(k)
        for k in store.outbox_keys(frozenset({"sent"}))
        if k.startswith(PROMPT_PREFIX)
    )
    prompts = {
        str(r.get("message_id", "")).strip("<>"): r
        for r in sent_prompts
        if r is not None and r.get("message_id")
    }
    prompt = next(
        (prompts[a.strip("<>")] for a in signal.answers if a.strip("<>") in prompts), None
    )
    if prompt is None:
        return
    ae = app.config.ae.email
    message: EmailMessage | None = None
    if normalise_email(signal.sender) != ae:
        # The signal knows the first author only: one naming the AE further on is refused below.
        message = _fetch(app, signal)
        if message is None or ae not in header_addresses(message, "From"):
            log.warning(
                "ignored a reply to a minutes prompt from %s: only the AE's own replies count",
                sanitise(signal.sender, 80),
            )
            return
    now = app.clock.now()
    meeting_record = app.store.get_meeting(str(prompt.get("meeting", "")))
    subject = sanitise(signal.subject, 200)
    if meeting_record is None:
        _note(app, signal, "", subject, "unknown-meeting", now, "")
        return
    meeting = meeting_from_record(meeting_record)
    if message is None:
        message = _fetch(app, signal)
        if message is None:
            return
    authors = header_addresses(message, "From")
    if authors != [ae]:
        reason = _not_the_ae_alone(authors)
        _note(app, signal, meeting.subject, subject, reason, now, submit_command(app, meeting.key))
        return
    try:
        reply = read_reply(message, limit=LIMIT)
    except UnreadableInput:
        reply = None
    text = reply.text if reply is not None else ""
    reason = ""
    if meeting.cancelled:
        reason = "cancelled"
    elif reply is not None and reply.truncated:
        reason = "too-long"
    elif is_empty_minutes(parse_minutes(text, today=now.astimezone(app.zone).date())):
        reason = "empty"
    elif versions(app, meeting.key):
        reason = "already-sent"
    if reason:
        command = submit_command(app, meeting.key, correction=reason == "already-sent")
        _note(app, signal, meeting.subject, subject, reason, now, command)
        return
    store_minutes(app, meeting, text, now, "reply", correction=False)


def _fetch(app: App, signal: Signal) -> EmailMessage | None:
    """The reply itself, from the inbox; ``None`` (logged) when it is no longer there."""
    raw = app.mail.fetch(signal.message_id)
    if raw is None:
        log.warning("the reply %s is no longer in the inbox", sanitise(signal.message_id, 120))
        return None
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _not_the_ae_alone(authors: list[str]) -> str:
    """Why a reply whose From is not the AE alone is refused, naming what it lists."""
    if not authors:
        return "its From line names no sender, so it cannot be known to be yours"
    listed = sanitise(", ".join(authors[:5]) + (", ..." if len(authors) > 5 else ""), 160)
    return f"its From line names {len(authors)} senders, not you alone: {listed}"


def _note(
    app: App,
    signal: Signal,
    meeting_subject: str,
    reply_subject: str,
    reason: str,
    now: datetime,
    command: str,
) -> None:
    log.warning("a reply to a minutes prompt was not taken in: %s", reason)
    app.store.minutes_note_put(
        signal.message_id or iso(now),
        {
            "meeting_subject": meeting_subject,
            "reply_subject": reply_subject,
            "reason": reason,
            "at": iso(now),
            "command": command,
        },
    )


def note_failure(app: App, signal: Signal, reason: str) -> None:
    """Tell the AE that their reply could not be taken in, with the command to use instead."""
    _note(
        app,
        signal,
        "",
        sanitise(signal.subject, 200),
        f"error: {sanitise(reason, 200)}",
        app.clock.now(),
        f"aeflow minutes submit MEETING -c {shlex.quote(str(app.config.source))} --file minutes.md",
    )
