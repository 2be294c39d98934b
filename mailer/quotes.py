"""The new text of a reply: what its sender wrote, without the original they answered.

Each mail client marks the quoted original its own way:

- Outlook desktop and OWA put a header block before it ("From: ... Sent: ... To: ... Subject:",
  "发件人: ... 发送时间: ... 收件人: ... 主题:", ASCII or full-width colons), often after a rule, or
  an "-----Original Message-----" / "-----原始邮件-----" line; in HTML, ``<div
  id="divRplyFwdMsg">`` after an empty ``<div id="appendonsend">``.
- Gmail writes "On Mon, 30 Nov 2026 at 11:40, Name <a@b> wrote:" (maybe over two lines) or
  "在 2026年11月30日周一 11:40，Name <a@b> 写道：", then "> " lines; ``div.gmail_quote`` in HTML.
- Apple Mail writes "On 30 Nov 2026, at 11:40, Name <a@b> wrote:" and ``<blockquote type="cite">``.
- Plain-text clients quote with "> " and sign after "-- " (RFC 3676); phones add a footer
  ("Sent from my iPhone", "发自我的iPhone").

A marker in the HTML (see ``mailer.html_text``) ends the new text where it stands. In text, the
first header block, "Original Message" line, signature separator or mobile footer ends it;
attribution lines and "> " lines are dropped wherever they are, so text written between quoted
lines (an inline reply) is kept. A closing ("Best regards,", "谢谢") among the last few short
lines starts a signature. What follows the first marker is kept apart in ``Reply.quoted``,
without its quote marks.

``read_reply`` cuts the input before reading it (plain text at ``limit`` characters, HTML at
``HTML_FACTOR`` times that), so a huge reply costs little, and reports the cut in
``Reply.truncated`` when it may have lost new text: when no quote marker came before it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

from mailer.headers import content_type, header, iter_parts, part_text, sanitise
from mailer.html_text import read_html
from rules.errors import UnreadableInput

__all__ = [
    "DEFAULT_LIMIT",
    "HTML_FACTOR",
    "Reply",
    "read_reply",
    "strip_quoted",
    "unflow",
]

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 200_000
# Markup is mostly tags and styles (an Outlook reply of three lines carries 30 kB of them).
HTML_FACTOR = 4
# Lines longer than this are never a header, attribution, footer or closing; the checks skip
# them, which keeps every test on a line cheap whatever the input.
_SHORT = 300

_QUOTE_MARKS = re.compile(r"[ \t]*(?:>[ \t]?)*")

_HEADER_KEY = re.compile(
    r"[\s*]{0,4}(?:(?P<from>from|发件人)|(?P<sent>sent|date|发送时间|时间|日期)"
    r"|(?P<to>to|cc|收件人|抄送)|(?P<subject>subject|主题))[ \t]{0,3}[:：]",
    re.IGNORECASE,
)
_HEADER_WINDOW = 10
_ORIGINAL_PHRASES = frozenset(
    {"original message", "original", "原始邮件", "原邮件", "replied message", "回复的原邮件",
     "forwarded message", "转发的邮件"}
)  # fmt: skip
_FOOTER = re.compile(
    r"(?:sent from my\b.{1,40}|sent from (?:outlook|mail|yahoo mail|gmail)\b.{0,40}"
    r"|get outlook for\b.{1,30}|sent from\b.{1,30}\bfor (?:ios|android|windows).{0,10}"
    r"|发自我的.{1,30}|从我的.{1,30}发送|来自我的.{1,30}|发自.{0,20}(?:邮箱|客户端|手机).{0,10})",
    re.IGNORECASE,
)
_CLOSINGS = frozenset(
    {"best regards", "kind regards", "warm regards", "regards", "best", "best wishes", "thanks",
     "thank you", "many thanks", "thanks and regards", "thanks & regards", "cheers", "br",
     "sincerely", "yours sincerely", "谢谢", "多谢", "此致", "此致敬礼", "此致 敬礼",
     "祝好", "顺祝商祺", "顺颂商祺", "商祺", "敬上"}
)  # fmt: skip
_CLOSING_TAIL = 6  # at most this many short lines after a closing: a name, a title, a phone


@dataclass(frozen=True)
class Reply:
    """The new text of a reply; ``truncated`` when the cut at the limit may have lost some;
    ``quoted``, the original it quotes with the quote marks taken off (some people write into
    the quoted original instead of above it)."""

    text: str
    truncated: bool
    quoted: str = ""


def read_reply(message: Message, *, limit: int = DEFAULT_LIMIT) -> Reply:
    """The new text of ``message``: its text/plain body, else its HTML turned into text, without
    the quoted original, the signature or a mobile footer (see the module docstring).

    An empty body gives empty text; an empty body with minutes attached as a text or Markdown
    file gives the file. Raises ``UnreadableInput`` when the message has no text part at all (an
    image or a PDF alone), or when the email package fails on it.
    """
    where = sanitise(header(message, "Message-ID") or header(message, "Subject"), 120)
    source = f"reply {where}" if where else "reply"
    try:
        part = _body_part(message)
        if part is None:
            reason = "the message has no text: neither a text/plain nor a text/html part"
            raise UnreadableInput(source, reason)
        return _read(part, max(limit, 0))
    except UnreadableInput:
        raise
    except Exception as exc:  # the email package on input nobody foresaw: report, do not crash
        log.warning("cannot read the reply %s", source, exc_info=True)
        reason = f"cannot be read ({type(exc).__name__}: {sanitise(str(exc), 120)})"
        raise UnreadableInput(source, reason) from exc


def _read(part: Message, limit: int) -> Reply:
    body = part_text(part)
    if content_type(part) == "text/html":
        cap = limit * HTML_FACTOR
        markup, cut = body[:cap], len(body) > cap
        text, after = read_html(markup)
    else:
        text, cut, after = body[:limit], len(body) > limit, None
        if _param(part, "format") == "flowed":
            text = unflow(text, delsp=_param(part, "delsp") == "yes")
    new, quoted = _strip(text)
    if after is not None:
        quoted = f"{quoted}\n{_dequoted(after)}" if quoted else _dequoted(after)
    truncated = cut and quoted is None
    if len(new) > limit:
        new, truncated = new[:limit].rstrip(), True
    return Reply(new, truncated, quoted or "")


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name, "")
    except Exception:  # a hostile Content-Type header
        return ""
    return value.lower() if isinstance(value, str) else ""


def _body_part(message: Message) -> Message | None:
    plain: list[Message] = []
    markup: list[Message] = []
    attached: list[Message] = []
    for part in iter_parts(message):
        if part.is_multipart():
            continue
        ctype = content_type(part)
        try:
            disposition = part.get_content_disposition()
        except Exception:  # a hostile Content-Disposition header
            disposition = None
        if disposition == "attachment":
            if ctype in {"text/plain", "text/markdown"}:
                attached.append(part)
        elif ctype == "text/plain":
            plain.append(part)
        elif ctype == "text/html":
            markup.append(part)
    # An empty text/plain beside a full HTML part is a client's stub, not the reply.
    for candidates in (plain, markup, attached):
        for part in candidates:
            if part_text(part).strip():
                return part
    return next(iter(plain + markup + attached), None)


def strip_quoted(text: str) -> str:
    """``text`` without the quoted original, the signature and a mobile footer."""
    return _strip(text)[0]


def _strip(text: str) -> tuple[str, str | None]:
    """The new text, and the text from the first quote marker on with its quote marks taken off
    (``None`` when there is no marker)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").split("\n")
    kept: list[str] = []
    first: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        skip = 1 if line.strip().startswith(">") else _attribution_lines(lines, i)
        ends = not skip and _ends_reply(lines, i)
        if (skip or ends) and first is None:
            first = i
        if ends:
            break
        if not skip:
            kept.append(line.rstrip())
        i += max(skip, 1)
    kept = _without_closing(kept)
    while kept and (not kept[-1].strip() or _is_rule(kept[-1])):
        kept.pop()
    quoted = None if first is None else _dequoted("\n".join(lines[first:]))
    return "\n".join(kept).lstrip("\n"), quoted


