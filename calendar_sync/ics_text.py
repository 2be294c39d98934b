"""From bytes to an ``icalendar.Calendar``, surviving what real producers write.

The text is decoded (UTF-8 with or without a BOM, else Windows-1252), unfolded (CRLF, LF or CR,
continuation by space or tab), and Outlook's spaced RRULEs ("BYDAY=MO, TU") are closed up. When
icalendar rejects the whole file, each top-level component is read on its own, so one broken
component (a VTIMEZONE with an impossible offset, a VFREEBUSY with a bad date) costs only itself.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar

from rules.errors import Problem, UnreadableInput

_RULE_LINE = re.compile(r"^(RRULE|EXRULE)([;:])", re.I)


@dataclass(frozen=True)
class _Block:
    name: str
    lines: tuple[str, ...]

    @property
    def label(self) -> str:
        uid = next((ln.split(":", 1)[1].strip() for ln in self.lines if _is_prop(ln, "UID")), "")
        return f"{self.name} {uid!r}" if uid else f"a {self.name}"


def _is_prop(line: str, name: str) -> bool:
    head = line[: len(name) + 1].upper()
    return head in (f"{name}:", f"{name};")


def decode(data: bytes, source: str) -> tuple[str, list[Problem]]:
    """The text of an iCalendar file; raises ``UnreadableInput`` when it is not one."""
    problems: list[Problem] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        data = data.removeprefix(b"\xef\xbb\xbf")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            problems.append(
                Problem(source, "the file is not UTF-8 as iCalendar requires; read as Windows-1252")
            )
    if not text.strip():
        raise UnreadableInput(source, "the file is empty")
    if "\x00" in text:
        raise UnreadableInput(source, "the file is binary, not iCalendar text")
    if not re.search(r"^BEGIN:VCALENDAR\s*$", text, re.I | re.M):
        raise UnreadableInput(source, "not an iCalendar file: it has no BEGIN:VCALENDAR line")
    return text, problems


def unfold(text: str) -> list[str]:
    """Content lines with folding undone, blank lines dropped, and RRULE spacing repaired."""
    lines: list[str] = []
    # The pieces of the line being unfolded are joined once it is complete: appending to the
    # last line instead copies it at every fold, quadratic in a long folded DESCRIPTION.
    pieces: list[str] = []
    for raw in re.split(r"\r\n|\r|\n", text):
        if raw[:1] in (" ", "\t") and pieces:
            pieces.append(raw[1:])
        elif raw.strip():
            if pieces:
                lines.append("".join(pieces))
            pieces = [raw]
    if pieces:
        lines.append("".join(pieces))
    # Outlook's CDO wrote "BYDAY=MO, TU, WE"; whitespace never belongs in a recurrence rule.
    return [re.sub(r"\s+", "", ln) if _RULE_LINE.match(ln) else ln for ln in lines]


def _split(lines: Iterable[str]) -> tuple[list[str], list[_Block]]:
    """The calendar's own property lines and its top-level components, from every VCALENDAR."""
    header: list[str] = []
    blocks: list[_Block] = []
    current: list[str] = []
    names: list[str] = []
    for line in lines:
        key = line.strip().upper()
        if not names:
            if key == "BEGIN:VCALENDAR":
                names.append("VCALENDAR")
            continue
        if key.startswith("BEGIN:"):
            names.append(key[6:])
        if len(names) == 1:
            if key.startswith("END:"):
                names.pop()
            else:
                header.append(line)
            continue
        current.append(line)
        if key.startswith("END:"):
            names.pop()
            if len(names) == 1:
                blocks.append(_Block(current[0].split(":", 1)[1].strip().upper(), tuple(current)))
                current = []
    if current:
        blocks.append(_Block(current[0].split(":", 1)[1].strip().upper(), tuple(current)))
    return header, blocks


def _wrap(*parts: Iterable[str]) -> str:
    body = [line for part in parts for line in part]
    return "\r\n".join(["BEGIN:VCALENDAR", *body, "END:VCALENDAR", ""])


def _reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def read_calendar(lines: list[str], source: str) -> tuple[icalendar.Calendar, list[Problem]]:
    """Parse unfolded lines; read component by component when the whole will not parse."""
    with warnings.catch_warnings():
        # Vendor-prefixed TZIDs ("/mozilla.org/.../Europe/Berlin") are resolved on purpose by
        # windows_zones; icalendar's warning about guessing them would only be noise.
        warnings.simplefilter("ignore", icalendar.GloballyUniqueTZIDGuessed)
        return _read_calendar(lines, source)


def _read_calendar(lines: list[str], source: str) -> tuple[icalendar.Calendar, list[Problem]]:
    try:
        # icalendar raises ValueError mostly, but other errors escape it on odd input.
        calendar = icalendar.Calendar.from_ical("\r\n".join(lines) + "\r\n")
        if isinstance(calendar, icalendar.Calendar):
            return calendar, []
    except Exception as error:
        first_error = _reason(error)
    else:
        first_error = "the file does not start with a VCALENDAR"
    header, blocks = _split(lines)
    problems: list[Problem] = []
    try:
        calendar = icalendar.Calendar.from_ical(_wrap(header))
    except Exception as error:
        calendar = icalendar.Calendar()
        problems.append(Problem(source, f"the calendar's own properties are unreadable: {error}"))
    zones: list[_Block] = []
    read = 0
    for block in sorted(blocks, key=lambda b: b.name != "VTIMEZONE"):
        # Each component is parsed with the zones already read, so its TZIDs still resolve.
        context = [ln for zone in zones for ln in zone.lines] if block.name != "VTIMEZONE" else []
        try:
            parsed = icalendar.Calendar.from_ical(_wrap(context, block.lines))
        except Exception as error:
            what = "times that name it are resolved by the name alone"
            if block.name != "VTIMEZONE":
                what = "it was skipped"
            problems.append(
                Problem(source, f"{block.label} is unreadable ({_reason(error)}); {what}")
            )
            continue
        read += 1
        for component in parsed.subcomponents:
            if block.name == "VTIMEZONE" or component.name != "VTIMEZONE":
                calendar.add_component(component)
        if block.name == "VTIMEZONE":
            zones.append(block)
    if blocks and not read:
        raise UnreadableInput(source, f"no part of the calendar could be read: {first_error}")
    if not blocks and not header:
        raise UnreadableInput(source, f"not a readable iCalendar file: {first_error}")
    return calendar, problems


def component_problems(calendar: icalendar.Calendar, source: str) -> list[Problem]:
    """What icalendar could not read inside components it otherwise kept."""
    problems = []
    for component in calendar.walk():
        for name, message in getattr(component, "errors", ()):
            uid = str(component.get("UID", "")).strip()
            label = f"{component.name} {uid!r}" if uid else f"a {component.name}"
            problems.append(
                Problem(
                    source, f"{label}: property {name} is unreadable ({message}); it is ignored"
                )
            )
    return problems
