"""Composing a rendered mail into a MIME message ready for a backend to send.

The message is multipart/alternative (text/plain and text/html, both UTF-8), inside
multipart/mixed when something is attached. The backend stamps Message-ID and Date and chooses
the line endings.

Every name and the subject come from outside (calendars, address books, meeting subjects), so
they are made one clean line first: no CR, LF or other control character can reach a header.
Subject, From, To, Cc and Reply-To are then encoded and folded here rather than by the ``email``
package, whose folder in Python 3.11 loses or adds spaces in Chinese subjects and names and can
emit empty encoded words (about one realistic To list in four). Here a non-ASCII text becomes
base64 encoded words (RFC 2047) of whole characters, at most 75 characters each, and lines are
folded at 78 characters (RFC 5322), so any policy, ``email.policy.SMTP`` included, sends them
as they are.

The other headers (the ``X-AEFlow-*`` stamps, which carry meeting UIDs of any length, the
Message-ID, the threading headers) are folded by the message's policy, which folds even when
asked not to if a line would pass RFC 5322's 998: ``mailbox`` writes a Sent copy "unfolded". A
value too long for a line without spaces is then written as RFC 2047 encoded words, which any
RFC 5322 reader (``email.policy.default`` here) joins back into the original value.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import EmailPolicy
from types import MappingProxyType

from mailer.headers import sanitise
from mailer.render import SUBJECT_LIMIT, RenderedMail
from rules.addresses import smtp_address
from rules.model import Person

NAME_LIMIT = 200
LINE_LIMIT = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
HARD_LINE_LIMIT = 998  # RFC 5322 2.1.1: lines MUST be at most 998 characters
# A word of a header written here is at most 68 characters, so that even the first, after
# "Reply-To: ", ends by column 78: no policy then finds a line to fold again. An encoded word
# "=?utf-8?b?...?=" of 68 characters carries 56 base64 characters, 42 bytes.
_WORD_LIMIT = LINE_LIMIT - len("Reply-To: ")
_ENCODED_WORD_BYTES = (_WORD_LIMIT - len("=?utf-8?b??=")) // 4 * 3

# Headers compose() writes itself; a caller's ``headers`` may not replace them.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "in-reply-to",
        "references",
        "disposition-notification-to",
        "return-receipt-to",
        "auto-submitted",
        "x-auto-response-suppress",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
    }
)
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 2.2: printable US-ASCII except ":"
_PHRASE_SPECIALS = frozenset('()<>[]:;@\\,."')
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class _FoldingPolicy(EmailPolicy):
    """``email.policy.default`` that never writes a header line over 998 octets.

    A generator asked not to fold (``max_line_length`` 0 or None, as ``mailbox`` asks when it
    files a message) gets each header as it would be unfolded when every line of it fits, and
    folded at 78 columns when one would not (a long UID in ``X-AEFlow-Meeting-UID``).
    """

    def fold(self, name: str, value: str) -> str:
        folded: str = super().fold(name, value)
        if self.max_line_length or _fits(folded.encode("utf-8", "surrogateescape")):
            return folded
        return str(self.clone(max_line_length=LINE_LIMIT).fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        folded: bytes = super().fold_binary(name, value)
        if self.max_line_length or _fits(folded):
            return folded
        return bytes(self.clone(max_line_length=LINE_LIMIT).fold_binary(name, value))


def _fits(folded: bytes) -> bool:
    return all(len(line) <= HARD_LINE_LIMIT for line in folded.splitlines())


# The headers written here are already folded: "none" keeps the library from folding them again
# (a token too long to fold, such as a long URL in a subject, stays on its line, within 998).
_POLICY = _FoldingPolicy(refold_source="none")


@dataclass(frozen=True)
class Attachment:
    """A file to attach. An iCalendar invitation is ``text/calendar`` with a ``method`` param."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def calendar(cls, content: bytes, method: str, filename: str = "invite.ics") -> Attachment:
        """An iTIP message (RFC 5546); mail clients read its ``method`` (REQUEST, CANCEL, ...)
        from the Content-Type to offer Accept and Decline."""
        return cls(filename, content, "text", "calendar", {"method": method.upper()})