def _dequoted(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        marks = _QUOTE_MARKS.match(line)
        lines[index] = line[marks.end() :] if marks else line
    return "\n".join(lines)


def _ends_reply(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.rstrip("\r") in {"-- ", "--"}:
        return True
    stripped = line.strip()
    if not stripped or len(stripped) > _SHORT:
        return False
    if _FOOTER.fullmatch(stripped):
        return True
    if stripped.startswith("--") and stripped.strip("-_= ").lower() in _ORIGINAL_PHRASES:
        return True
    return _header_kind(stripped) == "from" and _is_header_block(lines, i)


def _header_kind(line: str) -> str:
    if len(line) > _SHORT * 4:
        return ""
    match = _HEADER_KEY.match(line)
    return (match.lastgroup or "") if match else ""


def _is_header_block(lines: list[str], start: int) -> bool:
    kinds = {_header_kind(line.strip()) for line in lines[start : start + _HEADER_WINDOW]}
    return "sent" in kinds and bool(kinds & {"to", "subject"})


def _attribution_lines(lines: list[str], i: int) -> int:
    """How many lines from ``i`` make an attribution ("On ... wrote:"), 0 when none."""
    first = lines[i].strip()
    if not first or len(first) > _SHORT:
        return 0
    if _ends_attribution(first) and (
        _starts_attribution(first) or "@" in first or any(ch.isdigit() for ch in first)
    ):
        return 1
    if i + 1 < len(lines) and _starts_attribution(first):
        second = lines[i + 1].strip()
        if len(second) <= _SHORT and _ends_attribution(second):
            return 2
    return 0


def _starts_attribution(line: str) -> bool:
    return line.lower().startswith("on ") or line.startswith(("在", "于"))


def _ends_attribution(line: str) -> bool:
    return line.lower().endswith(("wrote:", "wrote :", "写道：", "写道:"))


def _is_rule(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= 3 and not stripped.strip("-_=─━*~")


def _without_closing(lines: list[str]) -> list[str]:
    seen = 0
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if len(stripped) <= _SHORT and stripped.rstrip(",，.。!！:：").lower() in _CLOSINGS:
            return lines[:index]
        seen += 1
        if seen > _CLOSING_TAIL or len(stripped) > 80:
            break
    return lines


def unflow(text: str, *, delsp: bool = False) -> str:
    """Text sent as format=flowed (RFC 3676) with its soft line breaks joined."""
    out: list[str] = []
    pieces: list[str] = []  # the lines of the paragraph being joined
    depth_open = -1
    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        body = raw[depth:].removeprefix(" ")  # space-stuffing
        if pieces and depth != depth_open:
            out.append("".join(pieces))
            pieces = []
        if not pieces:
            pieces.append(">" * depth + " " if depth else "")
            depth_open = depth
        flowed = body.endswith(" ") and body != "-- "
        pieces.append(body[:-1] if flowed and delsp else body)
        if not flowed:
            out.append("".join(pieces))
            pieces = []
    if pieces:
        out.append("".join(pieces))
    return "\n".join(out)
