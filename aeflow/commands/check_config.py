"""``aeflow check-config FILE`` and ``aeflow config-reference``."""

from __future__ import annotations

import argparse
from datetime import time, timedelta

from aeflow.config import Config, load_config, reference_markdown
from aeflow.config_schema import WEEKDAYS, format_duration


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(summary(config))
    return 0


def reference(args: argparse.Namespace) -> int:
    print(reference_markdown())
    return 0


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _td(value: timedelta) -> str:
    return format_duration(value)


def summary(config: Config) -> str:
    """A one-screen summary of a valid configuration."""
    ae, backend, work, policies = config.ae, config.backend, config.workdays, config.policies
    lines = [
        f"{config.source} is valid.",
        f"  AE        {ae.name} <{ae.email}>, manager {ae.manager}, {ae.timezone}, {ae.language}",
        f"  backend   {backend.kind}: calendar {backend.calendar}",
        f"            inbox {backend.inbox}, sent {backend.sent}",
        f"            state {backend.state}, sync every {_td(backend.sync_interval)}",
    ]
    if backend.smtp:
        lines.append(
            f"            smtp {backend.smtp.host}:{backend.smtp.port}"
            f"{' starttls' if backend.smtp.starttls else ''}"
        )
    hours = " ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in work.hours)
    weekend = " ".join(WEEKDAYS[d] for d in work.weekend)
    lines.append(
        f"  workdays  {work.country or 'no public holidays'}, {hours}, weekend {weekend}, "
        f"{len(work.extra_holidays)} extra holidays, "
        f"{len(work.extra_working_days)} extra working days"
    )
    lines.append(f"  clients   {len(config.clients)}")
    for client in config.clients:
        deciders = sum(1 for c in client.contacts if c.decision_maker)
        lines.append(
            f"    {client.name} ({client.language}): {len(client.contacts)} contacts, "
            f"{deciders} decision-makers, team {len(client.team)}, "
            f"category {client.category or '-'}, domains {', '.join(client.domains) or '-'}"
        )
    c, r, m, w = policies.confirmation, policies.receipts, policies.minutes, policies.weekly
    lines.extend(
        [
            "  policies",
            f"    confirmation  {_on(c.enabled)} at {_hhmm(c.time)} the working day before; "
            f"decision-makers checked at {_hhmm(c.check_time)}",
            f"    receipts      {_on(r.enabled)}; reminder after {_td(r.confirm_within)} working, "
            f"manager after {_td(r.escalate_after)}",
            f"    minutes       {_on(m.enabled)}; asked {_td(m.delay)} after the end, reminder "
            f"at {_td(m.reminder_after)}, deadline {_td(m.deadline)}"
            f"{' (working hours)' if m.working_hours else ''}",
            f"    weekly        {_on(w.enabled)} at {_hhmm(w.time)} on the last working day",
        ]
    )
    if config.templates_folder:
        lines.append(f"  templates {config.templates_folder}")
    return "\n".join(lines)


def _on(enabled: bool) -> str:
    return "on" if enabled else "off"
