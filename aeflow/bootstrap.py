"""The one place that builds real adapters from the configuration. Tests hand in fakes instead."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aeflow.clock import Clock, SystemClock
from aeflow.config import Config, working_calendar
from aeflow.store import Store
from calendar_sync.port import CalendarBackend
from mailer.port import MailBackend
from rules.model import email_domain
from rules.workdays import WorkingCalendar

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    clock: Clock
    store: Store
    calendar: CalendarBackend
    mail: MailBackend
    workdays: WorkingCalendar

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.ae.timezone)

    def close(self) -> None:
        self.store.close()


def build_calendar(config: Config) -> CalendarBackend:
    """The calendar the configuration names; no state file is opened for it."""
    zone = ZoneInfo(config.ae.timezone)
    if config.backend.kind == "ews":
        from calendar_sync.ews import EwsCalendar
        from mailer.ews_session import EwsSession

        assert config.backend.ews is not None
        return EwsCalendar(EwsSession(config.backend.ews, zone), zone)
    from calendar_sync.vdir import VdirCalendar

    return VdirCalendar(config.backend.calendar, zone, max_bytes=config.backend.max_ics_bytes)


def bootstrap(
    config: Config,
    clock: Clock | None = None,
    *,
    store: Store | None = None,
    calendar: CalendarBackend | None = None,
    mail: MailBackend | None = None,
) -> App:
    """Build the application for ``config``: real adapters unless fakes are handed in.

    The store is opened (and locked) last, so a failure building an adapter leaves no lock behind.
    """
    clock = clock or SystemClock()
    backend = config.backend
    if backend.kind == "ews" and (calendar is None or mail is None):
        from mailer.ews import EwsMailbox
        from mailer.ews_session import EwsSession

        assert backend.ews is not None
        session = EwsSession(backend.ews, ZoneInfo(config.ae.timezone))
        if calendar is None:
            from calendar_sync.ews import EwsCalendar

            calendar = EwsCalendar(session, ZoneInfo(config.ae.timezone))
        if mail is None:
            mail = EwsMailbox(session, email_domain(config.ae.email), clock=clock.now)
    if calendar is None:
        calendar = build_calendar(config)
    if mail is None:
        from mailer.maildir import MaildirMailbox

        relay = None
        if backend.smtp is not None:
            from mailer.smtp_relay import SmtpRelay, settings_from_env

            smtp = backend.smtp
            relay = SmtpRelay(
                settings_from_env(
                    smtp.host, smtp.port, smtp.starttls, smtp.username, smtp.password_env
                )
            )
        mail = MaildirMailbox(
            backend.inbox,
            backend.sent,
            email_domain(config.ae.email),
            clock=clock.now,
            relay=relay,
            max_message_bytes=backend.max_mail_bytes,
            zone=ZoneInfo(config.ae.timezone),
        )
    workdays = working_calendar(config.workdays, config.ae.timezone, warn=log.warning)
    if store is None:
        store = Store.open(backend.state)
    return App(config, clock, store, calendar, mail, workdays)
