"""What the commands share: the application for ``-c FILE``, on the clock ``--now`` names."""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo

from aeflow.bootstrap import App, bootstrap
from aeflow.clock import Clock, FixedClock, SystemClock, parse_instant
from aeflow.config import load_config


def open_app(args: argparse.Namespace) -> tuple[App, ZoneInfo]:
    """The application for ``args.config``, its clock fixed at ``args.now`` when given."""
    config = load_config(args.config)
    now = getattr(args, "now", None)
    clock: Clock = FixedClock(parse_instant(now, config.ae.timezone)) if now else SystemClock()
    return bootstrap(config, clock), ZoneInfo(config.ae.timezone)
