"""The schema of aeflow's TOML configuration: every key with its default, help text and converter.

The loader (``aeflow.config``) walks this schema, so a key that is not here is an error, a key
that is missing takes its default, and each converter's complaint is reported with its
``table.key``. The reference in ``docs/CONFIG.md`` is generated from this file
(``aeflow config-reference``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REQUIRED: Any = object()


class Invalid(ValueError):
    """A value a converter rejects; the message says what was expected."""


@dataclass(frozen=True)
class Option:
    converter: Callable[[Any], Any]
    default: Any
    help: str
    example: str = ""


@dataclass(frozen=True)
class Table:
    """A TOML table (``many=False``) or array of tables (``many=True``) with its options."""

    options: dict[str, Option]
    help: str
    many: bool = False
    tables: dict[str, Table] = field(default_factory=dict)


# --- converters: each returns the typed value or raises Invalid saying what it expected ---

_EMAIL = re.compile(
    r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_DURATION = re.compile(
    r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$"
)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
LANGUAGES = ("zh-CN", "en")
BACKENDS = ("local", "ews")
PLANNED_BACKENDS = ("graph", "imap")
EWS_AUTH = ("ntlm", "basic", "oauth2")
MB = 1024 * 1024
# Keys that would hold a secret in the file. Never options: secrets come from the environment
# or the keyring, and a key like these is refused with where to put the secret instead.
SECRET_KEYS = ("password", "secret", "client_secret", "token")


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {type(value).__name__} {value!r}")
    return value.strip()


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {value!r}")
    return value


def integer(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    return convert


def email(value: Any) -> str:
    text = string(value)
    if not _EMAIL.match(text):
        raise Invalid(f"expected an email address like name@example.com, got {value!r}")
    return text.lower()


def optional_email(value: Any) -> str:
    return "" if value == "" else email(value)


def domain(value: Any) -> str:
    text = string(value).lower().lstrip("@")
    if not re.match(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+$", text):
        raise Invalid(f"expected a mail domain like example.com, got {value!r}")
    return text


def list_of(item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    def convert(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise Invalid(f"expected a list, got {type(value).__name__} {value!r}")
        out = []
        for index, element in enumerate(value):
            try:
                out.append(item(element))
            except Invalid as error:
                raise Invalid(f"item {index + 1}: {error}") from None
        return tuple(out)

    return convert


def zone(value: Any) -> str:
    text = string(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a folder, a name too long for a file
        shown = text if len(text) <= 60 else text[:59] + "…"
        raise Invalid(f"expected an IANA time zone like Asia/Shanghai, got {shown!r}") from None
    return text


def language(value: Any) -> str:
    text = string(value)
    if text not in LANGUAGES:
        raise Invalid(f"expected one of {', '.join(LANGUAGES)}, got {value!r}")
    return text


def backend_kind(value: Any) -> str:
    text = string(value)
    if text in PLANNED_BACKENDS:
        raise Invalid(
            f'the {text!r} backend is not in this version of aeflow yet; use "local" or "ews"'
        )
    if text not in BACKENDS:
        raise Invalid(f"expected one of {', '.join(BACKENDS)}, got {value!r}")
    return text


def ews_auth(value: Any) -> str:
    text = string(value).lower()
    if text not in EWS_AUTH:
        raise Invalid(f"expected one of {', '.join(EWS_AUTH)}, got {value!r}")
    return text


def clock(value: Any) -> time:
    text = string(value)
    match = _CLOCK.match(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise Invalid(f"expected a time of day as HH:MM (24-hour), got {value!r}")
    return time(int(match[1]), int(match[2]))


# No duration aeflow takes (a horizon, an interval, a deadline) is sensibly longer than this.
MAX_DURATION = timedelta(days=3650)


def duration(value: Any) -> timedelta:
    text = string(value).lower()
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise Invalid(f"expected a duration like 30m, 4h, 1d or 1h30m, got {value!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    try:
        found = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        found = timedelta.max
    if found > MAX_DURATION:
        raise Invalid(f"expected a duration of at most 3650 days, got {value!r}")
    return found


def format_duration(value: timedelta) -> str:
    """The inverse of ``duration``: 1d, 4h, 1h30m, 10m."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 24 * 3600)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0m"


def span(value: Any) -> tuple[time, time]:
    text = string(value)
    begin, sep, end = text.partition("-")
    try:
        pair = (clock(begin.strip()), clock(end.strip())) if sep else None
    except Invalid:
        pair = None
    if pair is None or pair[0] >= pair[1]:
        raise Invalid(f"expected a span of working time like 09:00-12:00, got {value!r}")
    return pair


