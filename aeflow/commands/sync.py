"""``aeflow sync -c FILE``: read the calendar and the inbox once into the state file."""

from __future__ import annotations

import argparse

from aeflow.bootstrap import bootstrap
from aeflow.config import load_config
from aeflow.report import describe_signal, meeting_line
from aeflow.sync import sync_once


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    app = bootstrap(config)
    try:
        report = sync_once(app)
    finally:
        app.close()
    for meeting in report.upserted:
        print("meeting  " + meeting_line(meeting, config))
    for key in report.removed:
        print(f"removed  {key}")
    for signal in report.signals:
        print("signal   " + describe_signal(signal))
    for problem in report.problems:
        print(f"problem  {problem}")
    print(
        f"{len(report.upserted)} meetings new or changed, {len(report.removed)} removed, "
        f"{len(report.signals)} signals, {len(report.problems)} problems"
    )
    return 1 if report.problems else 0
