"""Meeting requests on Exchange, end to end against the loopback EWS server: the AE's tagged
appointment becomes a meeting saved with SendToAllAndSaveCopy, Exchange delivers the requests,
an answer comes back to the AE's inbox, a move sends an update, and nothing goes twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from exchangelib import CalendarItem, EWSDateTime
from exchangelib.items import SEND_TO_NONE

from aeflow.bootstrap import App, bootstrap
from aeflow.clock import FixedClock
from aeflow.config import load_config
from aeflow.engine import Engine
from calendar_sync.ews import EwsCalendar
from mailer.ews_session import INVITE_PROPERTY, PROPERTY_SET
from rules.model import Response
from tests.ews_server import EwsServer
from tests.ews_server.client import account
from tests.system.test_cli import aeflow

ZONE = ZoneInfo("Asia/Shanghai")
AE = "xiaoming.wang@agency.example"
JANE = "jane.doe@acme-bev.example"
TOM = "tom.lee@acme-bev.example"
MEI = "mei.zhang@agency.example"
PASSWORD = "s3cret"
CONFIG = f"""
[ae]
name = "王小明"
email = "{AE}"
phone = "+86 21 5555 0100"
manager = "lihua.chen@agency.example"
timezone = "Asia/Shanghai"

[backend]
kind = "ews"
state = "state/aeflow.json"

[backend.ews]
ews_url = "URL"
auth = "basic"
password_env = "AEFLOW_TEST_EWS_PASSWORD"
version = "Exchange2016"
timeout = 10

[[clients]]
name = "Acme Beverages"
domains = ["acme-bev.example"]
category = "Client: Acme"
language = "en"

  [[clients.contacts]]
  name = "Jane Doe"
  email = "{JANE}"
  decision_maker = true

  [[clients.contacts]]
  name = "Tom Lee"
  email = "{TOM}"

  [[clients.team]]
  name = "Mei Zhang"
  email = "{MEI}"
"""
NOTES = "1. Recap - 15 min\n2. Concepts - 45 min\nBring: samples"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EwsServer]:
    monkeypatch.setenv("AEFLOW_TEST_EWS_PASSWORD", PASSWORD)
    with EwsServer() as running:
        for address, name in ((AE, "王小明"), (JANE, "Jane Doe"), (TOM, "Tom Lee"), (MEI, "Mei")):
            running.add_mailbox(address, PASSWORD, name)
        yield running
    running.assert_valid()


@pytest.fixture
def config_file(tmp_path: Path, server: EwsServer) -> Path:
    path = tmp_path / "aeflow.toml"
    path.write_text(CONFIG.replace("URL", server.url), encoding="utf-8")
    return path


_TICKS = iter(range(1, 10_000))


def now() -> datetime:
    """The real time, a minute further at each call: each tick comes after the one before."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=next(_TICKS))


def meeting_start() -> datetime:
    """Three days from now at 10:00 Shanghai time."""
    day = (now() + timedelta(days=3)).astimezone(ZONE).date()
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=ZONE)