def day(value: Any) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(f"expected a date like 2027-02-06, got {value!r}")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday(value: Any) -> int:
    text = string(value).lower()[:3]
    if text not in WEEKDAYS:
        raise Invalid(f"expected a weekday name (mon ... sun), got {value!r}")
    return WEEKDAYS.index(text)


def env_name(value: Any) -> str:
    text = string(value)
    if text and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", text):
        raise Invalid(f"expected the name of an environment variable, got {value!r}")
    return text


def country(value: Any) -> str:
    text = string(value).upper()
    if text and not re.match(r"^[A-Z]{2}$", text):
        raise Invalid(f'expected a two-letter country code like CN or DE, or "", got {value!r}')
    return text


def is_secret_key(key: str) -> bool:
    """Whether ``key`` names a secret (``password``, ``api_token``, ...), which the file must not
    hold."""
    name = key.lower()
    return name in SECRET_KEYS or name.endswith(tuple(f"_{k}" for k in SECRET_KEYS))


def secret_advice(table: Table, key: str) -> str:
    """What to write instead of the secret ``key`` in ``table``: the keys this table has for it."""
    env = f"{key}_env" if f"{key}_env" in table.options else "password_env"
    if env not in table.options:
        return (
            "secrets do not go in this file; use password_env (an environment variable) in "
            "[backend.smtp] or [backend.ews], or the keyring"
        )
    keyring = (
        " or the keyring" if "keyring_service" in table.options and env == "password_env" else ""
    )
    return f"secrets do not go in this file; use {env} (an environment variable){keyring}"


# --- the schema ---

PERSON = {
    "name": Option(string, "", "The person's name as it should appear in mail."),
    "email": Option(email, REQUIRED, "The person's address."),
}

