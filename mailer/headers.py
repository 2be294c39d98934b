"""Reading untrusted mail safely: headers, message ids, addresses, dates, text bodies.

Everything here takes hostile input in its stride. The ``email`` package parses header values
lazily, so a malformed header can raise at the moment it is read, long after parsing succeeded;
these helpers catch that and fall back to the raw text, so the classifier never has to.
``Envelope`` carries what every signal of one message shares, and is the one place where
untrusted text is sanitised on its way into a ``Signal``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from rules.model import Response, Signal, SignalKind

# Categories replaced by a space in sanitised text: control and format characters (CR, LF, NUL,
# bidi overrides that could disguise a log line), line and paragraph separators, unpaired
# surrogates left by undecodable bytes.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}

_MSG_ID = re.compile(r"<([^<>]*)>")
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_COMMENT = re.compile(r"\([^()]*\)")
_TAG = re.compile(r"<[^>]*>")
_EPOCH_YEAR = 1970


def sanitise(text: str, limit: int = 200) -> str:
    """``text`` made safe to log or show: one line, no control characters, at most ``limit`` long.

    Undecodable bytes (surrogates) and control or format characters become spaces, runs of
    whitespace collapse to one space, and a truncated result ends with an ellipsis.
    """
    if limit <= 0:
        return ""
    cleaned = "".join(" " if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def clean(text: str) -> str:
    """``text`` without unpaired surrogates, which cannot be encoded; nothing else changes."""
    return text.encode("utf-8", "replace").decode("utf-8")


def header(msg: Message, name: str) -> str:
    """The decoded value of the first ``name`` header, or ``""`` when absent or unreadable."""
    try:
        value = msg.get(name)
    except Exception:  # the lazy header parser fails on hostile input
        value = None
    if value is not None:
        try:
            return clean(str(value))
        except Exception:  # a Header object can fail to render
            pass
    return next(iter(raw_headers(msg, name)), "")


def raw_headers(msg: Message, name: str) -> Iterator[str]:
    """Every ``name`` header as written (RFC 2047 words decoded when possible), unfolded."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() != wanted:
            continue
        text = unfold(str(value))
        with suppress(Exception):  # undecodable words stay as written
            text = str(make_header(decode_header(text)))
        yield clean(text)


def all_headers(msg: Message, name: str) -> list[str]:
    """Every ``name`` header, decoded; unreadable ones in their raw form."""
    return list(raw_headers(msg, name)) if name.lower() in _lower_keys(msg) else []


def has_header(msg: Message, name: str) -> bool:
    return name.lower() in _lower_keys(msg)


def _lower_keys(msg: Message) -> set[str]:
    return {str(k).lower() for k in msg}


def unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]*|\r[ \t]*", " ", text).strip()


def message_ids(value: str) -> list[str]:
    """The message ids in a header value, each as ``<left@right>`` without whitespace.

    Text outside angle brackets (comments, the phrase old mailers put in In-Reply-To) is
    ignored; a bare ``left@right`` is accepted when it is the whole value.
    """
    found = []
    for inner in _MSG_ID.findall(value):
        token = "".join(inner.split())
        if "@" in token.strip("@") and _printable(token):
            found.append(f"<{token}>")
    if not found:
        bare = value.strip()
        single = bare and len(bare.split()) == 1 and "<" not in bare and _printable(bare)
        if single and "@" in bare.strip("@"):
            found.append(f"<{bare}>")
    return found


def _printable(token: str) -> bool:
    # RFC 5322 caps a line at 998 characters; an id with control characters is not an id.
    return len(token) <= 998 and not any(
        unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in token
    )


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """``items`` without empties or repeats, first occurrence kept."""
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


def thread_ids(msg: Message) -> list[str]:
    """What a message says it answers: In-Reply-To, then References newest first."""
    ids = message_ids(header(msg, "In-Reply-To"))
    ids += list(reversed(message_ids(" ".join(all_headers(msg, "References")))))
    return list(unique(ids))


def address(value: str) -> str:
    """The first email address in a header value, lower case; ``""`` when there is none."""
    try:
        pairs = getaddresses([value])
    except Exception:  # the address parser can fail on hostile input
        pairs = []
    for _, addr in pairs:
        if "@" in addr.strip("@"):
            return clean(addr.strip().strip("<>").lower())
    match = _ADDRESS.search(value)
    return match.group(0).lower() if match else ""