def compose(
    mail: RenderedMail,
    *,
    sender: Person,
    to: Sequence[Person],
    cc: Sequence[Person] = (),
    request_receipts: bool = False,
    reply_to: Person | None = None,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] = _NO_HEADERS,
    automated: bool = False,
    calendar: Attachment | None = None,
) -> EmailMessage:
    """``mail`` as a MIME message from ``sender`` to ``to`` and ``cc``.

    ``request_receipts`` asks for a read receipt (``Disposition-Notification-To``, RFC 8098, and
    ``Return-Receipt-To``, which Exchange and others honour). ``automated`` marks mail aeflow
    writes to the AE or the manager (``Auto-Submitted: auto-generated``, RFC 3834) and asks
    Exchange not to answer it with an out-of-office reply; client mail is never marked so,
    because the client's automatic replies are worth recording. ``headers`` adds headers such
    as Message-ID or Date. ``calendar`` (an ``Attachment.calendar``) becomes the third
    alternative, after the text and the HTML, as Outlook, Google and Apple send a meeting request
    (RFC 6047 2.4): the notice is what a reader sees, the calendar what their client acts on.
    A malformed address or message id, a line break in ``headers``, or a
    header compose() writes itself is a ``ValueError``.
    """
    if not to:
        raise ValueError("a mail needs at least one recipient in To")
    message = EmailMessage(policy=_POLICY)
    message.set_raw(
        "Subject", _fold("Subject", _text_tokens(sanitise(mail.subject, SUBJECT_LIMIT)))
    )
    message.set_raw("From", _address_list("From", [sender]))
    message.set_raw("To", _address_list("To", to))
    if cc:
        message.set_raw("Cc", _address_list("Cc", cc))
    if reply_to is not None:
        message.set_raw("Reply-To", _address_list("Reply-To", [reply_to]))
    if in_reply_to:
        message["In-Reply-To"] = _message_id(in_reply_to)
    if references:
        message["References"] = " ".join(_message_id(ref) for ref in references)
    if request_receipts:
        receipts_to = f"<{_addr_spec(sender.email)}>"
        message["Disposition-Notification-To"] = receipts_to
        message["Return-Receipt-To"] = receipts_to
    if automated:
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    for name, value in headers.items():
        _check_header(name, value)
        del message[name]
        message[name] = value

    message.set_content(mail.text, subtype="plain", charset="utf-8", cte=_transfer(mail.text))
    message.add_alternative(mail.html, subtype="html", charset="utf-8", cte=_transfer(mail.html))
    if calendar is not None:
        _add_calendar(message, calendar)
    for attachment in attachments:
        _attach(message, attachment)
    for part in message.walk():
        # set_content() stamps each new part as if it were a message of its own
        if part is not message:
            del part["MIME-Version"]
    return message


# --- headers ----------------------------------------------------------------------------------


def _fold(name: str, tokens: Sequence[str]) -> str:
    """``tokens`` joined by spaces, a line break before any token that would pass 78 columns."""
    lines: list[str] = []
    line = ""
    width = len(name) + 2  # "Name: "
    for token in tokens:
        if line and width + len(line) + 1 + len(token) > LINE_LIMIT:
            lines.append(line)
            line, width = token, 1  # a continuation line starts with one space
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return "\n ".join(lines)


def _text_tokens(text: str) -> list[str]:
    """Unstructured text (RFC 5322 ``unstructured``) as the words of a header."""
    if not text:
        return [""]
    return _plain_words(text) or _encoded_words(text)


