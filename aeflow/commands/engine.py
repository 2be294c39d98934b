"""``aeflow run`` and ``aeflow tick``."""

from __future__ import annotations

import argparse

from aeflow.bootstrap import bootstrap
from aeflow.clock import Clock, FileClock, SystemClock
from aeflow.commands.common import open_app
from aeflow.config import load_config
from aeflow.engine import Engine


def run(args: argparse.Namespace) -> int:
    from aeflow.daemon import Daemon

    config = load_config(args.config)
    clock: Clock = FileClock(args.clock) if args.clock else SystemClock()
    app = bootstrap(config, clock)
    try:
        return Daemon(Engine(app, catch_up=args.catch_up), real_time=args.clock is None).run()
    finally:
        app.close()


def tick(args: argparse.Namespace) -> int:
    app, zone = open_app(args)
    try:
        report = Engine(app, catch_up=args.catch_up).tick(dry_run=args.dry_run)
    finally:
        app.close()
    if report.sync is not None:
        for problem in report.sync.problems:
            print(f"problem  {problem}")
    for sent in report.sent:
        action = sent.action
        print(f"sent     {action.key}  {action.kind} -> {', '.join(action.recipients)}")
    for action in report.would_send:
        print(f"would send  {action.key}  {action.kind} -> {', '.join(action.recipients)}")
    for action, reason in report.held:
        print(f"held     {action.key}  {reason}")
    for skipped in report.skipped:
        print(f"skipped  {skipped.key}  {skipped.reason}")
    wake = report.next_wake.astimezone(zone).strftime("%Y-%m-%d %H:%M") if report.next_wake else "-"
    print(
        f"{len(report.sent)} sent, {len(report.would_send)} would send, "
        f"{len(report.skipped)} skipped, {len(report.held)} held; next due {wake}"
        + (" (dry run: nothing sent)" if args.dry_run else "")
    )
    # 1 when some input could not be read or some mail could not be rendered (README).
    unreadable = report.sync is not None and bool(report.sync.problems)
    return 1 if report.held or unreadable else 0
