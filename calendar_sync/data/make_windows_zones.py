"""Generate ``windows_zones.json`` from CLDR's ``windowsZones.xml``.

Run from the repository root::

    .venv/bin/python calendar_sync/data/make_windows_zones.py \
        ../shared/corpus/ews/cldr-windowsZones.xml calendar_sync/data/windows_zones.json

Only the "001" (golden zone) mapping of each Windows zone is kept, with the English display name
that CLDR writes in the comment just above it, for example
``(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna``. Order follows the CLDR file,
which is by UTC offset; the resolver relies on that order when it guesses a zone from offsets.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LICENCE = "Unicode CLDR data, SPDX-License-Identifier: ICU (https://www.unicode.org/copyright.html)"


def read_cldr(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The CLDR version attributes and the zones, in file order."""
    # Comments carry the display names, so the tree builder must keep them.
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(path, parser=parser).getroot()
    table = root.find("./windowsZones/mapTimezones")
    if table is None:
        raise SystemExit(f"{path}: no windowsZones/mapTimezones element")
    zones: list[dict[str, str]] = []
    display = ""
    for node in table:
        if node.tag is ET.Comment:  # type: ignore[comparison-overlap]
            display = (node.text or "").strip()
            continue
        if node.tag != "mapZone" or node.get("territory") != "001":
            continue
        windows, iana = node.get("other", ""), node.get("type", "").split()[0]
        try:
            ZoneInfo(iana)
        except (ZoneInfoNotFoundError, ValueError):
            print(f"skipping {windows!r}: no zone {iana!r} in this tz database", file=sys.stderr)
            continue
        zones.append({"windows": windows, "iana": iana, "display": display})
        display = ""
    return dict(table.attrib), zones


def render(versions: dict[str, str], zones: list[dict[str, str]]) -> str:
    # One zone per line keeps the file readable and its diffs small when CLDR changes.
    rows = ",\n".join("  " + json.dumps(zone, ensure_ascii=False) for zone in zones)
    head = {
        "source": "Unicode CLDR common/supplemental/windowsZones.xml",
        "cldr_versions": versions,
        "licence": LICENCE,
    }
    head_text = json.dumps(head, ensure_ascii=False, indent=1)[: -len("\n}")]
    text = f'{head_text},\n "zones": [\n{rows}\n ]\n}}\n'
    json.loads(text)  # the hand-assembled text must still be JSON
    return text


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    versions, zones = read_cldr(Path(argv[1]))
    Path(argv[2]).write_text(render(versions, zones), encoding="utf-8")
    print(f"wrote {len(zones)} zones to {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