def header_addresses(msg: Message, name: str) -> list[str]:
    """Every entry of every ``name`` header, lower case, in order, repeats kept.

    An entry that is not an address counts too (as written), and a value the address parser
    cannot read gives every address-like text in it: who wrote a message is decided by all it
    names, never by its first address alone.
    """
    found: list[str] = []
    for value in raw_headers(msg, name):
        try:
            pairs = getaddresses([value])
        except Exception:  # the address parser can fail on hostile input
            found.extend(addresses_in(value))
            continue
        found.extend(clean(addr.strip().strip("<>").lower()) for _, addr in pairs if addr.strip())
    return found


def addresses_in(text: str) -> list[str]:
    """Every email address found in free text, lower case, in order, without repeats."""
    return list(unique(m.group(0).strip(".").lower() for m in _ADDRESS.finditer(text)))


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date as an aware datetime, or ``None`` when it cannot be trusted.

    ``-0000`` (and a missing zone) means UTC with the sender's zone unknown (RFC 5322 3.3).
    A year before 1970 comes from a broken clock or a two-digit year, not from real mail.
    """
    text = _COMMENT.sub(" ", value).strip()
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < _EPOCH_YEAR:
        return None
    return moment


def received_date(msg: Message) -> datetime | None:
    """When the newest Received header says the message arrived (the text after its ``;``)."""
    for value in raw_headers(msg, "Received"):
        _, sep, stamp = value.rpartition(";")
        if sep:
            return parse_date(stamp)
    return None


def iter_parts(msg: Message, *, into_messages: bool = False) -> Iterator[Message]:
    """``msg`` and its parts, depth first.

    An attached message (``message/rfc822`` and the like) is yielded but, unless
    ``into_messages``, not entered: what a returned or forwarded original contains is not what
    this message says. The header blocks of a delivery or disposition report are never entered.
    """
    yield msg
    ctype = content_type(msg)
    if ctype.startswith("message/") and (not into_messages or _is_report_fields(ctype)):
        return
    payload = msg.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from iter_parts(sub, into_messages=into_messages)


def _is_report_fields(ctype: str) -> bool:
    return ctype.endswith(("delivery-status", "disposition-notification", "feedback-report"))


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # a hostile Content-Type header
        return "text/plain"


def part_text(part: Message) -> str:
    """The decoded text of a leaf part; ``""`` for what is not text or cannot be decoded."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encodings
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return clean(raw) if isinstance(raw, str) else ""
    charset = "utf-8"
    with suppress(Exception):  # a hostile charset parameter
        charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "gb18030"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def body_text(msg: Message, *, into_messages: bool = False) -> str:
    """The readable text of a message: its text/plain parts, else its HTML without tags."""
    plain: list[str] = []
    markup: list[str] = []
    for part in iter_parts(msg, into_messages=into_messages):
        if part.is_multipart():
            continue
        ctype = content_type(part)
        # A multipart whose boundary was lost (a badly folded Content-Type) is left as text.
        if ctype in {"text/plain", "text/rfc822-headers"} or ctype.startswith("multipart/"):
            plain.append(part_text(part))
        elif ctype == "text/html":
            markup.append(html.unescape(_TAG.sub(" ", part_text(part))))
    return "\n".join(plain) if any(p.strip() for p in plain) else "\n".join(markup)


@dataclass(frozen=True)
class Envelope:
    """What a message says about itself, shared by every signal it yields."""

    at: datetime
    message_id: str
    sender: str
    subject: str
    thread: tuple[str, ...]
    note: str = ""

    def signal(
        self,
        kind: SignalKind,
        *,
        recipient: str = "",
        answers: Iterable[str] = (),
        status: str = "",
        reason: str = "",
        response: Response | None = None,
        uid: str = "",
        occurrence_id: str = "",
    ) -> Signal:
        """A signal of ``kind`` from this message; untrusted text is sanitised here."""
        if self.note:
            reason = f"{reason} ({self.note})" if reason else self.note
        return Signal(
            kind=kind,
            at=self.at,
            message_id=self.message_id,
            sender=self.sender,
            recipient=sanitise(recipient, 320),
            answers=unique(answers),
            status=sanitise(status, 20),
            reason=sanitise(reason),
            response=response,
            uid=sanitise(uid, 1000),
            occurrence_id=occurrence_id,
            subject=self.subject,
        )
