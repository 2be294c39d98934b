"""The Exchange (EWS) adapters against a real Exchange: the read-only part of the contract, then
one message to the mailbox's own address, found again in Sent Items by its key.

Opt-in: ``tests/live/conftest.py`` collects this module only when the ``AEFLOW_LIVE_EWS_*``
variables are set and CI is not. What it leaves in the mailbox: one message from the mailbox to
itself, subject "aeflow live test <key>" (in Sent Items, in the inbox, with the delivery receipt
Exchange returns for it). The first inbox sync reads the whole inbox, as aeflow does on its first
start: on a large inbox that takes a while.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.ews import EwsCalendar
from calendar_sync.occurrences import overlaps
from mailer.ews import EwsMailbox
from mailer.ews_session import EwsSession, EwsSettings
from mailer.port import SentRecord
from tests.live.conftest import live_settings, missing

if missing(os.environ):  # run by its path without the variables: nothing to talk to
    pytest.skip(f"set {', '.join(missing(os.environ))}", allow_module_level=True)

ZONE = ZoneInfo("UTC")
# Exchange files a sent message in Sent Items a moment after it accepts it; aeflow's search looks
# in the Outbox as well, so this is a bound on a slow server, not a pace.
FILED_WITHIN = 120.0


@pytest.fixture(scope="module")
def settings() -> EwsSettings:
    return live_settings(os.environ)


@pytest.fixture(scope="module")
def session(settings: EwsSettings) -> Iterator[EwsSession]:
    session = EwsSession(settings, ZONE)
    yield session
    session.close()


@pytest.fixture(scope="module")
def mail(session: EwsSession, settings: EwsSettings) -> EwsMailbox:
    return EwsMailbox(session, settings.email.rsplit("@", 1)[-1])


def test_the_next_fourteen_days_sync_and_a_second_sync_reports_nothing_new(
    session: EwsSession,
) -> None:
    calendar = EwsCalendar(session, ZONE)
    start = datetime.now(UTC).replace(microsecond=0)
    end = start + timedelta(days=14)
    first = calendar.sync(None, start, end)
    assert first.state
    assert len({m.key for m in first.upserted}) == len(first.upserted)
    for meeting in first.upserted:
        assert meeting.start.utcoffset() is not None and overlaps(meeting, start, end)
    again = calendar.sync(first.state, start, end)
    assert (again.upserted, again.removed, again.gone) == ((), (), ())


def test_the_inbox_syncs_from_nothing_then_from_its_state_without_repeating(
    mail: EwsMailbox,
) -> None:
    first = mail.sync_inbox(None)
    assert first.state
    for signal in first.signals:
        assert signal.at.utcoffset() is not None
    again = mail.sync_inbox(first.state)
    # Mail may arrive in between; what the first sync reported is never reported again.
    seen = {s.message_id for s in first.signals if s.message_id}
    assert not [s for s in again.signals if s.message_id in seen]


def test_an_unknown_key_is_not_in_sent_items(mail: EwsMailbox) -> None:
    assert mail.find_sent(f"live-test:never-sent:{uuid.uuid4().hex}") is None


def test_a_message_to_itself_is_found_in_sent_items_by_its_key(
    mail: EwsMailbox, settings: EwsSettings
) -> None:
    key = f"live-test:{uuid.uuid4().hex}"
    before = datetime.now(UTC) - timedelta(minutes=5)
    message_id = mail.send(to_self(settings.email, key), key)
    found = wait_for_sent(mail, key)
    assert found is not None, f"{key} did not reach Sent Items within {FILED_WITHIN:.0f} s"
    assert (found.key, found.message_id) == (key, message_id)
    assert settings.email.lower() in found.recipients
    assert key in {record.key for record in mail.sent_since(before)}
    # Sent again with the same key (a retry after a lost answer): nothing leaves a second time.
    assert mail.send(to_self(settings.email, key), key) == message_id


def to_self(address: str, key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = address
    message["To"] = address
    message["Subject"] = f"aeflow live test {key}"
    message.set_content(
        "This message was sent by aeflow's live test to its own mailbox; it can be deleted.\n"
    )
    return message


def wait_for_sent(mail: EwsMailbox, key: str) -> SentRecord | None:
    deadline = time.monotonic() + FILED_WITHIN
    while True:
        found = mail.find_sent(key)
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(2)
