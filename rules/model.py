"""The domain model: who, what, when, and what came back.

Every type is a frozen dataclass. Datetimes are instants: a naive datetime raises
``NaiveDateTimeError`` at construction, so a wall-clock time without a zone never reaches the
planner.
Email addresses are kept lower-cased and stripped; display names are kept as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from rules.errors import NaiveDateTimeError


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` if it carries a UTC offset; raise ``NaiveDateTimeError`` otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDateTimeError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value


def normalise_email(address: str) -> str:
    """The form of an address used for comparisons: stripped, without angle brackets, lower case."""
    return address.strip().strip("<>").strip().lower()


def email_domain(address: str) -> str:
    """The domain part of an address, lower case; empty when there is none."""
    _, _, domain = normalise_email(address).rpartition("@")
    return domain


@dataclass(frozen=True)
class Person:
    """Someone with an address. Two people are the same when their addresses are."""

    email: str
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))

    @property
    def display(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Contact:
    """A person on the client's side, with what the AE's discipline asks of them."""

    person: Person
    decision_maker: bool = False
    invite: bool = True
    weekly: bool = False


@dataclass(frozen=True)
class Client:
    """A client account: its people, its domains, how the AE tags its meetings, its language."""

    name: str
    domains: tuple[str, ...] = ()
    category: str = ""
    language: str = "zh-CN"
    contacts: tuple[Contact, ...] = ()
    team: tuple[Person, ...] = ()

    def owns_address(self, address: str) -> bool:
        """Whether ``address`` belongs to this client (a listed contact or one of its domains)."""
        email = normalise_email(address)
        if any(c.person.email == email for c in self.contacts):
            return True
        domain = email_domain(email)
        return bool(domain) and domain in {d.lower() for d in self.domains}

    def contact(self, address: str) -> Contact | None:
        email = normalise_email(address)
        return next((c for c in self.contacts if c.person.email == email), None)


class Role(StrEnum):
    """An attendee's role, as iCalendar names it (ROLE parameter)."""

    CHAIR = "chair"
    REQUIRED = "required"
    OPTIONAL = "optional"
    NON_PARTICIPANT = "non-participant"


class Response(StrEnum):
    """An attendee's answer to a meeting (iCalendar PARTSTAT, EWS ResponseType)."""

    NEEDS_ACTION = "needs-action"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    DELEGATED = "delegated"


@dataclass(frozen=True)
class Attendee:
    person: Person
    role: Role = Role.REQUIRED
    response: Response = Response.NEEDS_ACTION
    rsvp: bool = False
    responded_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.responded_at is not None:
            require_aware("Attendee.responded_at", self.responded_at)


@dataclass(frozen=True)
class Meeting:
    """One occurrence of a calendar event.

    ``uid`` is the iCalendar UID of the series (or the single event); ``occurrence_id`` is the
    RECURRENCE-ID of this occurrence as an ISO UTC instant, or ``""`` for a single event. ``key`` is
    unique across the calendar and stable while the occurrence exists.
    """

    uid: str
    subject: str
    start: datetime
    end: datetime
    occurrence_id: str = ""
    all_day: bool = False
    location: str = ""
    organizer: Person | None = None
    attendees: tuple[Attendee, ...] = ()
    categories: tuple[str, ...] = ()
    body: str = ""
    cancelled: bool = False
    sequence: int = 0
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        require_aware("Meeting.start", self.start)
        require_aware("Meeting.end", self.end)
        if self.end < self.start:
            raise ValueError(
                f"meeting {self.uid!r} ends ({self.end}) before it starts ({self.start})"
            )

    @property
    def key(self) -> str:
        return f"{self.uid}/{self.occurrence_id}" if self.occurrence_id else self.uid

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def attendee(self, address: str) -> Attendee | None:
        email = normalise_email(address)
        return next((a for a in self.attendees if a.person.email == email), None)


class DeliveryStatus(StrEnum):
    """Where a sent mail stands for one recipient. Order matters: later states win."""

    SENT = "sent"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    FAILED = "failed"


# A delivery stays open while someone owes a confirmation, and while a bounce is news.
OPEN_STATUSES = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})