def _encoded_words(text: str) -> list[str]:
    """``text`` as base64 encoded words (RFC 2047), never splitting a character, so that the
    reader may join them back exactly."""
    chunks: list[str] = []
    chunk = ""
    for char in text:
        if chunk and len((chunk + char).encode("utf-8")) > _ENCODED_WORD_BYTES:
            chunks.append(chunk)
            chunk = ""
        chunk += char
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(c.encode('utf-8')).decode('ascii')}?=" for c in chunks]


def _address_list(name: str, people: Sequence[Person]) -> str:
    tokens: list[str] = []
    for index, person in enumerate(people):
        mailbox = _mailbox_tokens(person)
        if index < len(people) - 1:
            mailbox[-1] += ","
        tokens.extend(mailbox)
    return _fold(name, tokens)


def _mailbox_tokens(person: Person) -> list[str]:
    address = _addr_spec(person.email)
    display = sanitise(person.name, NAME_LIMIT)
    if not display:
        return [address]
    plain = display
    if not _PHRASE_SPECIALS.isdisjoint(display):
        plain = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return [*(_plain_words(plain) or _encoded_words(display)), f"<{address}>"]


def _plain_words(text: str) -> list[str]:
    """The words of ``text`` when it can go into a header as it is, else nothing: it must be
    ASCII, hold nothing a reader would take for an encoded word, and break into short words."""
    words = text.split(" ")
    if text.isascii() and "=?" not in text and all(len(w) <= _WORD_LIMIT for w in words):
        return words
    return []


def _addr_spec(email: str) -> str:
    """``email`` checked for what SMTP without SMTPUTF8 carries; an IDN domain in ASCII form."""
    try:
        return smtp_address(email)
    except ValueError as error:
        raise ValueError(f"{error}: {sanitise(email)!r}") from None


def _message_id(value: str) -> str:
    token = value.strip()
    if not _MESSAGE_ID.fullmatch(token) or not token.isascii():
        raise ValueError(f"not a message id: {sanitise(value)!r} (expected <left@right>)")
    return token


def _check_header(name: str, value: str) -> None:
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"not a header name: {name!r}")
    if name.lower() in _OWN_HEADERS:
        raise ValueError(f"the header {name} is written by compose() from its arguments")
    if any(char in value for char in "\r\n\0"):
        raise ValueError(f"the value of the header {name} holds a line break: {value!r}")


# --- body -------------------------------------------------------------------------------------


def _transfer(text: str) -> str:
    """The transfer encoding of a body part: readable as it is when it can be, else safe for any
    relay (no 8BITMIME needed). Chinese text is shorter in base64 than in quoted-printable."""
    if text.isascii():
        fits = all(len(line) <= LINE_LIMIT for line in text.splitlines())
        return "7bit" if fits else "quoted-printable"
    return "base64"


def _checked_params(params: Mapping[str, str]) -> dict[str, str]:
    for key, value in params.items():
        if not _FIELD_NAME.fullmatch(key) or any(char in value for char in "\r\n\0"):
            raise ValueError(f"not a MIME parameter: {key!r}={value!r}")
    return dict(params)


def _add_calendar(message: EmailMessage, calendar: Attachment) -> None:
    if (calendar.maintype, calendar.subtype) != ("text", "calendar"):
        raise ValueError(f"not a calendar: {calendar.maintype}/{calendar.subtype}")
    text = calendar.content.decode("utf-8")
    message.add_alternative(text, subtype="calendar", charset="utf-8", cte=_transfer(text))
    parts = message.get_payload()
    alternative = parts[-1] if isinstance(parts, list) else message
    assert isinstance(alternative, EmailMessage)
    for key, value in _checked_params(calendar.params).items():
        alternative.set_param(key, value)


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    filename = sanitise(attachment.filename.replace("/", " ").replace("\\", " "), NAME_LIMIT)
    params = _checked_params(attachment.params)
    if attachment.maintype == "text" and "charset" not in params:
        try:
            attachment.content.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            params["charset"] = "utf-8"
    message.add_attachment(
        attachment.content,
        maintype=attachment.maintype,
        subtype=attachment.subtype,
        filename=filename or "attachment",
        params=params,
    )
