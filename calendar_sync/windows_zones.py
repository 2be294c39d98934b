"""Time zone names as calendars write them, resolved to IANA zones.

Outlook and Exchange write Windows zone names ("W. Europe Standard Time"), older Outlook and OWA
write display names ("(GMT+10:00) Canberra, Melbourne, Sydney"), legacy CDO writes offsets
("GMT +0100 (Standard) / GMT +0200 (Daylight)"), Thunderbird once prefixed IANA names
("/mozilla.org/20050126_1/Europe/Berlin"), and localized Windows installations write their own
language ("Mitteleuropäische Zeit"). The Windows names and display names come from CLDR's
windowsZones (``data/windows_zones.json``, see ``data/README.md``).
"""

from __future__ import annotations

import json
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

# Localized names seen in the wild (Windows StandardName/DaylightName and display names in the
# language of the installation). CLDR carries English only; these are the common ones.
_LOCALIZED: dict[str, str] = {
    "Mitteleuropäische Zeit": "W. Europe Standard Time",
    "Mitteleuropäische Sommerzeit": "W. Europe Standard Time",
    "Amsterdam, Berlin, Bern, Rom, Stockholm, Wien": "W. Europe Standard Time",
    "中国标准时间": "China Standard Time",
    "北京，重庆，香港特别行政区，乌鲁木齐": "China Standard Time",
    "東京 (標準時)": "Tokyo Standard Time",
    "大阪、札幌、東京": "Tokyo Standard Time",
}

# A fixed reference year for comparing zones by their offsets, so results do not depend on the
# day the code runs.
_REFERENCE_SAMPLES = (datetime(2025, 1, 15, 12), datetime(2025, 7, 15, 12))

_DISPLAY = re.compile(r"^\(\s*(?:UTC|GMT)\s*(?:([+-])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?\s*\)\s*(.*)$")
_OFFSET = re.compile(r"([+-])\s*(\d{1,2})(?:[:.]?(\d{2}))?")
_OFFSET_NOISE = re.compile(r"UTC|GMT|\(standard\)|\(daylight\)|[/\s]|" + _OFFSET.pattern, re.I)


@dataclass(frozen=True)
class _Zone:
    windows: str
    iana: str
    display: str


@dataclass(frozen=True)
class Resolution:
    """A resolved zone; ``exact`` when the name was a real IANA or Windows name, not a guess."""

    zone: ZoneInfo
    exact: bool


@cache
def _zones() -> tuple[_Zone, ...]:
    text = resources.files("calendar_sync").joinpath("data/windows_zones.json").read_text("utf-8")
    return tuple(_Zone(**row) for row in json.loads(text)["zones"])


@cache
def _by_windows_name() -> dict[str, _Zone]:
    return {z.windows.casefold(): z for z in _zones()}


