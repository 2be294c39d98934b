"""A server that refuses aeflow's login holds sending: nothing fails, nothing is lost or doubled.

The demo's workspace relays through a real SMTP server (aiosmtpd, STARTTLS and AUTH) on loopback,
driven through the command line in this process. While the password in the environment is wrong,
``aeflow tick`` exits 1 saying what to fix, the mail waits in Sent as a draft, and ``aeflow status``
shows the hold; once the password is right, the next tick sends every mail still due exactly once.
The server echoes the AUTH exchange in its 535 reply, as some do: the base64 in it must reach
neither the log nor the state file. The same hold covers Exchange refusing the credentials while
a mail goes out, and the daemon waits longer before it logs in again.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import mailbox
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from aeflow.bootstrap import bootstrap
from aeflow.cli import main
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.daemon import BACKOFF_HELD_FIRST, Daemon
from aeflow.demo_week import demo_week, write_calendar, write_config
from aeflow.demo_world import World, local
from aeflow.engine import SENDING_HELD, Engine
from aeflow.store import Store
from mailer.ews import EwsMailbox
from mailer.port import KEY_HEADER
from mailer.smtp_relay import REDACTED
from rules.errors import BackendUnavailable
from tests.contract.test_ews_contract import session_for
from tests.ews_server import EwsServer, Fault
from tests.smtp_server import (
    TEST_PASSWORD,
    TEST_USER,
    LoopbackSmtp,
    RecordingHandler,
    SmtpServers,
    smtp_servers_fixture,  # noqa: F401 (a fixture)
    tls_certificate_fixture,  # noqa: F401 (a fixture)
)

WORKDAYS = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
WEEK = demo_week(WORKDAYS, datetime(2026, 11, 27).date())  # 30 Nov - 4 Dec 2026
EVE = WORKDAYS.previous_working_day(WEEK[0])  # Friday 27 Nov: a confirmation at 10:00
PASSWORD_ENV = "AEFLOW_TEST_SMTP_PASSWORD"
WRONG = "not the password at all"
CONFIRMATION = "confirm:brief.demo@agency.example:20261130T0200Z"
AE = "xiaoming.wang@agency.example"


class EchoingHandler(RecordingHandler):
    """A server that quotes the AUTH PLAIN exchange, credentials and all, when it refuses them."""

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        result = super().authenticate(server, session, envelope, mechanism, data)
        if result.success or not isinstance(data, LoginPassword):
            return result
        blob = base64.b64encode(b"\0" + data.login + b"\0" + data.password).decode()
        return AuthResult(
            success=False,
            handled=False,
            message=f"535 5.7.8 Error: authentication failed: AUTH PLAIN {blob}",
        )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_calendar(World(tmp_path), WEEK)
    write_config(tmp_path)
    return tmp_path


def relay_through(workspace: Path, server: LoopbackSmtp, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace's configuration with ``[backend.smtp]`` pointing at ``server``."""
    config = workspace / "aeflow.toml"
    with config.open("a", encoding="utf-8") as out:
        out.write(
            f'\n[backend.smtp]\nhost = "{server.host}"\nport = {server.port}\n'
            f'username = "{TEST_USER}"\npassword_env = "{PASSWORD_ENV}"\n'
        )
    # the relay trusts the system's authorities; here, the test server's own certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))
    return config


def tick(config: Path, now: datetime) -> int:
    return main(["tick", "-c", str(config), "--now", now.isoformat()])


def status(config: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["status", "-c", str(config), "--now", now.isoformat()]) == 0
    return capsys.readouterr().out


def sent_copies(workspace: Path) -> dict[str, list[str]]:
    """Each key in Sent with the flags of each copy."""
    copies: dict[str, list[str]] = {}
    for message in mailbox.Maildir(workspace / "mail" / "sent", create=False):
        assert isinstance(message, mailbox.MaildirMessage)
        copies.setdefault(str(message[KEY_HEADER]), []).append(message.get_flags())
    return copies


def received_keys(handler: RecordingHandler) -> Counter[str]:
    return Counter(str(r.message()[KEY_HEADER]) for r in handler.received)


def secret_forms(password: str) -> list[str]:
    plain = base64.b64encode(f"\0{TEST_USER}\0{password}".encode()).decode()
    return [password, base64.b64encode(password.encode()).decode(), plain, plain.rstrip("=")]


@contextlib.contextmanager
def state_of(workspace: Path) -> Iterator[Store]:
    store = Store.open(workspace / "state" / "aeflow.json")
    try:
        yield store
    finally:
        store.close()


