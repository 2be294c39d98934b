"""``aeflow demo [--dir DIR] [--json]``: a week of an AE's client work, run by the real engine.

A workspace (config, vdir, Maildirs) is built in DIR; the engine then runs through a simulated
week, one tick every half hour, while the world answers through the same folders a real mailbox
would fill. The timeline shows what aeflow did and why; every mail it sent is left in DIR/eml.
"""

from __future__ import annotations

import argparse
import json
import logging
import mailbox
import shutil
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import demo_week, events, ticks, write_calendar, write_config
from aeflow.demo_world import World
from aeflow.engine import Engine, TickReport
from mailer.port import KEY_HEADER
from rules.errors import UserError
from rules.model import Action

MARKER = ".aeflow-demo"
STEP = timedelta(minutes=30)
ZONE = ZoneInfo("Asia/Shanghai")


def run(args: argparse.Namespace) -> int:
    if not args.verbose:
        # The timeline is the demo's output; the engine's own log lines would bury it.
        logging.getLogger().setLevel(logging.WARNING)
    folder: Path = args.folder
    _prepare(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("written by aeflow demo; the next `aeflow demo` replaces it\n")
    workdays = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
    week = demo_week(workdays, datetime.now(ZONE).date())
    eve = workdays.previous_working_day(week[0])
    world = World(folder)
    write_calendar(world, week)
    config_path = write_config(folder)
    config = load_config(config_path)
    pending = events(week, eve)
    moments = ticks(eve, week[-1], STEP, [e.at for e in pending])
    clock = FixedClock(moments[0])
    app = bootstrap(config, clock)
    counts: Counter[str] = Counter()
    skipped = 0
    out = (lambda line: None) if args.json else print
    out(f"aeflow demo: the week of {week[0]:%Y-%m-%d} for 王小明, two clients, in {folder}/")
    out("Nothing leaves this machine: mail is filed in Sent; the world writes to the inbox.\n")
    try:
        engine = Engine(app)
        for moment in moments:
            clock.set(moment)
            while pending and pending[0].at <= moment:
                event = pending.pop(0)
                world.now = event.at.astimezone(UTC)
                event.act(world)
                out(f"{_when(event.at)}  world      {event.describe}")
            report = engine.tick()
            for line, kind in _lines(report):
                out(line)
                counts[kind] += 1
            skipped += len(report.skipped)
    finally:
        app.close()
    files = _export_eml(folder)
    out(
        f"\n{sum(counts.values())} mails sent "
        f"({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}), "
        f"{skipped} actions given up; {len(moments)} ticks."
    )
    out(f"Every mail is in {folder}/eml/ ({files} files). Go on from here:")
    me = _program()
    out(f"  {me} status -c {config_path} --now {moments[-1].isoformat()}")
    out(f"  {me} minutes list -c {config_path} --now {moments[-1].isoformat()}")
    out(f"  {me} plan -c {config_path}")
    out(f"  {me} run -c {config_path}")
    if args.json:
        print(
            json.dumps(
                {
                    "sent": dict(sorted(counts.items())),
                    "skipped": skipped,
                    "ticks": len(moments),
                    "eml": files,
                }
            )
        )
    return 0


def _program() -> str:
    """How the user called aeflow (``.venv/bin/aeflow`` after ``make demo``), for the hints."""
    called = Path(sys.argv[0])
    if called.name != "aeflow":
        return "aeflow"
    try:
        return str(called.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(called)


def _when(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%a %m-%d %H:%M")


def _why(action: Action) -> str:
    data = action.data
    meeting = data.get("meeting")
    if isinstance(meeting, dict):
        return f"{meeting['subject']} ({meeting['weekday']} {meeting['start']})"
    original = data.get("original")
    if isinstance(original, dict):
        return f"about: {original['subject']}"
    if action.kind == "weekly":
        meetings = data.get("meetings")
        count = len(meetings) if isinstance(meetings, list) else 0
        return f"{action.client}'s next week: {count} meeting(s), and only its own"
    if action.kind == "weekly_team":
        groups = data.get("clients")
        return f"next week for the team, {len(groups) if isinstance(groups, list) else 0} client(s)"
    if action.kind == "minutes_problem":
        return f"a reply to a minutes prompt not taken in: {data.get('reason')}"
    items, late = data.get("items"), data.get("late_minutes")
    if isinstance(items, list) and isinstance(late, list):
        parts = [f"{len(items)} unconfirmed client mail(s)"] if items else []
        parts += [f"{len(late)} meeting(s) without minutes"] if late else []
        return "digest: " + ", ".join(parts)
    return ""


def _lines(report: TickReport) -> list[tuple[str, str]]:
    lines = []
    for sent in report.sent:
        action = sent.action
        who = ", ".join(action.recipients)
        lines.append(
            (
                f"{_when(sent.at)}  aeflow     {action.kind:<16} -> {who}  {_why(action)}",
                action.kind,
            )
        )
    return lines


def _export_eml(folder: Path) -> int:
    """Every sent message as a numbered .eml file, oldest first."""
    target = folder / "eml"
    target.mkdir(exist_ok=True)
    entries = []
    for entry in mailbox.Maildir(folder / "mail" / "sent", create=False):
        entries.append((str(entry.get("Date", "")), str(entry.get(KEY_HEADER, "")), entry))
    entries.sort(key=lambda e: _parsed(e[0]))
    for number, (_, key, entry) in enumerate(entries, start=1):
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in key)[:60]
        (target / f"{number:03d}-{safe}.eml").write_bytes(entry.as_bytes())
    return len(entries)


def _parsed(date_header: str) -> datetime:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


def _prepare(folder: Path) -> None:
    """An earlier demo is replaced; any other folder that holds something is left alone."""
    if not folder.exists():
        return
    if (folder / MARKER).exists():
        shutil.rmtree(folder)
    elif not folder.is_dir() or any(folder.iterdir()):
        raise UserError(
            f"{folder} exists and was not written by aeflow demo; "
            "name another folder with --dir, or move it away"
        )
    else:
        folder.rmdir()
