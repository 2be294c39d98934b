"""``aeflow invite``: book a client meeting in the AE's calendar and send its meeting request.

The meeting is written to the calendar as the AE would write it (tagged with the client's
category, the agenda and what to bring in its notes), and the invitation policy takes it from
there, exactly as for an appointment the AE tagged by hand: the request goes to the client's
contacts marked ``invite`` and the client's team, and later changes send updates. So a running
daemon sends it at its next sync; with none running, the command sends it at once.
"""

from __future__ import annotations

import argparse
import tomllib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aeflow.bootstrap import bootstrap, build_calendar
from aeflow.clock import Clock, FixedClock, SystemClock, parse_instant
from aeflow.compose_action import ActionComposer
from aeflow.config import Config, load_config, working_calendar
from aeflow.config_schema import Invalid, duration
from aeflow.engine import Engine
from aeflow.state import ae_info
from aeflow.storage_file import StoreLockedError
from aeflow.store import Store
from calendar_sync.port import CalendarWriter
from rules.agenda import Topic, overrun, parse_agenda, parse_bring
from rules.errors import UserError
from rules.invitations import invitation_actions
from rules.model import Action, Attendee, Client, Meeting, Person, Role
from rules.planning import PlanState

MAX_AGENDA_BYTES = 64 * 1024


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    clock: Clock = (
        FixedClock(parse_instant(args.now, config.ae.timezone)) if args.now else SystemClock()
    )
    now = clock.now()
    meeting = _meeting(config, args)
    if meeting.start <= now:
        raise UserError(f"the meeting would start in the past ({args.start}); give a later --start")
    action = _preview(config, meeting, now)
    composer = ActionComposer(config)
    message = composer.compose(action, Store.memory())
    print(f"To:      {message['To']}")
    print(f"Subject: {message['Subject']}")
    print()
    body = message.get_body(("plain",))
    print(body.get_content().rstrip() if body is not None else "")
    print()
    if args.dry_run:
        count = len(action.recipients)
        print(f"dry run: nothing booked in the calendar, nothing sent ({count} recipients)")
        return 0
    calendar = build_calendar(config)
    if not isinstance(calendar, CalendarWriter):
        raise UserError("this calendar backend cannot create meetings; book it in your calendar")
    where = calendar.create_event(meeting)
    print(f"booked   {meeting.uid} in {where}")
    try:
        app = bootstrap(config, clock)
    except StoreLockedError:
        print("aeflow is running: it sends the meeting request at its next sync")
        return 0
    try:
        report = Engine(app).tick()
    finally:
        app.close()
    sent = [s for s in report.sent if s.action.data.get("meeting_key") == meeting.key]
    for item in report.sent:
        to = ", ".join(item.action.recipients)
        print(f"sent     {item.action.key}  {item.action.kind} -> {to}")
    if not sent:
        print("the meeting request was not sent now; `aeflow status` and the log say why")
        return 1
    return 0


def _client(config: Config, name: str) -> Client:
    client = config.client_named(name)
    if client is None:
        # A unique beginning of the name is enough ("acme" for "Acme Beverages").
        matches = [c for c in config.clients if c.name.casefold().startswith(name.casefold())]
        client = matches[0] if len(matches) == 1 and name.strip() else None
    if client is None:
        known = ", ".join(c.name for c in config.clients) or "none"
        raise UserError(f"no client named {name!r} in {config.source} (clients: {known})")
    if not client.category:
        raise UserError(
            f"client {client.name!r} has no category in {config.source}: give it one "
            "(clients.category), so that its meetings can be recognised in your calendar"
        )
    return client


