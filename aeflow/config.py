"""Reading the TOML configuration into typed, frozen objects.

Every problem is collected and reported at once, each with its ``table.key`` and what was
expected; unknown keys are problems too. Secrets are never in the file: only the names of
environment variables (a ``password`` or ``token`` key is refused, saying where it goes instead).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aeflow.config_schema import REQUIRED, SCHEMA, Invalid, Table, is_secret_key, secret_advice
from mailer.ews_session import EwsSettings
from rules.errors import ConfigError, Problem
from rules.model import Client, Contact, Person
from rules.policies import (
    ConfirmationPolicy,
    MinutesPolicy,
    Policies,
    ReceiptsPolicy,
    WeeklyPolicy,
)
from rules.workdays import WorkingCalendar


@dataclass(frozen=True)
class AE:
    name: str
    email: str
    manager: str
    phone: str = ""
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"

    @property
    def person(self) -> Person:
        return Person(self.email, self.name)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    password_env: str = ""


@dataclass(frozen=True)
class BackendConfig:
    kind: str
    calendar: Path
    inbox: Path
    sent: Path
    state: Path
    sync_interval: timedelta
    horizon: timedelta
    smtp: SmtpConfig | None = None
    ews: EwsSettings | None = None
    # local: the largest .ics file and inbox message read (the schema's defaults)
    max_ics_bytes: int = 10 * 1024 * 1024
    max_mail_bytes: int = 25 * 1024 * 1024


@dataclass(frozen=True)
class WorkdaysConfig:
    country: str = "CN"
    subdivision: str = ""
    hours: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
    weekend: tuple[int, ...] = (5, 6)
    extra_holidays: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class Config:
    source: Path
    ae: AE
    backend: BackendConfig
    workdays: WorkdaysConfig
    clients: tuple[Client, ...]
    policies: Policies
    templates_folder: Path | None

    def client_named(self, name: str) -> Client | None:
        wanted = name.casefold()
        return next((c for c in self.clients if c.name.casefold() == wanted), None)


def load_config(path: Path) -> Config:
    """Read ``path``; raise ``ConfigError`` listing every problem when it is not valid."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        problem = Problem("", f"cannot read the file: {error.strerror}")
        raise ConfigError(source, [problem]) from None
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(source, [Problem("", "the file is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [Problem("", f"not valid TOML: {error}")]) from None
    except RecursionError:
        problem = Problem("", "not a configuration: arrays or tables nested thousands deep")
        raise ConfigError(source, [problem]) from None
    return config_from_dict(raw, path)


def config_from_dict(raw: dict[str, Any], path: Path) -> Config:
    problems: list[Problem] = []
    values = _read_table(raw, SCHEMA, "", problems)
    _check_clients(values.get("clients", []), problems)
    _check_workdays(values.get("workdays"), problems)
    if values.get("ae") is None and not any(p.where.startswith("ae") for p in problems):
        problems.append(
            Problem("ae", "missing: the [ae] table (the account executive: name, email, manager)")
        )
    if problems:
        raise ConfigError(str(path), problems)
    try:
        config = _build(values, path.resolve())
    except _Unusable as error:
        raise ConfigError(str(path), [Problem("", str(error))]) from None
    if config.backend.ews is not None:
        # What must go together ([backend.ews] server or ews_url, the OAuth2 keys, ...).
        found = config.backend.ews.problems()
        if found:
            raise ConfigError(str(path), found)
    return config


def _read_table(raw: Any, table: Table, where: str, problems: list[Problem]) -> dict[str, Any]:
    """The values of one table: converted, defaulted, with unknown and missing keys reported."""
    if not isinstance(raw, dict):
        problems.append(Problem(where, f"expected a table, got {type(raw).__name__}"))
        return {}
    values: dict[str, Any] = {}
    for key in raw:
        if key not in table.options and key not in table.tables:
            if is_secret_key(key):
                # never the value: it is the secret
                problems.append(Problem(_join(where, key), secret_advice(table, key)))
                continue
            known = ", ".join([*table.options, *table.tables]) or "none"
            problems.append(Problem(_join(where, key), f"unknown key (known here: {known})"))
    for key, option in table.options.items():
        location = _join(where, key)
        if key not in raw:
            if option.default is REQUIRED:
                problems.append(Problem(location, f"missing: {option.help}"))
                continue
            values[key] = option.converter(option.default)
            continue
        try:
            values[key] = option.converter(raw[key])
        except Invalid as error:
            problems.append(Problem(location, str(error)))
        except (ValueError, OverflowError, OSError, RuntimeError, RecursionError) as error:
            # What a converter did not foresee (a number past any range, a home folder that
            # cannot be found for "~"): the key is named, the value is not repeated.
            problems.append(Problem(location, f"cannot be used ({type(error).__name__}: {error})"))
    for key, sub in table.tables.items():
        location = _join(where, key)
        if key not in raw:
            values[key] = [] if sub.many else _defaults_or_none(sub, location, problems)
        elif sub.many:
            items = raw[key]
            if not isinstance(items, list):
                problems.append(Problem(location, f"expected [[{location}]] tables"))
                values[key] = []
                continue
            values[key] = [
                _read_table(item, sub, f"{location}[{index + 1}]", problems)
                for index, item in enumerate(items)
            ]
        else:
            values[key] = _read_table(raw[key], sub, location, problems)
    return values


def _defaults_or_none(table: Table, where: str, problems: list[Problem]) -> dict[str, Any] | None:
    """An absent table: its defaults when it has no required key, else None (it is optional)."""
    if any(o.default is REQUIRED for o in table.options.values()):
        return None
    return _read_table({}, table, where, problems)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_clients(clients: list[dict[str, Any]], problems: list[Problem]) -> None:
    """Rules that span keys: names, categories and contact addresses must not be shared."""
    seen_names: dict[str, int] = {}
    seen_categories: dict[str, int] = {}
    seen_contacts: dict[str, int] = {}
    for index, client in enumerate(clients, start=1):
        where = f"clients[{index}]"
        name = client.get("name", "")
        if name:
            if name.casefold() in seen_names:
                other = seen_names[name.casefold()]
                problems.append(Problem(f"{where}.name", f"{name!r} is also clients[{other}]"))
            seen_names.setdefault(name.casefold(), index)
        category = client.get("category", "")
        if category:
            if category.casefold() in seen_categories:
                other = seen_categories[category.casefold()]
                problems.append(
                    Problem(f"{where}.category", f"{category!r} is also clients[{other}]'s")
                )
            seen_categories.setdefault(category.casefold(), index)
        for number, contact in enumerate(client.get("contacts", []), start=1):
            address = contact.get("email", "")
            if address in seen_contacts and seen_contacts[address] != index:
                problems.append(
                    Problem(
                        f"{where}.contacts[{number}].email",
                        f"{address} is also a contact of clients[{seen_contacts[address]}]; "
                        "a person belongs to one client",
                    )
                )
            seen_contacts.setdefault(address, index)
        if not client.get("domains") and not client.get("contacts"):
            problems.append(
                Problem(where, "give the client domains or contacts, so its mail can be recognised")
            )


def _check_workdays(values: dict[str, Any] | None, problems: list[Problem]) -> None:
    """Let the working calendar judge what only it can (known country, overlapping spans)."""
    if not values or any(p.where.startswith("workdays.") for p in problems):
        return
    try:
        working_calendar(WorkdaysConfig(**values), "UTC")
    except ValueError as error:
        problems.append(Problem("workdays", str(error)))


def working_calendar(
    workdays: WorkdaysConfig, timezone: str, warn: Callable[[str], None] | None = None
) -> WorkingCalendar:
    """The AE's working calendar as the config describes it."""
    return WorkingCalendar(
        ZoneInfo(timezone),
        country=workdays.country,
        subdivision=workdays.subdivision,
        hours=workdays.hours,
        weekend=frozenset(workdays.weekend),
        extra_holidays=frozenset(workdays.extra_holidays),
        extra_working_days=frozenset(workdays.extra_working_days),
        warn=warn,
    )


def _build(values: dict[str, Any], source: Path) -> Config:
    base = source.parent
    ae = AE(**values["ae"])
    backend_values = dict(values["backend"])
    smtp_values = backend_values.pop("smtp")
    ews_values = backend_values.pop("ews")
    backend = BackendConfig(
        **{
            **backend_values,
            **{k: _path(base, backend_values[k]) for k in ("calendar", "inbox", "sent", "state")},
        },
        smtp=SmtpConfig(**smtp_values) if smtp_values else None,
        ews=_ews(ews_values or {}, ae, base) if backend_values["kind"] == "ews" else None,
    )
    workdays = WorkdaysConfig(**values["workdays"])
    clients = tuple(
        Client(
            name=c["name"],
            domains=c["domains"],
            category=c["category"],
            language=c["language"],
            contacts=tuple(
                Contact(
                    Person(p["email"], p["name"]),
                    decision_maker=p["decision_maker"],
                    invite=p["invite"],
                    weekly=p["weekly"],
                )
                for p in c["contacts"]
            ),
            team=tuple(Person(p["email"], p["name"]) for p in c["team"]),
        )
        for c in values["clients"]
    )
    p = values["policies"]
    policies = Policies(
        confirmation=ConfirmationPolicy(**p["confirmation"]),
        receipts=ReceiptsPolicy(**p["receipts"]),
        minutes=MinutesPolicy(**p["minutes"]),
        weekly=WeeklyPolicy(**p["weekly"]),
    )
    folder = values["templates"]["folder"]
    return Config(
        source=source,
        ae=ae,
        backend=backend,
        workdays=workdays,
        clients=clients,
        policies=policies,
        templates_folder=_path(base, folder) if folder else None,
    )


def _ews(values: dict[str, Any], ae: AE, base: Path) -> EwsSettings:
    cache = values.get("token_cache", "")
    return EwsSettings(
        **{
            **values,
            "email": values.get("email") or ae.email,
            "token_cache": _path(base, cache) if cache else None,
            "timeout": float(values.get("timeout", 60)),
        }
    )


class _Unusable(ValueError):
    """A value that converted, but cannot be used where it points (``_build`` says so)."""


def _path(base: Path, value: str) -> Path:
    """Paths in the config are relative to the config file's folder; ``~`` is expanded."""
    if "\x00" in value:
        raise _Unusable(f"the path {value[:80]!r} holds a NUL character, which no file name can")
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # "~nobody/..." or no home folder to expand "~" to
        raise _Unusable(f"the path {value[:80]!r} names a home folder that is not there") from None
    return path if path.is_absolute() else base / path


def reference_markdown() -> str:
    """The configuration reference, generated from the schema (docs/CONFIG.md)."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `aeflow/config_schema.py` by `aeflow config-reference`; "
        "do not edit by hand.",
        "Paths are relative to the config file's folder. "
        "Durations read like `30m`, `4h`, `1d`, `1h30m`.",
        "",
    ]

    def walk(table: Table, where: str) -> None:
        if where:
            heading = f"[[{where}]]" if table.many else f"[{where}]"
            lines.extend([f"## `{heading}`", "", table.help, ""])
        if table.options:
            lines.extend(["| key | default | meaning |", "|---|---|---|"])
            for key, option in table.options.items():
                default = (
                    "(required)" if option.default is REQUIRED else f"`{_toml(option.default)}`"
                )
                lines.append(f"| `{key}` | {default} | {option.help} |")
            lines.append("")
        for key, sub in table.tables.items():
            walk(sub, _join(where, key))

    walk(SCHEMA, "")
    return "\n".join(lines)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)
