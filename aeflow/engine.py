"""One tick of aeflow: sync, plan, execute; and the start-up that makes it safe to run again.

The executor writes the intent (``sending``) before anything leaves and marks it ``sent`` after,
so a crash in between leaves a ``sending`` record; at start-up each one is looked up in Sent by its
key: found means sent, missing means it goes again. A new or lost store is rebuilt from Sent before
anything is sent. The mailbox is the truth; the store is its index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from aeflow import archive
from aeflow.bootstrap import App
from aeflow.compose_action import KIND_OF_PREFIX, ActionComposer
from aeflow.records import iso, parse_iso
from aeflow.state import build_state, close_old_deliveries, done_keys, planning_horizon
from aeflow.sync import SyncReport, sync_once
from calendar_sync.port import CalendarWriter, MeetingOrganizer
from mailer.port import SentRecord
from mailer.signals import sanitise
from rules.errors import BackendRefused, BackendUnavailable, TransientError
from rules.model import Action, Attendee, Person, Role, email_domain
from rules.planner import plan
from rules.planning import Plan, Skipped, key_part

log = logging.getLogger(__name__)

SENDING, SENT, SKIPPED, FAILED, UNSENT = "sending", "sent", "skipped", "failed", "unsent"
DONE_STATUSES = frozenset({SENT, SKIPPED, FAILED})
INSTALLED_AT = "installed_at"
# In the store's meta while a server refuses the connection or the login: what happened, what to
# fix, since when; cleared by the next send that goes. Shown by ``aeflow status``.
SENDING_HELD = "sending_held"


@dataclass
class SentAction:
    action: Action
    message_id: str
    at: datetime


@dataclass
class TickReport:
    now: datetime
    sync: SyncReport | None = None
    sent: list[SentAction] = field(default_factory=list)
    would_send: list[Action] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    held: list[tuple[Action, str]] = field(default_factory=list)
    next_wake: datetime | None = None
    stopped_early: bool = False


class Engine:
    def __init__(
        self,
        app: App,
        composer: ActionComposer | None = None,
        *,
        catch_up: bool = False,
    ) -> None:
        self.app = app
        self.composer = composer or ActionComposer(app.config)
        self.catch_up = catch_up
        self._started = False

    # --- start-up ---

    def start(self) -> None:
        """Rebuild a new store from Sent, then settle every ``sending`` record. Idempotent."""
        store = self.app.store
        if store.meta_get(INSTALLED_AT) is None:
            self._rebuild_from_sent()
        for record in store.outbox_by_status(SENDING):
            self._settle(record)
        # Requests whose calendar event may not list its invitees yet (read by key, not by
        # walking every mail ever sent).
        for key in sorted(store.outbox_keys(frozenset({SENT}))):
            if key.startswith("invite:"):
                found = store.outbox_get(key)
                if found is not None and found.get("itip") and not found.get("calendar_noted"):
                    self._note_invitation(key, found)
        self._started = True

    def _rebuild_from_sent(self) -> None:
        app, now = self.app, self.app.clock.now()
        since = now - app.config.policies.receipts.lookback
        records = sorted(app.mail.sent_since(since), key=lambda r: r.sent_at)
        with app.store.batch():
            for record in records:
                self._mark_sent_from(record)
            # aeflow was already at work if Sent holds its mail; what came due since then is
            # not "before it was installed".
            installed = records[0].sent_at if records else now
            app.store.meta_set(INSTALLED_AT, iso(installed))
        if records:
            log.info("rebuilt the state from %d sent messages since %s", len(records), iso(since))

    def _mark_sent_from(self, record: SentRecord) -> None:
        store = self.app.store
        existing = store.outbox_get(record.key)
        if existing is not None and existing.get("status") == SENT:
            return
        kind = KIND_OF_PREFIX.get(record.key.split(":", 1)[0], "")
        extra: dict[str, object] = {}
        if kind == "invitation":
            itip = existing.get("itip") if existing is not None else None
            extra["itip"] = itip or self._itip_from_sent(record)
        store.outbox_put(
            record.key,
            {
                **extra,
                "status": SENT,
                "kind": kind,
                "meeting": record.meeting,
                "message_id": record.message_id,
                "sent_at": iso(record.sent_at),
                "recipients": list(record.recipients),
                "covers": list(record.covers),
                "recovered": True,
            },
        )
        for covered in record.covers:
            store.outbox_put(covered, {"status": SENT, "via": record.key})
        self.composer.record_delivery_from_sent(store, record)

    def _organized(self, outbox: dict[str, object]) -> SentRecord | None:
        """A request a calendar server sent itself is found on the meeting's item, not in Sent."""
        calendar, itip = self.app.calendar, outbox.get("itip")
        if not isinstance(calendar, MeetingOrganizer) or not isinstance(itip, dict):
            return None
        key = str(outbox["key"])
        if not calendar.invitation_sent(itip, key):
            return None
        recipients = outbox.get("recipients", [])
        return SentRecord(
            key=key,
            message_id=self._organized_id(key),
            sent_at=parse_iso(str(outbox.get("started")))
            if outbox.get("started")
            else self.app.clock.now(),
            recipients=tuple(str(r) for r in recipients) if isinstance(recipients, list) else (),
            meeting=str(outbox.get("meeting", "")),
            meeting_uid=str(itip.get("uid", "")),
        )

    def _organized_id(self, key: str) -> str:
        return f"<{key_part(key)}.invitation@{email_domain(self.composer.ae.email)}>"

    def _itip_from_sent(self, record: SentRecord) -> dict[str, object] | None:
        """What a request found in Sent tells of whom it invited, for the calendar event (a
        lost state file forgot it): its UID header, the SEQUENCE its key names, its recipients."""
        parts = record.key.split(":")
        if not record.meeting_uid or len(parts) != 4 or not parts[2].isdigit():
            return None
        ae = self.composer.ae
        return {
            "uid": record.meeting_uid,
            "sequence": int(parts[2]),
            "organizer": {"email": ae.email, "name": ae.name},
            "attendees": [
                {"email": r, "name": self.composer.person(r).name, "role": "required"}
                for r in record.recipients
            ],
        }

    def _settle(self, outbox: dict[str, object]) -> None:
        key = str(outbox["key"])
        found = self.app.mail.find_sent(key) or self._organized(outbox)
        if found is not None:
            log.info("recovered %s: found in Sent, marked sent", key)
            with self.app.store.batch():
                self._mark_sent_from(found)
        else:
            log.info("recovered %s: not in Sent, it will be sent again if still due", key)
            self.app.store.outbox_put(key, {**outbox, "status": UNSENT})

    # --- the tick ---

    def plan_now(self, now: datetime) -> Plan:
        store = self.app.store
        installed = store.meta_get(INSTALLED_AT)
        not_before = None if self.catch_up or installed is None else parse_iso(str(installed))
        state = build_state(self.app, done_keys(store, DONE_STATUSES), not_before, now)
        return plan(now, state, self.app.config.policies)

    def tick(
        self, *, dry_run: bool = False, stop: Callable[[], bool] = lambda: False
    ) -> TickReport:
        """Sync, plan and execute once. With ``dry_run`` the inputs are read as usual, but nothing
        is sent and no action is recorded: what would go is returned in ``would_send``."""
        if not self._started and not dry_run:
            # A dry run sends nothing, not even an interrupted send left from before.
            self.start()
        now = self.app.clock.now()
        report = TickReport(now)
        report.sync = sync_once(self.app)
        if not dry_run:
            close_old_deliveries(self.app.store, now, self.app.config.policies.receipts.lookback)
            if archive.due(self.app.store, now, self.app.zone):
                horizon = planning_horizon(self.app.config, now)
                archive.move_closed(self.app.store, now, horizon, self.app.zone)
        current = self.plan_now(now)
        report.next_wake = current.next_wake
        report.skipped = list(current.skipped)
        if not dry_run:
            self._record_skipped(current.skipped)
        for action in current.due:
            if stop():
                report.stopped_early = True
                break
            self._execute(action, report, dry_run)
        return report

    def _record_skipped(self, skipped: list[Skipped] | tuple[Skipped, ...]) -> None:
        if not skipped:
            return
        with self.app.store.batch():
            for item in skipped:
                log.info("skip %s (%s): %s", item.key, item.kind, item.reason)
                self.app.store.outbox_put(
                    item.key, {"status": SKIPPED, "kind": item.kind, "reason": item.reason}
                )

    def _execute(self, action: Action, report: TickReport, dry_run: bool) -> None:
        store = self.app.store
        try:
            message = self.composer.compose(action, store)
        except Exception as error:  # a broken template must not stop the other actions
            reason = f"cannot render the {action.kind} mail: {sanitise(str(error), 300)}"
            log.error("hold %s: %s", action.key, reason)
            report.held.append((action, reason))
            return
        if dry_run:
            report.would_send.append(action)
            return
        started = self.app.clock.now()
        intent: dict[str, object] = {
            "status": SENDING,
            "kind": action.kind,
            "due": iso(action.due),
            "recipients": list(action.recipients),
            "covers": list(action.covers),
            "chain": action.chain,
            "client": action.client,
            "meeting": str(action.data.get("meeting_key", "")),
            "started": iso(started),
        }
        if action.kind == "invitation":
            # What the AE's calendar must learn once the request is out: whom it invited.
            intent["itip"] = action.data["itip"]
        store.outbox_put(action.key, intent)  # written to disk before anything leaves
        try:
            message_id = self._send(action, message)
        except BackendUnavailable as error:
            # The connection, not this mail: nothing is marked failed, nothing more is tried this
            # tick, and the mail goes once what the error names is fixed.
            log.error("hold %s: sending is held: %s", action.key, error)
            held = store.meta_get(SENDING_HELD)
            since = held.get("since") if isinstance(held, dict) else None
            with store.batch():
                store.outbox_put(action.key, {**intent, "status": UNSENT})
                store.meta_set(
                    SENDING_HELD,
                    {
                        "since": since or iso(started),
                        "tried": iso(started),
                        "key": action.key,
                        "problem": error.problem,
                        "what_to_fix": error.what_to_fix,
                    },
                )
            raise
        except (TransientError, OSError):
            # For now (a busy server, a full disk): the next tick tries again.
            store.outbox_put(action.key, {**intent, "status": UNSENT})
            raise
        except Exception as error:
            # Permanent: retrying would fail the same way; say so once and move on.
            reason = sanitise(str(error), 300)
            log.error("fail %s (%s): %s", action.key, action.kind, reason)
            with store.batch():
                store.outbox_put(action.key, {**intent, "status": FAILED, "reason": reason})
                for covered in action.covers:  # a digest fails with what it carries
                    store.outbox_put(covered, {"status": FAILED, "via": action.key})
            return
        sent_at = self.app.clock.now()
        with store.batch():
            store.outbox_put(
                action.key,
                {
                    **intent,
                    "status": SENT,
                    "message_id": message_id,
                    "sent_at": iso(sent_at),
                    "subject": str(message.get("Subject", "")),
                },
            )
            for covered in action.covers:
                store.outbox_put(covered, {"status": SENT, "via": action.key})
            self.composer.record_delivery(store, action, message_id, sent_at, message)
            if store.meta_get(SENDING_HELD) is not None:
                store.meta_set(SENDING_HELD, None)
                log.info("sending works again: %s went", action.key)
        log.info(
            "sent %s (%s) to %s",
            action.key,
            action.kind,
            ", ".join(sanitise(r, 80) for r in action.recipients),
        )
        report.sent.append(SentAction(action, message_id, sent_at))
        if "itip" in intent:
            record = store.outbox_get(action.key)
            if record is not None:
                self._note_invitation(action.key, record)

    def _send(self, action: Action, message: EmailMessage) -> str:
        """Hand the message to the mailbox; a meeting request to a calendar server that sends
        requests itself (Exchange), which keeps the attendees' answers on the AE's item.

        A server that refuses aeflow's login or access while sending (``BackendRefused``) holds
        sending like any ``BackendUnavailable``: it would refuse every mail, not this one."""
        calendar = self.app.calendar
        try:
            if action.kind == "invitation" and isinstance(calendar, MeetingOrganizer):
                itip = action.data["itip"]
                assert isinstance(itip, dict)
                html = message.get_body(("html",))
                notice = html.get_content() if html is not None else ""
                calendar.send_invitation(itip, action.key, str(notice))
                # Exchange writes the request's own Message-ID; this one names the action, and
                # the attendees' answers are matched by the meeting's UID.
                return self._organized_id(action.key)
            return self.app.mail.send(message, action.key)
        except BackendRefused as error:
            raise BackendUnavailable(error.problem, error.what_to_fix) from error

    def _note_invitation(self, key: str, record: dict[str, object]) -> None:
        """Write whom a sent request invited into the AE's calendar event, as a calendar program
        does for its organizer. Failing here loses nothing: it is tried again at start-up."""
        calendar = self.app.calendar
        itip = record.get("itip")
        if not isinstance(calendar, CalendarWriter) or not isinstance(itip, dict):
            return
        try:
            organizer = itip["organizer"]
            attendees = [
                Attendee(
                    Person(str(a["email"]), str(a.get("name", ""))), Role(a["role"]), rsvp=True
                )
                for a in itip["attendees"]
            ]
            changed = calendar.record_invitation(
                str(itip["uid"]),
                _person(organizer),
                attendees,
                int(itip["sequence"]),
            )
        except (OSError, ValueError, LookupError, TypeError) as error:
            # Not marked noted: the next start tries again (an event named by a UID the calendar
            # does not have may come back, or was renamed by a calendar program).
            log.warning(
                "the calendar event of %s could not be updated: %s", key, sanitise(str(error), 200)
            )
            return
        self.app.store.outbox_put(key, {**record, "calendar_noted": True})
        if changed:
            log.info(
                "calendar event %s now lists whom %s invited", sanitise(str(itip["uid"]), 80), key
            )


def _person(value: dict[str, object]) -> Person:
    return Person(str(value["email"]), str(value.get("name", "")))
