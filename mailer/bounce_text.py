"""Bounces that are not RFC 3464 reports: Exchange, Exim, qmail, Lotus, Yahoo, Sina and the rest.

Whether a message is a bounce is decided here, from its sender, subject, headers and text; which
recipients failed is read first from what the bounce states outright (X-Failed-Recipients, a
delivery status written into its text), then by ``flufl.bounce``'s detectors (one per MTA
family, kept up to date for Mailman), then by the phrases below, and last from the returned
original's single recipient.

Two kinds of look-alike are kept out: list-moderation notices ("your message awaits moderator
approval", sometimes sent as a "Non-Delivery" report) and challenge-response filters (Boxbe and
the like), which hold the message until the sender proves to be a person.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from flufl.bounce import all_failures

from mailer.dsn import enhanced_status, enhanced_statuses, quoted_headers
from mailer.headers import address, addresses_in, all_headers, has_header, header, unique
from rules.model import SignalKind

log = logging.getLogger(__name__)


class _DropDetectorTracebacks(logging.Filter):
    """flufl.bounce logs a traceback at ERROR when a detector trips over hostile input, then
    re-raises; ``_flufl_recipients`` catches that and moves on, so the traceback is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


logging.getLogger("flufl.bounce").addFilter(_DropDetectorTracebacks())

