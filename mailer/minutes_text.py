"""Minutes as the AE writes them: sections, items, and next steps with an owner and a due date.

The AE answers a form with three headings (conclusions, next steps, open questions), from a mail
client (``reply_text`` takes the new text out of the reply) or from a file (``aeflow minutes
submit``). ``parse_minutes`` reads what is there and never insists: headings in either language,
with or without "##", bold, a trailing colon or the form's hint in brackets, synonyms
("Decisions", "Action items", "遗留问题", ...); items are the non-empty lines under a heading,
bullets and numbers removed, empty bullets ignored; text without any heading is kept whole and
marked unstructured, so the minutes still go out as written. Next-step lines are read by
``mailer.next_steps``.

Whether a reply was cut at its limit is told by ``read_reply`` (``Reply.truncated``);
``reply_text`` is its text alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from email.message import EmailMessage

from mailer import quotes
from mailer.next_steps import NextStep, parse_next_step
from mailer.quotes import DEFAULT_LIMIT, Reply
from rules.text import clean_text

__all__ = [
    "Minutes",
    "NextStep",
    "Reply",
    "is_empty_minutes",
    "parse_minutes",
    "read_reply",
    "reply_text",
]

# The footer of the prompt, the one line that follows the form in it.
_PROMPT_FOOTER = re.compile(
    r".{0,40}(?:sent automatically by aeflow|由 ?aeflow.{0,40}自动发送).*", re.I
)

_SYNONYMS = {
    "conclusions": ("conclusions", "conclusion", "decisions", "decision", "key decisions",
                    "结论", "会议结论", "决定", "决议", "会议决议"),
    "next_steps": ("next steps", "next step", "action items", "action item", "actions",
                   "follow-ups", "follow ups", "下一步", "后续行动", "行动项", "下一步动作",
                   "下一步行动", "后续工作", "待办事项"),
    "questions": ("open questions", "open question", "questions", "open issues", "open items",
                  "待定问题", "遗留问题", "待定事项", "待确认问题", "待解决问题"),
}  # fmt: skip
_SECTION_OF = {name: section for section, names in _SYNONYMS.items() for name in names}
_DECORATION = "#*_【】[]〔〕 \t"
_NUMBERING = re.compile(r"(?:\d{1,2}[.)、．]|[一二三四五六七八九十]{1,3}[、.．])\s*")
_HINT = re.compile(r"[(（][^()（）]*[)）]\s*$")
_BULLET = re.compile(
    r"(?:[-*+](?=\s|$)|[•·▪●◦‣–—]|\d{1,3}[.)．](?!\d)|\d{1,3}、|[(（]\d{1,3}[)）]"
    r"|[一二三四五六七八九十]{1,3}、)\s*(?:\[[ xX]?\]\s*)?"
)
_RULE_CHARS = "-_=─━*~"
# What the prompt itself says before its first heading: its title and its instruction.
_PROMPT_LINE = re.compile(
    r"(?:minutes|会议记录|会议纪要)\s?[:：].*\d{1,2}:\d{2}.*"
    r"|.*(?:keep the headings|reply to this mail|保留(?:各个?)?标题|回复(?:本|此)邮件).*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Minutes:
    """Minutes as written (``text``, always) and what was read from them."""

    text: str
    conclusions: tuple[str, ...]
    next_steps: tuple[NextStep, ...]
    questions: tuple[str, ...]
    structured: bool


def reply_text(message: EmailMessage, *, limit: int = DEFAULT_LIMIT) -> str:
    """The minutes the AE wrote in ``message``; see ``read_reply``."""
    return read_reply(message, limit=limit).text


def read_reply(message: EmailMessage, *, limit: int = DEFAULT_LIMIT) -> Reply:
    """``mailer.quotes.read_reply``: the new text of the reply without the quoted prompt, and
    whether it was cut at ``limit``. Some AEs write into the quoted form instead of above it
    (Outlook lets one type into the original; others answer between the quoted lines): when
    the new text has no heading and the quoted form has been filled in, the text is that form,
    from its first heading to the prompt's footer. Raises ``UnreadableInput`` for a message
    without any text. Control and bidi characters are taken out (``rules.text.clean_text``):
    the text goes to the client as written."""
    reply = quotes.read_reply(message, limit=limit)
    reply = replace(
        reply,
        text=clean_text(reply.text, multiline=True),
        quoted=clean_text(reply.quoted, multiline=True),
    )
    if not reply.quoted or parse_minutes(reply.text).structured:
        return reply
    lines = reply.quoted.split("\n")
    start = next((i for i, line in enumerate(lines) if _heading(line) is not None), None)
    if start is None:
        return reply
    end = next((i for i in range(start, len(lines)) if _PROMPT_FOOTER.fullmatch(lines[i])), None)
    form = "\n".join(line.rstrip() for line in lines[start:end]).strip()[:limit]
    return reply if is_empty_minutes(parse_minutes(form)) else replace(reply, text=form)


def parse_minutes(text: str, *, today: date | None = None) -> Minutes:
    """The sections of ``text``; see the module docstring. Never raises on any text.

    The text is cleaned first (``rules.text.clean_text``), whether it came in a reply or a file.
    """
    text = clean_text(text, multiline=True).strip()
    items: dict[str, list[str]] = {section: [] for section in _SYNONYMS}
    current: list[str] | None = None
    structured = False
    continues = False  # whether an indented plain line extends the previous bulleted item
    for raw in text.split("\n"):
        if not raw.strip():
            continues = False
            continue
        heading = _heading(raw)
        if heading is not None:
            section, inline = heading
            current, structured, continues = items[section], True, False
            if inline:
                current.append(inline)
            continue
        if current is None or _is_rule(raw):
            continue
        item, bulleted = _item(raw)
        if not item:
            continue
        if continues and not bulleted and raw[:1].isspace() and current:
            current[-1] = f"{current[-1]} {item}"
            continue
        current.append(item)
        continues = bulleted
    return Minutes(
        text=text,
        conclusions=tuple(items["conclusions"]),
        next_steps=tuple(parse_next_step(line, today) for line in items["next_steps"]),
        questions=tuple(items["questions"]),
        structured=structured,
    )


def is_empty_minutes(minutes: Minutes) -> bool:
    """Whether nothing was written beyond the headings, empty bullets and the form's own lines."""
    if minutes.conclusions or minutes.next_steps or minutes.questions:
        return False
    for raw in minutes.text.split("\n"):
        if not raw.strip() or _heading(raw) is not None or _is_rule(raw):
            continue
        item, _ = _item(raw)
        if item and not _PROMPT_LINE.fullmatch(item):
            return False
    return True