@dataclass(frozen=True)
class RecipientStatus:
    email: str
    status: DeliveryStatus = DeliveryStatus.SENT
    since: datetime | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))
        if self.since is not None:
            require_aware("RecipientStatus.since", self.since)


@dataclass(frozen=True)
class Delivery:
    """A mail aeflow sent, tracked per recipient until each one confirms it received it."""

    key: str
    kind: str
    message_id: str
    sent_at: datetime
    recipients: tuple[RecipientStatus, ...] = ()
    client: str = ""
    subject: str = ""
    # The meeting it is about (Meeting.key), so a meeting response can confirm it.
    meeting: str = ""
    # Message-IDs of reminders sent in its chain: a receipt for one of them confirms this delivery.
    reminder_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_aware("Delivery.sent_at", self.sent_at)

    @property
    def message_ids(self) -> tuple[str, ...]:
        return (self.message_id, *self.reminder_ids)

    @property
    def open(self) -> bool:
        """Whether anyone still owes a confirmation, or a bounce is still to be reported."""
        return any(r.status in OPEN_STATUSES for r in self.recipients)

    def status_of(self, address: str) -> RecipientStatus | None:
        email = normalise_email(address)
        return next((r for r in self.recipients if r.email == email), None)


class SignalKind(StrEnum):
    """What an inbound message is, as far as tracking is concerned."""

    READ_RECEIPT = "read-receipt"
    NOT_READ = "not-read"  # deleted unread / denied: the recipient saw it arrive, did not read it
    DELIVERY_RECEIPT = "delivery-receipt"
    DELAYED = "delayed"  # a DSN saying the server is still trying; confirms nothing, fails nothing
    BOUNCE = "bounce"
    AUTO_REPLY = "auto-reply"
    REPLY = "reply"
    MEETING_RESPONSE = "meeting-response"
    MEETING_REQUEST = "meeting-request"
    MEETING_CANCEL = "meeting-cancel"
    MESSAGE = "message"  # anything else

    @property
    def confirms_receipt(self) -> bool:
        """Whether a signal of this kind proves a person received what it answers."""
        return self in {SignalKind.READ_RECEIPT, SignalKind.REPLY, SignalKind.MEETING_RESPONSE}


@dataclass(frozen=True)
class Signal:
    """Something that came back: a receipt, a bounce, a reply, a meeting response.

    ``answers`` holds the Message-IDs of what it answers, strongest evidence first
    (Original-Message-ID, then In-Reply-To, then References). ``recipient`` is the person the
    original went to (the final recipient of a DSN or MDN, the attendee of a meeting response).
    """

    kind: SignalKind
    at: datetime
    message_id: str = ""
    sender: str = ""
    recipient: str = ""
    answers: tuple[str, ...] = ()
    status: str = ""
    reason: str = ""
    response: Response | None = None
    uid: str = ""
    occurrence_id: str = ""
    subject: str = ""

    def __post_init__(self) -> None:
        require_aware("Signal.at", self.at)
        object.__setattr__(self, "sender", normalise_email(self.sender) if self.sender else "")
        object.__setattr__(
            self, "recipient", normalise_email(self.recipient) if self.recipient else ""
        )


@dataclass(frozen=True)
class Action:
    """Something the planner decided is due: a mail to send, with who, when, and until when.

    ``key`` is deterministic (for example ``confirm:<meeting key>:<start>``): the executor never
    does the same key twice. ``data`` is what the template needs, as plain values.
    """

    key: str
    kind: str
    due: datetime
    expires: datetime | None
    recipients: tuple[str, ...]
    client: str = ""
    language: str = "zh-CN"
    data: Mapping[str, object] = field(default_factory=dict)
    # Keys this action carries out together (a digest); done with it, never on their own.
    covers: tuple[str, ...] = ()
    # The delivery whose chain this action belongs to (a reminder), or "".
    chain: str = ""

    def __post_init__(self) -> None:
        require_aware("Action.due", self.due)
        if self.expires is not None:
            require_aware("Action.expires", self.expires)
        object.__setattr__(self, "recipients", tuple(normalise_email(r) for r in self.recipients))
