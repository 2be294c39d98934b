"""Give every date-time of every event a real zone, before recurrences are expanded.

Order matters. TZIDs are resolved first (a Windows or odd name is still "floating" to icalendar,
and X-WR-TIMEZONE would otherwise swallow it); then Google's X-WR-TIMEZONE is applied with the
``x-wr-timezone`` library; what is still floating is read in the user's zone. VALUE=DATE values
that icalendar turned into midnights (a TZID on a date) become dates again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import x_wr_timezone
from icalendar.prop import vDDDLists, vDDDTypes

from calendar_sync.windows_zones import resolve, zone_like
from rules.errors import Problem

DATE_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


class FileZone(tzinfo):
    """A zone defined only by a VTIMEZONE in the file, kept under its TZID.

    The wrapper guarantees a name: a VTIMEZONE without TZNAME gives ``tzname() is None``, which
    x-wr-timezone would take for a floating time. ``label`` is an IANA zone that agrees with it
    through the year in question, used to name the meeting's zone.
    """

    def __init__(self, inner: tzinfo, tzid: str, label: ZoneInfo) -> None:
        self.inner, self.tzid, self.label = inner, tzid, label

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return self.inner.utcoffset(dt)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return self.inner.dst(dt)

    def tzname(self, dt: datetime | None) -> str:
        return self.tzid

    def fromutc(self, dt: datetime) -> datetime:
        return self.inner.fromutc(dt.replace(tzinfo=self.inner)).replace(tzinfo=self)

    def __repr__(self) -> str:
        return f"FileZone({self.tzid!r}, label={self.label.key!r})"


def _offsets_agree(a: tzinfo, b: tzinfo, around: datetime) -> bool:
    samples = [around] + [datetime(around.year, m, 15, 12) for m in (1, 4, 7, 10)]
    try:
        return all(
            s.replace(tzinfo=a).utcoffset() == s.replace(tzinfo=b).utcoffset() for s in samples
        )
    except (ValueError, OverflowError, TypeError, AttributeError):
        return False


def _fixed_label(tz: tzinfo, around: datetime) -> ZoneInfo:
    """A name for a zone no IANA zone matches: its offset at ``around`` as an Etc zone."""
    try:
        offset = around.replace(tzinfo=tz).utcoffset()
    except (ValueError, OverflowError, TypeError, AttributeError):
        offset = None
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes % 60 == 0 and abs(minutes) <= 14 * 60:
        hours = -minutes // 60  # Etc/GMT signs are POSIX's, inverted: UTC+3 is Etc/GMT-3
        return ZoneInfo("Etc/UTC" if hours == 0 else f"Etc/GMT{hours:+d}")
    return ZoneInfo("Etc/UTC")


class _Resolver:
    """Decides, once per TZID, which zone its times are in, and notes what it could not tell."""

    def __init__(self, calendar: icalendar.Calendar, source: str, default_zone: ZoneInfo) -> None:
        self.source, self.default_zone = source, default_zone
        self.definitions: dict[str, icalendar.Component] = {}
        for component in calendar.walk("VTIMEZONE"):
            self.definitions[_key(str(component.get("TZID", "")))] = component
        self.decided: dict[str, tzinfo] = {}
        self.problems: list[Problem] = []

    def _defined(self, tzid: str, attached: tzinfo | None) -> tzinfo | None:
        if attached is not None and not isinstance(attached, ZoneInfo):
            return attached
        definition = self.definitions.get(_key(tzid))
        if definition is None:
            return None
        try:
            made = definition.to_tz()  # type: ignore[attr-defined]
        except Exception:  # icalendar and dateutil raise many kinds on odd rules
            return None
        return made if isinstance(made, tzinfo) else None

    def zone(self, tzid: str, wall: datetime, attached: tzinfo | None) -> tzinfo:
        key = _key(tzid)
        if key in self.decided:
            return self.decided[key]
        found = resolve(tzid)
        defined = self._defined(tzid, attached)
        chosen: tzinfo
        # An exact name is trusted over the file's definition (Apple writes Moscow as +02:30:17);
        # a name read as a guess is used only if it keeps the offsets the file defines.
        trusted = found is not None and (
            found.exact or defined is None or _offsets_agree(found.zone, defined, wall)
        )
        if found is not None and trusted:
            chosen = found.zone
        elif defined is not None:
            label = zone_like(defined, wall, self.default_zone) or _fixed_label(defined, wall)
            chosen = FileZone(defined, tzid.strip(), label)
        else:
            chosen = self.default_zone
            self.problems.append(
                Problem(
                    self.source,
                    f"time zone {tzid.strip()!r} is neither defined in the file nor a known name; "
                    f"its times were read in {self.default_zone.key}",
                )
            )
        self.decided[key] = chosen
        return chosen


def _key(tzid: str) -> str:
    return tzid.strip().strip("\"'").strip().replace("\\,", ",").casefold()


def _map_values(value: Any, change: Callable[[Any, Any], Any]) -> Any:
    """Rebuild a date property (one value, a list of values, or several lines of them)."""
    if isinstance(value, list):
        return [_map_values(v, change) for v in value]
    if isinstance(value, vDDDLists):
        return vDDDLists([change(item.dt, value.params) for item in value.dts])
    if isinstance(value, vDDDTypes):
        return vDDDTypes(change(value.dt, value.params))
    return value


def _localise_event(event: icalendar.Component, resolver: _Resolver) -> None:
    def change(dt: Any, params: Any) -> Any:
        if isinstance(dt, tuple):  # a PERIOD: (start, end or duration)
            return tuple(change(part, params) for part in dt)
        if not isinstance(dt, datetime):
            return dt
        if str(params.get("VALUE", "")).upper() == "DATE":
            return dt.date()
        tzid = params.get("TZID")
        if not tzid:
            return dt
        wall = dt.replace(tzinfo=None)
        return wall.replace(tzinfo=resolver.zone(str(tzid), wall, dt.tzinfo))

    for name in DATE_PROPERTIES:
        if name in event:
            event[name] = _map_values(event[name], change)


def _float_into(event: icalendar.Component, zone: ZoneInfo) -> None:
    def change(dt: Any, params: Any) -> Any:
        if isinstance(dt, tuple):
            return tuple(change(part, params) for part in dt)
        if isinstance(dt, datetime) and dt.tzinfo is None:
            return dt.replace(tzinfo=zone)
        return dt

    for name in DATE_PROPERTIES:
        if name in event:
            event[name] = _map_values(event[name], change)


def localise(
    calendar: icalendar.Calendar, source: str, default_zone: ZoneInfo
) -> tuple[icalendar.Calendar, list[Problem]]:
    """The calendar with every event time aware (dates stay dates), and what was guessed."""
    resolver = _Resolver(calendar, source, default_zone)
    for event in calendar.walk("VEVENT"):
        _localise_event(event, resolver)
    problems = resolver.problems
    x_wr = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    if x_wr:
        found = resolve(x_wr)
        if found is None:
            problems.append(
                Problem(
                    source,
                    f"X-WR-TIMEZONE {x_wr!r} is not a known zone; "
                    f"floating times were read in {default_zone.key}",
                )
            )
        else:
            calendar = x_wr_timezone.to_standard(calendar, timezone=found.zone)
    for event in calendar.walk("VEVENT"):
        _float_into(event, default_zone)
    return calendar, problems


def span_of(value: Any) -> timedelta | None:
    """The length a DURATION property gives; ``None`` for one that is missing or broken."""
    if not isinstance(value, vDDDTypes):
        return None  # icalendar's broken-property stand-in raises on any attribute
    span = value.dt
    return span if isinstance(span, timedelta) else None


def first_date(value: Any) -> date | datetime | None:
    """The first date or date-time of a date property, whatever its shape."""
    if isinstance(value, list):
        return first_date(value[0]) if value else None
    if isinstance(value, vDDDLists):
        return first_date(value.dts[0]) if value.dts else None
    if isinstance(value, vDDDTypes):
        dt = value.dt
        dt = dt[0] if isinstance(dt, tuple) else dt
        return dt if isinstance(dt, date) else None
    return None