def book(server: EwsServer) -> CalendarItem:
    """The AE's appointment, as Outlook saves it: a category, notes, nobody invited."""
    ae = account(server, AE, PASSWORD)
    start = meeting_start()
    item = CalendarItem(
        account=ae,
        folder=ae.calendar,
        subject="Acme creative pitch",
        start=EWSDateTime.from_datetime(start.astimezone(UTC)),
        end=EWSDateTime.from_datetime((start + timedelta(hours=1)).astimezone(UTC)),
        location="Agency studio",
        body=NOTES,
        categories=["Client: Acme"],
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def open_app(config_file: Path) -> App:
    return bootstrap(load_config(config_file), FixedClock(now()))


def tick(config_file: Path) -> list[str]:
    app = open_app(config_file)
    try:
        return [s.action.key for s in Engine(app).tick().sent]
    finally:
        app.close()


def requests_in(server: EwsServer, address: str) -> list[object]:
    return [
        i for i in server.mailbox(address).items("inbox")
        if i.item_class == "IPM.Schedule.Meeting.Request"
    ]  # fmt: skip


def test_the_bootstrap_builds_the_exchange_adapters(config_file: Path) -> None:
    app = open_app(config_file)
    try:
        assert isinstance(app.calendar, EwsCalendar)
    finally:
        app.close()


def test_a_tagged_appointment_is_sent_by_exchange_and_never_twice(
    server: EwsServer, config_file: Path
) -> None:
    assert tick(config_file) == []  # installed before the AE books the pitch
    book(server)
    (key,) = tick(config_file)
    assert key.startswith("invite:")
    assert tick(config_file) == []
    for address in (JANE, TOM, MEI):
        (request,) = requests_in(server, address)
        assert "Recap" in (request.text("Body") or ""), address
    (item,) = server.mailbox(AE).items("calendar")
    assert {a.email for a in item.attendees()} == {JANE, TOM, MEI}
    assert item.extended_value(PROPERTY_SET, INVITE_PROPERTY) == key
    copies = [i for i in server.mailbox(AE).items("sentitems") if "Meeting" in i.item_class]
    assert len(copies) == 1  # SendToAllAndSaveCopy: a copy in Sent Items


def test_a_crash_after_exchange_sent_it_does_not_send_it_again(
    server: EwsServer, config_file: Path
) -> None:
    tick(config_file)
    book(server)
    (key,) = tick(config_file)
    app = open_app(config_file)
    try:
        # What a crash between "handed to Exchange" and "marked sent" leaves behind.
        record = app.store.outbox_get(key)
        assert record is not None
        app.store.outbox_put(key, {**record, "status": "sending"})
    finally:
        app.close()
    # Settled at the next start: the item carries the key, so it went; nothing goes again.
    assert tick(config_file) == []
    app = open_app(config_file)
    try:
        record = app.store.outbox_get(key)
        delivery = app.store.delivery_get(key)
    finally:
        app.close()
    assert record is not None and record["status"] == "sent"
    assert delivery is not None  # tracked: the answers confirm it
    assert [len(requests_in(server, a)) for a in (JANE, TOM, MEI)] == [1, 1, 1]


def test_an_answer_comes_back_and_a_move_sends_an_update(
    server: EwsServer, config_file: Path
) -> None:
    tick(config_file)
    item = book(server)
    tick(config_file)
    (request,) = requests_in(server, JANE)
    server.mailbox(JANE).respond(request.item_id, "Accept")
    tick(config_file)
    app = open_app(config_file)
    try:
        responses = {r["email"]: r["response"] for r in app.store.responses()}
    finally:
        app.close()
    assert responses[JANE] == Response.ACCEPTED.value
    # The AE moves the meeting an hour later in the calendar, telling nobody.
    item.refresh()
    item.start += timedelta(hours=1)
    item.end += timedelta(hours=1)
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
    (update,) = tick(config_file)
    assert update.startswith("invite:") and ":1:" in update
    assert len(requests_in(server, TOM)) == 2


def test_aeflow_invite_books_the_meeting_in_exchange_and_exchange_sends_it(
    server: EwsServer, config_file: Path
) -> None:
    assert tick(config_file) == []  # installed
    start = meeting_start() + timedelta(days=1)
    result = aeflow(
        "invite",
        "-c",
        str(config_file),
        "--client",
        "Acme",
        "--subject",
        "Media review",
        "--start",
        start.strftime("%Y-%m-%dT%H:%M"),
        "--duration",
        "45m",
        "--optional",
        "guest@partner.example",
        "--now",
        now().astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
    )  # the password reaches it through the environment the fixture set
    assert result.returncode == 0, result.stderr
    assert "booked" in result.stdout and "invite:" in result.stdout
    (item,) = server.mailbox(AE).items("calendar")
    assert item.subject == "Media review"
    assert {a.email for a in item.attendees()} >= {JANE, TOM, MEI, "guest@partner.example"}
    assert len(requests_in(server, JANE)) == 1
