"""From a planned action to a MIME message, and from a sent message to the delivery it starts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from aeflow.config import Config
from aeflow.records import delivery_from_record, delivery_to_record, local_now_text
from aeflow.store import Store
from calendar_sync.ics_publish import publish_calendar
from calendar_sync.itip_out import itip_calendar
from mailer.compose import Attachment, compose
from mailer.port import (
    CHAIN_HEADER,
    COVERS_HEADER,
    MEETING_HEADER,
    MEETING_UID_HEADER,
    SentRecord,
)
from mailer.render import Renderer
from rules.clients import client_of_address
from rules.model import Action, Delivery, Person, RecipientStatus
from rules.planning import CLIENT_KINDS

# Kinds whose mail starts a chain of its own: tracked until each client recipient confirms it.
CHAIN_KINDS = frozenset({"confirmation", "minutes", "invitation", "invitation_cancel", "weekly"})
# Kinds whose mail carries a meeting request or cancellation (a text/calendar alternative).
ITIP_KINDS = frozenset({"invitation", "invitation_cancel"})
KIND_OF_PREFIX = {
    "confirm": "confirmation",
    "decision": "decision_alert",
    "remind": "receipt_reminder",
    "call": "call_note",
    "escalate": "escalation",
    "digest": "escalation",
    "bounce": "bounce_alert",
    "minutes": "minutes",
    "minutes-prompt": "minutes_prompt",
    "minutes-remind": "minutes_reminder",
    "minutes-late": "escalation",
    "minutes-note": "minutes_problem",
    "followup": "followup_reminder",
    "invite": "invitation",
    "uninvite": "invitation_cancel",
    "agenda": "agenda_problem",
    "joint": "joint_meeting",
    "address": "address_problem",
    "weekly": "weekly",
    "weekly-team": "weekly_team",
}


class ActionComposer:
    def __init__(self, config: Config, renderer: Renderer | None = None) -> None:
        self.config = config
        self.renderer = renderer or Renderer(config.templates_folder)
        self.zone = ZoneInfo(config.ae.timezone)
        self.ae = Person(config.ae.email, config.ae.name)
        self._people: dict[str, Person] = {self.ae.email: self.ae}
        self._people.setdefault(config.ae.manager, Person(config.ae.manager))
        for client in config.clients:
            for contact in client.contacts:
                self._people[contact.person.email] = contact.person
            for member in client.team:
                self._people[member.email] = member

    def person(self, email: str, names: dict[str, str] | None = None) -> Person:
        known = self._people.get(email)
        if known is not None and known.name:
            return known
        return Person(email, (names or {}).get(email, ""))

    def compose(self, action: Action, store: Store) -> EmailMessage:
        context: dict[str, object] = {
            **action.data,
            "ae": {"name": self.ae.name, "email": self.ae.email, "phone": self.config.ae.phone},
            "now_local": local_now_text(action.due, self.zone),
        }
        in_reply_to = ""
        if action.kind == "minutes_reminder":
            # In the prompt's thread, naming it: a reply to either is taken in.
            prompt = store.outbox_get(action.key.replace("minutes-remind:", "minutes-prompt:", 1))
            if prompt is not None and prompt.get("status") == "sent":
                context["prompt_subject"] = str(prompt.get("subject", context["prompt_subject"]))
                in_reply_to = str(prompt.get("message_id", ""))
        rendered = self.renderer.render(action.kind, action.language, context)
        attachments: list[Attachment] = []
        events = action.data.get("events")
        if action.kind == "weekly" and isinstance(events, list) and events:
            ics = publish_calendar(
                events,
                prodid="-//aeflow//weekly schedule//EN",
                organizer_email=self.ae.email,
                name=rendered.subject,
                stamp=action.due,
            )
            attachments.append(Attachment.calendar(ics, "PUBLISH", filename="weekly.ics"))
        calendar = None
        if action.kind in ITIP_KINDS:
            itip = action.data["itip"]
            assert isinstance(itip, Mapping)
            content = itip_calendar(itip, stamp=action.due, description=rendered.text)
            calendar = Attachment.calendar(content, str(itip["method"]))
        names = _names_in(action.data)
        headers: dict[str, str] = {}
        if action.chain:
            headers[CHAIN_HEADER] = action.chain
            original = store.delivery_get(action.chain)
            if original is not None:
                in_reply_to = str(original.get("message_id", ""))
        if action.covers:
            headers[COVERS_HEADER] = " ".join(action.covers)
        meeting_key = str(action.data.get("meeting_key", ""))
        if meeting_key and meeting_key.isprintable() and meeting_key.isascii():
            headers[MEETING_HEADER] = meeting_key
            meeting = store.get_meeting(meeting_key)
            if meeting is not None and meeting_key.startswith(str(meeting["uid"])):
                headers[MEETING_UID_HEADER] = str(meeting["uid"])
        return compose(
            rendered,
            sender=self.ae,
            to=[self.person(r, names) for r in action.recipients],
            request_receipts=action.kind in CLIENT_KINDS,
            automated=action.kind not in CLIENT_KINDS,
            in_reply_to=in_reply_to,
            references=[in_reply_to] if in_reply_to else [],
            headers=headers,
            attachments=attachments,
            calendar=calendar,
        )

    def record_delivery(
        self,
        store: Store,
        action: Action,
        message_id: str,
        sent_at: datetime,
        message: EmailMessage,
    ) -> None:
        """A chain-starting client mail becomes a tracked delivery; a reminder joins its chain."""
        if action.kind in CHAIN_KINDS:
            meeting_key = str(action.data.get("meeting_key", ""))
            meeting = store.get_meeting(meeting_key) if meeting_key else None
            delivery = Delivery(
                key=action.key,
                kind=action.kind,
                message_id=message_id,
                sent_at=sent_at,
                recipients=tuple(RecipientStatus(r) for r in action.recipients),
                client=action.client,
                subject=str(message.get("Subject", "")),
                meeting=meeting_key,
            )
            uid = str(meeting["uid"]) if meeting else ""
            store.delivery_put(action.key, delivery_to_record(delivery, uid))
        elif action.chain:
            _add_reminder(store, action.chain, message_id)

    def record_delivery_from_sent(self, store: Store, record: SentRecord) -> None:
        """Rebuilding a lost store: the deliveries Sent shows, tracked again from scratch."""
        kind = KIND_OF_PREFIX.get(record.key.split(":", 1)[0], "")
        if kind in CHAIN_KINDS and store.delivery_get(record.key) is None:
            client = next(
                (
                    c
                    for r in record.recipients
                    if (c := client_of_address(r, self.config.clients)) is not None
                ),
                None,
            )
            delivery = Delivery(
                key=record.key,
                kind=kind,
                message_id=record.message_id,
                sent_at=record.sent_at,
                recipients=tuple(RecipientStatus(r) for r in record.recipients),
                client=client.name if client else "",
                subject=record.subject,
                meeting=record.meeting,
            )
            store.delivery_put(record.key, delivery_to_record(delivery, record.meeting_uid))
        elif record.chain:
            _add_reminder(store, record.chain, record.message_id)


def _add_reminder(store: Store, chain: str, message_id: str) -> None:
    record = store.delivery_get(chain)
    if record is None:
        return
    delivery = delivery_from_record(record)
    if message_id in delivery.reminder_ids:
        return
    ids = (*delivery.reminder_ids, message_id)
    store.delivery_put(chain, {**record, "reminder_ids": list(ids)})


def _names_in(data: object) -> dict[str, str]:
    """Display names the action's data already holds (meeting attendees, recipients)."""
    found: dict[str, str] = {}

    def walk(value: object) -> None:
        if isinstance(value, dict):
            email, name = value.get("email"), value.get("name")
            if isinstance(email, str) and isinstance(name, str) and name != email:
                found.setdefault(email, name)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner)

    walk(data)
    return found
