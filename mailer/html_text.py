"""HTML mail bodies as text, with stdlib ``html.parser``.

Breaks are kept for ``<br>`` and block elements, list items become "- ", a cited blockquote
becomes "> " lines, and styles, scripts and the head are dropped. A quoted original or a
signature marked in the markup (Outlook's ``divRplyFwdMsg`` and ``appendonsend``, Gmail's
``gmail_quote``, Thunderbird's ``moz-cite-prefix``, a ``Signature`` block) splits the text in
two, so that the caller can tell what the sender wrote from what they quote.

Hostile markup costs little: before html.parser sees it, comments are removed and every "<"
that does not open a complete tag is escaped, in linear passes.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "read_html"]

# A "<" that does not open a complete tag is text. Escaping it before html.parser reads the
# markup matters: on unterminated constructs ("</</</...", "<?<?...") that parser rescans the
# rest of its buffer at every "<", which is quadratic. [^<>]* stops at the next bracket, so
# this pass is linear.
_TAG_OR_BRACKET = re.compile(r"<[^<>]*>|<")
_BREAK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "center", "dd", "details", "dir", "div", "dl",
     "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
     "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tr",
     "ul"}
)  # fmt: skip
_DROPPED_TAGS = frozenset({"style", "script", "title", "xml", "template", "noscript"})
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend")
_QUOTE_CLASSES = (
    "gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote", "outlookmessageheader"
)  # fmt: skip


def html_to_text(markup: str) -> str:
    """``markup`` as text, up to a quoted original or a signature block marked in it."""
    return read_html(markup)[0]


def read_html(markup: str) -> tuple[str, str | None]:
    """The text before a quote or signature marked in the HTML, and the text after it (``None``
    without such a marker)."""
    reader = _HtmlReader()
    safe = _TAG_OR_BRACKET.sub(_safe_tag, _without_comments(markup))
    try:
        reader.feed(safe)
        reader.close()
    except Exception:  # html.parser asserts on some malformed declarations; read it crudely
        crude = html.unescape(_TAG_OR_BRACKET.sub("\n", safe))
        return "\n".join(line.strip() for line in crude.split("\n")), None
    lines = reader.lines()
    if reader.cut_at is None:
        return "\n".join(lines), None
    return "\n".join(lines[: reader.cut_at]), "\n".join(lines[reader.cut_at :])


def _without_comments(markup: str) -> str:
    # Word's conditional comments hold brackets of their own, and html.parser is quadratic on
    # unterminated ones; an unterminated comment runs to the end, as in a browser.
    pieces: list[str] = []
    position = 0
    while (start := markup.find("<!--", position)) >= 0:
        pieces.append(markup[position:start])
        end = markup.find("-->", start + 4)
        position = len(markup) if end < 0 else end + 3
    pieces.append(markup[position:])
    return "".join(pieces)


def _safe_tag(match: re.Match[str]) -> str:
    tag = match.group()
    if len(tag) == 1:
        return "&lt;"
    # Declarations, marked sections and processing instructions carry no text, and html.parser
    # raises on the malformed ones.
    return "" if tag.startswith(("<!", "<?")) else tag


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cut_at: int | None = None  # the line where a marked quote or signature starts
        self._lines: list[str] = []
        self._buf: list[str] = []
        self._has_text = False
        self._line_depth = 0
        self._quotes: list[bool] = []  # the blockquotes open, and which of them quote
        self._dropped = 0  # style, script, ... open
        self._in_head = False
        self._pre = 0

    def lines(self) -> list[str]:
        self._end_line()
        return self._lines

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._in_head, self._dropped = False, 0
        elif tag == "head":
            self._in_head = True
        elif tag in _DROPPED_TAGS:
            self._dropped += 1
        elif self.cut_at is None and _marks_quote(attrs):
            self._end_line()
            self.cut_at = len(self._lines)
        if tag == "br":
            self._end_line(hard=True)
        elif tag in _BREAK_TAGS:
            self._end_line()
        if tag == "blockquote":
            self._quotes.append(_cites(attrs))
        elif tag == "li":
            self._add("- ")
        elif tag == "pre":
            self._pre += 1
        elif tag in {"td", "th"}:
            self._add(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        elif tag in _DROPPED_TAGS:
            self._dropped = max(self._dropped - 1, 0)
        elif tag in _BREAK_TAGS:
            self._end_line()
        if tag == "blockquote" and self._quotes:
            self._quotes.pop()
        elif tag == "pre":
            self._pre = max(self._pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self._dropped or self._in_head:
            return
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._add(first)
            for line in rest:
                self._end_line(hard=True)
                self._add(line)
        else:
            self._add(re.sub(r"[ \t\r\n\f]+", " ", data))

    def _add(self, text: str) -> None:
        if not self._has_text and text.strip():
            self._line_depth, self._has_text = sum(self._quotes), True
        self._buf.append(text)

    def _end_line(self, *, hard: bool = False) -> None:
        line = "".join(self._buf).replace("\xa0", " ").strip()
        self._buf.clear()
        self._has_text = False
        if line:
            self._lines.append("> " * self._line_depth + line)
        elif hard:  # an empty <div><br></div> is how web clients write an empty line
            self._lines.append("")


def _cites(attrs: list[tuple[str, str | None]]) -> bool:
    # Outlook and OWA indent with a bare <blockquote>; a quoted original is marked as one.
    return any(
        name == "cite" or (name == "type" and (value or "").lower() == "cite")
        or (name == "class" and "quote" in (value or "").lower())
        for name, value in attrs
    )  # fmt: skip


def _marks_quote(attrs: list[tuple[str, str | None]]) -> bool:
    for name, value in attrs:
        value = (value or "").lower()
        if name in {"id", "class"} and "signature" in value:
            return True
        if name == "id" and value.startswith(_QUOTE_IDS):
            return True
        if name == "class" and any(t.startswith(_QUOTE_CLASSES) for t in value.split()):
            return True
    return False
