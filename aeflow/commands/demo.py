"""``aeflow demo [--dir DIR]``: a sample workspace, and aeflow run on it.

Nothing leaves the machine."""

from __future__ import annotations

import argparse
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from aeflow.bootstrap import bootstrap
from aeflow.clock import SystemClock
from aeflow.commands.check_config import summary
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_workspace import write_workspace
from aeflow.records import meeting_from_record
from aeflow.report import describe_signal, meeting_line
from aeflow.sync import sync_once
from rules.errors import UserError

MARKER = ".aeflow-demo"


def run(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    _prepare(folder)
    clock = SystemClock()
    now = clock.now()
    config_path = write_workspace(folder, now, _first_day(now))
    (folder / MARKER).write_text("written by aeflow demo; the next `aeflow demo` replaces it\n")
    print(f"== aeflow demo in {folder}/ (sample data; nothing leaves this machine)\n")
    config = load_config(config_path)
    print("== 1. the configuration (aeflow check-config)")
    print(summary(config))
    app = bootstrap(config, clock)
    try:
        report = sync_once(app)
        meetings = sorted(
            (meeting_from_record(r) for r in app.store.meetings()), key=lambda m: m.start
        )
        sent = {r.message_id: r for r in app.mail.sent_since(now - timedelta(days=14))}
    finally:
        app.close()
    print(f"\n== 2. the calendar: {len(meetings)} occurrences read from {config.backend.calendar}")
    for meeting in meetings:
        print("  " + meeting_line(meeting, config))
    print(f"\n== 3. the inbox: {len(report.signals)} signals from {config.backend.inbox}")
    for signal in report.signals:
        print("  " + describe_signal(signal))
        matched = next((sent[m] for m in signal.answers if m in sent), None)
        if matched is not None:
            verdict = "confirms it" if signal.kind.confirms_receipt else "confirms nothing"
            print(f"      -> answers the sent mail {matched.key!r}: {verdict}")
    print(f"\n== 4. problems: {len(report.problems)}, reported and skipped; the rest went on")
    for problem in report.problems:
        print(f"  {problem}")
    print(
        f"\nThe state is in {config.backend.state}. Try:\n"
        f"  aeflow inspect {folder}/calendar/*.ics\n"
        f"  aeflow inspect --json {folder}/mail/inbox/new/*\n"
        f"  aeflow sync -c {config_path}"
    )
    return 0


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


def _first_day(now: datetime) -> date:
    """The next working day after today, in the demo config's zone and country."""
    workdays = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
    return workdays.next_working_day(now.astimezone(workdays.zone).date())