@cache
def _iana_casefolded() -> dict[str, str]:
    # Only consulted when the exact name fails; listing the database is slow-ish, so once.
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def _cities(text: str) -> str:
    """A display name's place list in a comparable form."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    text = re.sub(r"[、;]", ",", text)
    parts = (re.sub(r"[^\w()]+", " ", part).strip() for part in text.split(","))
    return ",".join(p for p in parts if p)


def _load(name: str) -> ZoneInfo | None:
    if not name or name.startswith("/") or ".." in name or name != name.strip():
        return None
    try:
        return ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _iana(name: str) -> ZoneInfo | None:
    found = _load(name)
    if found is None and re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        canonical = _iana_casefolded().get(name.casefold())
        found = _load(canonical) if canonical else None
    return found


def _clean(name: str) -> str:
    name = name.strip().strip("\"'").strip()
    return name.replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")


def _offset_minutes(sign: str, hours: str, minutes: str | None) -> int:
    value = int(hours) * 60 + int(minutes or 0)
    return -value if sign == "-" else value


# Where several zones share winter and summer offsets, the one most people mean comes first;
# otherwise CLDR's order would pick Tijuana for US Pacific time.
_PREFERRED = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Halifax",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def _zone_with_offsets(offsets: frozenset[int]) -> ZoneInfo | None:
    """The zone most people mean by these winter and summer offsets (``_PREFERRED``, then CLDR)."""
    for iana in (*_PREFERRED, *(entry.iana for entry in _zones())):
        zone = ZoneInfo(iana)
        seen = set()
        for sample in _REFERENCE_SAMPLES:
            offset = sample.replace(tzinfo=zone).utcoffset()
            seen.add(int(offset.total_seconds() // 60) if offset is not None else 0)
        if seen == offsets:
            return zone
    return None


def _from_offsets(name: str) -> ZoneInfo | None:
    """``UTC+11``, ``GMT+0800``, ``GMT-05.00/-04.00``, ``GMT +0100 (Standard) / ...``."""
    if not re.match(r"^\s*(UTC|GMT)", name, re.I) or _OFFSET_NOISE.sub("", name):
        return None
    found = [_offset_minutes(*m.groups()) for m in _OFFSET.finditer(name)]
    if not found or any(abs(v) > 14 * 60 for v in found):
        return None
    offsets = frozenset(found)
    if len(offsets) == 1:
        (only,) = offsets
        if only % 60 == 0:
            # Etc/GMT signs are inverted (POSIX): UTC+11 is Etc/GMT-11.
            hours = -only // 60
            return ZoneInfo("Etc/UTC" if hours == 0 else f"Etc/GMT{hours:+d}")
    return _zone_with_offsets(offsets)


def _from_display(name: str) -> ZoneInfo | None:
    """``(UTC+01:00) Amsterdam, Berlin, ...`` or just the place list, as older Outlook wrote it."""
    offset: int | None = None
    places = name
    match = _DISPLAY.match(unicodedata.normalize("NFKC", name))
    if match:
        sign, hours, minutes, places = match.groups()
        offset = _offset_minutes(sign, hours, minutes) if sign else 0
    wanted = _cities(places)
    if not wanted:
        return None
    candidates: list[tuple[_Zone, str, int | None]] = []
    for entry in _zones():
        m = _DISPLAY.match(entry.display)
        if m:
            s, h, mm, rest = m.groups()
            candidates.append((entry, _cities(rest), _offset_minutes(s, h, mm) if s else 0))
    for text, windows in _LOCALIZED.items():
        candidates.append((_by_windows_name()[windows.casefold()], _cities(text), None))

    def agrees(their_offset: int | None) -> bool:
        return offset is None or their_offset is None or their_offset == offset

    first = wanted.split(",")[0]

    def same(places: str) -> bool:
        return places == wanted

    def longer_or_shorter(places: str) -> bool:
        return places.startswith(wanted + ",") or wanted.startswith(places + ",")

    def same_first_place(places: str) -> bool:
        return len(first) >= 3 and places.split(",")[0] == first

    # Closest reading first: the whole list, then one list extending the other, then one place.
    for test in (same, longer_or_shorter, same_first_place):
        for entry, entry_places, entry_offset in candidates:
            if test(entry_places) and agrees(entry_offset):
                return ZoneInfo(entry.iana)
    return None


def resolve(name: str) -> Resolution | None:
    """Resolve ``name``, saying whether it was an exact name or a reading of a display name."""
    name = _clean(name)
    if not name:
        return None
    exact = _iana(name)
    if exact is not None:
        return Resolution(exact, True)
    windows = _by_windows_name().get(name.casefold())
    if windows is not None:
        return Resolution(ZoneInfo(windows.iana), True)
    if name.startswith("/"):
        # A globally unique TZID (RFC 5545 3.2.19): a vendor prefix, then usually an IANA name.
        parts = [p for p in name.split("/") if p]
        for i in range(1, len(parts)):
            found = _iana("/".join(parts[i:]))
            if found is not None:
                return Resolution(found, True)
        return None
    localized = {k.casefold(): v for k, v in _LOCALIZED.items()}.get(name.casefold())
    if localized is not None:
        return Resolution(ZoneInfo(_by_windows_name()[localized.casefold()].iana), False)
    guessed = _from_offsets(name) or _from_display(name)
    return Resolution(guessed, False) if guessed is not None else None


def iana_zone(name: str) -> ZoneInfo | None:
    """The IANA zone a calendar means by ``name``; ``None`` when it cannot be told."""
    found = resolve(name)
    return found.zone if found is not None else None


def zone_like(tz: tzinfo, around: datetime, prefer: ZoneInfo | None = None) -> ZoneInfo | None:
    """An IANA zone that keeps the same UTC offsets as ``tz`` through the year of ``around``.

    Used to name a zone that a calendar defined only by its rules (a VTIMEZONE called
    "Customized Time Zone"). ``prefer`` is tried first: usually the user's own zone.
    """
    wall = around.replace(tzinfo=None)
    samples = [wall] + [datetime(wall.year, month, 15, 12) for month in (1, 4, 7, 10)]

    def offsets(zone: tzinfo) -> list[timedelta | None] | None:
        try:
            return [s.replace(tzinfo=zone).utcoffset() for s in samples]
        except (ValueError, OverflowError, TypeError, AttributeError):
            return None

    target = offsets(tz)
    if target is None or None in target:
        return None
    candidates = ([prefer] if prefer is not None else []) + [ZoneInfo(z.iana) for z in _zones()]
    return next((zone for zone in candidates if offsets(zone) == target), None)