SCHEMA = Table(
    help="aeflow configuration",
    options={},
    tables={
        "ae": Table(
            help="The account executive aeflow works for.",
            options={
                "name": Option(string, REQUIRED, "Your name, as it signs mail.", '"王小明"'),
                "email": Option(email, REQUIRED, "Your own address; mail leaves from it."),
                "phone": Option(string, "", "Your phone number, printed in notices."),
                "manager": Option(email, REQUIRED, "Your manager's address: escalations go here."),
                "timezone": Option(zone, "Asia/Shanghai", "Your IANA time zone."),
                "language": Option(language, "zh-CN", "Language of mail to you and your manager."),
            },
        ),
        "backend": Table(
            help="Where your calendar and mail live.",
            options={
                "kind": Option(
                    backend_kind,
                    "local",
                    "local (vdir + Maildir) or ews (Exchange, [backend.ews]).",
                ),
                "calendar": Option(string, "calendar", "local: the vdir folder of .ics files."),
                "inbox": Option(string, "mail/inbox", "local: the Maildir that receives mail."),
                "sent": Option(string, "mail/sent", "local: the Maildir of sent mail."),
                "state": Option(string, "state/aeflow.json", "The state file (one per AE)."),
                "sync_interval": Option(duration, "5m", "How often to look for changes."),
                "horizon": Option(duration, "35d", "How far ahead meetings are read."),
                "max_ics_bytes": Option(
                    integer(64 * 1024, 1024 * MB),
                    10 * MB,
                    "local: the largest .ics file read, in bytes (10485760 is 10 MB); a larger "
                    "one is reported once and left unread.",
                ),
                "max_mail_bytes": Option(
                    integer(64 * 1024, 1024 * MB),
                    25 * MB,
                    "local: the largest inbox message read, in bytes (26214400 is 25 MB); a "
                    "larger one is reported once and left unread.",
                ),
            },
            tables={
                "smtp": Table(
                    help="Optional SMTP relay for the local backend.",
                    options={
                        "host": Option(string, REQUIRED, "SMTP server name."),
                        "port": Option(integer(1, 65535), 587, "SMTP port."),
                        "starttls": Option(boolean, True, "Use STARTTLS."),
                        "username": Option(string, "", "Login name; empty for no login."),
                        "password_env": Option(
                            env_name, "", "Environment variable holding the password."
                        ),
                    },
                ),
                "ews": Table(
                    help='Exchange (EWS) connection, for kind = "ews".',
                    options={
                        "email": Option(
                            optional_email,
                            "",
                            "The mailbox's primary SMTP address; empty: ae.email.",
                        ),
                        "server": Option(
                            string,
                            "",
                            "Exchange server name; the EWS URL is https://SERVER/EWS/Exchange.asmx.",
                        ),
                        "ews_url": Option(
                            string,
                            "",
                            "The EWS URL, instead of server (https; http only on loopback).",
                        ),
                        "autodiscover": Option(
                            boolean, False, "Find the EWS URL by autodiscover from the address."
                        ),
                        "username": Option(
                            string, "", "Login name (DOMAIN\\user or UPN); empty: the address."
                        ),
                        "auth": Option(ews_auth, "ntlm", "How to log in: ntlm, basic or oauth2."),
                        "password_env": Option(
                            env_name,
                            "",
                            "Environment variable holding the password; empty: the keyring.",
                        ),
                        "keyring_service": Option(
                            string,
                            "aeflow",
                            "Keyring service the password is stored under (user: the login name).",
                        ),
                        "tenant_id": Option(string, "", "OAuth2: the Entra ID (Azure AD) tenant."),
                        "client_id": Option(string, "", "OAuth2: the application (client) id."),
                        "client_secret_env": Option(
                            env_name,
                            "",
                            "OAuth2: environment variable holding the client secret.",
                        ),
                        "token_cache": Option(
                            string,
                            "",
                            "OAuth2: JSON file holding a delegated token (rewritten, mode 600).",
                        ),
                        "version": Option(
                            string,
                            "",
                            "Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016 or "
                            "Exchange2019; empty: asked of the server.",
                        ),
                        "timeout": Option(
                            integer(1, 600), 60, "Seconds to wait for one answer from the server."
                        ),
                    },
                ),
            },
        ),
        "workdays": Table(
            help="Your working time: public holidays and adjusted working days come from the "
            "holidays library; these keys adjust them.",
            options={
                "country": Option(country, "CN", 'ISO country for public holidays; "" for none.'),
                "subdivision": Option(string, "", "Optional region (for example BY)."),
                "hours": Option(
                    list_of(span), ["09:00-12:00", "13:00-18:00"], "Working spans of a day."
                ),
                "weekend": Option(list_of(weekday), ["sat", "sun"], "Days off each week."),
                "extra_holidays": Option(list_of(day), [], "Extra days off."),
                "extra_working_days": Option(
                    list_of(day), [], "Extra working days (a weekend day worked, 调休)."
                ),
            },
        ),
        "clients": Table(
            many=True,
            help="One [[clients]] table per client account.",
            options={
                "name": Option(string, REQUIRED, "The client's name."),
                "domains": Option(list_of(domain), [], "Mail domains of the client."),
                "category": Option(
                    string,
                    "",
                    "Calendar category that tags its meetings; an appointment with it and none of "
                    "the client's people invited is sent as a meeting request.",
                ),
                "language": Option(language, "zh-CN", "Language of mail to this client."),
            },
            tables={
                "contacts": Table(
                    many=True,
                    help="People at the client.",
                    options={
                        **PERSON,
                        "decision_maker": Option(boolean, False, "Their absence means postpone."),
                        "invite": Option(
                            boolean, True, "Invite them to the meetings aeflow sends requests for."
                        ),
                        "weekly": Option(boolean, False, "Send them the weekly schedule."),
                    },
                ),
                "team": Table(
                    many=True,
                    help="Your colleagues on this account: invited with the client's contacts, "
                    "and sent the team's weekly schedule.",
                    options=PERSON,
                ),
            },
        ),
        "policies": Table(
            help="What aeflow does and when; every key has a default.",
            options={},
            tables={
                "confirmation": Table(
                    help="Day-before confirmation of client meetings.",
                    options={
                        "enabled": Option(boolean, True, "Send confirmations."),
                        "time": Option(clock, "10:00", "When, on the previous working day."),
                        "min_lead": Option(duration, "2h", "Least notice for a late one."),
                        "check_time": Option(clock, "16:00", "When decision-makers are checked."),
                    },
                ),
                "receipts": Table(
                    help="Confirmation of receipt of client mail.",
                    options={
                        "enabled": Option(boolean, True, "Track receipts."),
                        "confirm_within": Option(duration, "4h", "Working time before a reminder."),
                        "escalate_after": Option(duration, "1d", "Working days before escalation."),
                        "lookback": Option(duration, "14d", "How far back Sent is read."),
                    },
                ),
                "minutes": Table(
                    help="Minutes within 24 hours of each client meeting.",
                    options={
                        "enabled": Option(boolean, True, "Ask for and send minutes."),
                        "delay": Option(duration, "10m", "After the meeting ends, ask."),
                        "reminder_after": Option(duration, "20h", "Remind you after the end."),
                        "deadline": Option(duration, "24h", "Escalate after the end."),
                        "working_hours": Option(boolean, False, "Count working hours only."),
                    },
                ),
                "weekly": Table(
                    help="Next week's schedule, on the last working day of the week.",
                    options={
                        "enabled": Option(boolean, True, "Send weekly schedules."),
                        "time": Option(clock, "16:30", "When, on the last working day."),
                        "send_empty": Option(boolean, False, "Say so when nothing is planned."),
                    },
                ),
            },
        ),
        "templates": Table(
            help="Your own templates.",
            options={"folder": Option(string, "", "A folder whose files replace the built-in.")},
        ),
    },
)