def _heading(line: str) -> tuple[str, str] | None:
    """(section, text written on the heading's own line) when ``line`` is a heading."""
    stripped = line.strip()
    if len(stripped) > 120:
        return None
    stripped = stripped.strip(_DECORATION)
    numbering = _NUMBERING.match(stripped)
    stripped = stripped[numbering.end() :] if numbering else stripped
    whole = _HINT.sub("", stripped.rstrip(":：" + _DECORATION)).strip(_DECORATION)
    section = _section(whole)
    if section is not None:
        return section, ""
    colon = re.search(r"[:：]", stripped)
    if colon is None:
        return None
    head = _HINT.sub("", stripped[: colon.start()].strip(_DECORATION)).strip(_DECORATION)
    section = _section(head)
    if section is None:
        return None
    return section, " ".join(stripped[colon.end() :].strip(_DECORATION).split())


def _section(head: str) -> str | None:
    sections = {_SECTION_OF.get(" ".join(p.split()).lower()) for p in re.split(r"[/|／]", head)}
    return sections.pop() if len(sections) == 1 else None


def _item(line: str) -> tuple[str, bool]:
    """``line`` without its bullet or number, whitespace collapsed; and whether it had one."""
    stripped = " ".join(line.split())
    match = _BULLET.match(stripped)
    if match is None:
        return stripped, False
    return stripped[match.end() :].strip(), True


def _is_rule(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= 3 and not stripped.strip(_RULE_CHARS)