def test_a_refused_login_holds_the_mail_until_the_password_is_fixed_then_sends_each_once(
    workspace: Path,
    smtp_servers: SmtpServers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = EchoingHandler()
    server = smtp_servers.start(handler)
    config = relay_through(workspace, server, monkeypatch)
    monkeypatch.setenv(PASSWORD_ENV, WRONG)
    caplog.set_level(logging.INFO)

    # 10:00: the confirmation is due; the server refuses the login
    assert tick(config, local(EVE, "10:00")) == 1
    said = capsys.readouterr().err
    assert "aeflow: sending is held:" in said
    assert "refused the login (535" in said
    assert f"check [backend.smtp] username and the password in {PASSWORD_ENV}" in said
    assert handler.received == [] and handler.logins  # it did try to log in
    assert sent_copies(workspace) == {CONFIRMATION: ["D"]}  # filed, pending, not trashed

    # 17:30: still wrong; the weekly schedules are due too, and nothing more is tried
    assert tick(config, local(EVE, "17:30")) == 1
    assert sent_copies(workspace) == {CONFIRMATION: ["D"]}
    with state_of(workspace) as store:
        assert list(store.outbox_by_status("failed")) == []
        assert store.outbox_get(CONFIRMATION)["status"] == "unsent"  # type: ignore[index]
        held = store.meta_get(SENDING_HELD)
        assert "refused the login (535" in held["problem"]
        assert PASSWORD_ENV in held["what_to_fix"]
    shown = status(config, local(EVE, "17:31"), capsys)
    [line] = [line for line in shown.splitlines() if line.startswith("Sending is held: ")]
    assert "refused the login (535" in line
    assert line.endswith(f"check [backend.smtp] username and the password in {PASSWORD_ENV}")
    assert "4 mail(s) due wait for it" in shown

    # the echoed AUTH PLAIN blob was seen and redacted, in the log and in the state file
    ours = [r.getMessage() for r in caplog.records if r.name != "mail.log"]
    assert any("AUTH PLAIN " + REDACTED in text for text in ours)
    state_text = (workspace / "state" / "aeflow.json").read_text(encoding="utf-8")
    assert "AUTH PLAIN " + REDACTED in state_text
    for text in [*ours, said, shown, state_text]:
        for form in secret_forms(WRONG):
            assert form not in text

    # 17:35: the password is fixed; one recipient's mailbox is gone (a 550 for that address only)
    monkeypatch.setenv(PASSWORD_ENV, TEST_PASSWORD)
    handler.refuse = {"tom.lee@acme-bev.example": "550 5.1.1 no such mailbox"}
    assert tick(config, local(EVE, "17:35")) == 0
    out = capsys.readouterr().out
    assert "4 sent" in out
    received = received_keys(handler)
    assert CONFIRMATION in received and set(received.values()) == {1} and len(received) == 4
    [confirmation] = [r for r in handler.received if r.message()[KEY_HEADER] == CONFIRMATION]
    assert "tom.lee@acme-bev.example" not in confirmation.rcpt_tos
    assert "jane.doe@acme-bev.example" in confirmation.rcpt_tos
    copies = sent_copies(workspace)
    assert set(copies) == set(received)
    assert all(flags == ["S"] for flags in copies.values()), copies
    with state_of(workspace) as store:
        assert store.meta_get(SENDING_HELD) is None
        assert list(store.outbox_by_status("failed")) == []
    assert "Sending is held" not in status(config, local(EVE, "17:36"), capsys)

    # and a later tick sends none of it again
    assert tick(config, local(EVE, "17:40")) == 0
    assert received_keys(handler) == received
    assert sent_copies(workspace) == copies


def test_a_refused_connection_holds_sending_and_says_to_check_host_and_port(
    workspace: Path,
    smtp_servers: SmtpServers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = smtp_servers.start()
    config = relay_through(workspace, server, monkeypatch)
    monkeypatch.setenv(PASSWORD_ENV, TEST_PASSWORD)
    smtp_servers.stop_all()  # nobody listens on its port any more

    assert tick(config, local(EVE, "10:00")) == 1
    said = capsys.readouterr().err
    assert "the connection was refused" in said and "[backend.smtp] host and port" in said
    assert sent_copies(workspace) == {CONFIRMATION: ["D"]}
    with state_of(workspace) as store:
        assert list(store.outbox_by_status("failed")) == []
        assert "connection was refused" in store.meta_get(SENDING_HELD)["problem"]


def test_exchange_refusing_the_credentials_during_a_send_holds_it_and_fails_nothing(
    workspace: Path,
) -> None:
    with EwsServer() as server:
        server.add_mailbox(AE, "correct horse", "王小明")
        app = bootstrap(load_config(workspace / "aeflow.toml"), FixedClock(local(EVE, "10:00")))
        app.mail = EwsMailbox(session_for(server, email=AE), "agency.example")
        try:
            engine = Engine(app)
            engine.tick(dry_run=True)  # connected and synced: only the send meets the 401
            server.inject(Fault.http_status(401, operation="CreateItem"))
            with pytest.raises(BackendUnavailable) as caught:
                engine.tick()
            assert "refused the credentials of" in caught.value.problem
            assert "check backend.ews.username" in caught.value.what_to_fix
            record = app.store.outbox_get(CONFIRMATION)
            assert record is not None and record["status"] == "unsent"
            assert list(app.store.outbox_by_status("failed")) == []
            assert "HTTP 401" in app.store.meta_get(SENDING_HELD)["problem"]

            assert [s.action.key for s in engine.tick().sent] == [CONFIRMATION]
            assert app.store.meta_get(SENDING_HELD) is None
        finally:
            app.close()
        sent = server.mailbox(AE).items("sentitems")
        assert len(sent) == 1


class HeldEngine:
    """An engine whose SMTP server refuses the login at every tick."""

    def __init__(self) -> None:
        self.calls = 0
        self.app = None

    def tick(self, **_: object) -> object:
        self.calls += 1
        raise BackendUnavailable(
            "smtp.example:587 (logging in as ae@agency.example): the SMTP server refused the "
            "login (535 5.7.8 AUTH PLAIN [redacted])",
            f"check [backend.smtp] username and the password in {PASSWORD_ENV}",
        )


def test_the_daemon_backs_off_longer_from_a_refused_login_and_logs_what_to_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = HeldEngine()
    daemon = Daemon(engine)  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="aeflow.daemon")

    daemon._tick()
    daemon._tick()  # the regular sync meanwhile: no second login

    assert engine.calls == 1
    assert daemon._blocked_until is not None
    assert daemon._blocked_until - datetime.now(UTC) > BACKOFF_HELD_FIRST - timedelta(seconds=5)
    [line] = [r.getMessage() for r in caplog.records if r.name == "aeflow.daemon"]
    assert line.startswith("sending is held (") and "\n" not in line
    assert f"the password in {PASSWORD_ENV}" in line
