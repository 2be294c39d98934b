"""Windows, display, offset and odd TZIDs resolve to the IANA zone a calendar means."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.windows_zones import iana_zone, resolve, zone_like


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("China Standard Time", "Asia/Shanghai"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Eastern Standard Time", "America/New_York"),
        ("GMT Standard Time", "Europe/London"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("FLE Standard Time", "Europe/Kiev"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("Romance Standard Time", "Europe/Paris"),
    ],
)
def test_windows_zone_names_map_to_their_cldr_golden_zone(name: str, iana: str) -> None:
    assert iana_zone(name) == ZoneInfo(iana)


def test_an_unknown_name_maps_to_nothing() -> None:
    assert iana_zone("Nowhere Standard Time") is None
    assert iana_zone("Customized Time Zone") is None
    assert iana_zone("") is None
    assert iana_zone("   ") is None


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("europe/berlin", "Europe/Berlin"),
        ("UTC", "UTC"),
        ('"Tokyo Standard Time"', "Asia/Tokyo"),
        ("  W. Europe Standard Time  ", "Europe/Berlin"),
        ("/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin"),
        ("/citadel.org/20190914_1/America/New_York", "America/New_York"),
    ],
)
def test_iana_names_quoted_names_and_vendor_prefixes_are_exact(name: str, iana: str) -> None:
    found = resolve(name)
    assert found is not None
    assert found.zone == ZoneInfo(iana)
    assert found.exact


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"),
        ("(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi", "Asia/Shanghai"),
        ("(GMT+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),
        ("Canberra, Melbourne, Sydney", "Australia/Sydney"),
        ("Kuala Lumpur\\, Singapore", "Asia/Singapore"),
        ("Pacific Time (US & Canada), Tijuana", "America/Los_Angeles"),
        ("(UTC-05:00) Eastern Time (US and Canada)", "America/New_York"),
        ("(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rom\\, Stockholm\\, Wien", "Europe/Berlin"),
    ],
)
def test_outlook_display_names_are_read_by_their_places(name: str, iana: str) -> None:
    found = resolve(name)
    assert found is not None
    assert found.zone == ZoneInfo(iana)
    assert not found.exact


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("Mitteleuropäische Zeit", "Europe/Berlin"),
        ("Mitteleuropäische Zeit ", "Europe/Berlin"),
        ("中国标准时间", "Asia/Shanghai"),
        ("(UTC+08:00) 北京，重庆，香港特别行政区，乌鲁木齐", "Asia/Shanghai"),
        ("東京 (標準時)", "Asia/Tokyo"),
    ],
)
def test_localized_windows_names_are_understood(name: str, iana: str) -> None:
    assert iana_zone(name) == ZoneInfo(iana)


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("UTC+11", "Etc/GMT-11"),
        ("UTC-11", "Etc/GMT+11"),
        ("GMT+0800", "Etc/GMT-8"),
        ("GMT +0100 (Standard) / GMT +0200 (Daylight)", "Europe/Berlin"),
        ("GMT +1000 (Standard) / GMT +1100 (Daylight)", "Australia/Sydney"),
        ("GMT-05.00/-04.00", "America/New_York"),
        ("GMT-08.00/-07.00", "America/Los_Angeles"),
    ],
)
def test_offset_names_become_a_zone_with_those_offsets(name: str, iana: str) -> None:
    assert iana_zone(name) == ZoneInfo(iana)


def test_a_half_hour_offset_finds_a_zone_that_keeps_it() -> None:
    zone = iana_zone("UTC+05:30")
    assert zone is not None
    assert datetime(2025, 6, 1, 12, tzinfo=zone).utcoffset().total_seconds() == 5.5 * 3600  # type: ignore[union-attr]


def test_paths_that_are_not_zones_are_refused() -> None:
    assert iana_zone("/etc/passwd") is None
    assert iana_zone("../../etc/passwd") is None
    assert iana_zone("Europe/../../etc/passwd") is None


def test_a_rules_only_zone_is_named_after_a_zone_with_the_same_offsets() -> None:
    # A zone known only by its offsets (here New York's own rules under another name) is named
    # after the user's zone when that agrees, else after the first CLDR zone that does.
    new_york = ZoneInfo("America/New_York")
    around = datetime(2020, 8, 25, 10, 35)
    assert zone_like(new_york, around) == new_york
    toronto = ZoneInfo("America/Toronto")
    assert zone_like(new_york, around, prefer=toronto) == toronto
    assert zone_like(new_york, around, prefer=ZoneInfo("Asia/Shanghai")) == new_york
