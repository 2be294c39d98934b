"""A next step as an AE writes it: what, who, by when, in any order, in English or Chinese.

The line is split into fields at the separators an AE types (" - ", "—", " / ", "|", commas and
semicolons, a trailing "(...)"); labelled fields ("owner:", "负责人：", "due", "by", "截止：")
say what they are, a field that is only a date is the due date, and the most name-like of the
other fields after the first is the owner. A due date may also sit inside the task ("... by
Dec 5", "...12月5日前"). A date without a year is the next such date on or after ``today``
(none without ``today``); "12/5" is month/day, day/month only when the first number cannot be
a month. The line is always kept in ``NextStep.line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["NextStep", "parse_next_step"]

_LONG_LINE = 1000  # a longer "next step" is kept as written, unparsed

_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Each pattern yields (year, month, day) groups by name; none nests a quantifier in another.
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<y>\d{4})\s?[-./年]\s?(?P<m>\d{1,2})\s?[-./月]\s?(?P<d>\d{1,2})"
               r"\s?[日号]?(?!\d)"),
    re.compile(r"(?<!\d)(?P<m>\d{1,2})\s?月\s?(?P<d>\d{1,2})\s?[日号]?(?!\d)"),
    re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])"),
    re.compile(rf"\b(?P<mon>{_MONTH[1:-1]})\.?\s(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
               r"(?:,?\s(?P<y>\d{4})\b)?", re.IGNORECASE),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s(?:of\s)?(?P<mon>{_MONTH[1:-1]})\b\.?"
               r"(?:,?\s(?P<y>\d{4})\b)?", re.IGNORECASE),
)  # fmt: skip
_WEEKDAY = (
    r"(?:(?:周|星期|礼拜)[一二三四五六日天]|\b(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?"
    r"|sun)(?:day)?\b\.?)"
)
_DATE_FILLER = re.compile(
    rf"{_WEEKDAY}|\b(?:by|before|due|on|the|of|eod|cob)\b|之前|以前|前|截止|为止|止|[\s,.，。:：]",
    re.IGNORECASE,
)
_DUE_BEFORE = re.compile(
    rf"(?:\bby|\bbefore|\bdue(?:\s(?:on|by|date))?|\buntil|\bdeadline|截止(?:日期|时间)?(?:到|至)?)"
    rf"\s?[:：]?\s?(?:{_WEEKDAY},?\s?)?$",
    re.IGNORECASE,
)
_DUE_AFTER = re.compile(r"\s?(?:之前|以前|前)")
# "owner Mei" and "负责人 赵婷" need no colon; "responsible", "PIC" and "负责" do, being words a
# task may start with.
_OWNER_LABEL = re.compile(
    r"(?:owners?|assignee|assigned to)\b\s?[:：]?\s?|(?:responsible|pic)\s?[:：]\s?"
    r"|(?:负责人|责任人|执行人|跟进人)\s?[:：]?|负责\s?[:：]",
    re.IGNORECASE,
)
_DUE_LABEL = re.compile(
    r"(?:due(?:\s(?:date|on|by))?|deadline|by|before|until|截止(?:日期|时间)?(?:到|至)?|期限"
    r"|完成(?:时间|日期)|时间|日期)\s?[:：]?\s?",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r" [-‐]{1,2} | ?[–—―]+ ?| / | ?[|｜] ?| ?[;；，] ?| ?,(?! ?\d{4}\b) ?")
_PAREN = re.compile(r"[(（]([^()（）]*)[)）][.。]?$")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_CJK_NAMES = re.compile(r"[\u4e00-\u9fff·]{2,6}(?:[、和及&/][\u4e00-\u9fff·]{2,6}){0,3}")
_LATIN_NAMES = re.compile(r"[A-Za-z][A-Za-z.'’-]*(?: (?:[A-Za-z][A-Za-z.'’-]*|&)){0,3}")
_CJK_OWNER_FIRST = re.compile(r"([\u4e00-\u9fff]{2,4})负责(?!人)")


@dataclass(frozen=True)
class NextStep:
    """Who does what by when; ``owner`` is a name or an address as written, "" when none."""

    what: str
    owner: str
    due: date | None
    line: str


@dataclass
class _Field:
    sep: str  # the separator written before it
    text: str
    paren: bool = False
    used: bool = False


def parse_next_step(line: str, today: date | None = None) -> NextStep:
    """``line`` (without its bullet) read as a next step; see the module docstring."""
    if len(line) > _LONG_LINE:
        return NextStep(what=line, owner="", due=None, line=line)
    fields = _fields(line)
    owner = ""
    due: date | None = None
    dated = False
    for field in fields:
        kind, value = _classify(field.text, today)
        if kind == "due" and not dated:
            field.used, dated, due = True, True, value if isinstance(value, date) else None
        elif kind == "owner" and not owner and isinstance(value, str):
            field.used, owner = True, value
    if not dated:
        for field in fields:
            found = _inline_due(field.text, today)
            if found is not None:
                field.text, due, dated = found[0], found[1], True
                break
    if not owner:
        owner = _likely_owner(fields)
    what = _what(fields) or line
    if not owner and (first := _CJK_OWNER_FIRST.match(what)):
        owner = first.group(1)
    return NextStep(what=what, owner=owner, due=due, line=line)


def _fields(line: str) -> list[_Field]:
    main, paren = line, ""
    match = _PAREN.search(line)
    if match and match.start() > 0:
        main, paren = line[: match.start()].rstrip(), match.group(1)
    fields = _split(main, paren=False)
    if paren:
        fields += _split(paren, paren=True)
    return fields


def _split(text: str, *, paren: bool) -> list[_Field]:
    fields: list[_Field] = []
    sep, start = "", 0
    for match in _SEPARATOR.finditer(text):
        fields.append(_Field(sep, text[start : match.start()].strip(), paren))
        sep, start = match.group(), match.end()
    fields.append(_Field(sep, text[start:].strip(), paren))
    return [f for f in fields if f.text]


def _classify(text: str, today: date | None) -> tuple[str, date | str | None]:
    """("due", date or None), ("owner", name), or ("", None) for a field of the task itself."""
    label = _OWNER_LABEL.match(text)
    if label and text[label.end() :].strip():
        return "owner", _clean_owner(text[label.end() :])
    label = _DUE_LABEL.match(text)
    value = text[label.end() :] if label else text
    parts = _whole_date(value)
    if parts is not None:
        return "due", _resolve(parts, today)
    return "", None


def _whole_date(text: str) -> tuple[int | None, int, int] | None:
    """The date ``text`` is, when it holds nothing else than a date, a weekday and filler."""
    found = _find_date(text)
    if found is None:
        return None
    start, end, parts = found
    rest = _DATE_FILLER.sub("", text[:start] + " " + text[end:])
    return parts if not rest else None


def _find_date(text: str) -> tuple[int, int, tuple[int | None, int, int]] | None:
    """The first valid date written in ``text``: (start, end, (year or None, month, day))."""
    best: tuple[int, int, tuple[int | None, int, int]] | None = None
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if best is not None and match.start() > best[0]:
                break
            parts = _parts(match)
            if parts is not None:
                span = (match.start(), match.end())
                if best is None or (span[0], -span[1]) < (best[0], -best[1]):
                    best = (span[0], span[1], parts)
                break
    return best


def _parts(match: re.Match[str]) -> tuple[int | None, int, int] | None:
    groups = match.groupdict()
    day = int(groups["d"])
    if groups.get("mon"):
        month = _MONTHS.index(groups["mon"][:3].lower()) + 1
    else:
        month = int(groups["m"])
        if month > 12 and day <= 12 and "/" in match.group():
            month, day = day, month  # 25/12 can only be day/month
    year = int(groups["y"]) if groups.get("y") else None
    if year is not None and year < 100:
        year += 2000
    try:
        date(year if year is not None else 2000, month, day)  # 2000: a leap year
    except ValueError:
        return None
    return year, month, day


def _resolve(parts: tuple[int | None, int, int], today: date | None) -> date | None:
    year, month, day = parts
    if year is not None:
        return date(year, month, day)
    if today is None:
        return None
    for candidate in range(today.year, today.year + 9):  # 29 February waits for a leap year
        try:
            moment = date(candidate, month, day)
        except ValueError:
            continue
        if moment >= today:
            return moment
    return None


def _inline_due(text: str, today: date | None) -> tuple[str, date | None] | None:
    """A due date written inside a field ("... by Dec 5", "...12月5日前"): (the rest, the date)."""
    offset = 0
    for _ in range(5):  # a few dates in one line at most are worth a look
        found = _find_date(text[offset:])
        if found is None:
            return None
        start, end, parts = found[0] + offset, found[1] + offset, found[2]
        window = max(start - 30, 0)
        before = _DUE_BEFORE.search(text[window:start])
        after = _DUE_AFTER.match(text, end)
        if before is not None or after is not None:
            break
        offset = end
    else:
        return None
    cut_from = window + before.start() if before else start
    cut_to = after.end() if after else end
    rest = " ".join((text[:cut_from] + " " + text[cut_to:]).split()).strip(" ,，")
    return rest, _resolve(parts, today)


def _clean_owner(text: str) -> str:
    return text.strip().strip("<>.。,，;；:：").strip()


def _name_score(text: str) -> int:
    name = _clean_owner(text)
    if not name or len(name) > 40:
        return 0
    if _EMAIL.fullmatch(name):
        return 4
    if _CJK_NAMES.fullmatch(name):
        return 3 if len(name) <= 4 or not name.isalpha() else 2
    if not _LATIN_NAMES.fullmatch(name):
        return 0
    words = [w for w in name.split() if w.lower() not in {"and", "&"}]
    if not words:
        return 0
    if all(w[0].isupper() for w in words):
        return 3
    return 2 if words[0][0].isupper() else 1


def _likely_owner(fields: list[_Field]) -> str:
    best: tuple[int, int, int] | None = None
    chosen: _Field | None = None
    for index, field in enumerate(fields):
        if field.used or (index == 0 and not field.paren):
            continue
        score = _name_score(field.text)
        if score < (2 if field.paren else 1):
            continue
        key = (score, -len(field.text), index)
        if best is None or key > best:
            best, chosen = key, field
    if chosen is None:
        return ""
    chosen.used = True
    return _clean_owner(chosen.text)


def _what(fields: list[_Field]) -> str:
    text = _joined([f for f in fields if not f.paren and not f.used])
    inner = [f for f in fields if f.paren]
    kept = [f for f in inner if not f.used]
    if len(kept) == len(inner) and kept:
        text += f" ({_joined(kept)})"
    elif kept:
        text += f" ({', '.join(f.text for f in kept)})"
    return text.strip()


def _joined(fields: list[_Field]) -> str:
    return "".join((f.sep if i else "") + f.text for i, f in enumerate(fields))
