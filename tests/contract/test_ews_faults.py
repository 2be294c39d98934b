"""How the EWS adapters fail: in aeflow's errors, without retrying inside a tick, losing nothing.

The loopback server commits each fault the way Exchange does (an ErrorServerBusy SOAP fault with
BackOffMilliseconds, a bare 503 or 401, the 403 of a tenant with EWS turned off, an answer that
never comes); each test checks what the daemon is told and that the server saw no retry.
"""

from __future__ import annotations

import base64
import logging

import pytest

from calendar_sync.ews import EwsCalendar
from mailer.ews import EwsMailbox
from rules.errors import TransientError, UserError
from tests.contract.test_calendar_contract import END, START, at
from tests.contract.test_ews_contract import (
    AE,
    CLIENT,
    PASSWORD,
    ZONE,
    EwsEditor,
    mail_server,
    outgoing,
    sent_by,
    server,
    session_for,
)
from tests.contract.test_mail_contract import DOMAIN, KEY
from tests.ews_server import EwsServer, Fault

__all__ = ["mail_server", "server"]  # fixtures shared with the contract tests


def requests_of(server: EwsServer, operation: str) -> int:
    found = server.stats.by_operation().get(operation)
    return found.count if found is not None else 0


def test_throttling_is_transient_with_the_servers_back_off_and_no_retry(
    server: EwsServer,
) -> None:
    calendar = EwsCalendar(session_for(server), ZONE)
    server.inject(Fault.server_busy(back_off_ms=45_000, operation="SyncFolderItems"))
    with pytest.raises(TransientError) as caught:
        calendar.sync(None, START, END)
    assert caught.value.retry_after == 45.0
    assert "busy" in str(caught.value)
    assert requests_of(server, "SyncFolderItems") == 1
    assert calendar.sync(None, START, END).problems == ()


def test_exchangelib_is_told_to_fail_fast(server: EwsServer) -> None:
    account = session_for(server).account
    assert account.protocol.retry_policy.fail_fast is True
    assert account.protocol.TIMEOUT == 10


def test_an_unavailable_server_is_transient(server: EwsServer) -> None:
    server.inject(Fault.http_status(503, operation="SyncFolderItems"))
    with pytest.raises(TransientError, match="503"):
        EwsCalendar(session_for(server), ZONE).sync(None, START, END)
    assert requests_of(server, "SyncFolderItems") == 1


@pytest.mark.parametrize(
    ("status", "header", "waits", "word"),
    [
        (503, "120", 120.0, "unavailable"),
        (429, "300", 300.0, "throttling"),
        (503, "86400", 900.0, ""),
    ],
    ids=["503", "429", "503-capped"],
)
def test_retry_after_is_kept_within_its_cap(
    server: EwsServer, status: int, header: str, waits: float, word: str
) -> None:
    server.inject(Fault.http_status(status, operation="SyncFolderItems", retry_after=header))
    with pytest.raises(TransientError, match=str(status)) as caught:
        EwsCalendar(session_for(server), ZONE).sync(None, START, END)
    assert caught.value.retry_after == waits
    assert word in str(caught.value)
    assert requests_of(server, "SyncFolderItems") == 1  # no retry behind the daemon's back


def test_a_wrong_password_is_the_users_to_fix(server: EwsServer) -> None:
    session = session_for(server, password="not the password")
    with pytest.raises(UserError, match=r"check backend\.ews\.username") as caught:
        EwsCalendar(session, ZONE).sync(None, START, END)
    assert "not the password" not in str(caught.value)


def test_a_401_says_to_check_the_credentials(server: EwsServer) -> None:
    server.inject(Fault.http_status(401, operation="SyncFolderItems"))
    with pytest.raises(UserError, match=r"refused the credentials of ae@agency\.example"):
        EwsMailbox(session_for(server), DOMAIN).sync_inbox(None)


def test_ews_turned_off_for_the_tenant_is_said_in_words(server: EwsServer) -> None:
    server.inject(Fault.ews_disabled())
    with pytest.raises(UserError, match="EWS is disabled for this mailbox or tenant"):
        EwsMailbox(session_for(server), DOMAIN).sync_inbox(None)


def test_a_server_too_slow_to_answer_is_transient(server: EwsServer) -> None:
    session = session_for(server, timeout=1)
    assert session.account.root is not None  # connected first, so only the sync waits
    server.inject(Fault.slow(3, operation="SyncFolderItems"))
    with pytest.raises(TransientError, match=r"could not be reached|did not answer"):
        EwsCalendar(session, ZONE).sync(None, START, END)


def test_a_dropped_connection_loses_no_change(server: EwsServer) -> None:
    editor = EwsEditor(server)
    editor.add_event("a", "Kick-off", at(3), at(3, 10))
    first = editor.backend.sync(None, START, END)
    editor.add_event("b", "Review", at(5), at(5, 10))
    server.inject(Fault.drop(operation="SyncFolderItems"))
    with pytest.raises(TransientError):
        editor.backend.sync(first.state, START, END)
    later = editor.backend.sync(first.state, START, END)
    assert [m.key for m in later.upserted] == ["b"]


def test_a_send_whose_connection_dropped_leaves_once_when_tried_again(
    mail_server: tuple[EwsServer, object],
) -> None:
    server = mail_server[0]
    mailbox = EwsMailbox(session_for(server), DOMAIN)
    server.inject(Fault.drop(operation="CreateItem"))
    with pytest.raises(TransientError):
        mailbox.send(outgoing(), KEY)
    assert sent_by(server, "ae@agency.example", KEY) == []
    mailbox.send(outgoing(), KEY)
    assert len(sent_by(server, "ae@agency.example", KEY)) == 1
    assert len(server.mailbox(CLIENT).items("inbox")) == 1


def test_a_throttled_inbox_is_read_in_full_once_the_server_is_free(server: EwsServer) -> None:
    box = server.mailbox("ae@agency.example")
    box.deliver_mime(
        b"From: a@client.example\r\nSubject: hello\r\nMessage-ID: <m1@x>\r\n\r\nhi\r\n"
    )
    mailbox = EwsMailbox(session_for(server), DOMAIN)
    server.inject(Fault.server_busy(back_off_ms=2_000, operation="GetItem"))
    with pytest.raises(TransientError) as caught:
        mailbox.sync_inbox(None)
    assert caught.value.retry_after == 2.0
    (signal,) = mailbox.sync_inbox(None).signals
    assert signal.message_id == "<m1@x>"


def test_a_verbose_log_holds_neither_the_password_nor_the_authorization_header(
    server: EwsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    EwsCalendar(session_for(server), ZONE).sync(None, START, END)
    basic = base64.b64encode(f"{AE}:{PASSWORD}".encode()).decode()
    assert PASSWORD not in caplog.text and basic not in caplog.text