_FAILURE = re.compile(
    r"undeliver|not\s+(be\s+)?delivered|non[- ]?deliver|delivery\s+(status\s+notification\s+"
    r"\(failure\)|failure|failed|has\s+failed|notification)|failure\s+notice|returned\s+mail"
    r"|mail\s+delivery\s+failed|mail\s+failure|failed\s+mail|could\s+not\s+deliver|unable\s+to"
    r"\s+deliver|failed\s+to\s+deliver|error\s+delivering|did\s+not\s+reach|returned\s+to\s+sender"
    r"|permanent\s+error|user\s+unknown|no\s+such\s+user|invalid\s+user|mailbox\s+unavailable"
    r"|recipient\s+address\s+rejected|failure\s+reasons|unzustellbar|non\s+remis|non\s+recapitabile"
    r"|error\s+has\s+occurred\s+while\s+attempting\s+to\s+deliver|status\s+notification\s*:?"
    r"\s*\(?(failure|error)|onbestelbaar|no\s+se\s+pudo\s+entregar|退信|投递失败|发送失败|无法投递|无法发送|无法送达"
    r"|未能送达|未送达|не\s+доставлен|недоставлен|配信できません|配送できません",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(
    r"\bdelay|still\s+being\s+retried|warning:\s+could\s+not\s+send|not\s+yet\s+(been\s+)?"
    r"delivered|verzögert|延迟|延遲|遅延",
    re.IGNORECASE,
)
_DELAY_BODY = re.compile(
    r"will\s+(continue|keep)\s+(to\s+)?(try|trying|retry)|will\s+be\s+retried|delivery\s+attempts"
    r"\s+will\s+continue|still\s+(being\s+)?(retried|trying)|warning\s+message\s+only|(do\s+not|"
    r"don't|no)\s+(need\s+to\s+)?resend|will\s+try\s+(again|to\s+deliver)|has\s+been\s+delayed",
    re.IGNORECASE,
)
_FINAL = re.compile(
    r"permanent(ly)?\s+(error|fail)|gave\s+up|giving\s+up|will\s+not\s+be\s+retried|no\s+further"
    r"\s+attempts|cannot\s+send\s+message\s+for",
    re.IGNORECASE,
)
_MODERATION = re.compile(
    r"awaits?\s+moderator\s+approval|held\s+for\s+moderation|held\s+until\s+the\s+list\s+moderator"
    r"|requires?\s+moderator\s+approval|pending\s+moderation",
    re.IGNORECASE,
)
_CHALLENGE = re.compile(
    r"boxbe|waitlisted|guest\s+list|not\s+pre-?approved|spam\s?arrest|challenge[- ]response|verify"
    r"\s+(that\s+)?you\s+are\s+(a\s+)?(real|human)|prove\s+(that\s+)?you\s+are\s+(a\s+)?(real|human)"
    r"|sender\s+verification\s+request",
    re.IGNORECASE,
)
_DAEMON_LOCAL = re.compile(
    r"^(mailer-?daemon|postmaster|post_master|mail-?daemon|mdaemon|mail\.?delivery)$", re.IGNORECASE
)
_DAEMON_NAME = re.compile(
    r"mail\s+delivery\s+(subsystem|system|service)|mailer[- ]daemon|postmaster", re.IGNORECASE
)
_REPLY = re.compile(r"^\s*(re|aw|sv|vs|答复|回复|回覆)\s*[:：]", re.IGNORECASE)
_FORWARD = re.compile(r"^\s*(fwd?|wg|tr|转发|轉寄)\s*:", re.IGNORECASE)
_ORIGINAL_MARKER = re.compile(
    r"original\s+message|returned\s+message|unsent\s+message|message\s+headers|copy\s+of\s+the\s+"
    r"(original\s+)?message|below\s+is\s+a\s+copy|原信件|元のメッセージ",
    re.IGNORECASE,
)
_MARKER_SHAPE = re.compile(r"^\s*[-=*_#>]{2,}|(follows?\.?|:|[-=*_#]{2,})\s*$", re.IGNORECASE)
_INTRO = re.compile(
    r"following\s+(recipient|address|user|destination)|these\s+recipients|(could|can)\s*(not|n't)"
    r"\s+be\s+delivered|delivery\s+has\s+failed\s+to|failed\s+to\s+deliver|error\s+delivering"
    r"|did\s+not\s+reach|unable\s+to\s+deliver|list\s+of\s+recipients|failure\s+reasons|failed"
    r"\s+recipients?|not\s+delivered\s+to|could\s+not\s+deliver|delivery\s+to\s+the\s+following"
    r"|permanent\s+fatal\s+errors|无法发送到|无法送达|未能送达|не\s+доставлен|配信できません",
    re.IGNORECASE,
)
_STOP = re.compile(
    r"^\s*([-=*_>]{2,}\s*)?(original\s+message|returned\s+message|unsent\s+message|message\s+"
    r"headers|this\s+is\s+a\s+copy|below\s+is\s+(a\s+)?copy|received:|return-path:|reporting-mta)",
    re.IGNORECASE,
)
_RCPT = re.compile(r"RCPT\s+TO:\s*<?([^\s<>]+@[^\s<>]+?)>?(\s|$)", re.IGNORECASE)
_SMTP_REPLY = re.compile(r"(?<![\w.+-])[45]\d\d(?:[- ](?:[245]\.\d|[^\d\s])|\s*$)")
_REGION_LINES = 10
_HEAD_LIMIT = 8000


@dataclass(frozen=True)
class TextBounce:
    kind: SignalKind
    recipients: tuple[str, ...]
    status: str
    reason: str


def head_of(body: str) -> str:
    """The bounce's own words: its text before the copy of the original it returns.

    The copy starts at a separator line ("--- Original message follows ---", "Message headers
    follow.", "Below is a copy of the original message:"), not at a sentence that happens to
    say "original message".
    """
    offset = 0
    for line in body.splitlines(keepends=True):
        stripped = line.strip()
        if (
            offset
            and len(stripped) <= 100
            and _ORIGINAL_MARKER.search(stripped)
            and _MARKER_SHAPE.search(stripped)
        ):
            break
        offset += len(line)
    return body[:offset][:_HEAD_LIMIT]


def is_daemon_sender(msg: Message) -> bool:
    sender = header(msg, "From")
    local = address(sender).rpartition("@")[0]
    return bool(_DAEMON_LOCAL.match(local) or _DAEMON_NAME.search(sender))


def is_moderation_notice(subject: str, body: str) -> bool:
    """A mailing list holding a post for its moderator: nothing failed for good."""
    return bool(_MODERATION.search(subject) or _MODERATION.search(head_of(body)))


def is_challenge(text: str) -> bool:
    """A challenge-response filter asking the sender to prove to be a person."""
    return bool(_CHALLENGE.search(text))


def is_failure_subject(subject: str) -> bool:
    return bool(_FAILURE.search(subject)) and not _FORWARD.match(subject)


def looks_like_bounce(msg: Message, subject: str, body: str, report_type: str) -> bool:
    """Whether a message without a readable delivery-status part is nevertheless a bounce."""
    if (
        report_type == "delivery-status"
        or has_header(msg, "X-Failed-Recipients")
        or has_header(msg, "X-MS-Exchange-Message-Is-Ndr")
    ):
        return True
    subject_says = is_failure_subject(subject)
    body_says = bool(_FAILURE.search(head_of(body)))
    if is_daemon_sender(msg):
        return subject_says or body_says
    # From an ordinary address, a bounce must say so in its subject and its text, and must not
    # be part of a conversation: a client writing "the parcel was not delivered" in a reply is
    # not a bounce.
    in_thread = has_header(msg, "In-Reply-To") or has_header(msg, "References")
    return subject_says and body_says and not in_thread and not _REPLY.match(subject)


def is_delay_warning(subject: str, body: str) -> bool:
    """A warning that delivery is still being tried, as opposed to a final failure."""
    head = head_of(body)
    if _FINAL.search(head) or _FINAL.search(subject):
        return False
    return bool(_DELAY_SUBJECT.search(subject) or _DELAY_BODY.search(head))


def read_text_bounce(
    msg: Message, clean_raw: bytes, subject: str, body: str, exclude: set[str]
) -> TextBounce:
    """Kind, failed recipients, status and reason of a bounce written for people."""
    head = head_of(body)
    kind = SignalKind.DELAYED if is_delay_warning(subject, body) else SignalKind.BOUNCE
    recipients = _failed_recipients(msg, clean_raw, head, body, exclude)
    reason = _reason(head)
    status = enhanced_status(reason) or _first_status(head, kind)
    return TextBounce(kind, recipients, status, reason)


def _failed_recipients(
    msg: Message, clean_raw: bytes, head: str, body: str, exclude: set[str]
) -> tuple[str, ...]:
    stated = [a for value in all_headers(msg, "X-Failed-Recipients") for a in addresses_in(value)]
    for source in (stated, _flufl_recipients(clean_raw), _phrase_recipients(head)):
        found = unique(a for a in source if _plausible(a, exclude))
        if found:
            return found
    original = quoted_headers(body)
    if original is not None:
        to = addresses_in(" ".join(str(v) for v in original.get_all("To", [])))
        kept = [a for a in to if _plausible(a, exclude)]
        if len(kept) == 1:
            return (kept[0],)
    return ()


def _plausible(candidate: str, exclude: set[str]) -> bool:
    local = candidate.rpartition("@")[0]
    return (
        bool(local)
        and candidate not in exclude
        and f"<{candidate}>" not in exclude
        and not _DAEMON_LOCAL.match(local)
    )


def _flufl_recipients(clean_raw: bytes) -> list[str]:
    try:
        temporary, permanent = all_failures(message_from_bytes(clean_raw, policy=compat32))
    except Exception as exc:  # a third-party heuristic must not stop us
        log.debug("flufl.bounce failed on a message: %s", type(exc).__name__)
        return []
    found = sorted(permanent) + sorted(temporary - permanent)
    return [a.decode("ascii", "replace").lower() for a in found]


def _phrase_recipients(head: str) -> list[str]:
    lines = head.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[str] = []
    for index, line in enumerate(lines):
        # An SMTP transcript: a RCPT TO the server accepted (2xx next) did not fail.
        for match in _RCPT.finditer(line):
            answer = " ".join([line[match.end() :], *lines[index + 1 : index + 3]])
            code = re.search(r"(?<![\d.])[2-5]\d\d(?![\d.])", answer)
            if code is None or not code.group(0).startswith("2"):
                found.append(match.group(1).lower())
    for index, line in enumerate(lines):
        intro = _INTRO.search(line)
        if not intro:
            continue
        region = [line[intro.end() :]]
        for following in lines[index + 1 : index + 1 + _REGION_LINES]:
            if _STOP.match(following):
                break
            region.append(following)
        found += addresses_in("\n".join(region))
        if found:
            break
    return found


def _reason(head: str) -> str:
    lines = [line.strip() for line in head.replace("\r", "\n").split("\n") if line.strip()]
    for line in lines:
        if _SMTP_REPLY.search(line) and re.search(r"[A-Za-z]{3}", line):
            return line
    for line in lines:
        if _FAILURE.search(line):
            return line
    return lines[0] if lines else ""


def _first_status(head: str, kind: SignalKind) -> str:
    wanted = "4" if kind is SignalKind.DELAYED else "5"
    return next((code for code in enhanced_statuses(head) if code.startswith(wanted)), "")
