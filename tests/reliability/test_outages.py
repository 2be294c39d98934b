"""The mail server away, on the simulated clock: down for an hour, down over a weekend,
flapping. While it is away nothing is marked failed and tick says so (exit 1); once it is back,
everything still useful goes exactly once, and what expired meanwhile is never sent late."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from aeflow.demo_world import local
from tests.smtp_server import (
    TEST_PASSWORD,
    SmtpServers,
    closed_port,
    smtp_servers_fixture,  # noqa: F401 (a fixture)
    tls_certificate_fixture,  # noqa: F401 (a fixture)
)
from tests.system.test_smtp_login_refused import (
    CONFIRMATION,
    EVE,
    PASSWORD_ENV,
    RecordingHandler,
    received_keys,
    relay_through,
    sent_copies,
    state_of,
    tick,
    workspace,  # noqa: F401 (a fixture)
)
from tests.system.test_smtp_login_refused import WEEK as DEMO_WEEK


def point_at(config: Path, port: int) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^port = \d+$", f"port = {port}", text), encoding="utf-8")


def no_failures(folder: Path) -> None:
    with state_of(folder) as store:
        assert list(store.outbox_by_status("failed")) == []


def test_a_server_down_for_an_hour_gets_what_came_due_once_it_is_back(
    workspace: Path,  # noqa: F811
    smtp_servers: SmtpServers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = RecordingHandler()
    server = smtp_servers.start(handler)
    config = relay_through(workspace, server, monkeypatch)
    monkeypatch.setenv(PASSWORD_ENV, TEST_PASSWORD)
    with closed_port() as port:
        point_at(config, port)
        for minute in ("10:00", "10:15", "10:30", "10:45", "11:00"):
            assert tick(config, local(EVE, minute)) == 1  # held: the connection is refused
    assert handler.received == []
    no_failures(workspace)
    point_at(config, server.port)
    assert tick(config, local(EVE, "11:05")) == 0
    assert tick(config, local(EVE, "11:10")) == 0
    assert received_keys(handler) == Counter({CONFIRMATION: 1})
    assert sent_copies(workspace) == {CONFIRMATION: ["S"]}


def test_what_expired_while_the_server_was_away_is_never_sent_late(
    workspace: Path,  # noqa: F811
    smtp_servers: SmtpServers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = RecordingHandler()
    server = smtp_servers.start(handler)
    config = relay_through(workspace, server, monkeypatch)
    monkeypatch.setenv(PASSWORD_ENV, TEST_PASSWORD)
    monday = DEMO_WEEK[0]
    with closed_port() as port:
        point_at(config, port)
        assert tick(config, local(EVE, "10:00")) == 1
        assert tick(config, local(EVE, "17:30")) == 1
    point_at(config, server.port)
    # Back on Monday after the brief has begun: its confirmation and Friday's schedules are
    # past their use, and go to nobody.
    tick(config, local(monday, "10:30"))
    received = received_keys(handler)
    assert CONFIRMATION not in received
    assert not [k for k in received if k.startswith("weekly")], received
    with state_of(workspace) as store:
        record = store.outbox_get(CONFIRMATION)
        assert record is not None and record["status"] == "skipped"
    no_failures(workspace)
    assert all(count == 1 for count in received.values())


def test_a_flapping_server_gets_every_mail_exactly_once(
    workspace: Path,  # noqa: F811
    smtp_servers: SmtpServers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = RecordingHandler()
    server = smtp_servers.start(handler)
    config = relay_through(workspace, server, monkeypatch)
    monkeypatch.setenv(PASSWORD_ENV, TEST_PASSWORD)
    moments = [
        local(EVE, f"{hour:02d}:{minute:02d}") for hour in range(10, 18) for minute in (0, 30)
    ]
    with closed_port() as port:
        for index, moment in enumerate(moments):
            point_at(config, port if index % 2 == 0 else server.port)
            tick(config, moment)
    point_at(config, server.port)
    tick(config, local(EVE, "18:10"))
    received = received_keys(handler)
    assert CONFIRMATION in received
    assert set(received.values()) == {1}, received
    copies = sent_copies(workspace)
    assert set(copies) == set(received)
    assert all(flags == ["S"] for flags in copies.values()), copies
    no_failures(workspace)