def _meeting(config: Config, args: argparse.Namespace) -> Meeting:
    client = _client(config, args.client)
    zone = ZoneInfo(config.ae.timezone)
    start = parse_instant(args.start, config.ae.timezone).astimezone(zone)
    if args.end:
        end = parse_instant(args.end, config.ae.timezone).astimezone(zone)
    else:
        try:
            end = start + duration(args.duration or "1h")
        except Invalid as error:
            raise UserError(f"--duration: {error}") from None
    if end <= start:
        raise UserError("the meeting must end after it starts: check --end or --duration")
    subject = " ".join(args.subject.split())
    if not subject:
        raise UserError("--subject is empty")
    body = _agenda_text(args.agenda) if args.agenda else ""
    topics = parse_agenda(body)
    over = overrun(topics, end - start)
    if over:
        total = sum(t.minutes for t in topics)
        length = int((end - start).total_seconds() // 60)
        raise UserError(
            f"the agenda takes {total} minutes and the meeting {length}: shorten the topics or "
            "lengthen the meeting (nothing was booked or sent)"
        )
    optional = tuple(Attendee(Person(e), Role.OPTIONAL) for e in args.optional or ())
    for attendee in optional:
        if "@" not in attendee.person.email:
            raise UserError(f"--optional {attendee.person.email!r} is not an e-mail address")
    return Meeting(
        uid=f"{uuid.uuid4()}@aeflow",
        subject=subject,
        start=start,
        end=end,
        location=" ".join((args.location or "").split()),
        attendees=optional,
        categories=(client.category,),
        body=body,
        timezone=zone.key,
    )


def _agenda_text(path: Path) -> str:
    """The agenda file as the lines an AE writes in an appointment's notes."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read the agenda {path}: {error.strerror}") from None
    if len(data) > MAX_AGENDA_BYTES:
        raise UserError(f"the agenda {path} is larger than {MAX_AGENDA_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"the agenda {path} is not UTF-8 text") from None
    if path.suffix.lower() == ".toml":
        topics, bring = _toml_agenda(path, text)
    else:
        topics, bring = list(parse_agenda(text)), list(parse_bring(text))
    if not topics:
        raise UserError(
            f"no topics with a time in {path}: write lines like '1. Creative review - 30 min' "
            "(or, in TOML, [[topic]] title = ... minutes = ...)"
        )
    lines = [f"{n}. {t.title} - {t.minutes} min" for n, t in enumerate(topics, 1)]
    if bring:
        lines.append("Bring: " + ", ".join(bring))
    return "\n".join(lines)


def _toml_agenda(path: Path, text: str) -> tuple[list[Topic], list[str]]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"the agenda {path} is not valid TOML: {error}") from None
    topics: list[Topic] = []
    for index, item in enumerate(data.get("topic", []), 1):
        title = item.get("title") if isinstance(item, dict) else None
        minutes = item.get("minutes") if isinstance(item, dict) else None
        if not isinstance(title, str) or not title.strip():
            raise UserError(f"{path}: topic {index} has no title")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 600:
            raise UserError(f"{path}: topic {index} ({title!r}) needs minutes between 1 and 600")
        topics.append(Topic(" ".join(title.split()), minutes))
    bring = data.get("bring", [])
    if not isinstance(bring, list) or not all(isinstance(b, str) for b in bring):
        raise UserError(f"{path}: bring must be a list of strings")
    return topics, [" ".join(b.split()) for b in bring if b.strip()]


def _preview(config: Config, meeting: Meeting, now: datetime) -> Action:
    """The invitation the policy will send for ``meeting``, planned on its own."""
    state = PlanState(
        ae=ae_info(config),
        clients=config.clients,
        meetings=(meeting,),
        deliveries=(),
        done=frozenset(),
        workdays=working_calendar(config.workdays, config.ae.timezone, warn=lambda _: None),
    )
    actions = list(invitation_actions(state, ZoneInfo(config.ae.timezone), now))
    if not actions or actions[0].kind != "invitation":
        raise UserError("this meeting would not be sent as an invitation; check the client")
    if not actions[0].recipients:
        raise UserError("nobody to invite: mark the client's contacts invite = true")
    return actions[0]
