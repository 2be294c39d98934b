"""Cleaning untrusted text where it enters: calendar fields, names, minutes replies.

A meeting's subject, location and notes, an attendee's name and the minutes an AE replies with
are copied into mail to clients (text, HTML and calendar parts). Characters that are invisible
or that a reader's program acts on must not travel with them: ESC starts terminal sequences,
the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows
them ("evil.example" shown as "elpmaxe.live"), and the line and paragraph separators (U+2028,
U+2029) are line breaks to many readers, so an agenda could show a forged ``Bcc:`` line that the
text never had. Both the calendar side and the mail side call ``clean_text``; neither imports
the other.
"""

from __future__ import annotations

# C0 controls except tab and line feed (carriage returns are line breaks, handled first), DEL,
# C1 controls (NEL among them), and the bidi controls that change the order of what follows.
_REMOVED: dict[int, str | None] = {
    code: None
    for code in (
        *range(0x00, 0x20),
        0x7F,
        *range(0x80, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
    if code not in (0x09, 0x0A)
}
_SEPARATORS = (0x2028, 0x2029)
_MULTILINE = {**_REMOVED, **dict.fromkeys(_SEPARATORS, "\n")}
_SINGLE_LINE = {**_REMOVED, **dict.fromkeys((*_SEPARATORS, 0x0A), " ")}


def clean_text(value: str, *, multiline: bool) -> str:
    """``value`` without control characters, bidi controls or foreign line breaks.

    Line endings (CR LF, CR, LF) become ``"\\n"``; so do U+2028 and U+2029 when ``multiline``.
    In a single-line field (a subject, a location, a name) every line break becomes a space.
    ESC and the other C0 controls (but tab), DEL, the C1 controls and the bidi controls are
    removed. Nothing else changes: no trimming, no collapsing of spaces.
    """
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_MULTILINE if multiline else _SINGLE_LINE)
